/**
 * The headless dashboard: the desktop app's renderer served by a headless worker on
 * 127.0.0.1, and the same IPC contract over HTTP — `POST /api/invoke/<verb>` for calls and a
 * server-sent event stream `GET /api/events` for pushes. Every API request must carry the
 * random token printed once with the URL (`Authorization: Bearer …`); the page itself reads it
 * from the URL fragment, which browsers never send. Loopback by default, strict CSP, no CORS.
 */
import { appRoot } from '../app-root.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import zlib, { brotliCompressSync, gzipSync } from 'node:zlib';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { formatHostPort } from '../../network/protocol/host-port.js';
import { HTTP_ROUTES } from '../ipc/contract.js';
import { dispatch, type ContractServices, type DispatchLog } from '../ipc/dispatch.js';
import { fail } from '../ipc/result.js';
import { APP_CSP, CONTENT_TYPES } from '../app/app-content.js';

/** Where `vite build` puts the renderer. */
export const DEFAULT_STATIC_DIR = join(appRoot(), 'dist', 'renderer');

/** The page's Content-Security-Policy (shared with the Electron shell). */
export const DASHBOARD_CSP = APP_CSP;

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), hid=()',
};


const MAX_BODY_BYTES = 64 * 1024;
/** The event stream's heartbeat: the page calls the worker gone after two missed beats (docs/design.md). */
export const HEARTBEAT_MS = 1_000;
/** Smaller answers are sent as they are: compressing them costs more than it saves. */
const COMPRESS_FROM_BYTES = 1024;

/** Options of the dashboard server. */
export interface DashboardOptions {
  /** Default 127.0.0.1; anything else exposes the dashboard to the network (token still required). */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  services: ContractServices;
  /** Default: 32 random bytes, base64url. */
  token?: string;
  /** The built renderer (default dist/renderer). */
  staticDir?: string;
  log?: DispatchLog;
}

/** A running dashboard. */
export interface Dashboard {
  /** The origin, e.g. http://127.0.0.1:5173 */
  url: string;
  /** The URL to open, with the token in its fragment (print it once). */
  tokenUrl: string;
  close(): Promise<void>;
}

/** Whether a host name is a loopback address. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function send(response: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'cache-control': 'no-store', ...headers });
  response.end(body);
}

/** The encoding the browser prefers among those we make: brotli, then gzip, else none. */
export function pickEncoding(accept: string | undefined): 'br' | 'gzip' | null {
  const offered = (accept ?? '').toLowerCase().split(',').map((part) => part.trim().split(';'));
  const allows = (name: string) => offered.some(([coding, quality]) => coding === name && !/^\s*q=0(\.0*)?\s*$/.test(quality ?? ''));
  return allows('br') ? 'br' : allows('gzip') ? 'gzip' : null;
}

function compress(body: Buffer, encoding: 'br' | 'gzip', quality: 'fast' | 'best'): Buffer {
  return encoding === 'br'
    ? brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality === 'best' ? 11 : 5, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
    : gzipSync(body, { level: quality === 'best' ? 9 : 6 });
}

/** Sends a body compressed as the request allows (`vary: accept-encoding`). */
function sendEncoded(request: IncomingMessage, response: ServerResponse, status: number, body: Buffer, headers: Record<string, string>, encoded?: (encoding: 'br' | 'gzip') => Buffer): void {
  const encoding = body.length >= COMPRESS_FROM_BYTES ? pickEncoding(request.headers['accept-encoding']) : null;
  if (!encoding) return send(response, status, request.method === 'HEAD' ? '' : body, { ...headers, vary: 'accept-encoding' });
  const packed = encoded?.(encoding) ?? compress(body, encoding, 'fast');
  send(response, status, request.method === 'HEAD' ? '' : packed, { ...headers, vary: 'accept-encoding', 'content-encoding': encoding });
}

function sendJson(response: ServerResponse, status: number, value: unknown, request?: IncomingMessage): void {
  const headers = { 'content-type': 'application/json; charset=utf-8' };
  if (request) sendEncoded(request, response, status, Buffer.from(JSON.stringify(value)), headers);
  else send(response, status, JSON.stringify(value), headers);
}

async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the dashboard; resolves once it listens. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(32).toString('base64url');
  const tokenDigest = digest(token);
  const staticRoot = resolve(options.staticDir ?? DEFAULT_STATIC_DIR);
  // Built assets never change under their hashed names: each is compressed once, at best quality.
  const packedAssets = new Map<string, Buffer>();
  const streams = new Set<ServerResponse>();
  let allowedHosts = new Set<string>();

  const authorized = (request: IncomingMessage) => {
    const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    return presented !== undefined && timingSafeEqual(digest(presented), tokenDigest);
  };

  async function serveStatic(request: IncomingMessage, response: ServerResponse, pathname: string): Promise<void> {
    const relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const file = normalize(join(staticRoot, relative));
    if (!file.startsWith(staticRoot + sep) || relative.includes('\0')) return send(response, 404, 'Not found');
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) {
      if (pathname === '/') return send(response, 503, 'The dashboard UI is not built: run `npm run build:renderer`.', { 'content-type': 'text/plain; charset=utf-8' });
      return send(response, 404, 'Not found', { 'content-type': 'text/plain; charset=utf-8' });
    }
    const immutable = relative.startsWith('assets/');
    const body = await readFile(file);
    const headers = { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache' };
    const packed = (encoding: 'br' | 'gzip') => {
      if (!immutable) return compress(body, encoding, 'fast');
      const key = `${encoding}:${file}`;
      let value = packedAssets.get(key);
      if (!value) packedAssets.set(key, (value = compress(body, encoding, 'best')));
      return value;
    };
    sendEncoded(request, response, 200, body, headers, packed);
  }

  async function invoke(request: IncomingMessage, response: ServerResponse, verb: string): Promise<void> {
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) return sendJson(response, 415, fail('bad-arguments', 'Send JSON (content-type: application/json).'));
    const body = await readBody(request);
    if (body === null) return sendJson(response, 413, fail('bad-arguments', 'Request body too large.'));
    let args: unknown;
    try {
      args = body.trim() === '' ? undefined : JSON.parse(body);
    } catch {
      return sendJson(response, 400, fail('bad-arguments', 'The body is not valid JSON.'));
    }
    const result = await dispatch(options.services.handlers, verb, args, options.log);
    sendJson(response, !result.ok && result.error.code === 'unknown-verb' ? 404 : 200, result, request);
  }

  function events(request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    response.write(': connected\n\n');
    streams.add(response);
    const unsubscribe = options.services.subscribe((name, payload) => {
      response.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`);
    });
    // A beat every second (a named event the page listens for): silence means the worker is gone.
    const keepalive = setInterval(() => response.write(`event: heartbeat\ndata: ${Date.now()}\n\n`), HEARTBEAT_MS);
    const end = () => {
      clearInterval(keepalive);
      unsubscribe();
      streams.delete(response);
    };
    request.once('close', end);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    // A page on another site that resolves its own name to 127.0.0.1 (DNS rebinding) sends its own Host.
    if (allowedHosts.size > 0 && !allowedHosts.has((request.headers.host ?? '').toLowerCase())) return send(response, 403, 'Forbidden host');
    const pathname = new URL(request.url ?? '/', 'http://dashboard').pathname;
    if (pathname === '/healthz') return sendJson(response, 200, { ok: true });
    if (pathname.startsWith('/api/')) {
      if (!authorized(request)) return sendJson(response, 401, fail('unauthorized', 'Missing or wrong token: open the link the worker printed (it ends in #token=…).'));
      if (pathname.startsWith(HTTP_ROUTES.invoke) && request.method === 'POST') return invoke(request, response, decodeURIComponent(pathname.slice(HTTP_ROUTES.invoke.length)));
      if (pathname === HTTP_ROUTES.events && request.method === 'GET') return events(request, response);
      return sendJson(response, 405, fail('unknown-verb', `${request.method} ${pathname} is not part of the API.`));
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'Method not allowed', { allow: 'GET, HEAD' });
    return serveStatic(request, response, pathname);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.log?.('error', { err: error instanceof Error ? error.message : String(error) }, 'dashboard request failed');
      if (!response.headersSent) sendJson(response, 500, fail('internal', 'The dashboard failed to answer.'));
      else response.end();
    });
  });
  await new Promise<void>((done, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => done());
  });
  const { port } = server.address() as AddressInfo;
  if (isLoopback(host)) allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, formatHostPort({ host, port })]);
  else options.log?.('warn', { host, port }, 'the dashboard listens beyond loopback: anyone who can reach it and has the token can control this worker');
  const url = `http://${formatHostPort({ host: host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host, port })}`;
  return {
    url,
    tokenUrl: `${url}/#token=${token}`,
    close: () =>
      new Promise<void>((done) => {
        for (const stream of streams) stream.end();
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/**
 * A toncenter-v2-compatible HTTP API over the local chain, so the unmodified `TonClient`
 * from @ton/ton works against it: `POST /jsonRPC` (also under `/api/v2`), the
 * `GET|POST /<method>` forms, `GET /healthz`, and `POST /faucet` for local test TON.
 * Every failure is a toncenter-style `{ ok: false, error, code }` with that HTTP status.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ChainError, badRequest } from './chain-error.js';
import type { LocalChain } from './local-chain.js';
import { callToncenterMethod } from './toncenter-methods.js';
import { formatTransactionId, parseAddress } from './toncenter-format.js';

/** Largest request body accepted (a BOC of a wallet message is a few KiB). */
export const MAX_BODY_BYTES = 1024 * 1024;
/** What `POST /faucet` hands out when no amount is given: 10 local test TON. */
export const FAUCET_DEFAULT_NANOTONS = 10_000_000_000n;

/** Requests that change the chain, logged at info level (reads are debug). */
const CHANGES = new Set(['faucet', 'sendBoc', 'sendBocReturnHash']);

/** Creates (does not start) the HTTP server for `chain`. */
export function createToncenterServer(chain: LocalChain, logger: Logger): Server {
  const server = createServer((req, res) => {
    const started = performance.now();
    handle(chain, req)
      .then(
        (reply) => reply,
        (error: unknown) => failure(error, logger),
      )
      .then((reply) => {
        send(res, reply);
        const entry = { method: req.method, path: (req.url ?? '').split('?')[0], rpc: reply.rpcMethod, status: reply.status, ms: Math.round(performance.now() - started) };
        if (reply.status >= 500) logger.error(entry, 'request failed');
        else if (reply.status >= 400) logger.info({ ...entry, error: reply.body.error }, 'request refused');
        else if (reply.rpcMethod !== undefined && CHANGES.has(reply.rpcMethod)) logger.info(entry, 'chain changed');
        else logger.debug(entry, 'request');
      })
      .catch((error: unknown) => logger.error({ err: error }, 'could not send a reply'));
  });
  // Idle keep-alive sockets outlive the clients' own (Node's agent drops them after 5 s): with
  // equal timeouts a client may reuse a socket the server is closing, and get ECONNRESET.
  server.keepAliveTimeout = 65_000;
  return server;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
  rpcMethod?: string;
}

async function handle(chain: LocalChain, req: IncomingMessage): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname.replace(/^\/api\/v2(?=\/)/, '');
  if (path === '/healthz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new ChainError(400, 'Use GET /healthz.');
    return { status: 200, body: { ok: true, status: 'ready', block: chain.lastBlock.seqno } };
  }
  if (path === '/jsonRPC') {
    if (req.method !== 'POST') throw badRequest('JSON-RPC takes POST with a JSON body.');
    return jsonRpc(chain, await readJson(req));
  }
  if (path === '/faucet') {
    if (req.method !== 'POST') throw badRequest('Use POST /faucet with {"address": ..., "amount": "<nanotons>"}.');
    return faucet(chain, await readJson(req));
  }
  const method = /^\/([A-Za-z]{1,64})$/.exec(path)?.[1];
  if (!method) throw new ChainError(404, `No such endpoint: ${path.slice(0, 100)}.`);
  if (req.method === 'GET') {
    return { status: 200, body: { ok: true, result: await callToncenterMethod(chain, method, Object.fromEntries(url.searchParams)) }, rpcMethod: method };
  }
  if (req.method === 'POST') {
    const params = await readJson(req);
    return { status: 200, body: { ok: true, result: await callToncenterMethod(chain, method, params) }, rpcMethod: method };
  }
  throw badRequest(`Use GET or POST for /${method}.`);
}

async function jsonRpc(chain: LocalChain, request: unknown): Promise<Reply> {
  if (Array.isArray(request)) throw badRequest('Batch JSON-RPC requests are not supported; send one request at a time.');
  if (typeof request !== 'object' || request === null) throw badRequest('The JSON-RPC request must be an object.');
  const { method, params, id } = request as { method?: unknown; params?: unknown; id?: unknown };
  const echo = typeof id === 'string' || typeof id === 'number' ? { id, jsonrpc: '2.0' } : { jsonrpc: '2.0' };
  if (typeof method !== 'string' || method.length === 0) throw Object.assign(badRequest('method is required (a string).'), { echo });
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    throw Object.assign(badRequest('params must be an object.'), { echo, rpcMethod: method });
  }
  try {
    const result = await callToncenterMethod(chain, method, params ?? {});
    return { status: 200, body: { ok: true, result, ...echo }, rpcMethod: method };
  } catch (error) {
    throw Object.assign(error instanceof Error ? error : new Error(String(error)), { echo, rpcMethod: method });
  }
}

async function faucet(chain: LocalChain, request: unknown): Promise<Reply> {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) throw badRequest('Send {"address": ..., "amount": "<nanotons>"}.');
  const { address, amount } = request as { address?: unknown; amount?: unknown };
  const to = parseAddress(address);
  const nanotons = parseAmount(amount);
  const records = await chain.faucet(to, nanotons);
  const received = records.find((r) => r.account.equals(to)) ?? records[0];
  return {
    status: 200,
    body: {
      ok: true,
      result: {
        '@type': 'silkworm.faucet',
        note: 'Local test TON: it exists only on this local chain and is worth nothing.',
        address: to.toString(),
        amount: nanotons.toString(),
        transaction_id: formatTransactionId(received ?? null),
      },
    },
    rpcMethod: 'faucet',
  };
}

function parseAmount(amount: unknown): bigint {
  if (amount === undefined) return FAUCET_DEFAULT_NANOTONS;
  const text = typeof amount === 'number' && Number.isSafeInteger(amount) ? String(amount) : amount;
  if (typeof text !== 'string' || !/^\d{1,30}$/.test(text)) throw badRequest('amount must be a whole number of nanotons, as a decimal string.');
  return BigInt(text);
}

/** Reads the body as JSON, refusing more than MAX_BODY_BYTES (the rest is drained so the reply still arrives). */
function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return reject(new ChainError(413, `Request body is over ${MAX_BODY_BYTES} bytes.`));
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return reject(badRequest('Request body is empty; send JSON.'));
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(badRequest('Request body is not valid JSON.'));
      }
    });
  });
}

function failure(error: unknown, logger: Logger): Reply {
  const extra = error as { echo?: Record<string, unknown>; rpcMethod?: string };
  if (error instanceof ChainError) {
    return { status: error.status, body: { ok: false, error: error.message, code: error.status, ...extra.echo }, rpcMethod: extra.rpcMethod };
  }
  logger.error({ err: error }, 'unexpected error');
  return { status: 500, body: { ok: false, error: 'Internal error in the local chain; see its log.', code: 500, ...extra.echo }, rpcMethod: extra.rpcMethod };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent) return;
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * `silkworm gateway`: a local OpenAI-compatible endpoint (the same endpoints, request schemas and
 * answers as the coordinator's: network/node-kit/openai/) that seals every request end to end to
 * a verified worker's job process and opens the answer here. A stock OpenAI client pointed at it
 * gets sealed mode without knowing it; only ciphertext and routing fields reach the coordinator.
 *
 * It spends its holder's coordinator balance and sees plaintext, so it is closed to web pages
 * (any Origin header is refused) and to other machines: it listens on loopback, or — with its own
 * local key, which every request must then carry — wherever its holder says.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { identityKeyPairFromSeed } from '../protocol/descriptor.js';
import { HEADERS, ROUTES } from '../protocol/http-contract.js';
import { formatHostPort } from '../protocol/host-port.js';
import { VocabMeters } from './vocab-meter.js';
import { SilkwormClient, type SilkwormClientOptions } from './sdk.js';
import { sendError, sendJson } from '../node-kit/http-util.js';
import { routeOpenAi } from '../node-kit/openai/routes.js';
import { ResponseStore } from '../node-kit/openai/response-store.js';
import { sealedBackend } from './sealed-backend.js';
import { createLogger, type Logger } from './log.js';

/** How the request travelled: always `sealed` here (the coordinator's own API says `transport`). */
export const CONFIDENTIALITY_HEADER = HEADERS.confidentiality;
/** The confidentiality tier of the worker that served the request. */
export const WORKER_TIER_HEADER = HEADERS.workerTier;
/** The id of the worker that served the request. */
export const WORKER_ID_HEADER = HEADERS.workerId;

/** Everything a gateway is started with. */
export interface GatewayOptions extends Omit<SilkwormClientOptions, 'coordinatorUrl'> {
  host: string;
  port: number;
  coordinatorUrl: string;
  /**
   * The gateway's own key (`Authorization: Bearer KEY`), required of every request when given.
   * Needed to listen beyond loopback, where anyone on the network could otherwise spend the
   * holder's balance and read answers.
   */
  localKey?: string;
  logger?: Logger;
}

/** A running gateway. */
export interface Gateway {
  /** e.g. http://127.0.0.1:8788 — give clients `${url}/v1` as their OpenAI base URL. */
  url: string;
  client: SilkwormClient;
  close(): Promise<void>;
}

/** Shortest local key accepted. */
export const MIN_LOCAL_KEY_LENGTH = 16;

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

function hostnameOf(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  const match = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(hostHeader);
  return match?.[1] ?? '';
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Starts a gateway; resolves once it listens. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  // SECURITY: the gateway spends the holder's coordinator balance and sees plaintext.
  if (options.localKey !== undefined && options.localKey.length < MIN_LOCAL_KEY_LENGTH) throw new Error(`The gateway's local key must be at least ${MIN_LOCAL_KEY_LENGTH} characters.`);
  if (!isLoopbackHost(options.host) && options.localKey === undefined) {
    throw new Error(`The gateway listens beyond loopback ('${options.host}') only with a local key (--local-key) that every request must carry.`);
  }
  const logger = options.logger ?? createLogger('gateway');
  // Usage receipts and context checks: counted with each model's own tokenizer.
  const meters = new VocabMeters(options.coordinatorUrl, options.apiKey, options.fetch);
  // An account whose receipts the coordinator paused keeps working, billed on the coordinator's bounds.
  const onPaused = (error: Error) => logger.warn({ err: error.message }, 'the coordinator paused this account’s usage receipts: sealed requests go on without them, billed on its own bounds (more) until it resumes them; ask its operator');
  const client = new SilkwormClient({ receipts: { key: identityKeyPairFromSeed(randomBytes(32)), meter: (model) => meters.meter(model), whenPaused: 'without', onPaused }, ...options });
  const store = new ResponseStore();
  const keyDigest = options.localKey === undefined ? undefined : digest(`Bearer ${options.localKey}`);

  const server = createServer({ noDelay: true }, (req, res) => {
    const started = performance.now();
    const fields: Record<string, unknown> = {};
    res.once('close', () => logger.info({ method: req.method, path: new URL(req.url ?? '/', 'http://x').pathname, status: res.statusCode, ms: Math.round(performance.now() - started), ...fields }, 'request'));
    route(req, res, { client, meters, store, keyDigest, loopbackOnly: isLoopbackHost(options.host), fields }).catch((error: unknown) => {
      logger.error({ err: error instanceof Error ? error.message : String(error) }, 'request failed');
      if (!res.headersSent) sendError(res, 500, 'Internal error.', 'internal');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const url = `http://${formatHostPort({ host: options.host, port: (server.address() as AddressInfo).port })}`;
  logger.info({ url: `${url}/v1`, coordinator: options.coordinatorUrl, minTier: client.minTier, confidentiality: 'sealed', localKey: keyDigest !== undefined }, 'gateway ready');
  return {
    url,
    client,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await meters.close();
    },
  };
}

interface RouteContext {
  client: SilkwormClient;
  meters: VocabMeters;
  store: ResponseStore;
  keyDigest: Buffer | undefined;
  loopbackOnly: boolean;
  fields: Record<string, unknown>;
}

async function route(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> {
  // SECURITY: refuse browser pages (any Origin) so a web page cannot spend this gateway's
  // balance or read answers, and — on loopback without a key — DNS rebinding (a foreign Host).
  if (req.headers.origin !== undefined) return sendError(res, 403, 'The gateway does not serve browser pages (an Origin header was sent).', 'forbidden_origin');
  if (ctx.loopbackOnly && ctx.keyDigest === undefined && !isLoopbackHost(hostnameOf(req.headers.host))) return sendError(res, 403, 'The gateway answers requests addressed to a loopback host only.', 'forbidden_host');
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (req.method === 'GET' && path === ROUTES.healthz) return sendJson(res, 200, { ok: true, confidentiality: 'sealed', minTier: ctx.client.minTier });
  if (ctx.keyDigest && !timingSafeEqual(digest(req.headers.authorization ?? ''), ctx.keyDigest)) {
    return sendError(res, 401, "Incorrect API key provided: pass the gateway's local key as \"Authorization: Bearer KEY\".", 'invalid_api_key');
  }
  const served = await routeOpenAi(req, res, path, { backend: sealedBackend(ctx.client, ctx.meters, ctx.fields), store: ctx.store, scope: 'local' });
  if (!served) sendError(res, 404, `Unknown route ${req.method} ${path}.`, 'not_found');
}

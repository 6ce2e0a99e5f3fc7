/**
 * The coordinator as one process: an HTTP server (OpenAI-compatible API, /healthz, /metrics)
 * and the WebSocket endpoint workers connect to, on the same port.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { MAX_FRAME_BYTES, WORKER_SOCKET_PATH } from '../protocol/worker-frames.js';
import { formatHostPort } from '../protocol/host-port.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { WorkerRegistry } from './worker-registry.js';
import { WorkerSession } from './worker-session.js';
import { JobManager } from './job-manager.js';
import { handleChatCompletions, handleListModels, type ApiContext } from './openai-api.js';
import { sendError } from './http-util.js';

/** Everything a coordinator is started with. */
export interface CoordinatorOptions {
  host: string;
  port: number;
  dataDir: string;
  /** Accepted client API keys; empty = the API is open (loopback development only). */
  apiKeys: string[];
  requestTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  handshakeTimeoutMs?: number;
  maxFrameBytes?: number;
  logger?: Logger;
}

/** A running coordinator. */
export interface Coordinator {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:8787 */
  url: string;
  id: string;
  registry: WorkerRegistry;
  jobs: JobManager;
  close(): Promise<void>;
}

/** Reads the coordinator's persistent id from its data dir, creating it on first start. */
async function loadIdentity(dataDir: string): Promise<{ coordinatorId: string }> {
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, 'coordinator.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as { coordinatorId: string };
  } catch {
    const identity = { coordinatorId: `coord-${randomUUID()}` };
    await writeFile(`${file}.tmp`, JSON.stringify(identity, null, 2));
    await rename(`${file}.tmp`, file);
    return identity;
  }
}

function makeKeyCheck(apiKeys: string[]): (header: string | undefined) => boolean {
  const digests = apiKeys.map((k) => createHash('sha256').update(k).digest());
  return (header) => {
    if (digests.length === 0) return true;
    const presented = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1];
    if (!presented) return false;
    const digest = createHash('sha256').update(presented).digest();
    return digests.some((d) => timingSafeEqual(d, digest));
  };
}

/** Starts a coordinator; resolves once it listens. */
export async function startCoordinator(options: CoordinatorOptions): Promise<Coordinator> {
  const logger = options.logger ?? createLogger('coordinator');
  const { coordinatorId } = await loadIdentity(options.dataDir);
  const metrics = createMetrics();
  const registry = new WorkerRegistry();
  const jobs = new JobManager({ registry, logger, metrics });
  const authorized = makeKeyCheck(options.apiKeys);
  const ctx: ApiContext = { jobs, registry, requestTimeoutMs: options.requestTimeoutMs ?? 120_000, startedAt: Date.now() };
  const maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  if (options.apiKeys.length === 0) logger.warn('no --api-key given: the client API is open to anyone who can reach it');

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<string> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, coordinatorId, workers: registry.size }));
      return 'healthz';
    }
    if (req.method === 'GET' && path === '/metrics') {
      metrics.workers.set(registry.size);
      metrics.activeJobs.set(jobs.active);
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
      return 'metrics';
    }
    if (path.startsWith('/v1/') && !authorized(req.headers.authorization)) {
      sendError(res, 401, 'Incorrect API key provided. Pass it as "Authorization: Bearer KEY".', 'invalid_api_key');
      return 'unauthorized';
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      await handleChatCompletions(req, res, ctx);
      return 'chat_completions';
    }
    if (req.method === 'GET' && path === '/v1/models') {
      handleListModels(res, ctx);
      return 'models';
    }
    sendError(res, 404, `Unknown route ${req.method} ${path}.`, 'not_found');
    return 'not_found';
  };

  const server = createServer({ noDelay: true }, (req, res) => {
    route(req, res)
      .then((name) => res.on('finish', () => metrics.httpRequests.inc({ route: name, status: String(res.statusCode) })))
      .catch((error: unknown) => {
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'request failed');
        if (!res.headersSent) sendError(res, 500, 'Internal error.', 'internal');
        else res.end();
      });
  });

  // Frames up to twice the limit reach our decoder and get a typed error; beyond that the
  // WebSocket layer closes the connection (code 1009) without buffering them.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 2 * maxFrameBytes });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== WORKER_SOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new WorkerSession(ws, {
        coordinatorId,
        heartbeatIntervalMs: options.heartbeatIntervalMs ?? 5000,
        handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
        maxFrameBytes,
        logger,
      });
      session.once('ready', () => {
        logger.info({ workerId: session.id, models: [...session.models], tier: session.tier, appVersion: session.appVersion }, 'worker connected');
        registry.add(session);
      });
      session.once('closed', (reason) => {
        if (session.id) logger.info({ workerId: session.id, reason }, 'worker disconnected');
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address() as AddressInfo;
  const url = `http://${formatHostPort({ host: options.host, port: address.port })}`;
  logger.info({ url, coordinatorId }, 'coordinator ready');

  return {
    url,
    id: coordinatorId,
    registry,
    jobs,
    async close() {
      jobs.shutdown();
      registry.closeAll();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

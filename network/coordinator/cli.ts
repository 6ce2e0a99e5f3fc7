/** `silkworm coordinator`: runs a coordinator until SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { priceListSchema, type PriceList } from '../protocol/pricing.js';
import { parseHostPort } from '../protocol/host-port.js';
import { startCoordinator, type CoordinatorOptions } from './server.js';
import { parseStoreSpec } from './open-store.js';
import { createLogger } from './log.js';
import { toNano } from '@ton/core';
import { loadCatalogFile } from './catalog-api.js';
import { runAuditCommand } from './audit-command.js';
import { loadProbePrompts } from './sealed-probes.js';
import { parseCorsOrigins } from '../node-kit/cors.js';
import { DEFAULT_HEARTBEAT_MS } from './worker-session.js';

/** Help text of `silkworm coordinator`. */
export const COORDINATOR_HELP = `Usage: silkworm coordinator --listen HOST:PORT --data DIR [options]
       silkworm coordinator audit --data DIR [--chain URL]   (see audit --help)

Runs the network side: workers connect to it over WebSocket, clients call its
OpenAI-compatible API (POST /v1/chat/completions, /v1/responses, /v1/completions,
GET /v1/models, /v1/models/ID).

Options:
  --listen HOST:PORT     where to listen (default 127.0.0.1:8787; port 0 = any free port)
  --data DIR             where the coordinator keeps its state (default .silkworm/coordinator)
  --api-key KEY          a client API key; repeat for several. Without one the API is open.
                         Keyed clients pay from a balance (GET /v1/balance); see --admin-key.
  --unmetered            do not charge clients (workers are still credited)
  --admin-key KEY        enables POST /v1/admin/deposits to credit client balances, and
                         GET /v1/admin/receipt-pauses (clients whose sealed usage receipts
                         were paused) and DELETE …/receipt-pauses/CLIENT to resume one;
                         GET /v1/admin/workers/ID (a worker's standing) and
                         POST …/workers/ID/reinstate (take back an ejected worker);
                         with --store postgres://…, GET /v1/admin/instances and
                         POST …/instances/ID/retire (bill a dead instance's checkpoints)
  --chain URL            toncenter v2 endpoint for payouts (a local one: silkworm chain);
                         deploys and funds the payout vault on first start
  --chain-api-key KEY    toncenter API key
  --network NET          testnet | mainnet (default testnet)
  --public-url URL       this coordinator's public https URL: the TON Connect manifest's url
                         and the domain wallet apps sign ton_proof for (default: --listen)
  --push-threshold TON   push payouts to workers owed at least this much (default 1)
  --push-interval S      how often to push payouts, in seconds (default 60)
  --request-timeout MS   longest a request may take (default 120000)
  --heartbeat-interval S how often idle workers are pinged, in seconds (default 15;
                         above 5, rounded to a multiple of 5); workers with a job in
                         flight are pinged every 5 s. A worker silent for 3 of its
                         intervals is dropped
  --catalog FILE         publish this model catalog (JSON) at GET /v1/catalog
  --catalog-dir DIR      serve the model files of entries with relative URLs
                         (files/NAME) from here (default: the catalog's folder).
                         Catalog models found here (checked by SHA-256) are metered
                         with their own tokenizer; workers may serve only catalog models
  --verify-rate R        spot-check this share (0..1) of transport jobs by re-scoring
                         them with the catalog's model file (default 0)
  --verify-threads N     CPU threads for spot checks and probes (default 1)
  --probe-interval S     check sealed workers, whose jobs the coordinator cannot read:
                         about every S seconds it sends one of them a sealed job of its
                         own and re-scores the answer with the catalog's model file; a
                         worker that fails takes a strike (3 eject it). Probes are paid
                         like jobs, by the operator, failed or not, so their receipts do
                         not give them away (default 0: off)
  --probe-prompts FILE   the chats probes send (JSON Lines: {"messages":[…],"temperature":0.7,
                         "max_tokens":128} per line; also top_p, presence_penalty,
                         frequency_penalty, seed, response_format, tools and tool_choice,
                         as clients send them). Keep them private and change them now
                         and then: a worker that learns them could serve them alone honestly.
                         SIGHUP reads the file again. Default: a small built-in set, public
                         in the source
  --prices FILE          the price list (JSON: { default: { promptPerMillion, completionPerMillion },
                         models: { ID: {…} }, commissionBps }, nanotons per 1M tokens as strings);
                         default 0.01 / 0.03 TON per 1M prompt / completion tokens, 10 %
  --store WHERE          sqlite (default: a file in --data, one instance) or
                         postgres://USER[:PASS]@HOST:PORT/DB, shared by several instances
  --bus nats://HOST:PORT join the other instances on this NATS server (with a postgres
                         --store): each instance routes over every instance's workers
  --cors-origin ORIGIN   let pages from this web origin (https://app.example) call the API
                         from a browser; repeatable. Without it, no CORS headers are sent
  --default-max-coefficient X
                         highest worker price coefficient for clients that send no
                         x-silkworm-max-coefficient header (default 1)
  -h, --help             show this help

Also serves GET /healthz and GET /metrics (Prometheus text format).`;

/** Reads and validates a price list file; throws an Error that says what is wrong. */
async function loadPriceList(file: string): Promise<PriceList> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`--prices: cannot read ${file} as JSON: ${(error as Error).message}`);
  }
  const parsed = priceListSchema.safeParse(json);
  if (!parsed.success) throw new Error(`--prices: ${file} is not a valid price list:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Parses arguments and runs the coordinator (or `audit`); resolves with the exit status. */
export async function runCoordinatorCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'audit') return runAuditCommand(argv.slice(1));
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:8787' },
      data: { type: 'string', default: '.silkworm/coordinator' },
      'api-key': { type: 'string', multiple: true },
      unmetered: { type: 'boolean', default: false },
      'admin-key': { type: 'string' },
      chain: { type: 'string' },
      'chain-api-key': { type: 'string' },
      network: { type: 'string', default: 'testnet' },
      'public-url': { type: 'string' },
      'push-threshold': { type: 'string', default: '1' },
      'push-interval': { type: 'string', default: '60' },
      'request-timeout': { type: 'string', default: '120000' },
      'heartbeat-interval': { type: 'string', default: String(DEFAULT_HEARTBEAT_MS / 1000) },
      catalog: { type: 'string' },
      'catalog-dir': { type: 'string' },
      'verify-rate': { type: 'string', default: '0' },
      'verify-threads': { type: 'string', default: '1' },
      'probe-interval': { type: 'string', default: '0' },
      'probe-prompts': { type: 'string' },
      'default-max-coefficient': { type: 'string', default: '1' },
      prices: { type: 'string' },
      'cors-origin': { type: 'string', multiple: true },
      store: { type: 'string' },
      bus: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(COORDINATOR_HELP);
    return 0;
  }
  const listen = parseHostPort(values.listen);
  if (!listen.ok) throw new Error(`--listen: ${listen.message}`);
  const requestTimeoutMs = Number(values['request-timeout']);
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs < 1000) throw new Error('--request-timeout must be a whole number of milliseconds, at least 1000.');
  const heartbeatS = Number(values['heartbeat-interval']);
  if (!(heartbeatS >= 1 && heartbeatS <= 600)) throw new Error('--heartbeat-interval must be a number of seconds from 1 to 600.');
  const logger = createLogger('coordinator');
  const network = values.network;
  if (network !== 'testnet' && network !== 'mainnet') throw new Error(`--network must be testnet or mainnet (got '${network}').`);
  const pushIntervalS = Number(values['push-interval']);
  if (!(pushIntervalS >= 1)) throw new Error('--push-interval must be at least 1 second.');
  const chain: CoordinatorOptions['chain'] = values.chain
    ? {
        url: values.chain,
        ...(values['chain-api-key'] ? { apiKey: values['chain-api-key'] } : {}),
        network,
        pushThreshold: toNano(values['push-threshold']),
        pushIntervalMs: pushIntervalS * 1000,
      }
    : undefined;
  const catalog = values.catalog ? await loadCatalogFile(values.catalog, values['catalog-dir']) : undefined;
  const verifyRate = Number(values['verify-rate']);
  if (!(verifyRate >= 0 && verifyRate <= 1)) throw new Error('--verify-rate must be a number from 0 to 1.');
  if (verifyRate > 0 && !catalog) throw new Error('--verify-rate needs --catalog: spot checks re-score with the catalog’s model files.');
  const verifyThreads = Number(values['verify-threads']);
  if (!Number.isInteger(verifyThreads) || verifyThreads < 1) throw new Error('--verify-threads must be a whole number, at least 1.');
  const probeS = Number(values['probe-interval']);
  if (!(probeS === 0 || (probeS >= 1 && probeS <= 86_400))) throw new Error('--probe-interval must be 0 (off) or a number of seconds from 1 to 86400.');
  if (probeS > 0 && !catalog) throw new Error('--probe-interval needs --catalog: probes re-score with the catalog’s model files.');
  if (values['probe-prompts'] !== undefined && probeS === 0) throw new Error('--probe-prompts is for probes: give --probe-interval too.');
  const probes = probeS > 0 ? { intervalMs: Math.round(probeS * 1000), ...(values['probe-prompts'] !== undefined ? { prompts: await loadProbePrompts(values['probe-prompts']) } : {}) } : undefined;
  const defaultMaxCoefficient = Number(values['default-max-coefficient']);
  if (!(defaultMaxCoefficient >= 0.1 && defaultMaxCoefficient <= 10)) throw new Error('--default-max-coefficient must be a number from 0.1 to 10.');
  const prices = values.prices ? await loadPriceList(values.prices) : undefined;
  const corsOrigins = parseCorsOrigins(values['cors-origin'] ?? []);
  const store = parseStoreSpec(values.store);
  if (!store.ok) throw new Error(`--store: ${store.message}`);
  // Stopped by a signal (exit code 0), or by a store that broke (1: a supervisor starts it again); the first says.
  let stopWith: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => (stopWith = resolve));
  const coordinator = await startCoordinator({ ...(catalog ? { catalog } : {}), ...(prices ? { prices } : {}), ...listen.value, dataDir: values.data, apiKeys: values['api-key'] ?? [], unmetered: values.unmetered, ...(chain ? { chain } : {}), ...(values['admin-key'] ? { adminKey: values['admin-key'] } : {}), tonConnect: { network, ...(values['public-url'] ? { publicUrl: values['public-url'] } : {}) }, requestTimeoutMs, heartbeatIntervalMs: Math.round(heartbeatS * 1000), verifyRate, verifyThreads, ...(probes ? { probes } : {}), defaultMaxCoefficient, corsOrigins, ...(store.value ? { store: store.value } : {}), ...(values.bus !== undefined ? { bus: parseBusUrl(values.bus) } : {}), onStoreBroken: () => stopWith(1), logger });
  // The probe prompts are meant to change now and then: SIGHUP reads the file again, and a file
  // that does not parse leaves the prompts in use as they were.
  const promptsFile = values['probe-prompts'];
  const reloadPrompts = () => {
    if (promptsFile === undefined || !coordinator.prober) return logger.warn('SIGHUP: there is nothing to reload (no --probe-prompts)');
    const prober = coordinator.prober;
    loadProbePrompts(promptsFile).then(
      (prompts) => {
        prober.usePrompts(prompts);
        logger.info({ prompts: prompts.length }, 'probe prompts reloaded');
      },
      (error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'probe prompts not reloaded: the file does not parse; the prompts in use stay'),
    );
  };
  process.on('SIGHUP', reloadPrompts);
  process.once('SIGINT', () => stopWith(0));
  process.once('SIGTERM', () => stopWith(0));
  const code = await stopped;
  logger.info(code === 0 ? 'shutting down' : 'shutting down: the store is broken; exit code 1, for a supervisor to start this instance again');
  await coordinator.close().catch(() => undefined);
  process.off('SIGHUP', reloadPrompts);
  return code;
}

/** Checks a `--bus` value: one or more nats:// (or tls://) URLs separated by commas. */
export function parseBusUrl(value: string): string {
  const urls = value.split(',').map((u) => u.trim());
  for (const url of urls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`--bus: '${url}' is not a URL; expected nats://HOST:PORT`);
    }
    if (parsed.protocol !== 'nats:' && parsed.protocol !== 'tls:') throw new Error(`--bus: '${url}' is not a nats:// URL`);
    if (!parsed.port) throw new Error(`--bus: '${url}' has no port (NATS listens on 4222 by default)`);
  }
  return urls.join(',');
}

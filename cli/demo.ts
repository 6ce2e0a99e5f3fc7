/**
 * `silkworm demo`: a whole local network in one command — a local TON chain, a coordinator
 * with its payout vault, and a headless worker serving a generated test model — then real
 * requests through it, and the lines to call it yourself with curl or the OpenAI SDK.
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { toNano } from '@ton/core';
import { parseHostPort } from '../network/protocol/host-port.js';
import { formatTon } from '../network/protocol/pricing.js';
import { ROUTES } from '../network/protocol/http-contract.js';
import { TIER_DESCRIPTIONS } from '../network/protocol/descriptor.js';
import { startChainServer } from '../network/chain/cli.js';
import { createChainLogger } from '../network/chain/log.js';
import { startCoordinator, clientIdForKey } from '../network/coordinator/server.js';
import { BUILT_IN_PROBE_PROMPTS } from '../network/coordinator/sealed-probes.js';
import { createLogger as createCoordinatorLogger } from '../network/coordinator/log.js';
import { startWorkerCore } from '../main/worker/worker-core.js';
import { createLogger } from '../network/node-kit/log.js';
import { writeTestModel } from '../main/models/test-model.js';
import { makeDemoCatalog } from '../main/models/catalog-demo.js';
import { loadDemoWallet } from './demo-wallet.js';
import { startGateway } from '../network/client/gateway.js';
import { attachDashboard } from '../main/dashboard/attach.js';
import { assembleApp } from '../main/app/assemble-app.js';
import { LogRing } from '../main/app/log-ring.js';
import { createLogger as createGatewayLogger } from '../network/client/log.js';

/** The demo's local wallet passphrase: the owner's wallet holds local test TON only. */
const DEMO_PASSPHRASE = 'demo-passphrase';

const HELP = `Usage: silkworm demo [--listen HOST:PORT] [--data DIR] [--once]

Starts a local Silkworm network on this machine — a local TON chain, a coordinator with its
payout vault, and a worker serving a generated test model — sends it requests, and prints
how to call it. All money in the demo is local test TON on a local chain: worth nothing.

Options:
  --listen HOST:PORT   where the coordinator listens (default 127.0.0.1:8787)
  --data DIR           demo state (default .silkworm/demo)
  --once               exit after the first request (for scripts and CI)
  -h, --help           show this help`;

/** Runs the demo until SIGINT/SIGTERM (or after one request with --once). */
export async function runDemoCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:8787' },
      data: { type: 'string', default: '.silkworm/demo' },
      once: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const listen = parseHostPort(values.listen);
  if (!listen.ok) throw new Error(`--listen: ${listen.message}`);
  const dataDir = resolve(values.data);
  await mkdir(dataDir, { recursive: true });
  const modelPath = join(dataDir, 'silkworm-test.gguf');
  if (!existsSync(modelPath)) await writeTestModel(modelPath);
  const apiKey = `sk-demo-${randomBytes(12).toString('hex')}`;
  const adminKey = randomBytes(16).toString('hex');
  const level = process.env.SILKWORM_LOG_LEVEL ?? 'warn';

  const chain = await startChainServer({ host: listen.value.host, port: 0, dataDir: join(dataDir, 'chain'), logger: createChainLogger({ level }) });
  const coordinator = await startCoordinator({
    ...listen.value,
    dataDir: join(dataDir, 'coordinator'),
    apiKeys: [apiKey],
    adminKey,
    // The Models screen's catalog: the tiny model (serving) and a bigger one to download and switch to.
    catalog: { catalog: await makeDemoCatalog(join(dataDir, 'catalog'), modelPath), dir: join(dataDir, 'catalog') },
    chain: { url: chain.url, network: 'testnet', pushThreshold: toNano('0.05'), pushIntervalMs: 20_000 },
    // The catalog's files are here, so jobs are counted with the models' own tokenizers, and a
    // quarter of transport jobs are re-scored with the same model before they are paid.
    verifyRate: 0.25,
    // Sealed jobs it cannot read: it checks the worker with sealed jobs of its own (one below, then about every 5 minutes).
    probes: { intervalMs: 300_000, prompts: BUILT_IN_PROBE_PROMPTS },
    logger: createCoordinatorLogger('coordinator', { level }),
  });
  await fetch(`${coordinator.url}${ROUTES.adminDeposits}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ client: clientIdForKey(apiKey), nanotons: toNano('100').toString(), reference: `demo-${apiKey}` }),
  });
  const owner = await loadDemoWallet(join(dataDir, 'owner-wallet.json'));
  const joined = new Promise<void>((done) => coordinator.registry.once('added', () => done()));
  const logs = new LogRing();
  const workerLogger = createLogger('worker', { level, destination: logs.tee(process.stdout) });
  // The owner's wallet pays the gas of a Cash out claim: a little local test TON from the faucet.
  await fetch(`${chain.url}/faucet`, { method: 'POST', body: JSON.stringify({ address: owner.address, amount: toNano('1').toString() }) });
  const workerDir = join(dataDir, 'worker');
  const worker = await startWorkerCore({
    coordinatorUrl: coordinator.url,
    dataDir: workerDir,
    modelPath,
    payoutAddress: owner.address,
    chainUrl: chain.url,
    logger: workerLogger,
  });
  await joined;
  // Clients seal to the worker's published descriptor; wait until the coordinator lists it.
  for (let i = 0; i < 100 && ![...coordinator.registry.all()].some((w) => w.descriptor && w.available); i++) await new Promise((r) => setTimeout(r, 50));
  const gateway = await startGateway({
    host: listen.value.host === '0.0.0.0' ? '127.0.0.1' : listen.value.host,
    port: 0,
    coordinatorUrl: coordinator.url,
    apiKey,
    minTier: worker.engineInfo.tier,
    logger: createGatewayLogger('gateway', { level }),
  });

  let dashboardLine = '';
  const services = await assembleApp({ core: worker, shell: { kind: 'dashboard' }, coordinatorUrl: coordinator.url, modelPath, dataDir: workerDir, network: 'testnet', chainUrl: chain.url, logs, logger: workerLogger });
  // The owner's wallet is the wallet on this PC, so Cash out signs with its own key (after the passphrase).
  const wallet = await services.handlers.getWallet(undefined);
  if (wallet.ok && !wallet.value.local) await services.handlers.importLocalWallet({ words: owner.words.join(' '), passphrase: DEMO_PASSPHRASE });
  const dashboard = await attachDashboard(services, { host: listen.value.host === '0.0.0.0' ? '127.0.0.1' : listen.value.host, port: 0, logger: workerLogger, print: (line) => (dashboardLine = line) });

  const base = `${coordinator.url}/v1`;
  const ask = async (content: string, maxTokens: number, via = base) => {
    const response = await fetch(`${via}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ model: 'silkworm-test', messages: [{ role: 'user', content }], max_tokens: maxTokens, temperature: 0 }),
    });
    return (await response.json()) as { choices?: { message: { content: string } }[]; usage?: { completion_tokens: number }; error?: { message: string } };
  };
  const started = performance.now();
  const first = await ask('abc', 24);
  const ms = performance.now() - started;
  const answer = first.choices?.[0]?.message.content;
  const sealed = await ask('xyz', 8, `${gateway.url}/v1`);
  const sealedAnswer = sealed.choices?.[0]?.message.content;
  const probed = await coordinator.prober?.probeOnce().catch((error: unknown) => ({ result: `failed to run: ${error instanceof Error ? error.message : String(error)}` }));

  console.log(`
Silkworm demo — a whole network on this machine. All money here is LOCAL TEST TON on a local chain.

  chain         ${chain.url}   (toncenter v2 API; POST /faucet for test TON)
  coordinator   ${coordinator.url}   (GET /healthz, /metrics, /v1/pricing)
  payout vault  ${coordinator.settlement?.vault ?? '-'}
  worker        ${worker.workerId} · model silkworm-test · ${worker.engineInfo.gpu} · ${worker.engineInfo.tokensPerSecond} tok/s measured
  owner wallet  ${owner.address}   (earnings are pushed here once 0.05 TON is owed; Cash out any time,
                with the wallet passphrase "${DEMO_PASSPHRASE}")
  first request ${answer !== undefined ? `"abc" → "${answer}" (${first.usage?.completion_tokens ?? 0} tokens in ${ms.toFixed(0)} ms)` : `failed: ${first.error?.message ?? 'unknown error'}`}
  sealed        ${sealedAnswer !== undefined ? `"xyz" → "${sealedAnswer}" through the gateway, sealed to a ${worker.engineInfo.tier} job process` : `failed: ${sealed.error?.message ?? 'unknown error'}`}
  probe         ${probed ? `the coordinator sealed a job of its own to the worker and re-scored the answer: ${probed.result}` : 'no worker to probe'}

${dashboardLine}

OpenAI base URL, sealed end to end (recommended): ${gateway.url}/v1
OpenAI base URL, transport mode (coordinator reads requests): ${base}
API key:         ${apiKey}   (holds 100 local test TON)
Sealed means: ${TIER_DESCRIPTIONS[worker.engineInfo.tier].summary}

  curl ${base}/chat/completions -H "Authorization: Bearer ${apiKey}" -H "Content-Type: application/json" \\
    -d '{"model":"silkworm-test","messages":[{"role":"user","content":"abc"}],"max_tokens":16,"stream":true}'

  // npm install openai
  const client = new OpenAI({ baseURL: '${base}', apiKey: '${apiKey}' });
  const stream = await client.chat.completions.create({ model: 'silkworm-test', messages: [{ role: 'user', content: 'abc' }], stream: true });
  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
${values.once ? '' : '\nA light request every 10 s keeps the worker earning. Press Ctrl+C to stop.'}`);

  if (answer === undefined || sealedAnswer === undefined) process.exitCode = 1;
  if (!values.once) {
    const traffic = setInterval(() => void ask('xyz', 32).catch(() => undefined), 10_000);
    const report = setInterval(() => {
      const earned = coordinator.store.account(owner.raw).cumulative;
      console.log(JSON.stringify({ msg: 'demo earnings', earnedTon: formatTon(earned), note: 'local test TON' }));
    }, 30_000);
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    clearInterval(traffic);
    clearInterval(report);
  }
  await dashboard.close();
  await gateway.close();
  await worker.stop();
  await coordinator.close();
  await chain.close();
}

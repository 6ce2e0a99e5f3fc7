/** `silkworm worker`: the worker core on its own (a rig, or a PC without the desktop app), until SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { startWorkerCore, type WorkerCore } from '../worker/worker-core.js';
import type { AppOptions } from '../app/assemble-app.js';
import { createLogger } from '../../network/node-kit/log.js';
import { DEFAULT_SHARING_SETTINGS, type SharingMode } from '../sharing/settings.js';
import { parseHostPort } from '../../network/protocol/host-port.js';
import { coordinatorUrls } from '../worker/coordinator-link.js';
import { LogRing } from '../app/log-ring.js';
import { loadAppSettings } from '../app/settings-store.js';
import { chooseStartModel } from '../models/catalog-choice.js';

/** Help text of `silkworm worker`. */
export const WORKER_HELP = `Usage: silkworm worker --coordinator URL --data DIR --model FILE [options]

Shares this machine's GPU (or CPU) with a Silkworm network: loads the model in a
separate job process and serves the jobs the coordinator sends.

Options:
  --coordinator URL       the coordinator, as http(s):// or ws(s)://; several instances of
                          one network: repeat it or separate URLs with commas, and the
                          worker moves to the next when one cannot be reached
  --data DIR              where the worker keeps its state (default .silkworm/worker)
  --model FILE            a GGUF model file to serve (default: the one last chosen
                          on the dashboard's Models screen)
  --share MODE            off | idle | polite | always (default: as last set in the
                          dashboard, else always)
  --payout-address ADDR   TON address that receives earnings
  --network NET           testnet | mainnet: which payout addresses are accepted (default testnet)
  --chain URL             toncenter v2 endpoint to follow payouts on (default: none)
  --chain-api-key KEY     its API key
  --threads N             CPU threads for the engine (default: half the cores)
  --max-jobs N            jobs served at once, one context sequence each (default:
                          as many as fit in VRAM on a GPU, RAM and cores on a CPU)
  --gpu auto|cpu          use a GPU when one is found (default auto)
  --dashboard HOST:PORT   serve the app's UI here (loopback; the URL with its access
                          token is printed once)
  -h, --help              show this help`;

function positiveInt(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number ≥ 1 (got '${text}').`);
  return value;
}

async function checkPayoutAddress(text: string, network: string): Promise<void> {
  const { Address } = await import('@ton/core');
  let testOnly: boolean;
  let workchain: number;
  try {
    const parsed = Address.parseFriendly(text);
    testOnly = parsed.isTestOnly;
    workchain = parsed.address.workChain;
  } catch {
    throw new Error(`--payout-address '${text}' is not a valid TON address (a typo? its checksum does not match).`);
  }
  if (workchain !== 0) {
    // The payout vault refuses other workchains: masterchain fees are ~10x the basechain's.
    throw new Error(`--payout-address '${text}' is on workchain ${workchain}; payouts go to the basechain (workchain 0) only. Use your wallet's basechain address.`);
  }
  if (testOnly !== (network === 'testnet')) {
    throw new Error(`--payout-address '${text}' is a ${testOnly ? 'testnet' : 'mainnet'} address but this worker is on ${network}: funds sent there could be lost. Use a ${network} address, or --network ${testOnly ? 'testnet' : 'mainnet'}.`);
  }
}

/**
 * Assembles the app on the worker core and serves it as the dashboard. Loaded only when
 * `--dashboard` is given: a rig without it never pays for the UI server's and the app's code.
 */
async function startDashboardFor(core: WorkerCore, app: Omit<AppOptions, 'core' | 'shell'>, listen: { host: string; port: number }) {
  const [{ assembleApp }, { attachDashboard }] = await Promise.all([import('../app/assemble-app.js'), import('../dashboard/attach.js')]);
  const services = await assembleApp({ core, shell: { kind: 'dashboard' }, ...app });
  return attachDashboard(services, { ...listen, ...(app.logger ? { logger: app.logger } : {}) });
}

/** Parses arguments and runs the worker; returns once it has shut down. */
export async function runWorkerCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      coordinator: { type: 'string', multiple: true },
      data: { type: 'string', default: '.silkworm/worker' },
      model: { type: 'string' },
      share: { type: 'string' },
      dashboard: { type: 'string' },
      'payout-address': { type: 'string' },
      chain: { type: 'string' },
      'chain-api-key': { type: 'string' },
      network: { type: 'string', default: 'testnet' },
      threads: { type: 'string' },
      'max-jobs': { type: 'string' },
      gpu: { type: 'string', default: 'auto' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(WORKER_HELP);
    return;
  }
  if (!values.coordinator?.some((u) => u.trim())) throw new Error('--coordinator URL is required (for example http://127.0.0.1:8787).');
  const coordinators = coordinatorUrls(values.coordinator).join(',');
  // The first instance answers the worker's HTTP calls (catalog, TON Connect); the link fails over among all.
  const primary = coordinators.split(',')[0]!;
  if (values.share !== undefined && !['off', 'idle', 'polite', 'always'].includes(values.share)) throw new Error(`--share must be off, idle, polite or always (got '${values.share}').`);
  const dashboard = values.dashboard === undefined ? undefined : parseHostPort(values.dashboard);
  if (dashboard && !dashboard.ok) throw new Error(`--dashboard: ${dashboard.message}`);
  if (values.gpu !== 'auto' && values.gpu !== 'cpu') throw new Error(`--gpu must be auto or cpu (got '${values.gpu}').`);
  if (values.network !== 'testnet' && values.network !== 'mainnet') throw new Error(`--network must be testnet or mainnet (got '${values.network}').`);
  if (values['payout-address'] !== undefined) await checkPayoutAddress(values['payout-address'], values.network);
  // The dashboard's Diagnostics screen shows recent log lines: keep them in a ring as well.
  const logs = new LogRing();
  const logger = createLogger('worker', { destination: logs.tee(process.stdout) });
  const { settings: stored, warning } = await loadAppSettings(values.data);
  if (warning) logger.warn(warning);
  // --model wins; without it, the model last chosen on the Models screen.
  const chosen = chooseStartModel(values.model, stored.modelPath);
  if (!chosen.path) throw new Error(`--model FILE is required${chosen.warning ? ` (${chosen.warning})` : ''} (make a test model with: silkworm model make-test model.gguf).`);
  const modelPath = chosen.path;
  const payoutAddress = values['payout-address'] ?? stored.payoutAddress ?? undefined;
  const threads = positiveInt('threads', values.threads);
  const maxConcurrentJobs = positiveInt('max-jobs', values['max-jobs']);
  const core = await startWorkerCore({
    coordinatorUrl: coordinators,
    dataDir: values.data,
    modelPath,
    gpu: values.gpu,
    sharing: { ...DEFAULT_SHARING_SETTINGS, mode: 'always', ...stored.sharing, ...(values.share ? { mode: values.share as SharingMode } : {}) },
    ...(payoutAddress ? { payoutAddress } : {}),
    ...(values.chain ? { chainUrl: values.chain } : {}),
    ...(values['chain-api-key'] ? { chainApiKey: values['chain-api-key'] } : {}),
    logger,
    ...(threads ? { threads } : {}),
    ...(maxConcurrentJobs ? { maxConcurrentJobs } : {}),
  });
  const attached = dashboard?.ok
    ? await startDashboardFor(
        core,
        { coordinatorUrl: primary, modelPath, dataDir: values.data, network: values.network, stored, logs, logger, ...(values.chain ? { chainUrl: values.chain } : {}), ...(values['chain-api-key'] ? { chainApiKey: values['chain-api-key'] } : {}) },
        dashboard.value,
      )
    : undefined;
  await new Promise<void>((resolve) => {
    const stop = () => {
      logger.info('shutting down');
      Promise.resolve(attached?.close())
        .then(() => core.stop())
        .then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

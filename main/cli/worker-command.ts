/** `silkworm worker`: a headless worker that serves until SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { Address } from '@ton/core';
import { startHeadlessWorker } from '../worker/headless.js';
import { createLogger } from '../log.js';
import type { SharingMode } from '../sharing/settings.js';

/** Help text of `silkworm worker`. */
export const WORKER_HELP = `Usage: silkworm worker --coordinator URL --data DIR --model FILE [options]

Shares this machine's GPU (or CPU) with a Silkworm network: loads the model in a
separate job process and serves the jobs the coordinator sends.

Options:
  --coordinator URL       the coordinator, as http(s):// or ws(s)://
  --data DIR              where the worker keeps its state (default .silkworm/worker)
  --model FILE            a GGUF model file to serve
  --share MODE            off | idle | polite | always (default always)
  --payout-address ADDR   TON address that receives earnings
  --chain URL             toncenter v2 endpoint to follow payouts on (default: none)
  --chain-api-key KEY     its API key
  --threads N             CPU threads for the engine (default: half the cores)
  --max-jobs N            jobs served at once (default 1)
  --gpu auto|cpu          use a GPU when one is found (default auto)
  -h, --help              show this help`;

function positiveInt(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number ≥ 1 (got '${text}').`);
  return value;
}

function checkPayoutAddress(text: string): void {
  try {
    Address.parseFriendly(text);
  } catch {
    throw new Error(`--payout-address '${text}' is not a valid TON address (a typo? its checksum does not match).`);
  }
}

/** Parses arguments and runs the worker; returns once it has shut down. */
export async function runWorkerCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      coordinator: { type: 'string' },
      data: { type: 'string', default: '.silkworm/worker' },
      model: { type: 'string' },
      share: { type: 'string', default: 'always' },
      'payout-address': { type: 'string' },
      chain: { type: 'string' },
      'chain-api-key': { type: 'string' },
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
  if (!values.coordinator) throw new Error('--coordinator URL is required (for example http://127.0.0.1:8787).');
  if (!values.model) throw new Error('--model FILE is required (make a test model with: silkworm model make-test model.gguf).');
  if (!['off', 'idle', 'polite', 'always'].includes(values.share)) throw new Error(`--share must be off, idle, polite or always (got '${values.share}').`);
  if (values.gpu !== 'auto' && values.gpu !== 'cpu') throw new Error(`--gpu must be auto or cpu (got '${values.gpu}').`);
  if (values['payout-address'] !== undefined) checkPayoutAddress(values['payout-address']);
  const logger = createLogger('worker');
  const threads = positiveInt('threads', values.threads);
  const maxConcurrentJobs = positiveInt('max-jobs', values['max-jobs']);
  const headless = await startHeadlessWorker({
    coordinatorUrl: values.coordinator,
    dataDir: values.data,
    modelPath: values.model,
    gpu: values.gpu,
    sharing: { mode: values.share as SharingMode },
    ...(values['payout-address'] ? { payoutAddress: values['payout-address'] } : {}),
    ...(values.chain ? { chainUrl: values.chain } : {}),
    ...(values['chain-api-key'] ? { chainApiKey: values['chain-api-key'] } : {}),
    logger,
    ...(threads ? { threads } : {}),
    ...(maxConcurrentJobs ? { maxConcurrentJobs } : {}),
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      logger.info('shutting down');
      headless.stop().then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/**
 * `npm run bench`: runs each benchmark section, prints its tables, and ends with ONE line of
 * JSON merging every section's results (the last line of stdout, for scripts and CI).
 * Usage: npm run bench [-- --only serving,cancel] [--threads N] [--gpu auto|cpu] [--probes real|none] [--preemption-trials N] [--coord-workers N]
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { BenchContext } from './context.js';
import { servingSection } from './serving.js';
import { cancelSection } from './cancel.js';
import { sealedSection } from './sealed.js';
import { preemptionSection } from './preemption.js';
import { idleSection } from './idle.js';
import { ledgerSection } from './ledger.js';
import { payoutsSection } from './payouts.js';
import { auditSection } from './audit.js';
import { verifySection } from './verify.js';
import { meteringSection } from './metering.js';
import { jsonModeSection } from './json-mode.js';
import { uiSection } from './ui.js';
import { batchSection } from './batch.js';
import { coordinatorLoadSection, DEFAULT_COORDINATOR_LOAD } from './coordinator-load.js';
import { scaleoutSection } from './scaleout.js';
import { describeCpu, describeLoad } from './device.js';
import { formatTable } from './table.js';
import type { ResultValue, Section } from './section.js';

/** What the command line may change in a section (the rest is fixed so runs compare). */
interface SectionOptions {
  preemptionTrials: number;
  /** Simulated workers the coordinator section holds. */
  coordWorkers: number;
}

/**
 * Every section, in the order they run. Later issues add theirs here. The ledger, the payouts and
 * the audit go first: their synchronous work (SQLite; the TVM emulator) blocks this process's
 * event loop for seconds. Whatever a section starts is stopped before the next one runs.
 */
function allSections(options: SectionOptions): readonly Section[] {
  return [
    ledgerSection(),
    payoutsSection(),
    auditSection(),
    servingSection({ name: 'serving', size: 'bench', rounds: 9, maxTokens: 384, ttftRounds: 15, suffix: '', explain: true }),
    servingSection({ name: 'serving-tiny', size: 'tiny', rounds: 7, maxTokens: 512, ttftRounds: 15, suffix: '_tiny', explain: false }),
    sealedSection,
    cancelSection,
    preemptionSection({ trials: options.preemptionTrials }),
    idleSection,
    verifySection,
    meteringSection,
    jsonModeSection,
    uiSection(),
    batchSection,
    coordinatorLoadSection({ ...DEFAULT_COORDINATOR_LOAD, workers: options.coordWorkers }),
    scaleoutSection(),
  ];
}

const DEFAULT_PREEMPTION_TRIALS = 100;
const SECTIONS = allSections({ preemptionTrials: DEFAULT_PREEMPTION_TRIALS, coordWorkers: DEFAULT_COORDINATOR_LOAD.workers });

const HELP = `Usage: npm run bench [-- options]

Options:
  --only NAMES        run only these sections (comma-separated): ${SECTIONS.map((s) => s.name).join(', ')}
  --threads N         engine CPU threads for every path (default 1)
  --gpu auto|cpu      engine backend (default auto: a GPU when node-llama-cpp finds one)
  --probes real|none  the worker's sharing probes as shipped (default), or none, to see
                      serving without them (they spawn helper programs every 2 s)
  --preemption-trials N
                      preemption trials (default ${DEFAULT_PREEMPTION_TRIALS}, as the issue asks; each reloads
                      the model, several seconds on a small CPU box)
  --coord-workers N   simulated workers the coordinator section holds (default ${DEFAULT_COORDINATOR_LOAD.workers})
  -h, --help          show this help

Sections:
${SECTIONS.map((s) => `  ${s.name.padEnd(14)} ${s.summary}`).join('\n')}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      threads: { type: 'string', default: '1' },
      gpu: { type: 'string', default: 'auto' },
      probes: { type: 'string', default: 'real' },
      'preemption-trials': { type: 'string', default: String(DEFAULT_PREEMPTION_TRIALS) },
      'coord-workers': { type: 'string', default: String(DEFAULT_COORDINATOR_LOAD.workers) },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const threads = Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1) throw new Error('--threads must be a positive integer.');
  const preemptionTrials = Number(values['preemption-trials']);
  if (!Number.isInteger(preemptionTrials) || preemptionTrials < 1) throw new Error('--preemption-trials must be a positive integer.');
  const coordWorkers = Number(values['coord-workers']);
  if (!Number.isInteger(coordWorkers) || coordWorkers < 1) throw new Error('--coord-workers must be a positive integer.');
  const sections = pickSections(allSections({ preemptionTrials, coordWorkers }), values.only);
  if (values.gpu !== 'auto' && values.gpu !== 'cpu') throw new Error('--gpu must be auto or cpu.');
  if (values.probes !== 'real' && values.probes !== 'none') throw new Error('--probes must be real or none.');

  const started = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  console.log(`Silkworm bench — ${describeCpu()}, Node ${process.version}, engine threads ${threads}, gpu ${values.gpu}, sharing probes ${values.probes}, load average ${describeLoad()}\n`);
  const results: Record<string, ResultValue> = {};
  const context = await BenchContext.create({ threads, gpu: values.gpu, contextSize: 4096, probes: values.probes });
  try {
    for (const section of sections) {
      const sectionStarted = performance.now();
      try {
        const report = await section.run(context);
        for (const table of report.tables) console.log(`${formatTable(table)}\n`);
        Object.assign(results, report.results);
      } catch (error) {
        process.exitCode = 1;
        const message = error instanceof Error ? error.message : String(error);
        console.log(`${section.name}: FAILED — ${message}\n`);
        results[`${section.name.replaceAll('-', '_')}_error`] = message;
      }
      // Each section measures on its own: what the one before started stops here.
      await context.release();
      console.error(`section ${section.name} took ${((performance.now() - sectionStarted) / 1000).toFixed(1)} s`);
    }
  } finally {
    await context.close();
  }
  // On a shared machine these tell a script which runs were disturbed.
  results.load_avg_start = Math.round(loadAtStart * 100) / 100;
  results.load_avg_end = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  results.runtime_s = Math.round((performance.now() - started) / 100) / 10;
  console.log(JSON.stringify(results));
}

function pickSections(all: readonly Section[], only: string | undefined): readonly Section[] {
  if (!only) return all;
  const names = only.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !all.some((section) => section.name === name));
  if (unknown.length) throw new Error(`Unknown section(s): ${unknown.join(', ')}. Known: ${all.map((s) => s.name).join(', ')}.`);
  return all.filter((section) => names.includes(section.name));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

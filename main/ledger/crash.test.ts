// Crash safety of job credits: a child process credits jobs in a loop and acknowledges each one
// after its commit; we SIGKILL it at random moments, 200+ times, on the same database file.
// Afterwards the file must be sound and every acknowledged credit present exactly once, with
// its exact amount, and the per-day rollup must agree with the jobs to the nanoton.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLedgerDb } from './db.js';
import { durability } from '../../network/node-kit/sqlite.js';
import { creditFor } from './testing/crash-credit.mjs';

const KILLS = Number(process.env.SILKWORM_CRASH_KILLS ?? 200);
/** Writers booting ahead of the one writing (booting is most of a run; they never touch the database). */
const PREWARM = 2;
const here = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = join(here, '..', '..');
// The child runs plain `node` (≈4x faster to start than tsx), on these modules transpiled once,
// laid out as in the repository so their relative imports resolve.
const CHILD_MODULES = ['main/ledger/db', 'main/ledger/migrations', 'main/ledger/jobs', 'main/ledger/days', 'main/ledger/anomalies', 'network/node-kit/sqlite'];

let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'silkworm-crash-'));
  const ts = (await import('typescript')).default;
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  for (const name of CHILD_MODULES) {
    const source = readFileSync(join(repoRoot, `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, `${name}.js`), outputText);
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

interface RunOutcome {
  acked: string[];
  /** The writer connection's journal mode and synchronous level, as it reported them. */
  durability: string | undefined;
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

interface Writer {
  /** Lets it open the database: it re-credits `replay`, says "ready", and is killed 5-50 ms later. */
  go(replay: readonly string[]): void;
  done: Promise<RunOutcome>;
}

// Starts a writer that boots and waits for "go"; the test boots the next ones while the current
// one writes.
function startWriter(dbPath: string, runId: string): Writer {
  const fixture = join(here, 'testing', 'credit-writer.mjs');
  const child = spawn(process.execPath, [fixture, join(dir, 'main', 'ledger'), dbPath, runId], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let killTimer: NodeJS.Timeout | undefined;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (!killTimer && /(^|\n)ready\n/.test(stdout)) {
      killTimer = setTimeout(() => child.kill('SIGKILL'), 5 + Math.random() * 45);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<RunOutcome>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      // Only whole lines count: a line cut by the kill was never fully acknowledged.
      const lines = stdout.split('\n').slice(0, -1);
      const acked = lines.filter((line) => line.startsWith('ack ')).map((line) => line.slice(4));
      resolve({ acked, durability: lines.find((line) => line.startsWith('durability '))?.slice(11), signal, code, stderr });
    });
  });
  return { go: (replay) => child.stdin.end(`go ${replay.join(',')}\n`), done };
}

test(`${KILLS} SIGKILLs during credit writes lose and double nothing`, { timeout: 180_000 }, async () => {
  const dbPath = join(dir, 'ledger.db');
  const started = performance.now();
  const acked: string[] = [];
  const booting = Array.from({ length: Math.min(PREWARM, KILLS) }, (_, run) => startWriter(dbPath, `r${run}`));
  for (let run = 0; run < KILLS; run++) {
    // Each run first re-credits a few earlier acknowledged ids: they must be duplicates.
    const replay = acked.length ? [acked[0]!, acked[Math.floor(Math.random() * acked.length)]!, acked[acked.length - 1]!] : [];
    const current = booting.shift() as Writer;
    current.go(replay);
    if (run + PREWARM < KILLS) booting.push(startWriter(dbPath, `r${run + PREWARM}`));
    const outcome = await current.done;
    assert.equal(outcome.signal, 'SIGKILL', `run ${run} ended with code ${outcome.code}: ${outcome.stderr}`);
    // The guarantee rests on these settings: every writer connection must run with them.
    assert.equal(outcome.durability, 'wal 2', `run ${run}: journal_mode=WAL and synchronous=FULL (2)`);
    acked.push(...outcome.acked);
  }
  const seconds = (performance.now() - started) / 1000;

  const db = openLedgerDb(dbPath);
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(durability(db), { journalMode: 'wal', synchronous: 2 }, 'the reading connection too');
    const rows = new Map(
      (db.prepare('SELECT job_id, earned_nanotons FROM jobs').all() as { job_id: string; earned_nanotons: bigint }[]).map((r) => [r.job_id, r.earned_nanotons]),
    );
    assert.equal(new Set(acked).size, acked.length, 'no id was acknowledged twice');
    assert.ok(acked.length >= KILLS, `expected at least one credit per run, got ${acked.length}`);
    for (const id of acked) assert.equal(rows.get(id), creditFor(id).earnedNanotons, `credit ${id}`);
    // A kill can land between a commit and its "ack" lines: at most one transaction per run
    // (one credit, or a batch of up to 20 in odd runs).
    const ackedSet = new Set(acked);
    const unackedPerRun = new Map<string, number>();
    for (const id of rows.keys()) {
      if (ackedSet.has(id)) continue;
      assert.equal(rows.get(id), creditFor(id).earnedNanotons, `unacknowledged ${id} is still exact`);
      const run = id.split('-')[0] as string;
      unackedPerRun.set(run, (unackedPerRun.get(run) ?? 0) + 1);
    }
    for (const [run, count] of unackedPerRun) assert.ok(count <= (Number(run.slice(1)) % 2 ? 20 : 1), `${run}: ${count} unacknowledged`);
    const unacked = rows.size - acked.length;
    const jobs = db.prepare('SELECT COUNT(*) AS n, SUM(earned_nanotons) AS s, SUM(duration_ms) AS b FROM jobs').get() as { n: bigint; s: bigint; b: bigint };
    const rollup = db.prepare('SELECT SUM(jobs) AS n, SUM(earned_nanotons) AS s, SUM(busy_ms) AS b FROM daily_earnings').get() as { n: bigint; s: bigint; b: bigint };
    assert.deepEqual(rollup, jobs, 'the per-day rollup matches the jobs exactly');
    assert.ok(jobs.s > 2n ** 53n, 'totals beyond float precision were summed exactly');
    console.log(`crash test: ${KILLS} kills, ${acked.length} acknowledged credits, ${unacked} committed-unacknowledged, ${seconds.toFixed(1)} s`);
  } finally {
    db.close();
  }
});

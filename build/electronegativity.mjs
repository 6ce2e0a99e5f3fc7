// Runs Electronegativity (the Electron security checklist as static analysis) over the
// desktop app's Electron-facing code — main/electron, preload, renderer — as one project, and
// fails on any HIGH finding. Writes the full SARIF to test-results/electronegativity.sarif.
//
// Why not `npx electronegativity -i …`: its CLI takes one input, and 1.10.3 reads options the
// way commander ≤6 stored them while npm hoists commander 10 here, so the CLI always prints its
// help. Its runner works; this script stages the three folders and calls it.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stage = mkdtempSync(join(tmpdir(), 'silkworm-electronegativity-'));
for (const path of ['main/electron', 'preload', 'renderer/src', 'renderer/index.html', 'package.json']) {
  mkdirSync(join(stage, path, '..'), { recursive: true });
  cpSync(join(root, path), join(stage, path), { recursive: true, filter: (source) => !source.endsWith('.test.ts') });
}
mkdirSync(join(root, 'test-results'), { recursive: true });
const sarif = join(root, 'test-results', 'electronegativity.sarif');
const run = createRequire(import.meta.url)('@doyensec/electronegativity/dist/runner.js');
const { issues, errors } = await run({ input: stage, output: sarif, isSarif: true, customScan: [], excludeFromScan: [], isRelative: true, isVerbose: false, parserPlugins: [] }, false);
rmSync(stage, { recursive: true, force: true });
const counts = { HIGH: 0, MEDIUM: 0, LOW: 0, INFORMATIONAL: 0 };
for (const issue of issues) {
  const severity = String(issue.severity?.name ?? issue.severity);
  const confidence = String(issue.confidence?.name ?? issue.confidence);
  if (severity in counts) counts[severity]++;
  const where = issue.file === 'N/A' ? '' : ` ${issue.file.replace(`${stage}/`, '')}:${issue.location?.line ?? 0}`;
  console.log(`${severity.padEnd(13)} ${confidence.padEnd(9)} ${issue.id}${where}${issue.manualReview ? ' (review)' : ''}`);
}
for (const error of errors ?? []) console.log(`could not parse: ${error.file ?? error}`);
console.log(`Electronegativity: ${counts.HIGH} high, ${counts.MEDIUM} medium, ${counts.LOW} low, ${counts.INFORMATIONAL} informational (SARIF: ${sarif})`);
process.exit(counts.HIGH > 0 ? 1 : 0);

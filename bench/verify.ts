/**
 * What a spot check costs the coordinator (network/tokenizer/verifier.ts) against what the answer
 * cost the worker, on the 'bench' model, both on the CPU with the bench's thread count:
 *   (w) the worker's engine: LlamaEngine.load + generate (the job process's class) alone in its
 *       process, a greedy answer of 256 tokens;
 *   (v) the coordinator's Verifier re-scoring that answer (prompt + answer, one teacher-forced
 *       pass, every answer token checked), alone in its process (verifier-process.ts);
 *   (p) the same teacher-forced pass with no output at all: what any verifier that reads every
 *       token spends at least, whatever it samples;
 *   (wj)/(vj) the same for a JSON answer (`response_format: json_schema`): the worker samples
 *       under the grammar, and the verifier walks the grammar along the answer as it scores it;
 *   (wc)/(vc) the same for an answer that must call a function: the worker writes the call's
 *       arguments under the grammar of its parameters, the verifier scores them after the call's
 *       opening, walking that grammar.
 * CPU time is each process's own (/proc schedstat, every thread), so the ratio is CPU per
 * verified token ÷ CPU per generated token. Interleaved rounds, order rotated; medians with spread.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { successorText } from '../main/models/test-model.js';
import type { VerifyInput, VerifyScore } from '../network/tokenizer/verifier.js';
import type { ResponseFormat, Tool } from '../network/protocol/job-schemas.js';
import type { BenchContext } from './context.js';
import type { BenchJob } from './measure.js';
import type { Section, SectionReport } from './section.js';
import type { FromVerifier, ToVerifier } from './verifier-process.js';
import { cpuSnapshot, cpuSpent } from './cpu.js';
import { median, round, spread } from './stats.js';
import { describeBackend, describeLoad } from './device.js';
import type { Table } from './table.js';

const PROMPT = 'Continue the sequence: abc';
const TOKENS = 256;
const ROUNDS = 9;
const TARGET_RATIO = 0.15;
/** The JSON answer's schema: one string, which the test model fills to the budget (as the json-mode section). */
const SCHEMA: ResponseFormat = { type: 'json_schema', schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } };
/** The function a forced call names: the same one string, which the test model fills to the budget. */
const CALL: Tool = { name: 'say', description: 'Say something', parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } };

/** The spot-check cost section: `npm run bench -- --only verify`. */
export const verifySection: Section = {
  name: 'verify',
  summary: `spot-check CPU per verified token ÷ worker CPU per generated token, 'bench' model, ${ROUNDS}×${TOKENS} tokens`,
  run: runVerify,
};

/** The Verifier in a process of its own; each request is timed inside it. */
class VerifierProcess {
  private nextId = 0;
  private readonly waiting = new Map<number, (message: FromVerifier) => void>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: FromVerifier) => {
      if (message.type === 'opened' || message.id === undefined) return;
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
    child.once('exit', (code, signal) => {
      for (const settle of this.waiting.values()) settle({ type: 'error', message: `The verifier process exited (${signal ?? `code ${code}`}).` });
      this.waiting.clear();
    });
  }

  static async start(modelPath: string, threads: number): Promise<VerifierProcess> {
    const entry = fileURLToPath(new URL('./verifier-process.ts', import.meta.url));
    const child = fork(entry, [], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message: FromVerifier) => {
        if (message.type === 'opened') resolve();
        else if (message.type === 'error') reject(new Error(`Verifier: ${message.message}`));
      });
      child.once('exit', (code) => reject(new Error(`The verifier process exited (code ${code}) while loading.`)));
      child.send({ type: 'open', modelPath, threads } satisfies ToVerifier);
    });
    return new VerifierProcess(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private request(message: (id: number) => ToVerifier): Promise<FromVerifier> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.send(message(id));
    });
  }

  async score(input: VerifyInput): Promise<{ score: VerifyScore | undefined; ms: number }> {
    const answer = await this.request((id) => ({ type: 'score', id, input }));
    if (answer.type !== 'scored') throw new Error(answer.type === 'error' ? answer.message : `unexpected ${answer.type}`);
    return answer;
  }

  async pass(input: VerifyInput): Promise<{ tokens: number; ms: number }> {
    const answer = await this.request((id) => ({ type: 'pass', id, input }));
    if (answer.type !== 'passed') throw new Error(answer.type === 'error' ? answer.message : `unexpected ${answer.type}`);
    return answer;
  }

  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill();
    });
  }
}

/** One round: each step's CPU ms (its process), wall ms (timed inside it) and tokens. */
interface Round {
  generate: { cpuMs: number; wallMs: number; tokens: number; text: string };
  score: { cpuMs: number; wallMs: number; positions: number; mismatches: number };
  pass: { cpuMs: number; wallMs: number; tokens: number };
  generateJson: { cpuMs: number; wallMs: number; tokens: number; text: string };
  scoreJson: { cpuMs: number; wallMs: number; positions: number; mismatches: number };
  generateCall: { cpuMs: number; wallMs: number; tokens: number; text: string };
  scoreCall: { cpuMs: number; wallMs: number; positions: number; mismatches: number };
}

/** CPU ms of `pid` across `work` (every thread, /proc schedstat); NaN where unreadable. */
async function cpuOf<T>(pid: number | undefined, work: () => Promise<T>): Promise<{ value: T; cpuMs: number }> {
  const before = cpuSnapshot(pid);
  const value = await work();
  return { value, cpuMs: cpuSpent(before, cpuSnapshot(pid)).otherMs ?? Number.NaN };
}

async function runVerify(context: BenchContext): Promise<SectionReport> {
  const modelPath = await context.modelPath('bench');
  const [raw, verifier] = await Promise.all([context.rawEngine('bench'), VerifierProcess.start(modelPath, context.settings.threads)]);
  try {
    const messages = [
      { role: 'system' as const, content: 'You are a benchmark.' },
      { role: 'user' as const, content: PROMPT },
    ];
    const job: BenchJob = { messages, maxTokens: TOKENS, seed: 42 };
    const expected = successorText(PROMPT, TOKENS);
    // The answer every round checks: the worker's greedy output (compared with the model's predicted text).
    const input: VerifyInput = { messages, before: '', text: expected, params: { temperature: 0, maxTokens: TOKENS } };
    await raw.run(job);
    await verifier.score(input);
    await verifier.pass(input);
    const jsonJob: BenchJob = { ...job, responseFormat: SCHEMA };
    // Greedy, so every round's JSON answer is this one.
    const jsonText = (await raw.run(jsonJob)).text;
    const jsonInput: VerifyInput = { ...input, text: jsonText, params: { ...input.params, responseFormat: SCHEMA } };
    await verifier.score(jsonInput);
    const callJob: BenchJob = { ...job, forcedCall: CALL };
    // The call's arguments (greedy, so every round's are these).
    const callArguments = (await raw.run(callJob)).text;
    const callInput: VerifyInput = { ...input, text: '', toolCalls: [{ name: CALL.name, arguments: callArguments }], params: { ...input.params, tools: [CALL], toolChoice: 'required' } };
    await verifier.score(callInput);

    const steps = ['generate', 'score', 'pass', 'generateJson', 'scoreJson', 'generateCall', 'scoreCall'] as const;
    const rounds: Round[] = [];
    for (let index = 0; index < ROUNDS; index++) {
      const round: Partial<Round> = {};
      for (let s = 0; s < steps.length; s++) {
        const step = steps[(s + index) % steps.length];
        if (step === 'generate') {
          const { value, cpuMs } = await cpuOf(raw.pid, () => raw.run(job));
          round.generate = { cpuMs, wallMs: value.totalMs, tokens: value.tokens, text: value.text };
        } else if (step === 'generateJson' || step === 'generateCall') {
          const { value, cpuMs } = await cpuOf(raw.pid, () => raw.run(step === 'generateJson' ? jsonJob : callJob));
          round[step] = { cpuMs, wallMs: value.totalMs, tokens: value.tokens, text: value.text };
        } else if (step === 'score' || step === 'scoreJson' || step === 'scoreCall') {
          const { value, cpuMs } = await cpuOf(verifier.pid, () => verifier.score(step === 'score' ? input : step === 'scoreJson' ? jsonInput : callInput));
          if (!value.score) throw new Error('The verifier could not score the answer (empty or beyond its context).');
          round[step] = { cpuMs, wallMs: value.ms, positions: value.score.positions, mismatches: value.score.mismatches };
        } else {
          const { value, cpuMs } = await cpuOf(verifier.pid, () => verifier.pass(input));
          round.pass = { cpuMs, wallMs: value.ms, tokens: value.tokens };
        }
      }
      rounds.push(round as Round);
    }
    return report(rounds, expected, jsonText, callArguments, { worker: await describeBackend(raw.backend), verifier: await describeBackend('cpu') }, context);
  } finally {
    await verifier.stop();
  }
}

function report(rounds: Round[], expected: string, jsonText: string, callArguments: string, devices: { worker: string; verifier: string }, context: BenchContext): SectionReport {
  const workerUs = rounds.map((r) => (r.generate.cpuMs * 1000) / r.generate.tokens);
  const verifierUs = rounds.map((r) => (r.score.cpuMs * 1000) / r.score.positions);
  // The pass per verified (answer) token, like the Verifier's: both also evaluate the prompt.
  const passUs = rounds.map((r) => (r.pass.cpuMs * 1000) / r.score.positions);
  const ratio = rounds.map((_, i) => (verifierUs[i] as number) / (workerUs[i] as number));
  const passRatio = rounds.map((_, i) => (passUs[i] as number) / (workerUs[i] as number));
  const wallRatio = rounds.map((r) => r.score.wallMs / r.score.positions / (r.generate.wallMs / r.generate.tokens));
  const workerJsonUs = rounds.map((r) => (r.generateJson.cpuMs * 1000) / r.generateJson.tokens);
  const verifierJsonUs = rounds.map((r) => (r.scoreJson.cpuMs * 1000) / r.scoreJson.positions);
  const jsonRatio = rounds.map((_, i) => (verifierJsonUs[i] as number) / (workerJsonUs[i] as number));
  const jsonWallRatio = rounds.map((r) => r.scoreJson.wallMs / r.scoreJson.positions / (r.generateJson.wallMs / r.generateJson.tokens));
  const workerCallUs = rounds.map((r) => (r.generateCall.cpuMs * 1000) / r.generateCall.tokens);
  const verifierCallUs = rounds.map((r) => (r.scoreCall.cpuMs * 1000) / r.scoreCall.positions);
  const callRatio = rounds.map((_, i) => (verifierCallUs[i] as number) / (workerCallUs[i] as number));
  const callWallRatio = rounds.map((r) => r.scoreCall.wallMs / r.scoreCall.positions / (r.generateCall.wallMs / r.generateCall.tokens));
  const callClean = callArguments.startsWith('{"text":"') && rounds.every((r) => r.generateCall.text === callArguments && r.scoreCall.mismatches === 0);
  const clean = rounds.every((r) => r.generate.text === expected && r.generate.tokens === TOKENS && r.score.positions === TOKENS && r.score.mismatches === 0);
  const jsonClean = jsonText.startsWith('{"text":"') && rounds.every((r) => r.generateJson.text === jsonText && r.scoreJson.positions === r.generateJson.tokens && r.scoreJson.mismatches === 0);
  const medianRatio = median(ratio);
  const met = medianRatio <= TARGET_RATIO;
  const threads = context.settings.threads;
  const perJob: Table = {
    title: `verify: 'bench' model, threads ${threads}; ${rounds.length} rounds × ${TOKENS}-token answer after a ${(rounds[0]?.pass.tokens ?? 0) + 1 - TOKENS}-token prompt — median (min–max)`,
    columns: ['path', 'CPU µs/token', 'wall ms/job', 'wall µs/token'],
    rows: [
      ['(w) worker: LlamaEngine.generate, own process', spread(workerUs, 0), spread(rounds.map((r) => r.generate.wallMs), 1), spread(rounds.map((r) => (r.generate.wallMs * 1000) / r.generate.tokens), 0)],
      ['(v) coordinator: Verifier.score, own process', spread(verifierUs, 0), spread(rounds.map((r) => r.score.wallMs), 1), spread(rounds.map((r) => (r.score.wallMs * 1000) / r.score.positions), 0)],
      ['(p) the teacher-forced pass alone (no outputs)', spread(passUs, 0), spread(rounds.map((r) => r.pass.wallMs), 1), spread(rounds.map((r) => (r.pass.wallMs * 1000) / r.score.positions), 0)],
      ['(wj) worker: a json_schema answer, under its grammar', spread(workerJsonUs, 0), spread(rounds.map((r) => r.generateJson.wallMs), 1), spread(rounds.map((r) => (r.generateJson.wallMs * 1000) / r.generateJson.tokens), 0)],
      ['(vj) coordinator: Verifier.score, walking the grammar', spread(verifierJsonUs, 0), spread(rounds.map((r) => r.scoreJson.wallMs), 1), spread(rounds.map((r) => (r.scoreJson.wallMs * 1000) / r.scoreJson.positions), 0)],
      ['(wc) worker: a forced call, its arguments under their grammar', spread(workerCallUs, 0), spread(rounds.map((r) => r.generateCall.wallMs), 1), spread(rounds.map((r) => (r.generateCall.wallMs * 1000) / r.generateCall.tokens), 0)],
      ['(vc) coordinator: Verifier.score of the call’s arguments', spread(verifierCallUs, 0), spread(rounds.map((r) => r.scoreCall.wallMs), 1), spread(rounds.map((r) => (r.scoreCall.wallMs * 1000) / r.scoreCall.positions), 0)],
    ],
  };
  const versus: Table = {
    title: 'verify: against the worker, paired per round — median (min–max)',
    columns: ['ratio', 'CPU per token', 'wall per token'],
    rows: [
      ['(v) verifier ÷ (w) worker', spread(ratio, 3), spread(wallRatio, 3)],
      ['(p) pass alone ÷ (w) worker', spread(passRatio, 3), spread(rounds.map((r) => r.pass.wallMs / r.score.positions / (r.generate.wallMs / r.generate.tokens)), 3)],
      ['(vj) JSON verifier ÷ (wj) JSON worker', spread(jsonRatio, 3), spread(jsonWallRatio, 3)],
      ['(vc) call verifier ÷ (wc) call worker', spread(callRatio, 3), spread(callWallRatio, 3)],
    ],
    notes: [
      `target: (v) ÷ (w) CPU per token ≤ ${TARGET_RATIO} → ${met ? 'met' : 'MISSED'}${met ? '' : `: checking every token needs the pass (p) at least, ${median(passRatio).toFixed(3)} of the worker's CPU per token here; the Verifier adds ${(median(verifierUs) - median(passUs)).toFixed(0)} µs/token of sampling on top`}`,
      `every answer was the model's predicted text, and every token passed the check: ${clean ? 'yes' : 'NO'}; the JSON answers too (the same JSON each round, every token passed under the grammar): ${jsonClean ? 'yes' : 'NO'}; the calls too: ${callClean ? 'yes' : 'NO'}`,
      'per token: CPU of the process during the job (or check) ÷ answer tokens (a call\'s: its name and arguments for the worker, its arguments for the verifier); what either context already holds of a prompt it does not evaluate again',
      '(v) − (p) is what the Verifier spends beyond the pass: its sampling at every answer position (a top-k probability map each; the pass asks for no outputs)',
      'a forced call\'s prompt documents the function (about 950 tokens here, against 63): generating and checking each token of it costs more on both sides, with or without tools (a plain answer after as long a prompt costs the worker the same)',
      `devices: (w) ${devices.worker}; (v) and (p) ${devices.verifier} (the coordinator verifies on the CPU); load average ${describeLoad()} after the section`,
    ],
  };
  return {
    tables: [perJob, versus],
    results: {
      verify_cost_ratio: round(medianRatio, 3),
      verify_cost_ratio_wall: round(median(wallRatio), 3),
      verify_pass_ratio: round(median(passRatio), 3),
      verify_ms_per_job: round(median(rounds.map((r) => r.score.wallMs)), 1),
      worker_cpu_us_per_token: round(median(workerUs), 0),
      verifier_cpu_us_per_token: round(median(verifierUs), 0),
      verify_clean: clean,
      verify_json_cost_ratio: round(median(jsonRatio), 3),
      verify_json_cost_ratio_wall: round(median(jsonWallRatio), 3),
      verify_json_clean: jsonClean,
      verify_call_cost_ratio: round(median(callRatio), 3),
      verify_call_cost_ratio_wall: round(median(callWallRatio), 3),
      verify_call_clean: callClean,
    },
  };
}

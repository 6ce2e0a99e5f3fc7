/**
 * Probes (`--probe-interval`): the coordinator checks sealed workers the way it spot-checks
 * transport jobs, by being their client. It cannot read a client's sealed job, so it sends its
 * own: a chat from its prompt set, sealed to one worker's job-process key exactly as a client's
 * SDK seals it. The worker gets an ordinary `job.sealed_offer` and cannot tell a probe from a
 * client's job by anything on the wire, nor by its receipt: the coordinator opens the answer,
 * counts it with the model's tokenizer and settles the job on that count at once, as a client's
 * job settles once its receipt comes (probes have no client: the operator pays, and the books
 * record them as unmetered). Then it re-scores the answer with the model's file (verifier.ts):
 * a failing worker takes a strike (three eject its identity, reputation.ts) and is told so; its
 * pay for that probe stands, the price of a receipt that does not give the probe away.
 *
 * What a probe cannot hide is its prompt: a worker that logs what it serves could learn the
 * prompts a coordinator probes with, and those built into this file can be read by anyone. An
 * operator gives its own set (`--probe-prompts FILE`) and changes it now and then.
 */
import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { chatMessageSchema, type ChatMessage } from '../protocol/chat.js';
import { newJobId, sealRequest, type SealedChunk } from '../protocol/sealed.js';
import { decodeAnswerPart, mergeParts } from '../protocol/answer-parts.js';
import { toolName, type JobParams, type ToolCallDelta } from '../protocol/job-schemas.js';
import { outputParams, samplingFields, samplingParams } from '../protocol/openai/common.js';
import { chatResponseFormat, chatTool, jobResponseFormat, jobTool } from '../protocol/openai/chat-request.js';
import type { RegisteredWorker, WorkerRegistry } from './worker-registry.js';
import type { JobManager, SpotCheck } from './job-manager.js';
import type { WorkerStanding } from './worker-standing.js';
import type { Usage } from '../protocol/worker-frames.js';
import type { ModelMeters } from './model-meters.js';
import type { CoordinatorMetrics } from './metrics.js';
import type { Logger } from './log.js';
import { sealedJobSpec } from './sealed-api.js';

/** One probe: a chat, how it is sampled (penalties and JSON output included), and how long an answer it asks for. */
export interface ProbePrompt {
  messages: ChatMessage[];
  params: Omit<JobParams, 'maxTokens'>;
  maxTokens: number;
}

/** The most prompts a set may hold, and the largest file of them. */
export const MAX_PROBE_PROMPTS = 10_000;
export const MAX_PROBE_PROMPTS_BYTES = 8 * 1024 * 1024;
/** Longest answer a probe asks for (the re-scoring reads prompt and answer in one pass). */
export const MAX_PROBE_TOKENS = 1024;
/** How long a probe's job may run. */
const PROBE_TIMEOUT_MS = 120_000;
/** Workers remembered as probed (the least recently probed goes first; never probed, first of all). */
const MAX_REMEMBERED = 200_000;

/**
 * One line of a prompt file: an OpenAI chat request, reduced to what a probe can re-score, so
 * lines can be taken from what clients send. Tools may be offered, and a call forced: the
 * re-scoring reads the answer's text and its calls' arguments (where
 * the coordinator's verifier confirmed how this model's calls are laid out; a prompt it cannot
 * re-score is used only when no other can be).
 */
const probePromptLineSchema = z.strictObject({
  messages: z.array(chatMessageSchema).min(1).max(64),
  ...samplingFields,
  seed: z.number().int().nullish(),
  max_tokens: z.number().int().min(1).max(MAX_PROBE_TOKENS).default(128),
  response_format: chatResponseFormat.nullish(),
  tools: z.array(chatTool).min(1).max(64).nullish(),
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: toolName }) })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
});

/** A prompt file could not be used; the message names the line and the field. */
export class ProbePromptsError extends Error {
  override readonly name = 'ProbePromptsError';
}

/**
 * Parses a prompt file: JSON Lines, one `{ messages, temperature?, top_p?, presence_penalty?,
 * frequency_penalty?, seed?, max_tokens?, response_format?, tools?, tool_choice?,
 * parallel_tool_calls? }` per line (blank lines skipped).
 */
export function parseProbePrompts(text: string, source = 'probe prompts'): ProbePrompt[] {
  const prompts: ProbePrompt[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    if (prompts.length === MAX_PROBE_PROMPTS) throw new ProbePromptsError(`${source}: more than ${MAX_PROBE_PROMPTS} prompts; keep a sample.`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new ProbePromptsError(`${source}, line ${index + 1}: not JSON. Each line is one object: { "messages": [{ "role": "user", "content": "…" }], "temperature": 0.7, "max_tokens": 128 }.`);
    }
    const parsed = probePromptLineSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ProbePromptsError(`${source}, line ${index + 1}: ${issue?.path.join('.') || 'the line'}: ${issue?.message ?? 'invalid'}.`);
    }
    const { messages, max_tokens: maxTokens, response_format: format, tools, tool_choice: toolChoice, parallel_tool_calls: parallelToolCalls } = parsed.data;
    const output = outputParams({ tools: tools?.map(jobTool), toolChoice: typeof toolChoice === 'object' && toolChoice ? { name: toolChoice.function.name } : (toolChoice ?? undefined), parallelToolCalls, responseFormat: jobResponseFormat(format) });
    if (!output.ok) throw new ProbePromptsError(`${source}, line ${index + 1}: ${output.problem.message}`);
    prompts.push({ messages, params: { ...samplingParams(parsed.data), ...output.params }, maxTokens });
  }
  if (prompts.length === 0) throw new ProbePromptsError(`${source}: no prompts in it.`);
  return prompts;
}

/** Reads and parses a prompt file (`--probe-prompts FILE`). */
export async function loadProbePrompts(path: string): Promise<ProbePrompt[]> {
  let text: string;
  try {
    const size = (await stat(path)).size;
    if (size > MAX_PROBE_PROMPTS_BYTES) throw new ProbePromptsError(`--probe-prompts: ${path} is ${size} bytes; a prompt file may hold at most ${MAX_PROBE_PROMPTS_BYTES}.`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof ProbePromptsError) throw error;
    throw new ProbePromptsError(`--probe-prompts: cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  return parseProbePrompts(text, `--probe-prompts ${path}`);
}

/**
 * The prompts probes use when the operator gives none. Public: a worker could learn them. They
 * sample as clients do: greedy and at several temperatures, with penalties, as JSON, and as an agent
 * that makes the model call a tool.
 */
export const BUILT_IN_PROBE_PROMPTS: readonly ProbePrompt[] = (
  [
    ['Explain in two sentences why the sky is blue.', { temperature: 0.7 }],
    ['Write a haiku about autumn rain.', { temperature: 1 }],
    ['What is the difference between a list and a tuple in Python?', { temperature: 0.2 }],
    ['Give me three ideas for a quick vegetarian dinner.', { temperature: 0.8, frequencyPenalty: 0.5 }],
    ['Summarize the plot of Romeo and Juliet in one paragraph.', { temperature: 0.5 }],
    ['How do I reverse a string in JavaScript?', { temperature: 0 }],
    ['Translate "Where is the train station?" into French and German.', { temperature: 0 }],
    ['Write a short, polite email declining a meeting invitation.', { temperature: 0.7, presencePenalty: 0.6 }],
    ['What are the main causes of inflation?', { temperature: 0.3 }],
    ['Suggest a name for a coffee shop that also sells books.', { temperature: 1 }],
    ['Explain recursion to a ten-year-old.', { temperature: 0.6 }],
    ['List five tips for better sleep.', { temperature: 0.4, frequencyPenalty: 0.3, presencePenalty: 0.3 }],
    ['What does HTTP status code 404 mean?', { temperature: 0 }],
    ['Write a limerick about a cat who loves boxes.', { temperature: 1 }],
    ['How many minutes are there in a week? Show the steps.', { temperature: 0 }],
    ['Describe the water cycle briefly.', { temperature: 0.3 }],
    ['Give three European capitals and their countries as a JSON object.', { temperature: 0, responseFormat: { type: 'json_object' } }],
    [
      'Extract the city and the date from: "Meet me in Lisbon on 2026-03-14."',
      { temperature: 0.2, responseFormat: { type: 'json_schema', schema: { type: 'object', properties: { city: { type: 'string' }, date: { type: 'string', format: 'date' } }, required: ['city', 'date'] } } },
    ],
    [
      'What is the weather in Oslo right now?',
      { temperature: 0, tools: [{ name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }], toolChoice: 'required' },
    ],
  ] as const satisfies readonly (readonly [string, ProbePrompt['params']])[]
).map(([content, params]) => ({ messages: [{ role: 'user' as const, content }], params, maxTokens: 128 }));

/**
 * The models a worker can be probed on now: it is connected here, sharing, not ejected, with a
 * current descriptor, and the coordinator can re-score the model. Busy or not: a client's job
 * may wait for a busy worker too, and a worker that saw probes only while it had a slot free
 * could cheat safely on the jobs that came when it had none.
 */
function probeableModels(worker: RegisteredWorker, checkable: (model: string) => boolean, now: number): { id: string; contextSize: number }[] {
  const descriptor = worker.descriptor?.descriptor;
  if (worker.instance !== undefined || !worker.available || worker.reputation <= 0 || !descriptor || descriptor.expiresAt <= now) return [];
  return descriptor.models.filter((m) => worker.models.has(m.id) && checkable(m.id));
}

/** A worker a probe may go to, and the model it is probed on. */
export interface ProbeTarget {
  worker: RegisteredWorker;
  model: string;
  contextSize: number;
}

/**
 * The next worker to probe: among those connected here, available, with a current descriptor for
 * a model the coordinator can re-score, the one probed least recently (one never probed first);
 * ties are broken at random. A new identity is probed soon after it connects.
 */
export function pickProbeTarget(workers: Iterable<RegisteredWorker>, checkable: (model: string) => boolean, probedAt: ReadonlyMap<string, number>, now: number, random: () => number): ProbeTarget | undefined {
  let best: ProbeTarget[] = [];
  let bestAt = Infinity;
  for (const worker of workers) {
    const models = probeableModels(worker, checkable, now);
    if (models.length === 0) continue;
    const at = probedAt.get(worker.id) ?? -Infinity;
    if (at > bestAt) continue;
    const model = models[Math.floor(random() * models.length)]!;
    const target = { worker, model: model.id, contextSize: model.contextSize };
    if (at < bestAt) {
      best = [target];
      bestAt = at;
    } else best.push(target);
  }
  return best.length === 0 ? undefined : best[Math.floor(random() * best.length)];
}

/** What one probe came to. */
export type ProbeResult = 'passed' | 'failed' | 'unchecked';

/** Options of the prober. */
export interface SealedProberOptions {
  coordinatorId: string;
  /** Mean time between probes; the gaps are drawn at random around it, so probes have no beat. */
  intervalMs: number;
  prompts: readonly ProbePrompt[];
  registry: WorkerRegistry;
  jobs: JobManager;
  meters: ModelMeters;
  /** The re-scoring (the spot checker, with the catalog's model files). */
  checker: SpotCheck & { checks(model: string, params?: JobParams): boolean };
  /** Where a failed probe's strike is recorded (it tells the worker, and ejects at the limit). */
  standing: Pick<WorkerStanding, 'record'>;
  metrics: CoordinatorMetrics;
  logger: Logger;
  random?: () => number;
  now?: () => number;
}

/** Sends probes, one at a time, until stopped. */
export class SealedProber {
  private readonly probedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private wake: () => void = () => {};
  /** Resolves (with undefined) when the prober is stopped: a re-scoring under way is not waited for. */
  private readonly whenStopped = new Promise<undefined>((resolve) => (this.wake = () => resolve(undefined)));

  private prompts: readonly ProbePrompt[];
  /** Whether answers of a model can be re-scored here (its verifier and tokenizer are loaded). */
  private readonly checkable = (model: string) => this.options.checker.checks(model) && this.options.meters.get(model) !== undefined;

  constructor(private readonly options: SealedProberOptions) {
    this.prompts = options.prompts;
  }

  /** Probes use these prompts from the next one on (an operator changes them now and then). */
  usePrompts(prompts: readonly ProbePrompt[]): void {
    if (prompts.length === 0) throw new ProbePromptsError('no prompts to use');
    this.prompts = prompts;
  }

  /** Starts probing; the first probe comes after one random gap. */
  start(): this {
    this.schedule();
    return this;
  }

  private schedule(): void {
    if (this.stopped) return;
    const random = this.options.random ?? Math.random;
    // Exponential gaps (a Poisson process), kept within a tenth and five times the mean.
    const mean = this.options.intervalMs;
    const gap = Math.min(5 * mean, Math.max(mean / 10, -Math.log(1 - random()) * mean));
    this.timer = setTimeout(() => {
      this.running = this.probeOnce().then(
        () => this.schedule(),
        (error: unknown) => {
          this.options.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'a probe failed to run');
          this.schedule();
        },
      );
    }, gap);
    this.timer.unref();
  }

  /**
   * Probes the next worker now; resolves with what it found, or undefined when no worker can
   * be probed (none connected here, sharing, with a model the coordinator can re-score).
   */
  async probeOnce(): Promise<{ workerId: string; model: string; result: ProbeResult } | undefined> {
    const { options } = this;
    if (this.stopped) return undefined;
    const now = (options.now ?? Date.now)();
    const random = options.random ?? Math.random;
    const target = pickProbeTarget(options.registry.local(), this.checkable, this.probedAt, now, random);
    if (!target) return undefined;
    const { worker, model } = target;
    const counter = options.meters.get(model)!.counter;
    // Prompts whose answers this model's verifier can re-score (a thinking model's: plain ones only).
    const scorable = this.prompts.filter((p) => options.checker.checks(model, { maxTokens: p.maxTokens, ...p.params }));
    const pool = scorable.length > 0 ? scorable : this.prompts;
    const prompt = pool[Math.floor(random() * pool.length)]!;
    // Tools are rendered into the prompt, as the engine renders them.
    const promptTokens = counter.countPrompt(prompt.messages, prompt.params);
    const maxTokens = Math.min(prompt.maxTokens, target.contextSize - promptTokens - 1);
    this.remember(worker.id, now);
    if (maxTokens < 1) return { workerId: worker.id, model, result: 'unchecked' };
    const params: JobParams = { maxTokens, ...prompt.params };
    const descriptor = worker.descriptor!.descriptor;
    const sealed = await sealRequest({
      recipientPublicKey: descriptor.hpke.publicKey,
      jobId: newJobId(),
      model,
      coordinatorId: options.coordinatorId,
      workerId: worker.id,
      maxTokens,
      // Declared as a client's gateway declares it (it counts with the same vocabulary): a probe
      // without it would stand out from clients' jobs, and its bound would not cover what the
      // template adds for tools (the worker refuses a prompt above its bound).
      promptTokens,
      body: { messages: prompt.messages, params: prompt.params },
      now,
    });
    const answer = new AnswerOpener(sealed.responseOpener);
    let deliver: (counted: Usage | undefined) => void = () => {};
    const counted = new Promise<Usage | undefined>((resolve) => (deliver = resolve));
    let endedWith: string | undefined;
    try {
      endedWith = await new Promise<string | undefined>((resolve) => {
        options.jobs.submit(
          {
            // At the worker's own price: the operator pays for what it asked for.
            ...sealedJobSpec(sealed.envelope, { timeoutMs: PROBE_TIMEOUT_MS, maxCoefficient: worker.priceCoefficient }),
            awaitProbe: (settle) => void counted.then(settle),
          },
          { onChunk: () => {}, onSealedChunk: (chunk) => answer.add(chunk), onDone: () => resolve(undefined), onError: (error) => resolve(error.code) },
        );
      });
      await answer.settled();
    } finally {
      // The job settles now, on the coordinator's own count, as a client's job settles once its
      // receipt comes: the worker's receipt does not tell a probe from a client's job. The
      // re-scoring follows; a failure strikes the worker then (its pay for the probe stands).
      const empty = answer.text === '' && answer.reasoning === '' && answer.toolCalls.length === 0;
      deliver(empty && !answer.broken ? undefined : { promptTokens, completionTokens: counter.countText(answer.text) + counter.countText(answer.reasoning) + counter.countToolCalls(answer.toolCalls) });
    }
    const found = await this.judge(answer, { workerId: worker.id, model, messages: prompt.messages, params });
    if (found.result === 'failed') options.standing.record(worker.id, 'verify_failed');
    options.metrics.probes.inc({ result: found.result });
    const fields = { workerId: worker.id, model, jobId: sealed.envelope.jobId, ...(endedWith ? { ended: endedWith } : {}), ...(found.why ? { why: found.why } : {}) };
    if (found.result === 'failed') options.logger.warn(fields, 'probe failed: the sealed answer is not what the model would give');
    else options.logger.info({ ...fields, result: found.result }, 'probe done');
    return { workerId: worker.id, model, result: found.result };
  }

  /** What a probe's answer shows, once every chunk received is opened. */
  private async judge(answer: AnswerOpener, job: { workerId: string; model: string; messages: ChatMessage[]; params: JobParams }): Promise<{ result: ProbeResult; why?: string }> {
    if (this.stopped) return { result: 'unchecked', why: 'the coordinator is stopping' };
    // Chunks that do not open under the key the worker signed: what a client would have paid for is garbage.
    if (answer.broken) return { result: 'failed', why: `a sealed chunk did not open (${answer.broken})` };
    if (answer.text === '' && answer.reasoning === '' && answer.toolCalls.length === 0) return { result: 'unchecked', why: 'no answer to check' };
    const check = this.options.checker.check({ model: job.model, messages: job.messages, params: job.params, attempts: [{ workerId: job.workerId, before: '', beforeReasoning: '', text: answer.text, reasoning: answer.reasoning, toolCalls: answer.toolCalls }] });
    const failed = await Promise.race([check.catch(() => undefined), this.whenStopped]);
    if (failed === undefined) return { result: 'unchecked', why: this.stopped ? 'the coordinator is stopping' : 'the answer could not be re-scored' };
    return { result: failed.includes(job.workerId) ? 'failed' : 'passed' };
  }

  /** How the probes cover the workers they can check now (silkworm_probe_* metrics). */
  coverage(now: number): { probeable: number; neverProbed: number; oldestProbeSeconds: number } {
    let probeable = 0;
    let neverProbed = 0;
    let oldest = now;
    for (const worker of this.options.registry.local()) {
      if (probeableModels(worker, this.checkable, now).length === 0) continue;
      probeable++;
      const at = this.probedAt.get(worker.id);
      if (at === undefined) neverProbed++;
      else oldest = Math.min(oldest, at);
    }
    return { probeable, neverProbed, oldestProbeSeconds: (now - oldest) / 1000 };
  }

  private remember(workerId: string, at: number): void {
    this.probedAt.delete(workerId);
    this.probedAt.set(workerId, at);
    if (this.probedAt.size > MAX_REMEMBERED) this.probedAt.delete(this.probedAt.keys().next().value!);
  }

  /**
   * Stops probing. A probe under way ends unchecked once its job ends (the shutdown that follows
   * cuts it): the returned promise resolves then.
   */
  stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    clearTimeout(this.timer);
    return this.running.then(() => undefined, () => undefined);
  }
}

/** Opens sealed chunks in order as they arrive; the text (and thoughts) so far, or why one did not open. */
class AnswerOpener {
  private opening: Promise<void> = Promise.resolve();
  text = '';
  reasoning = '';
  toolCalls: ToolCallDelta[] = [];
  broken: string | undefined;

  constructor(private readonly opener: Awaited<ReturnType<typeof sealRequest>>['responseOpener']) {}

  add(chunk: SealedChunk): void {
    this.opening = this.opening.then(async () => {
      if (this.broken) return;
      const opened = await this.opener.open(chunk);
      if (!opened.ok) return void (this.broken = `${opened.error.code}: ${opened.error.message}`);
      const part = decodeAnswerPart(opened.value.text);
      if (!part) return void (this.broken = 'a chunk opened to something that is not an answer piece');
      const merged = mergeParts({ text: this.text, toolCalls: this.toolCalls, reasoning: this.reasoning }, part);
      this.text = merged.text;
      this.reasoning = merged.reasoning ?? '';
      this.toolCalls = merged.toolCalls ?? [];
    });
  }

  /** Resolves once every chunk received is opened. */
  settled(): Promise<void> {
    return this.opening;
  }
}

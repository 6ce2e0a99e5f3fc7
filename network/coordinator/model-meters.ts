/**
 * The coordinator's own copy of each catalog model's tokenizer. For every catalog entry whose
 * file the operator keeps beside the catalog (`--catalog-dir`), checked against the catalog's
 * SHA-256, the coordinator loads the vocabulary alone (token-counter.ts) to meter transport jobs
 * exactly, and serves the vocabulary-only GGUF so clients' gateways can count sealed answers
 * with the same tokenizer. With a catalog, workers may serve only catalog models with the
 * catalog's hash; without one (a development network), any model, metered by bounds.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatMessage } from '../protocol/chat.js';
import type { JobParams } from '../protocol/job-schemas.js';
import { servedFileName } from '../protocol/catalog.js';
import { utf8Length } from '../protocol/frame-codec.js';
import type { WorkerModel } from '../protocol/worker-frames.js';
import { TokenCounter } from '../tokenizer/token-counter.js';
import { readGgufVocab } from '../tokenizer/gguf-vocab.js';
import type { CoordinatorCatalog } from './catalog-api.js';
import type { Logger } from './log.js';

/** Template tokens assumed per message, and per chat, when a prompt can only be bounded. */
const TEMPLATE_TOKENS_PER_MESSAGE = 16;
/**
 * Tokens assumed for the instructions a chat wrapper writes around the functions a job offers
 * (node-llama-cpp's generic wrapper writes about 900 bytes), beyond twice their JSON's bytes
 * (a wrapper restates each schema, e.g. as TypeScript types, in fewer bytes than its JSON).
 */
const TOOL_INSTRUCTION_TOKENS = 2048;

/** A catalog model the coordinator holds. */
export interface MeterModel {
  id: string;
  sha256: string;
  /** The whole model file (spot checks load it). */
  path: string;
  counter: TokenCounter;
  /** Vocabulary-only GGUF served to gateways, and its SHA-256. */
  vocab: Buffer;
  vocabSha256: string;
}

/**
 * The most tokens a prompt can hold when only its size is known: each byte a token, plus
 * template, plus the tools the job offers and the calls the chat holds.
 */
export function promptBound(messages: readonly ChatMessage[], params?: Pick<JobParams, 'tools'>): number {
  const tools = params?.tools ? TOOL_INSTRUCTION_TOKENS + 2 * utf8Length(JSON.stringify(params.tools)) : 0;
  return messages.reduce((n, m) => n + utf8Length(m.content) + (m.role === 'assistant' && m.toolCalls ? 2 * utf8Length(JSON.stringify(m.toolCalls)) : 0) + TEMPLATE_TOKENS_PER_MESSAGE, TEMPLATE_TOKENS_PER_MESSAGE + tools);
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Tokenizers by model id, and the catalog's word on which models may be served. */
export class ModelMeters {
  private constructor(
    private readonly models: ReadonlyMap<string, MeterModel>,
    private readonly catalog: CoordinatorCatalog | undefined,
  ) {}

  /** Loads the vocabulary of every catalog model whose file is present and matches its hash. */
  static async load(catalog: CoordinatorCatalog | undefined, logger: Logger): Promise<ModelMeters> {
    const models = new Map<string, MeterModel>();
    for (const entry of catalog?.catalog.models ?? []) {
      const dir = catalog?.dir;
      if (!dir) continue;
      const path = join(dir, servedFileName(entry.url) ?? `${entry.id}.gguf`);
      if (!existsSync(path)) {
        logger.warn({ model: entry.id }, 'no local copy of this catalog model: its jobs are metered by bounds, not counted');
        continue;
      }
      const sha256 = await sha256File(path);
      if (sha256 !== entry.sha256) {
        logger.error({ model: entry.id, expected: entry.sha256, found: sha256 }, 'the local copy of this catalog model has another hash: not used');
        continue;
      }
      try {
        const vocab = await readGgufVocab(path);
        const counter = await TokenCounter.open(path);
        models.set(entry.id, { id: entry.id, sha256, path, counter, vocab: vocab.file, vocabSha256: createHash('sha256').update(vocab.file).digest('hex') });
        logger.info({ model: entry.id, maxTokenBytes: counter.maxTokenBytes }, 'metering with the model’s own tokenizer');
      } catch (error) {
        logger.error({ model: entry.id, err: error instanceof Error ? error.message : String(error) }, 'could not load this catalog model’s vocabulary');
      }
    }
    return new ModelMeters(models, catalog);
  }

  /** How many catalog models are held here (file present, hash checked). */
  get size(): number {
    return this.models.size;
  }

  /** The held model with this id, if any. */
  get(id: string): MeterModel | undefined {
    return this.models.get(id);
  }

  /** Whether a worker may serve this model here: true, or why not. */
  accept(model: WorkerModel): true | string {
    if (!this.catalog) return true;
    const entry = this.catalog.catalog.models.find((m) => m.id === model.id);
    if (!entry) return `Model '${model.id}' is not in this coordinator's catalog; it will not be routed to you.`;
    if (entry.sha256 !== model.sha256) return `Your '${model.id}' file has SHA-256 ${model.sha256}, not the catalog's ${entry.sha256}; download it again from the catalog.`;
    return true;
  }

  /** The coordinator's prompt figure: counted with the vocabulary when held, else bounded. */
  promptFigure(model: string, messages: readonly ChatMessage[], params?: Pick<JobParams, 'tools' | 'toolChoice'>): { figure: number; exact: boolean } {
    const held = this.models.get(model);
    return held ? { figure: held.counter.countPrompt(messages, params), exact: true } : { figure: promptBound(messages, params), exact: false };
  }

  /** Frees every vocabulary. */
  async dispose(): Promise<void> {
    await Promise.all([...this.models.values()].map((m) => m.counter.dispose()));
  }
}

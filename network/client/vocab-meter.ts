/**
 * The gateway's token counts for sealed jobs: it fetches each model's vocabulary-only GGUF from
 * the coordinator (`GET /v1/vocab/{model}`, a few MB instead of the whole model), keeps it in a
 * private temp folder, and counts with node-llama-cpp's tokenizer (network/tokenizer) exactly
 * as the worker's engine and the coordinator do. Without a vocabulary for a model (a
 * coordinator with no catalog copy), no receipt is sent and the coordinator bills its bounds.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROUTES } from '../protocol/http-contract.js';
import { TokenCounter } from '../tokenizer/token-counter.js';
import type { UsageMeter } from './sdk.js';
import { readBodyBounded } from '../node-kit/response-body.js';

/** Largest vocabulary file accepted (real ones are a few MB). */
const MAX_VOCAB_BYTES = 64 * 1024 * 1024;
/** How long a model without a vocabulary is not asked for again. */
const MISSING_RETRY_MS = 60_000;

/** Loads and caches the tokenizer of each model a gateway serves. */
export class VocabMeters {
  private readonly loaded = new Map<string, Promise<UsageMeter | undefined>>();
  private readonly missingAt = new Map<string, number>();
  private dir: Promise<string> | undefined;

  constructor(
    private readonly coordinatorUrl: string,
    private readonly apiKey: string | undefined,
    private readonly fetchImpl: typeof fetch = globalThis.fetch,
  ) {}

  /** The tokenizer of `model`, or undefined when the coordinator has no vocabulary for it. */
  meter(model: string): Promise<UsageMeter | undefined> {
    const missing = this.missingAt.get(model);
    if (missing !== undefined && Date.now() - missing < MISSING_RETRY_MS) return Promise.resolve(undefined);
    let pending = this.loaded.get(model);
    if (!pending) {
      pending = this.load(model).catch(() => undefined);
      this.loaded.set(model, pending);
      void pending.then((meter) => {
        if (!meter) {
          this.loaded.delete(model);
          this.missingAt.set(model, Date.now());
        }
      });
    }
    return pending;
  }

  private async load(model: string): Promise<UsageMeter | undefined> {
    const res = await this.fetchImpl(`${this.coordinatorUrl.replace(/\/+$/, '')}${ROUTES.vocab}${encodeURIComponent(model)}`, {
      headers: this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {},
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) return undefined;
    const bytes = await readBodyBounded(res, MAX_VOCAB_BYTES).catch(() => undefined);
    if (!bytes) return undefined;
    const expected = res.headers.get('x-silkworm-vocab-sha256');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (expected && expected !== sha256) return undefined;
    this.dir ??= mkdtemp(join(tmpdir(), 'silkworm-vocab-'));
    const path = join(await this.dir, `${sha256}.gguf`);
    await writeFile(path, bytes, { mode: 0o600 });
    return TokenCounter.open(path);
  }

  /** Frees every tokenizer and removes the temp folder. */
  async close(): Promise<void> {
    const meters = await Promise.all(this.loaded.values());
    await Promise.all(meters.map((m) => (m instanceof TokenCounter ? m.dispose() : undefined)));
    if (this.dir) await rm(await this.dir, { recursive: true, force: true });
  }
}

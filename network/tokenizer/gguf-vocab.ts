/**
 * A model's vocabulary without its weights: the GGUF header (every metadata key: tokenizer,
 * chat template, architecture) with zero tensors. llama.cpp loads such a file with
 * `vocabOnly`, so a client's gateway can count tokens with a model's exact tokenizer after
 * downloading a few MB instead of the whole model. Pure JavaScript over the header bytes; the
 * tensor data is never read.
 *
 * GGUF v2/v3 layout: magic "GGUF", version u32, tensor_count u64, kv_count u64, then kv_count
 * entries (key: string, type: u32, value), then tensor infos and data. Strings are a u64 byte
 * length then UTF-8; arrays are element type u32, count u64, elements.
 */
import { open } from 'node:fs/promises';

/** The longest header this reader accepts (real vocabularies take a few MB). */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;
/** Bytes of each fixed-size GGUF value type. */
const FIXED_SIZE: Readonly<Record<number, number>> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const TYPE_STRING = 8;
const TYPE_ARRAY = 9;

/** What the header says about the vocabulary. */
export interface GgufVocab {
  /** A GGUF file holding the same metadata and no tensors. */
  file: Buffer;
  /** Number of tokens in the vocabulary. */
  vocabSize: number;
  /**
   * An upper bound on the bytes one token decodes to: the longest token string in UTF-8.
   * SentencePiece pieces ("▁" for a space, "<0x41>" for a byte) and byte-level BPE pieces
   * (one character per byte) never decode to more bytes than they are spelled with.
   */
  maxTokenBytes: number;
}

/** Thrown when a file is not a GGUF this reader understands. */
export class GgufVocabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GgufVocabError';
  }
}

class Reader {
  offset = 0;
  constructor(private readonly buffer: Buffer) {}

  need(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) throw new NeedMore(this.offset + bytes);
  }
  u32(): number {
    this.need(4);
    const value = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }
  u64(): number {
    this.need(8);
    const value = this.buffer.readBigUInt64LE(this.offset);
    this.offset += 8;
    if (value > BigInt(MAX_HEADER_BYTES)) throw new GgufVocabError(`a GGUF count or length of ${value} is beyond what a header may hold`);
    return Number(value);
  }
  string(): string {
    const length = this.u64();
    this.need(length);
    const text = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return text;
  }
  skip(type: number): void {
    if (type === TYPE_STRING) {
      const length = this.u64();
      this.need(length);
      this.offset += length;
      return;
    }
    const size = FIXED_SIZE[type];
    if (size === undefined) throw new GgufVocabError(`unknown GGUF value type ${type}`);
    this.need(size);
    this.offset += size;
  }
}

class NeedMore extends Error {
  constructor(readonly bytes: number) {
    super('need more bytes');
  }
}

/** Parses a header from `buffer`; throws NeedMore when the buffer ends inside it. */
function parse(buffer: Buffer): GgufVocab {
  const r = new Reader(buffer);
  r.need(4);
  if (buffer.toString('latin1', 0, 4) !== 'GGUF') throw new GgufVocabError('not a GGUF file (bad magic)');
  r.offset = 4;
  const version = r.u32();
  if (version < 2 || version > 3) throw new GgufVocabError(`GGUF version ${version} is not supported (2 or 3)`);
  r.u64(); // tensor count: dropped
  const kvCount = r.u64();
  const kvStart = r.offset;
  let vocabSize = 0;
  let maxTokenBytes = 0;
  for (let i = 0; i < kvCount; i++) {
    const key = r.string();
    const type = r.u32();
    if (type !== TYPE_ARRAY) {
      r.skip(type);
      continue;
    }
    const elementType = r.u32();
    const count = r.u64();
    if (key === 'tokenizer.ggml.tokens' && elementType === TYPE_STRING) {
      vocabSize = count;
      for (let j = 0; j < count; j++) {
        const length = r.u64();
        r.need(length);
        r.offset += length;
        maxTokenBytes = Math.max(maxTokenBytes, length);
      }
    } else if (elementType === TYPE_ARRAY) {
      throw new GgufVocabError(`nested arrays in key ${key} are not supported`);
    } else {
      for (let j = 0; j < count; j++) r.skip(elementType);
    }
  }
  if (vocabSize === 0) throw new GgufVocabError('the GGUF header has no tokenizer.ggml.tokens');
  const head = Buffer.alloc(24);
  buffer.copy(head, 0, 0, 8);
  head.writeBigUInt64LE(0n, 8);
  head.writeBigUInt64LE(BigInt(kvCount), 16);
  return { file: Buffer.concat([head, buffer.subarray(kvStart, r.offset)]), vocabSize, maxTokenBytes };
}

/** Reads a model file's header and returns its vocabulary-only GGUF; reads no tensor data. */
export async function readGgufVocab(path: string): Promise<GgufVocab> {
  const handle = await open(path, 'r');
  try {
    let size = 1024 * 1024;
    for (;;) {
      const buffer = Buffer.alloc(size);
      const { bytesRead } = await handle.read(buffer, 0, size, 0);
      try {
        return parse(buffer.subarray(0, bytesRead));
      } catch (error) {
        if (!(error instanceof NeedMore)) throw error;
        if (bytesRead < size) throw new GgufVocabError('the file ends inside its GGUF header');
        if (size >= MAX_HEADER_BYTES) throw new GgufVocabError(`the GGUF header is larger than ${MAX_HEADER_BYTES} bytes`);
        size = Math.min(MAX_HEADER_BYTES, Math.max(size * 2, error.bytes));
      }
    }
  } finally {
    await handle.close();
  }
}

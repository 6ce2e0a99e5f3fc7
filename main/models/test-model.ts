// A small, deterministic llama-architecture GGUF model that runs REAL inference offline
// (tokenize → transformer → sample → detokenize in llama.cpp) with exactly predictable output.
//
// The "successor" rule, what greedy decoding emits after the prompt's last byte:
//   '!'..'}' (0x21..0x7D)  → the next character ('a' → 'b', '}' → '~')
//   '~' (0x7E)             → '!'   (the cycle stays within printable ASCII)
//   anything else: space, newline, other control bytes, bytes of non-ASCII UTF-8 characters,
//   an empty prompt (only <s>)  → '!'
// So output is always printable ASCII without spaces, never EOS, one token per character:
// "abc" continues "defghijklmnopqrstuvwxyz{|}~!\"#$%&'()*+,-./0123...".
//
// How it works: every token's embedding encodes its successor's class k (0..93) as Fourier
// features cos/sin(2π·h·k/94), h = 1..H, plus a constant "bias" dimension; output row c holds the
// same features of class c, and rows of tokens that must never be emitted (<unk>, <s>, </s>, "▁",
// other bytes) hold only a large negative bias. The transformer blocks have small seeded random
// weights, so attention and the FFN really run and perturb the stream a little, never enough to
// change the argmax. Logits are scaled so temperature 1 (node-llama-cpp's default topK 40 /
// topP 0.95) samples the successor only ~93-95% of the time, which makes seeds matter.
import { writeFileAtomic } from '../../network/node-kit/json-file.js';
import { GgufValueType, GgufWriter, toFloat16Array } from './gguf-writer.js';

/**
 * Options for `buildTestModel`: 'tiny' (default, ~0.5 MB, fast), 'bench' (~6.6 MB F16, ~3x slower)
 * or 'large' (~190 MB F16, dim 1024 × 8 layers: big enough that GPU offloading shows in VRAM).
 */
export interface TestModelOptions {
  size?: 'tiny' | 'bench' | 'large';
  /** general.name written into the file (default "Silkworm test model (tiny|bench)"). */
  name?: string;
  /**
   * How far ahead the successor is (default 1: 'a' → 'b'). Another step makes a model whose
   * output differs from the default's everywhere: a stand-in for a worker serving the wrong model.
   */
  step?: number;
  /**
   * A model that thinks before it answers, as Qwen 3 or DeepSeek R1 do: its chat template opens a
   * thought ("<think>\n") at the start of each answer and renders past thoughts between
   * "<think>\n" and "</think>", so node-llama-cpp's chat wrapper reads thought segments from it.
   * The successor rule is changed for a few characters so that greedy decoding writes the
   * thought '!"', closes it with "</think>", then answers "?@ABC…" (see THINKING_SUCCESSORS).
   */
  thinking?: boolean;
}

interface Shape {
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  context: number;
  f16: boolean;
  /** Output-row scale: sets how peaked the distribution is at temperature 1. */
  logitScale: number;
  /** Std of the random block weights (default 0.02); wider models need smaller ones. */
  blockStd?: number;
  /** Seed of the block weights. */
  seed: number;
}

const SHAPES: Record<'tiny' | 'bench' | 'large', Shape> = {
  tiny: { dim: 64, layers: 2, heads: 4, kvHeads: 4, ffn: 128, context: 2048, f16: false, logitScale: 0.14, seed: 0x5eed_0001 },
  bench: { dim: 256, layers: 4, heads: 8, kvHeads: 4, ffn: 768, context: 2048, f16: true, logitScale: 0.055, seed: 0x5eed_0002 },
  // Logits grow with sqrt(dim) after RMS norm, so the scale halves from bench's; block weights
  // shrink likewise so the transformer's perturbation stays as small relative to the signal.
  large: { dim: 1024, layers: 8, heads: 16, kvHeads: 8, ffn: 2816, context: 2048, f16: true, logitScale: 0.0275, blockStd: 0.01, seed: 0x5eed_0003 },
};

const FIRST = 0x21; // '!'
const LAST = 0x7e; // '~'
const CLASSES = LAST - FIRST + 1; // 94 printable characters a token can be followed by
const BYTE_TOKEN_BASE = 3; // <0x00> is token 3
const VOCAB_SIZE = 3 + 256 + 1;
const BLOCK_WEIGHT_STD = 0.02;
const FORBIDDEN_BIAS = -12; // output bias of tokens greedy decoding must never pick

/**
 * The chat template embedded as `tokenizer.chat_template`. node-llama-cpp's
 * `resolveChatWrapper(model)` turns it into a `JinjaTemplateChatWrapper`. System and user
 * messages start a new line with "<role>: "; an assistant message is written right after the
 * message before it, with nothing in between. So a chat that ends with a user message (plus the
 * empty assistant turn LlamaChat adds) formats to text ending in that user message's last
 * character, and greedy output is `successorText(lastUserMessage, n)`.
 * Example: system "s", user "abc" → "<s>\nsystem: s\nuser: abc", the reply is "defg…".
 * Recipe: `resolveChatWrapper(model).generateContextState({ chatHistory }).contextText.tokenize(
 * model.tokenizer)`, drop the leading <s> (LlamaCompletion prepends its own), then
 * `generateCompletion(tokens, { temperature: 0, maxTokens })`. LlamaChatSession works as-is.
 */
export const TEST_MODEL_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'assistant' %}{{ message['content'] }}" +
  "{% else %}{{ '\\n' + message['role'] + ': ' + message['content'] }}{% endif %}{% endfor %}";

/**
 * The thinking variant's template (`TestModelOptions.thinking`): the plain template, with each
 * assistant message's `reasoning_content` rendered as a thought, and a generation prompt that
 * opens one.
 */
export const TEST_MODEL_THINKING_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'assistant' %}" +
  "{% if message['reasoning_content'] %}{{ '<think>\\n' + message['reasoning_content'] + '</think>' }}{% endif %}{{ message['content'] }}" +
  "{% else %}{{ '\\n' + message['role'] + ': ' + message['content'] }}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<think>\\n' }}{% endif %}";

/**
 * The thinking variant's changes to the successor rule. The generation prompt ends with a newline,
 * so the model writes '!' (as always), then '"', then "</think>" character by character, then
 * "?@ABC…" up the printable characters; the chain turns back at 'h' ('h' → 'i' → 'n' → 'k' → '>'
 * → '?'), so the answer cycles "?@A…`abcdefghink>?@A…".
 */
export const THINKING_SUCCESSORS: ReadonlyMap<string, string> = new Map([
  ['"', '<'],
  ['<', '/'],
  ['/', 't'],
  ['t', 'h'],
  ['i', 'n'],
  ['n', 'k'],
  ['k', '>'],
]);

/** One OpenAI-style chat message, as the chat template sees it. */
export interface TestModelChatMessage {
  role: 'system' | 'user' | 'assistant' | (string & {});
  content: string;
}

/**
 * The text `TEST_MODEL_CHAT_TEMPLATE` renders for `messages` (without the leading <s>), i.e.
 * what node-llama-cpp's chat wrapper for this model feeds the model. Greedy output of a chat is
 * therefore `successorText(formatTestModelChat(messages), n)`, which for a chat ending in a user
 * message is `successorText(lastUserMessage.content, n)` (an empty message ends in ' ' → "!\"#…").
 */
export function formatTestModelChat(messages: readonly TestModelChatMessage[]): string {
  return messages.map(({ role, content }) => (role === 'assistant' ? content : `\n${role}: ${content}`)).join('');
}

/**
 * The byte greedy decoding emits after `byte` (see the successor rule at the top of this file):
 * printable characters move `step` ahead within '!'..'~', anything else becomes '!'.
 */
export function successorByte(byte: number | undefined, step = 1, thinking = false): number {
  if (byte === undefined || byte < FIRST || byte > LAST) return FIRST;
  const scripted = thinking ? THINKING_SUCCESSORS.get(String.fromCharCode(byte)) : undefined;
  if (scripted !== undefined) return scripted.charCodeAt(0);
  return FIRST + ((byte - FIRST + step) % CLASSES);
}

/**
 * The exact text greedy decoding (temperature 0) produces for `count` tokens when the prompt
 * ends with `after` (only its last UTF-8 byte matters; '' stands for a prompt of just <s>).
 * For chat, pass the last user message: see `TEST_MODEL_CHAT_TEMPLATE`.
 */
export function successorText(after: string, count: number, step = 1): string {
  const bytes = new TextEncoder().encode(after);
  let byte = bytes[bytes.length - 1];
  let text = '';
  for (let i = 0; i < count; i++) {
    byte = successorByte(byte, step);
    text += String.fromCharCode(byte);
  }
  return text;
}

/** Builds the GGUF file in memory. Same options → byte-identical output. */
export function buildTestModel(options: TestModelOptions = {}): Uint8Array {
  const size = options.size ?? 'tiny';
  const shape = SHAPES[size];
  const { dim, layers, heads, kvHeads, ffn } = shape;
  const headDim = dim / heads;
  const harmonics = Math.min(Math.floor(CLASSES / 2), Math.floor((dim - 1) / 2));
  const biasDim = 2 * harmonics;
  const random = gaussian(shape.seed);
  const blockStd = shape.blockStd ?? BLOCK_WEIGHT_STD;
  const weight = (values: Float32Array): Float32Array | Uint16Array => (shape.f16 ? toFloat16Array(values) : values);
  const randomMatrix = (inputs: number, outputs: number): Float32Array | Uint16Array => {
    const values = new Float32Array(inputs * outputs);
    for (let i = 0; i < values.length; i++) values[i] = random() * blockStd;
    return weight(values);
  };
  const ones = new Float32Array(dim).fill(1);

  // Row t of token_embd / output is the t-th run of `dim` floats (ggml dims [dim, vocab]).
  const features = (target: Float32Array, row: number, cls: number, scale: number): void => {
    for (let h = 1; h <= harmonics; h++) {
      const angle = (2 * Math.PI * h * cls) / CLASSES;
      target[row * dim + 2 * (h - 1)] = scale * Math.cos(angle);
      target[row * dim + 2 * (h - 1) + 1] = scale * Math.sin(angle);
    }
  };
  const embedding = new Float32Array(dim * VOCAB_SIZE);
  const output = new Float32Array(dim * VOCAB_SIZE);
  for (let token = 0; token < VOCAB_SIZE; token++) {
    const byte = token >= BYTE_TOKEN_BASE && token < BYTE_TOKEN_BASE + 256 ? token - BYTE_TOKEN_BASE : undefined;
    features(embedding, token, successorByte(byte, options.step ?? 1, options.thinking) - FIRST, 1);
    embedding[token * dim + biasDim] = 1;
    if (byte !== undefined && byte >= FIRST && byte <= LAST) features(output, token, byte - FIRST, shape.logitScale);
    else output[token * dim + biasDim] = FORBIDDEN_BIAS / Math.sqrt(dim / (harmonics + 1));
  }

  const writer = new GgufWriter(32);
  const template = options.thinking ? TEST_MODEL_THINKING_CHAT_TEMPLATE : TEST_MODEL_CHAT_TEMPLATE;
  writeMetadata(writer, shape, options.name ?? `Silkworm test model (${size}${options.thinking ? ', thinking' : ''})`, headDim, template);
  writer.tensor('token_embd.weight', [dim, VOCAB_SIZE], weight(embedding));
  for (let layer = 0; layer < layers; layer++) {
    const block = `blk.${layer}`;
    writer.tensor(`${block}.attn_norm.weight`, [dim], ones);
    writer.tensor(`${block}.attn_q.weight`, [dim, heads * headDim], randomMatrix(dim, heads * headDim));
    writer.tensor(`${block}.attn_k.weight`, [dim, kvHeads * headDim], randomMatrix(dim, kvHeads * headDim));
    writer.tensor(`${block}.attn_v.weight`, [dim, kvHeads * headDim], randomMatrix(dim, kvHeads * headDim));
    writer.tensor(`${block}.attn_output.weight`, [heads * headDim, dim], randomMatrix(heads * headDim, dim));
    writer.tensor(`${block}.ffn_norm.weight`, [dim], ones);
    writer.tensor(`${block}.ffn_gate.weight`, [dim, ffn], randomMatrix(dim, ffn));
    writer.tensor(`${block}.ffn_up.weight`, [dim, ffn], randomMatrix(dim, ffn));
    writer.tensor(`${block}.ffn_down.weight`, [ffn, dim], randomMatrix(ffn, dim));
  }
  writer.tensor('output_norm.weight', [dim], ones);
  writer.tensor('output.weight', [dim, VOCAB_SIZE], weight(output));
  return writer.toBytes();
}

/** Builds the model and writes it to `path` atomically (temp file in the same folder, then rename). */
export async function writeTestModel(path: string, options: TestModelOptions = {}): Promise<void> {
  await writeFileAtomic(path, buildTestModel(options));
}

function writeMetadata(writer: GgufWriter, shape: Shape, name: string, headDim: number, chatTemplate: string): void {
  const { UINT32, FLOAT32, STRING, BOOL, INT32 } = GgufValueType;
  const tokens = ['<unk>', '<s>', '</s>'];
  for (let byte = 0; byte < 256; byte++) tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
  tokens.push('\u2581'); // "▁": SentencePiece writes spaces as this piece
  // Token types: 1 normal, 2 unknown, 3 control, 6 byte.
  const types = [2, 3, 3, ...new Array<number>(256).fill(6), 1];
  const scores = tokens.map((_, index) => (index === VOCAB_SIZE - 1 ? -1 : 0));
  writer
    .kv('general.architecture', STRING, 'llama')
    .kv('general.name', STRING, name)
    .kv('general.alignment', UINT32, 32)
    .kv('general.file_type', UINT32, shape.f16 ? 1 : 0)
    .kv('llama.context_length', UINT32, shape.context)
    .kv('llama.embedding_length', UINT32, shape.dim)
    .kv('llama.block_count', UINT32, shape.layers)
    .kv('llama.feed_forward_length', UINT32, shape.ffn)
    .kv('llama.attention.head_count', UINT32, shape.heads)
    .kv('llama.attention.head_count_kv', UINT32, shape.kvHeads)
    .kv('llama.rope.dimension_count', UINT32, headDim)
    .kv('llama.rope.freq_base', FLOAT32, 10000)
    .kv('llama.attention.layer_norm_rms_epsilon', FLOAT32, 1e-5)
    .kv('llama.vocab_size', UINT32, VOCAB_SIZE)
    .kv('tokenizer.ggml.model', STRING, 'llama')
    .array('tokenizer.ggml.tokens', STRING, tokens)
    .array('tokenizer.ggml.scores', FLOAT32, scores)
    .array('tokenizer.ggml.token_type', INT32, types)
    .kv('tokenizer.ggml.bos_token_id', UINT32, 1)
    .kv('tokenizer.ggml.eos_token_id', UINT32, 2)
    .kv('tokenizer.ggml.unknown_token_id', UINT32, 0)
    .kv('tokenizer.ggml.add_bos_token', BOOL, true)
    .kv('tokenizer.ggml.add_eos_token', BOOL, false)
    .kv('tokenizer.ggml.add_space_prefix', BOOL, false)
    .kv('tokenizer.chat_template', STRING, chatTemplate);
}

/** A seeded standard-normal generator (mulberry32 + Box-Muller): same seed, same weights everywhere. */
function gaussian(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

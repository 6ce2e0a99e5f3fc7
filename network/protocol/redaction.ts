/**
 * What logs must never contain: prompts, answers, keys, mnemonics. Every logger in every
 * deployable censors these field paths (pino `redact` syntax).
 */
export const REDACT_PATHS: readonly string[] = [
  'messages',
  '*.messages',
  'prompt',
  '*.prompt',
  'content',
  '*.content',
  'text',
  '*.text',
  'continuation',
  '*.continuation',
  'continuationReasoning',
  '*.continuationReasoning',
  'reasoning',
  '*.reasoning',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'secretKey',
  '*.secretKey',
  'mnemonic',
  '*.mnemonic',
  'token',
  '*.token',
];

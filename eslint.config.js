// Lint: TypeScript rules plus the layer rule of DESIGN.md §1 — which folder may import which.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Import patterns a layer must never use, keyed by the layer's folder glob. */
const forbidden = {
  'network/protocol/**': ['**/node-kit/**', '**/main/**', '**/renderer/**', '**/preload/**', '**/coordinator/**', '**/client/**', '**/cli/**', 'node:*', 'electron', 'ws', 'pino', 'better-sqlite3', 'node-llama-cpp'],
  'main/**': ['**/renderer/**', '**/preload/**', '**/coordinator/**', '**/client/**', '**/cli/**', '**/network/chain/**'],
  'preload/**': ['**/renderer/**', '**/network/**', 'node:*'],
  'renderer/**': ['**/preload/**', '**/network/coordinator/**', '**/network/client/**', 'node:*', 'electron'],
  'network/coordinator/**': ['**/main/**', '**/renderer/**', '**/preload/**', '**/client/**', '**/cli/**', 'electron', 'node-llama-cpp'],
  'network/client/**': ['**/main/**', '**/renderer/**', '**/preload/**', '**/coordinator/**', '**/cli/**', 'electron', 'node-llama-cpp'],
  'network/node-kit/**': ['**/main/**', '**/renderer/**', '**/preload/**', '**/coordinator/**', '**/client/**', '**/chain/**', '**/cli/**', 'electron'],
  'network/chain/**': ['**/main/**', '**/renderer/**', '**/preload/**', '**/coordinator/**', '**/client/**', '**/cli/**', 'electron'],
  // The one place outside the job process where node-llama-cpp runs: tokenizers (vocabulary only)
  // and the coordinator's spot-check verifier, on the operator's own catalog files.
  'network/tokenizer/**': ['**/main/**', '**/renderer/**', '**/preload/**', '**/coordinator/**', '**/client/**', '**/chain/**', '**/cli/**', 'electron'],
};

/** Preload and renderer may reach into main/ for the one IPC contract, nothing else. */
const onlyContract = {
  'preload/**': '(^|/)main/(?!ipc/contract(-names)?\\.js$)',
  'renderer/**': '(^|/)main/(?!ipc/contract\\.js$)',
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.device/**', 'out/**', '**/build/**', 'test-results/**', 'playwright-report/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  ...Object.entries(forbidden).map(([files, patterns]) => ({
    files: [files],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...patterns.map((group) => ({ group: [group], message: 'This layer may not import that (DESIGN.md §1).' })),
            ...(onlyContract[files] ? [{ regex: onlyContract[files], message: 'Only the IPC contract crosses into this layer (DESIGN.md §1).' }] : []),
          ],
        },
      ],
    },
  })),
  {
    files: ['**/*.mjs', 'scripts/**', 'bin/**'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);

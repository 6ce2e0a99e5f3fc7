// Lint: TypeScript rules plus the layer rules of docs/design.md (Layers) — which folder may import
// which: allow-lists for the worker's own layers (main/), deny-lists for packages and the network side.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { layersPlugin } from './scripts/eslint/layers.js';

/** The domain folders: each knows its own subject and imports only protocol, contracts, native and the Node kit. */
const DOMAINS = ['main/sharing/', 'main/engine/', 'main/ledger/', 'main/models/', 'main/wallet/', 'main/earnings/', 'main/chain/'];
/** Shared pieces any main/ layer may use. */
const KIT = ['network/protocol/', 'network/node-kit/', 'main/app-root.ts'];

/** What each main/ layer may import by relative path (its own folder always). */
const LAYERS = {
  domain: { files: DOMAINS.map((d) => `${d}**`), allow: [...DOMAINS, ...KIT, 'network/contracts/', 'network/tokenizer/', 'native/'] },
  worker: { files: ['main/worker/**'], allow: ['main/worker/', ...DOMAINS, ...KIT, 'network/contracts/', 'native/'] },
  ipc: { files: ['main/ipc/**'], allow: ['main/ipc/', ...DOMAINS, 'network/protocol/'] },
  app: { files: ['main/app/**'], allow: ['main/app/', 'main/ipc/', 'main/worker/', ...DOMAINS, ...KIT, 'native/'] },
  dashboard: { files: ['main/dashboard/**'], allow: ['main/dashboard/', 'main/app/', 'main/ipc/', ...KIT] },
  electron: { files: ['main/electron/**'], allow: ['main/electron/', 'main/app/', 'main/ipc/', 'main/worker/', ...DOMAINS, ...KIT] },
  cli: { files: ['main/cli/**'], allow: ['main/cli/', 'main/app/', 'main/dashboard/', 'main/worker/', ...DOMAINS, ...KIT] },
};

/** Import patterns a layer must never use, keyed by the layer's folder glob. */
const forbidden = {
  'network/protocol/**': ['**/node-kit/**', '**/main/**', '**/renderer/**', '**/preload/**', '**/coordinator/**', '**/client/**', '**/cli/**', 'node:*', 'electron', 'ws', 'pino', 'better-sqlite3', 'node-llama-cpp'],
  // main/'s own folders are allow-listed above; packages: Electron only in the shell.
  'main/**': ['**/renderer/**', '**/preload/**', '**/coordinator/**', '**/client/**', '**/network/chain/**'],
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
            ...patterns.map((group) => ({ group: [group], message: 'This layer may not import that (docs/design.md, Layers).' })),
            ...(onlyContract[files] ? [{ regex: onlyContract[files], message: 'Only the IPC contract crosses into this layer (docs/design.md, Layers).' }] : []),
          ],
        },
      ],
    },
  })),
  ...Object.entries(LAYERS).map(([layer, { files, allow }]) => ({
    files,
    ignores: ['**/*.test.ts'],
    plugins: { layers: layersPlugin },
    rules: {
      'layers/allowed-imports': ['error', { layer, allow }],
      // Only the desktop shell talks to Electron.
      ...(layer === 'electron' ? {} : { 'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'Only main/electron may import Electron (docs/design.md, Layers).' }], patterns: [{ group: ['**/renderer/**', '**/preload/**', '**/coordinator/**', '**/client/**', '**/network/chain/**'], message: 'This layer may not import that (docs/design.md, Layers).' }] }] }),
    },
  })),
  {
    files: ['**/*.mjs', 'scripts/**', 'bin/**'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);

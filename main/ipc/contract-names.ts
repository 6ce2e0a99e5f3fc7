/**
 * The names of the IPC contract's verbs and pushes, and its channel strings: the part of the
 * contract the preload needs at runtime, kept free of any import so the preload bundle stays a
 * few lines. `contract.ts` checks its table against these names in both directions (a verb
 * missing from either place does not compile).
 */

/** Every verb, in the order of the contract table. */
export const VERB_NAMES = [
  'getAppInfo',
  'getState',
  'setSharingMode',
  'getSettings',
  'updateSharingSettings',
  'setAutoStart',
  'setElectricity',
  'completeSetup',
  'getWallet',
  'setPayoutAddress',
  'clearPayoutAddress',
  'startTonConnect',
  'cancelTonConnect',
  'disconnectWallet',
  'createLocalWallet',
  'confirmWalletBackup',
  'importLocalWallet',
  'revealRecoveryPhrase',
  'removeLocalWallet',
  'listModels',
  'getModelCatalog',
  'downloadModel',
  'cancelDownload',
  'useModel',
  'removeModel',
  'getDoctor',
  'getLogs',
  'getReport',
  'getSessionEarnings',
  'getEarnings',
  'listReceipts',
  'listPayouts',
  'exportEarningsCsv',
  'cashOut',
  'openLink',
] as const;

/** Every push. */
export const PUSH_NAMES = ['state', 'job', 'session', 'log', 'download', 'wallet'] as const;

/** The name of a verb. */
export type VerbName = (typeof VERB_NAMES)[number];
/** The name of a push. */
export type PushName = (typeof PUSH_NAMES)[number];

/** Whether a value names a verb of the contract (`__proto__`, `constructor` … are not verbs). */
export function isVerbName(name: unknown): name is VerbName {
  return typeof name === 'string' && (VERB_NAMES as readonly string[]).includes(name);
}

/** Whether a value names a push of the contract. */
export function isPushName(name: unknown): name is PushName {
  return typeof name === 'string' && (PUSH_NAMES as readonly string[]).includes(name);
}

/** The Electron IPC channels: one for every call (`verb, args`), one for every push (`name, payload`). */
export const CHANNELS = { invoke: 'silkworm:invoke', push: 'silkworm:push' } as const;

/** The dashboard's HTTP routes for the same contract. */
export const HTTP_ROUTES = { invoke: '/api/invoke/', events: '/api/events' } as const;

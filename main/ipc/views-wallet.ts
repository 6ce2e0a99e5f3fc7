/**
 * What the Wallet screen sees: the payout address and where it came from (typed, a paired
 * wallet app, the local wallet), the TON Connect pairing step, and the local wallet's public
 * state. Plain data, never a secret: the recovery words cross only in `CreatedLocalWallet` and
 * `RecoveryPhrase`, the answers of the two verbs that exist to show them (see dispatch.ts).
 */
import type { AppError } from './result.js';
import type { TonNetwork } from './views.js';

/** Where the payout address came from (`command-line`: `--payout-address` when the worker started). */
export type PayoutSource = 'typed' | 'tonconnect' | 'local' | 'command-line';

/** The TON Connect pairing, step by step. */
export interface TonConnectView {
  state: 'idle' | 'waiting' | 'verifying' | 'connected' | 'failed';
  /** The link to show as a QR code and to open in the wallet app (while waiting). */
  universalLink: string | null;
  /** When the link stops working (ISO time, while waiting). */
  expiresAt: string | null;
  /** The paired wallet app's name, when known. */
  walletName: string | null;
  /** Why the last pairing failed. */
  error: AppError | null;
}

/** The wallet kept on this PC (public part only). */
export interface LocalWalletView {
  address: string;
  /** The owner confirmed the 24 words are written down. */
  backedUp: boolean;
  /** How the words are encrypted on disk. */
  protection: 'passphrase' | 'os-keychain';
  createdAt: string;
  /** Balance in nanotons (decimal string) from the configured chain endpoint; null = unknown. */
  balanceNanotons: string | null;
}

/** The payout address being paid (non-bounceable, user-friendly), and its sources. */
export interface WalletView {
  /** Grows with every change: a screen keeps the view with the highest (answers and pushes may cross). */
  revision: number;
  /** The address the worker announces now: the one being paid. */
  payoutAddress: string | null;
  network: TonNetwork;
  /**
   * A change being announced (it waits for the running job to end, then the worker says it in a
   * new signed hello): the address that will be paid from then on, or null when none is pending.
   */
  pendingAddress: string | null;
  /** Whether the pending change clears the address (no payouts until a new one is set). */
  pendingClear: boolean;
  source: PayoutSource | null;
  tonConnect: TonConnectView;
  local: LocalWalletView | null;
  /** Whether a new local wallet must be protected by a passphrase here, and why. */
  localPassphrase: { required: boolean; reason: string | null };
  /** How Cash out would sign the claim now: the paired wallet app, the wallet on this PC, or not at all (and why). */
  cashOut: { via: 'tonconnect' | 'local'; needsPassphrase: boolean } | { via: null; reason: string };
}

/** The answer to `startTonConnect`. */
export interface TonConnectLink {
  universalLink: string;
  expiresAt: string;
}

/** A new local wallet: its address and the words to write down (shown once). */
export interface CreatedLocalWallet {
  address: string;
  words: string[];
}

/** The recovery words, on explicit request. */
export interface RecoveryPhrase {
  words: string[];
}

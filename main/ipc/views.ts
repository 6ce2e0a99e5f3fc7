/**
 * The plain objects the IPC contract carries (views of the worker core for the UI). Pure
 * types, no runtime code: the renderer and the preload import them as types only. Amounts of
 * Toncoin are decimal strings of nanotons (JSON has no bigint), never floats.
 */
import type { Decision, SharingState } from '../sharing/policy.js';
import type { SharingMode, SharingSettings } from '../sharing/settings.js';
import type { Reason } from '../sharing/reasons.js';
import type { ElectricityInput } from '../earnings/electricity.js';
export type * from './views-models.js';
export type * from './views-wallet.js';

/** Which shell serves the UI: the desktop app or the headless dashboard in a browser. */
export type ShellKind = 'electron' | 'dashboard';

/** The TON network payouts go to. */
export type TonNetwork = 'mainnet' | 'testnet';

/** What this build is and what its shell can do. */
export interface AppInfo {
  version: string;
  shell: ShellKind;
  platform: string;
  network: TonNetwork;
  /** Features only some shells have (auto-start needs the desktop app; links open through `openLink` where it can). */
  features: { autoStart: boolean; notifications: boolean; openExternal: boolean };
}

/** The sharing decision as the dashboard shows it. */
export interface SharingView {
  mode: SharingMode;
  /** The mode the switch turns on when it is off (the last one used; When idle at first). */
  resumeMode: Exclude<SharingMode, 'off'>;
  /** The switch's label, for the mode it turns on or keeps on: "Share GPU when idle", "Share GPU always" … */
  switchLabel: string;
  state: SharingState;
  share: boolean;
  /** "Sharing: away 12 min · no game · GPU 54 °C" (the tray's short line). */
  summary: string;
  /** One plain sentence for the owner: "Paused while you use this PC. Sharing resumes after 5 min away." */
  sentence: string;
  /** The one-click fix of a paused state, when there is one. */
  fix: SharingFix | null;
  reasons: Reason[];
  since: number;
  caps: Decision['caps'];
}

/** What a paused state's button does, and what it says. */
export interface SharingFix {
  label: string;
  action: { kind: 'set-mode'; mode: SharingMode } | { kind: 'share-on-battery' } | { kind: 'open-settings' };
}

/** The link to the coordinator. */
export interface WorkerView {
  /** 'refused': the coordinator will not take this worker (ejected, or its id bound to another key). */
  status: 'connected' | 'connecting' | 'refused' | 'not-running';
  workerId: string | null;
  coordinator: string | null;
  /** Why the link last dropped, while it is down; while refused, the explanation for the owner. */
  lastError: string | null;
  /** While refused: the short title of why. */
  refusal?: string;
  /** While refused: which refusal (the identity ones can be lifted by the operator, given this PC's worker id). */
  refusalCode?: 'worker_ejected' | 'identity_mismatch' | 'client_too_old' | 'server_too_old' | 'unusable_welcome';
  /** The latest check of this PC's answers that failed, this run (cleared when a refusal is lifted). */
  failedCheck: { title: string; sentence: string; strikes: number; ejectAt: number; at: number } | null;
}

/** The loaded model's engine; null while the model is unloaded (sharing paused). */
export interface EngineView {
  loaded: boolean;
  /** 'cpu', 'cuda', 'vulkan' or 'metal'. */
  gpu: string;
  /** Generation speed, measured once after loading (the one speed figure the app shows). */
  tokensPerSecond: number;
  contextSize: number;
}

/** A job running now. */
export interface CurrentJob {
  jobId: string;
  model: string;
  startedAt: number;
}

/** The last job that ended. */
export interface FinishedJob {
  jobId: string;
  model: string;
  /** `interrupted`: stopped because the owner needed the GPU (or the link dropped); the network finished it elsewhere. */
  outcome: 'done' | 'failed' | 'interrupted';
  completionTokens: number;
  durationMs: number;
  /** Completion tokens over the job's wall time; null for a job too short to measure. */
  tokensPerSecond: number | null;
  endedAt: number;
}

/** The hottest GPU's readings; each field may be unknown (null). */
export interface GpuView {
  name: string | null;
  tempC: number | null;
  memoryUsedMb: number | null;
  memoryTotalMb: number | null;
  powerW: number | null;
  utilizationPercent: number | null;
}

/** Everything the Dashboard screen shows; also the payload of the `state` push. */
export interface AppState {
  sharing: SharingView;
  worker: WorkerView;
  engine: EngineView | null;
  job: CurrentJob | null;
  lastJob: FinishedJob | null;
  /** null = no GPU telemetry on this machine (no nvidia-smi/rocm-smi). */
  gpu: GpuView | null;
  updatedAt: number;
  /** Grows with every snapshot: a screen keeps the state with the highest (an answer and a push may cross). */
  revision: number;
}

/** A job's start or end; payload of the `job` push. */
export type JobEvent = { phase: 'started'; job: CurrentJob } | { phase: 'ended'; job: FinishedJob };

/** What this session has done, from the worker's own counters and the coordinator's receipts. */
export interface SessionEarnings {
  since: number;
  jobsServed: number;
  jobsFailed: number;
  jobsRejected: number;
  tokensGenerated: number;
  sharedMs: number;
  /** Receipts the coordinator sent this session, and the nanotons they state (not yet verified on chain). */
  receipts: number;
  reportedNanotons: string;
  /** The last jobs that ended this session, oldest first (at most 30). */
  recentJobs: FinishedJob[];
}

/** A range of the earnings history. */
export type EarningsRange = 'today' | '7d' | '30d';

/** The month forecast, net of the owner's electricity (from the ledger's last full days). */
export interface ForecastView {
  /** `YYYY-MM`. */
  month: string;
  daysInMonth: number;
  /** Days of the month up to and including today. */
  dayOfMonth: number;
  earnedSoFarNanotons: string;
  /** Average per full day over `basisDays` (up to 7; 0 = no history yet, so no projection). */
  dailyAverageNanotons: string;
  basisDays: number;
  projectedGrossNanotons: string;
  /** GPU busy time the projection assumes (0 when jobs carry no duration). */
  projectedBusyMs: number;
  /** What the owner set for electricity; null = not set, so the projection is gross only. */
  electricity: { nanotonsPerKwh: string; watts: number; wattsSource: 'measured' | 'estimated'; costNanotons: string } | null;
  /** Gross minus electricity (gross when electricity is not set). */
  projectedNetNanotons: string;
}

/**
 * Earnings from the books, by day (today: by hour) and by model. `totalNanotons` and the
 * breakdowns cover the range; pending, claimable, paid and flagged are the balances now (all
 * time). Fields marked optional were added later: the books always fill them in.
 */
export interface EarningsView {
  range: EarningsRange;
  totalNanotons: string;
  pendingNanotons: string;
  claimableNanotons: string;
  paidNanotons: string;
  /** `tokens` of a day is its completion tokens (generated). */
  byDay: { day: string; nanotons: string; jobs: number; tokens?: number }[];
  /** The range `today` by hour of the owner's day (0–23, up to now). */
  byHour?: { hour: number; nanotons: string; jobs: number }[];
  /** `tokens` of a model is its completion tokens (generated) over the range. */
  byModel: { model: string; nanotons: string; jobs: number; tokens: number }[];
  /** First and last day of the range, `YYYY-MM-DD` (the owner's calendar). */
  from?: string;
  to?: string;
  jobs?: number;
  promptTokens?: number;
  completionTokens?: number;
  /** Received in payout-shaped messages that did not match a voucher: flagged, never counted as paid. */
  flaggedNanotons?: string;
  /** Jobs whose receipt paid less than this PC counted or than the published prices give, and the shortfall. */
  underpaidJobs?: number;
  underpaidNanotons?: string;
  /** What the books set aside and never counted (refused vouchers, unusable receipts, unmatched payouts), by kind, when any. */
  flags?: FlagView[];
  /**
   * Present while Cash out would be refused: the network's payout vault on chain holds another
   * voucher key or chain than the network signs for (it refuses every claim), or, as last read,
   * it is closed or cannot pay what is ready now.
   */
  cashOutBlocked?: { code: 'vault_key_mismatch' | 'vault_chain_mismatch' | 'vault_closed' | 'vault_short'; summary: string };
  /** Nanotons earned in the last hour (the live TON/hour rate) and the jobs behind them. */
  live?: { nanotonsPerHour: string; jobsLastHour: number };
  forecast?: ForecastView;
}

/** Flags of one kind in the books, in the owner's words. */
export interface FlagView {
  /** What the flags are about, and the books' code for them (technical: shown under Advanced). */
  kind: 'job' | 'voucher' | 'payout';
  code: string;
  count: number;
  /** When the newest was flagged (unix ms). */
  lastAt: number;
  /** One plain sentence: what happened, and what it means for the owner's money. */
  summary: string;
}

/** One job's receipt from the ledger. */
export interface ReceiptView {
  jobId: string;
  model: string;
  finishedAt: number;
  promptTokens: number;
  completionTokens: number;
  nanotons: string;
  /** The voucher that covers this job (null: not yet vouched, still pending). */
  voucherSeq?: number | null;
  /** The payout transaction that paid it (hex hash), once seen on chain. */
  paidTx?: string | null;
  status?: 'pending' | 'claimable' | 'paid';
}

/** One on-chain payout from the ledger. */
export interface PayoutView {
  txHash: string;
  at: number;
  /**
   * What the payout paid: for a counted payout, what it added to the payout account's paid
   * total (its `due`); for a flagged one, what arrived (not counted).
   */
  nanotons: string;
  /**
   * What the payout message carried to the payout address: `nanotons` less the storage deposit
   * the payout account kept, plus a claim's unused fee coming back.
   */
  arrivedNanotons: string;
  /** What the worker's payout account kept of the payment for its own storage rent (still the worker's). */
  depositNanotons: string;
  /** A block-explorer link (https) for the transaction. */
  explorerUrl: string | null;
  status: 'matched' | 'flagged';
  /** The voucher sequence number the payout names. */
  seq?: number;
  /** Why a flagged payout was not counted. */
  flag?: string | null;
}

/** A page of a list, with the cursor of the next page (null = last page). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** What a cash-out started. */
export interface CashOutView {
  nanotons: string;
  /** The claim is an external message: its payout's hash is known only once the chain shows it. */
  txHash: string | null;
  status: 'sent' | 'nothing-to-claim';
  /** The voucher the claim was sent with. */
  seq?: number | null;
}


/** What one TON is worth in the owner's currency, and where that rate comes from. */
export interface FiatRateView {
  /** "EUR", "USD", "€" … as the owner or the coordinator wrote it. */
  currency: string;
  /** The price of 1 TON in that currency, a decimal string ("3.1"). */
  perTon: string;
  source: 'owner' | 'coordinator';
}

/** Settings the Settings screen edits. */
export interface AppSettingsView {
  sharing: SharingSettings;
  /** null = this shell cannot start at login (the headless dashboard). */
  autoStart: boolean | null;
  network: TonNetwork;
  coordinator: string | null;
  /** The owner's electricity price, for the forecast net of electricity; null = not set. */
  electricity: ElectricityInput | null;
  /** Whether the app should walk the owner through the first-run setup now. */
  setupPending: boolean;
  /** The rate amounts are shown in besides TON (the owner's price of 1 TON, else the coordinator's); null: TON only. */
  fiat: FiatRateView | null;
}

/** A model on disk that the worker serves. */
export interface InstalledModel {
  id: string;
  path: string;
  sizeBytes: number;
  sha256: string;
  loaded: boolean;
}

/** One check of the hardware doctor. */
export interface DoctorCheck {
  id: string;
  label: string;
  status: 'ok' | 'warn' | 'fail' | 'info';
  detail: string;
}

/** The hardware doctor's findings. */
export interface DoctorReport {
  checkedAt: number;
  system: { os: string; arch: string; cpu: string; cores: number; memoryTotalBytes: number; memoryFreeBytes: number };
  runtime: { app: string; node: string; electron: string | null };
  checks: DoctorCheck[];
}

/** One log line from the ring buffer (already redacted by the logger). */
export interface LogEntry {
  time: string;
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  subsystem: string;
  msg: string;
  /** Other fields of the line, as compact JSON. */
  fields: string;
}

/**
 * THE IPC contract of the desktop app: every verb the UI may call (name → zod schema of its
 * arguments, type of its result) and every push it may subscribe to. The preload's
 * allow-list, the main-side handlers (Electron and the headless dashboard) and the renderer's
 * `window.api` type are all derived from this one table; channel strings live only here.
 * Pure TypeScript plus zod: no Node, Electron or DOM APIs.
 */
import { z } from 'zod';
import { SHARING_MODES, sharingSettingsSchema } from '../sharing/settings.js';
import { electricityInputSchema } from '../earnings/electricity.js';
import type { SharingSettings, SharingSettingsPatch } from '../sharing/settings.js';
import type { Result } from './result.js';
import type { PushName, VerbName } from './contract-names.js';
import type {
  AppInfo, AppSettingsView, AppState, CashOutView, DoctorReport, EarningsView, InstalledModel, JobEvent,
  LogEntry, Page, PayoutView, ReceiptView, SessionEarnings, WalletView,
} from './views.js';
import type { DownloadView, ModelCatalogView } from './views-models.js';
import type { CreatedLocalWallet, RecoveryPhrase, TonConnectLink } from './views-wallet.js';

/** A verb: the schema its arguments must pass, and (as a type only) what it answers. */
export interface VerbSpec<Args extends z.ZodType, Value> {
  args: Args;
  doc: string;
  /** Phantom: carries the result type, never set at runtime. */
  readonly value?: Value;
}

/** A push: a payload type (phantom) and what it is for. */
export interface PushSpec<Payload> {
  doc: string;
  readonly payload?: Payload;
}

function verb<Value>() {
  return <Args extends z.ZodType>(args: Args, doc: string): VerbSpec<Args, Value> => ({ args, doc });
}

function push<Payload>(doc: string): PushSpec<Payload> {
  return { doc };
}

/** Strips `.default()`/`.prefault()` so a patch schema never fills in fields the caller left out. */
function withoutDefault(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault) return withoutDefault(schema.unwrap() as z.ZodType);
  return schema;
}

function patchOf(object: z.ZodObject): z.ZodObject {
  const shape = Object.fromEntries(Object.entries(object.shape).map(([key, field]) => [key, withoutDefault(field as z.ZodType).optional()]));
  return z.strictObject(shape);
}

const NESTED_GROUPS = ['quietHours', 'polite', 'hysteresis'] as const;

/** A change to the sharing settings: any field, the nested groups merged one level deep. */
export const sharingPatchSchema = z.strictObject(
  Object.fromEntries(
    Object.entries(sharingSettingsSchema.shape).map(([key, field]) => {
      const inner = withoutDefault(field as z.ZodType);
      const nested = (NESTED_GROUPS as readonly string[]).includes(key) && inner instanceof z.ZodObject;
      return [key, (nested ? patchOf(inner) : inner).optional()];
    }),
  ),
) as unknown as z.ZodType<SharingSettingsPatch>;

const none = z.strictObject({}).optional();
const pageArgs = z.strictObject({ cursor: z.string().max(200).optional(), limit: z.number().int().min(1).max(500).default(50) });
const passphrase = z.string().min(1).max(1024);
const range = z.strictObject({ range: z.enum(['today', '7d', '30d']) });
const modelArgs = z.strictObject({ id: z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/) });

/** The table: verbs (request → result) and pushes (main → UI). */
export const contract = {
  verbs: {
    getAppInfo: verb<AppInfo>()(none, 'Version, shell, platform, network and shell features.'),
    getState: verb<AppState>()(none, 'The dashboard state (also pushed as `state`).'),
    setSharingMode: verb<AppState>()(z.strictObject({ mode: z.enum(SHARING_MODES) }), 'Switches the sharing mode at once.'),
    getSettings: verb<AppSettingsView>()(none, 'Sharing settings, auto-start and network.'),
    updateSharingSettings: verb<SharingSettings>()(z.strictObject({ patch: sharingPatchSchema }), 'Validates, applies and stores a change to the sharing settings.'),
    setAutoStart: verb<boolean>()(z.strictObject({ enabled: z.boolean() }), 'Start at login (desktop app only; opt-in).'),
    setElectricity: verb<AppSettingsView>()(z.strictObject({ electricity: electricityInputSchema.nullable() }), 'Stores the owner’s electricity price (or clears it) for the forecast net of electricity.'),
    completeSetup: verb<AppSettingsView>()(none, 'Marks the first-run setup done.'),
    getWallet: verb<WalletView>()(none, 'The payout address and network.'),
    setPayoutAddress: verb<WalletView>()(z.strictObject({ address: z.string().trim().min(1).max(100) }), 'Validates (checksum, network) and stores a payout address.'),
    clearPayoutAddress: verb<WalletView>()(none, 'Forgets the payout address.'),
    startTonConnect: verb<TonConnectLink>()(none, 'Starts pairing a wallet app (TON Connect): the universal link to show as a QR; progress is pushed as `wallet`.'),
    cancelTonConnect: verb<WalletView>()(none, 'Stops waiting for the wallet app.'),
    disconnectWallet: verb<WalletView>()(none, 'Disconnects the paired wallet app (and forgets its payout address).'),
    createLocalWallet: verb<CreatedLocalWallet>()(z.strictObject({ passphrase: passphrase.optional() }), 'Creates a wallet on this PC; answers its address and the 24 words to write down (shown this once).'),
    confirmWalletBackup: verb<WalletView>()(none, 'The owner wrote the 24 words down: the local wallet becomes the payout address.'),
    importLocalWallet: verb<WalletView>()(z.strictObject({ words: z.string().min(1).max(1000), passphrase: passphrase.optional() }), 'Restores a wallet on this PC from its 24 words; it becomes the payout address.'),
    revealRecoveryPhrase: verb<RecoveryPhrase>()(z.strictObject({ passphrase: passphrase.optional() }), 'The local wallet\'s 24 words, after its passphrase.'),
    removeLocalWallet: verb<WalletView>()(none, 'Forgets the wallet on this PC (its words are the only way back to its money).'),
    listModels: verb<InstalledModel[]>()(none, 'Models installed on this machine.'),
    getModelCatalog: verb<ModelCatalogView>()(none, "The coordinator's catalog: installed/active flags, VRAM fit, downloads, and the hardware compared against."),
    downloadModel: verb<DownloadView>()(modelArgs, 'Starts (or resumes) downloading a catalog model; progress comes as `download` pushes.'),
    cancelDownload: verb<DownloadView | null>()(modelArgs, 'Stops a download; what arrived is kept so Download resumes it.'),
    useModel: verb<ModelCatalogView>()(modelArgs, 'Serves an installed model (after the running job ends) and remembers the choice.'),
    removeModel: verb<InstalledModel[]>()(modelArgs, 'Deletes a downloaded model (never the one being served) or an interrupted download.'),
    getDoctor: verb<DoctorReport>()(none, 'Hardware doctor: CPU, memory, GPU, sandbox, link, model.'),
    getLogs: verb<LogEntry[]>()(z.strictObject({ limit: z.number().int().min(1).max(1000).default(200) }).optional(), 'Recent log lines (already redacted).'),
    getReport: verb<{ text: string }>()(none, 'A redacted diagnostics report to paste into a bug report.'),
    getSessionEarnings: verb<SessionEarnings>()(none, 'Jobs, tokens and receipts of this session (also pushed as `session`).'),
    getEarnings: verb<EarningsView>()(range, 'Earnings from the books: the range by day (today by hour) and model, balances, rate and forecast.'),
    listReceipts: verb<Page<ReceiptView>>()(pageArgs, 'Per-job receipts from the ledger.'),
    listPayouts: verb<Page<PayoutView>>()(pageArgs, 'On-chain payouts from the ledger.'),
    exportEarningsCsv: verb<{ filename: string; csv: string }>()(range, 'The ledger as CSV.'),
    cashOut: verb<CashOutView>()(z.strictObject({ passphrase: passphrase.optional() }).optional(), 'Claims what the vault owes now, signed by the payout wallet (the wallet app over TON Connect, or the wallet on this PC after its passphrase).'),
    openLink: verb<boolean>()(z.strictObject({ url: z.string().url().max(2000) }), 'Opens a block-explorer or wallet link in the owner’s browser (shells that can; https and known hosts only).'),
  },
  pushes: {
    state: push<AppState>('The dashboard state, after every change and poll.'),
    job: push<JobEvent>('A job started or ended.'),
    session: push<SessionEarnings>('Session counters after each job.'),
    log: push<LogEntry>('Each new log line.'),
    download: push<DownloadView>('Progress of a model download, a few times a second, and its end.'),
    wallet: push<WalletView>('The Wallet screen after a pairing step (waiting, connected, failed).'),
  },
// `satisfies` ties the table to contract-names.ts: a name missing here, or an entry not named there, does not compile.
} as const satisfies { verbs: { [V in VerbName]: VerbSpec<z.ZodType, unknown> }; pushes: { [P in PushName]: PushSpec<unknown> } };

type Verbs = typeof contract.verbs;
type Pushes = typeof contract.pushes;

export { CHANNELS, HTTP_ROUTES, PUSH_NAMES, VERB_NAMES, isPushName, isVerbName, type PushName, type VerbName } from './contract-names.js';
// Everything the UI needs to type what crosses the bridge comes through this one module.
export type * from './views.js';
export type { AppError, ErrorCode, FieldProblem, Result } from './result.js';
export type { SharingMode, SharingSettings, SharingSettingsPatch, TimeWindow, Weekday } from '../sharing/settings.js';
export type { ElectricityInput } from '../earnings/electricity.js';
export type { Reason } from '../sharing/reasons.js';

/** What a caller passes to a verb (before defaults). */
export type VerbArgs<V extends VerbName> = z.input<Verbs[V]['args']>;
/** What a handler receives (parsed, defaults filled in). */
export type VerbParsedArgs<V extends VerbName> = z.output<Verbs[V]['args']>;
/** What a verb answers when it succeeds. */
export type VerbValue<V extends VerbName> = Verbs[V] extends VerbSpec<z.ZodType, infer Value> ? Value : never;
/** What a push carries. */
export type PushPayload<P extends PushName> = Pushes[P] extends PushSpec<infer Payload> ? Payload : never;

/** One method per verb: `api.setSharingMode({ mode: 'idle' })`; verbs without arguments take none. */
export type VerbMethods = {
  [V in VerbName]: (...args: undefined extends VerbArgs<V> ? [args?: VerbArgs<V>] : [args: VerbArgs<V>]) => Promise<Result<VerbValue<V>>>;
};

/** The API the renderer talks to: `window.api` in Electron, the same over HTTP in the dashboard. */
export type Api = VerbMethods & {
  /** Subscribes to a push; returns the unsubscribe function. */
  on<P extends PushName>(push: P, listener: (payload: PushPayload<P>) => void): () => void;
};

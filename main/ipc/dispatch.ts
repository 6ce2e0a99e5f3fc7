/**
 * The one door into the app's services, shared by both transports (Electron IPC and the
 * headless dashboard's HTTP): refuses unknown verbs, parses the arguments with the contract's
 * schema, turns thrown errors into plain `internal` failures, and lets only plain JSON data
 * without secret-looking fields back out.
 */
import { contract, isVerbName, type PushName, type PushPayload, type VerbName, type VerbParsedArgs, type VerbValue } from './contract.js';
import { fail, ok, type Result } from './result.js';
import { fieldProblems } from './field-problems.js';

/** The implementation of every verb; `assembleApp` (main/app) builds one from the worker core. */
export type VerbHandlers = {
  [V in VerbName]: (args: VerbParsedArgs<V>) => Promise<Result<VerbValue<V>>> | Result<VerbValue<V>>;
};

/** A listener of every push. */
export type PushListener = <P extends PushName>(name: P, payload: PushPayload<P>) => void;

/** What both transports serve: the handlers and a way to follow the pushes. */
export interface ContractServices {
  handlers: VerbHandlers;
  /** Follows every push; returns the unsubscribe function. */
  subscribe(listener: PushListener): () => void;
}

/** Field names whose values are secrets; none may ever reach the UI. */
const SECRET_FIELD = /^(mnemonic|words|seed|seedphrase|secret|secretkey|privatekey|private_key|keypair|password|passphrase|apikey|api_key|token|authorization)$/i;

/**
 * The only secret that ever crosses, by design: the local wallet's recovery words, as `$.words`
 * of the two verbs that exist to show them to the owner (at creation, and on an explicit reveal
 * after the passphrase). Nowhere else, never in a push.
 */
export const RECOVERY_PHRASE_VERBS: ReadonlySet<string> = new Set(['createLocalWallet', 'revealRecoveryPhrase']);

/** The path of the first field that looks like a secret (other than the one `allowed` path), or null. */
export function findSecretField(value: unknown, path = '$', seen = new Set<unknown>(), allowed?: string): string | null {
  if (value === null || typeof value !== 'object' || seen.has(value)) return null;
  seen.add(value);
  for (const [key, inner] of Object.entries(value)) {
    if (SECRET_FIELD.test(key) && `${path}.${key}` !== allowed) return `${path}.${key}`;
    const found = findSecretField(inner, `${path}.${key}`, seen, allowed);
    if (found) return found;
  }
  return null;
}

/**
 * Makes a value safe to send: plain JSON data only (no class instances, getters, functions or
 * bigints), and no secret-looking field. Returns null when the value must not be sent.
 */
export function toWire(value: unknown, allowed?: string): { ok: true; value: unknown } | { ok: false; message: string } {
  let plain: unknown;
  try {
    plain = value === undefined ? null : JSON.parse(JSON.stringify(value));
  } catch (error) {
    return { ok: false, message: `not plain data: ${error instanceof Error ? error.message : String(error)}` };
  }
  const secret = findSecretField(plain, '$', new Set(), allowed);
  return secret ? { ok: false, message: `refused to send a secret-looking field (${secret})` } : { ok: true, value: plain };
}

/** Reports dispatch problems to the caller's log without putting arguments in it. */
export type DispatchLog = (level: 'warn' | 'error', fields: Record<string, unknown>, msg: string) => void;

/** Calls one verb: unknown → `unknown-verb`, bad arguments → `bad-arguments`, throws → `internal`. */
export async function dispatch(handlers: VerbHandlers, verb: unknown, rawArgs: unknown, log?: DispatchLog): Promise<Result<unknown>> {
  if (!isVerbName(verb)) return fail('unknown-verb', `'${String(verb).slice(0, 64)}' is not a verb of this app.`);
  const parsed = contract.verbs[verb].args.safeParse(rawArgs === undefined ? {} : rawArgs);
  if (!parsed.success) {
    // Said beside each field of the form that sent it, in the owner's words.
    const fields = fieldProblems(parsed.error.issues);
    return fail('bad-arguments', fields[0]?.message ?? 'The app sent something this worker cannot read; reload the page.', fields);
  }
  let result: Result<unknown>;
  try {
    const handler = handlers[verb] as (args: unknown) => Promise<Result<unknown>> | Result<unknown>;
    result = await handler(parsed.data);
  } catch (error) {
    log?.('error', { verb, err: error instanceof Error ? error.message : String(error) }, 'IPC handler threw');
    return fail('internal', `${verb} failed unexpectedly; see Diagnostics → Logs.`);
  }
  if (!result.ok) return fail(result.error.code, result.error.message, result.error.fields);
  const wire = toWire(result.value, RECOVERY_PHRASE_VERBS.has(verb) ? '$.words' : undefined);
  if (!wire.ok) {
    log?.('error', { verb, problem: wire.message }, 'IPC result refused');
    return fail('internal', `${verb}: the answer was refused (${wire.message}).`);
  }
  return ok(wire.value);
}

/** Prepares a push payload the same way (null = must not be sent). */
export function pushToWire(name: PushName, payload: unknown, log?: DispatchLog): unknown {
  const wire = toWire(payload);
  if (wire.ok) return wire.value;
  log?.('error', { push: name, problem: wire.message }, 'IPC push refused');
  return null;
}

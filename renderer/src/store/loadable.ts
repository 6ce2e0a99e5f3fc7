/** A value the UI loads from the worker: loading, ready or failed (with the contract's error). */
import type { AppError, Result } from '../../../main/ipc/contract.js';

/** One loadable value. */
export interface Loadable<T> {
  status: 'idle' | 'loading' | 'ready' | 'error';
  value: T | null;
  error: AppError | null;
}

/** Not asked for yet. */
export function idle<T>(): Loadable<T> {
  return { status: 'idle', value: null, error: null };
}

/** Being fetched; keeps the last value so screens do not flash. */
export function loading<T>(previous: Loadable<T>): Loadable<T> {
  return { status: 'loading', value: previous.value, error: null };
}

/** Arrived. */
export function ready<T>(value: T): Loadable<T> {
  return { status: 'ready', value, error: null };
}

/**
 * The newer of what is shown and what arrived, by revision, as loaded. The worker answers
 * requests and pushes each change, and the two can cross: an answer taken just before a change
 * can arrive after the push that told of it, and must not undo it.
 */
export function newer<T extends { revision: number }>(shown: Loadable<T>, next: T): Loadable<T> {
  return ready(shown.value && shown.value.revision > next.revision ? shown.value : next);
}

/** A Result as a Loadable (a failure keeps the last value). */
export function fromResult<T>(result: Result<T>, previous: Loadable<T> = idle()): Loadable<T> {
  return result.ok ? ready(result.value) : { status: 'error', value: previous.value, error: result.error };
}

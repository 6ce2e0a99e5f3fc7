/** Loading, empty and error states, used by every screen the same way. */
import type { AppError } from '../../../main/ipc/contract.js';
import type { ReactNode } from 'react';
import type { Loadable } from '../store/loadable.js';

/** Grey placeholder lines while something loads. */
export function Loading({ lines = 2, label = 'Loading' }: { lines?: number; label?: string }) {
  return (
    <div role="status" aria-label={label} style={{ display: 'grid', gap: 8 }}>
      {Array.from({ length: lines }, (_, index) => (
        <div key={index} className="skeleton" style={{ width: `${90 - index * 25}%` }} />
      ))}
    </div>
  );
}

/** Nothing to show yet, said plainly, with what would change that. */
export function Empty({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty">
      <strong>{title}</strong>
      {children ? <span>{children}</span> : null}
      {action}
    </div>
  );
}

/** A failure with its message and a retry. */
export function ErrorNote({ error, onRetry }: { error: AppError; onRetry?: () => void }) {
  return (
    <div className="error-note" role="alert">
      <span>{error.message}</span>
      {onRetry ? (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/**
 * Renders a Loadable: skeleton while first loading, the error (with retry) when it failed
 * without a value, `unavailable` through `whenUnavailable`, else the value.
 */
export function Show<T>({ data, children, onRetry, whenUnavailable, lines }: {
  data: Loadable<T>;
  children: (value: T) => ReactNode;
  onRetry?: () => void;
  whenUnavailable?: (error: AppError) => ReactNode;
  lines?: number;
}) {
  if (data.error && data.error.code === 'unavailable' && whenUnavailable) return <>{whenUnavailable(data.error)}</>;
  if (data.value !== null) return <>{children(data.value)}</>;
  if (data.error) return <ErrorNote error={data.error} {...(onRetry ? { onRetry } : {})} />;
  return <Loading {...(lines ? { lines } : {})} />;
}

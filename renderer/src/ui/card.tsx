/** Cards, stats and badges: the calm building blocks of every screen. */
import type { ReactNode } from 'react';

/** A titled surface. */
export function Card({ title, actions, children, className = '' }: { title?: string; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={`card ${className}`} aria-label={title}>
      {title || actions ? (
        <div className="card-header">
          {title ? <h2>{title}</h2> : <span />}
          {actions}
        </div>
      ) : null}
      {children}
    </section>
  );
}

/** A number with its label; `unknown` renders a muted "unknown". */
export function Stat({ value, hint, small = false }: { value: ReactNode | null; hint?: ReactNode; small?: boolean }) {
  return (
    <div>
      <div className={small ? 'stat-value small' : 'stat-value'}>{value === null ? <span className="unknown">unknown</span> : value}</div>
      {hint ? <div className="stat-hint">{hint}</div> : null}
    </div>
  );
}

/** Visual tone of a badge or check. */
export type Tone = 'ok' | 'warn' | 'fail' | 'info' | 'neutral';

/** A small status pill. */
export function Badge({ tone = 'neutral', children, plain = false }: { tone?: Tone; children: ReactNode; plain?: boolean }) {
  return <span className={`badge ${tone === 'neutral' ? '' : `tone-${tone}`} ${plain ? 'plain' : ''}`}>{children}</span>;
}

/** The page title row. */
export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle ? <p>{subtitle}</p> : null}
      </div>
      {actions}
    </header>
  );
}

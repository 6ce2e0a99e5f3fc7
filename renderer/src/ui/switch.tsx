/** An accessible on/off switch (a button with role="switch"), named by its visible label. */
import { useId } from 'react';

/** Props of Switch. */
export interface SwitchProps {
  label: string;
  checked: boolean;
  onChange(checked: boolean): void;
  description?: string;
  busy?: boolean;
  disabled?: boolean;
  compact?: boolean;
}

/** The switch. */
export function Switch({ label, checked, onChange, description, busy = false, disabled = false, compact = false }: SwitchProps) {
  const labelId = useId();
  const descriptionId = useId();
  return (
    <button
      type="button"
      role="switch"
      className={compact ? 'switch compact' : 'switch'}
      aria-checked={checked}
      aria-labelledby={labelId}
      aria-describedby={description ? descriptionId : undefined}
      aria-busy={busy}
      disabled={disabled}
      onClick={() => onChange(!checked)}
    >
      <span className="switch-track" aria-hidden="true">
        <span className="switch-thumb" />
      </span>
      <span>
        <span id={labelId} className="switch-label">
          {label}
        </span>
        {description ? (
          <span id={descriptionId} className="stat-hint" style={{ display: 'block' }}>
            {description}
          </span>
        ) : null}
      </span>
    </button>
  );
}

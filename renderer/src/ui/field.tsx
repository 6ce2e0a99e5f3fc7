/** A labelled form field with its hint, and its message beside it when the value was refused. */
import { useId, type ReactNode } from 'react';

/** Props of TextField. */
export interface TextFieldProps {
  label: string;
  value: string;
  onChange(value: string): void;
  /** The refusal for this field, in plain words; shown beside it and announced. */
  error?: string | undefined;
  hint?: ReactNode;
  unit?: string;
  placeholder?: string;
  inputMode?: 'decimal' | 'numeric' | 'text';
  mono?: boolean;
  testId?: string;
}

/** A text input (numbers are typed as text: any decimal separator is accepted). */
export function TextField({ label, value, onChange, error, hint, unit, placeholder, inputMode = 'text', mono = false, testId }: TextFieldProps) {
  const id = useId();
  const hintId = useId();
  const errorId = useId();
  const described = [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="row nowrap">
        <input
          id={id}
          className={mono ? 'input mono' : 'input'}
          inputMode={inputMode}
          value={value}
          placeholder={placeholder}
          onChange={(event) => onChange(event.target.value)}
          autoComplete="off"
          spellCheck={false}
          aria-invalid={error ? true : undefined}
          aria-describedby={described}
          {...(testId ? { 'data-testid': testId } : {})}
        />
        {unit ? <span className="muted">{unit}</span> : null}
      </div>
      {error ? (
        <span id={errorId} className="field-error" role="alert">
          {error}
        </span>
      ) : null}
      {hint ? (
        <span id={hintId} className="field-hint">
          {hint}
        </span>
      ) : null}
    </div>
  );
}

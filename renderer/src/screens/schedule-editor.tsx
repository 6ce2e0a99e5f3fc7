/** Edits a list of weekly time windows (days + start/end in local time); empty = any time. */
import type { TimeWindow, Weekday } from '../../../main/ipc/contract.js';

const DAYS: { id: Weekday; short: string; name: string }[] = [
  { id: 'mon', short: 'M', name: 'Monday' },
  { id: 'tue', short: 'T', name: 'Tuesday' },
  { id: 'wed', short: 'W', name: 'Wednesday' },
  { id: 'thu', short: 'T', name: 'Thursday' },
  { id: 'fri', short: 'F', name: 'Friday' },
  { id: 'sat', short: 'S', name: 'Saturday' },
  { id: 'sun', short: 'S', name: 'Sunday' },
];

/** Props of ScheduleEditor. */
export interface ScheduleEditorProps {
  label: string;
  windows: TimeWindow[];
  onChange(windows: TimeWindow[]): void;
  emptyText: string;
}

/** The editor. */
export function ScheduleEditor({ label, windows, onChange, emptyText }: ScheduleEditorProps) {
  const update = (index: number, change: Partial<TimeWindow>) => onChange(windows.map((window, i) => (i === index ? { ...window, ...change } : window)));
  return (
    <fieldset className="field" style={{ border: 0, padding: 0, margin: 0 }}>
      <legend className="field-label" style={{ marginBottom: 6 }}>
        {label}
      </legend>
      {windows.length === 0 ? <span className="field-hint">{emptyText}</span> : null}
      {windows.map((window, index) => (
        <div key={index} className="row" role="group" aria-label={`${label} window ${index + 1}`}>
          <span className="days">
            {DAYS.map((day) => (
              <label key={day.id} title={day.name}>
                <input
                  type="checkbox"
                  aria-label={day.name}
                  checked={window.days.includes(day.id)}
                  onChange={(event) => update(index, { days: event.target.checked ? [...window.days, day.id] : window.days.filter((d) => d !== day.id) })}
                />
                {day.short}
              </label>
            ))}
          </span>
          <input className="input" style={{ width: 110 }} type="time" aria-label="From" value={window.start} onChange={(event) => update(index, { start: event.target.value })} />
          <span className="muted">to</span>
          <input className="input" style={{ width: 110 }} type="time" aria-label="Until" value={window.end === '24:00' ? '23:59' : window.end} onChange={(event) => update(index, { end: event.target.value })} />
          <button type="button" className="button" onClick={() => onChange(windows.filter((_, i) => i !== index))}>
            Remove
          </button>
        </div>
      ))}
      <div>
        <button type="button" className="button" onClick={() => onChange([...windows, { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '22:00', end: '07:00' }])}>
          Add window
        </button>
      </div>
    </fieldset>
  );
}

/**
 * The last log lines in memory, for Diagnostics: a pino destination that keeps the most recent
 * lines (already redacted by the logger) and can pass every line on to another destination.
 */
import { EventEmitter } from 'node:events';
import type { LogEntry } from '../ipc/views.js';

const LEVELS: Record<number, LogEntry['level']> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const OWN_FIELDS = new Set(['time', 'level', 'subsystem', 'msg', 'pid', 'hostname']);

/** Something pino can write lines to. */
export interface LineDestination {
  write(line: string): unknown;
}

/** Parses one JSON log line; lines that are not JSON objects become an `info` line of text. */
export function parseLogLine(line: string, now: () => number = Date.now): LogEntry {
  let record: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    record = parsed as Record<string, unknown>;
  } catch {
    return { time: new Date(now()).toISOString(), level: 'info', subsystem: '', msg: line.trim().slice(0, 2000), fields: '' };
  }
  const rest = Object.fromEntries(Object.entries(record).filter(([key]) => !OWN_FIELDS.has(key)));
  const fields = Object.keys(rest).length > 0 ? JSON.stringify(rest).slice(0, 1000) : '';
  const time = typeof record.time === 'string' ? record.time : typeof record.time === 'number' ? new Date(record.time).toISOString() : new Date(now()).toISOString();
  return {
    time,
    level: LEVELS[Number(record.level)] ?? 'info',
    subsystem: typeof record.subsystem === 'string' ? record.subsystem : '',
    msg: typeof record.msg === 'string' ? record.msg.slice(0, 2000) : '',
    fields,
  };
}

/** A ring buffer of recent log lines; emits 'entry' for each new line. */
export class LogRing extends EventEmitter<{ entry: [LogEntry] }> {
  private readonly lines: LogEntry[] = [];

  constructor(private readonly capacity = 1000) {
    super();
  }

  /** Takes one or more newline-separated JSON lines (pino's destination interface). */
  write(chunk: string): boolean {
    for (const line of chunk.split('\n')) {
      if (line.trim() === '') continue;
      const entry = parseLogLine(line);
      this.lines.push(entry);
      if (this.lines.length > this.capacity) this.lines.shift();
      this.emit('entry', entry);
    }
    return true;
  }

  /** The most recent `limit` lines, oldest first. */
  entries(limit = this.capacity): LogEntry[] {
    return this.lines.slice(-limit);
  }

  /** A destination that writes every line both here and to `next` (e.g. stdout). */
  tee(next: LineDestination): LineDestination {
    return {
      write: (line: string) => {
        this.write(line);
        return next.write(line);
      },
    };
  }
}

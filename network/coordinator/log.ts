/** JSON-lines logging for the coordinator: one object a line, sensitive fields censored. */
import { pino, type Logger, type DestinationStream } from 'pino';
import { REDACT_PATHS } from '../protocol/redaction.js';

export type { Logger };

/** Creates the root logger; children carry a `subsystem` field. */
export function createLogger(subsystem: string, options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const level = options.level ?? process.env.SILKWORM_LOG_LEVEL ?? 'info';
  return pino(
    {
      level,
      base: { subsystem },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** JSON-lines logging for the worker: one object a line, prompts and keys censored. */
import { pino, type Logger, type DestinationStream } from 'pino';
import { REDACT_PATHS } from '../network/protocol/redaction.js';

export type { Logger };

/** Creates a logger for a subsystem of the worker. */
export function createLogger(subsystem: string, options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.SILKWORM_LOG_LEVEL ?? 'info',
      base: { subsystem },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** JSON-lines logging for the gateway: one object a line, prompts and keys censored. */
import { pino, type Logger, type DestinationStream } from 'pino';
import { REDACT_PATHS } from '../protocol/redaction.js';

export type { Logger };

/** Creates the root logger; every line carries `subsystem`. */
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

/**
 * JSON-lines logging for every Node deployable on the network side (coordinator, gateway,
 * chain): one object a line, prompts, answers and keys censored.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { REDACT_PATHS } from '../protocol/redaction.js';

export type { Logger };

/** Options of a root logger. */
export interface LoggerOptions {
  level?: string;
  destination?: DestinationStream;
  /** Write each line before returning (for processes that log little and may exit abruptly). */
  sync?: boolean;
}

/** Creates a root logger; every line carries `subsystem`. Level from SILKWORM_LOG_LEVEL, default info. */
export function createLogger(subsystem: string, options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.SILKWORM_LOG_LEVEL ?? 'info',
      base: { subsystem },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 1, sync: options.sync ?? false }),
  );
}

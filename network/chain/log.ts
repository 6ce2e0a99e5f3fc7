/** JSON-lines logging for the local chain: one object a line on stdout, sensitive fields censored. */
import { pino, type Logger, type DestinationStream } from 'pino';
import { REDACT_PATHS } from '../protocol/redaction.js';

export type { Logger };

/** Creates the chain's logger (`subsystem: "chain"`); level from SILKWORM_LOG_LEVEL, default info. */
export function createChainLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.SILKWORM_LOG_LEVEL ?? 'info',
      base: { subsystem: 'chain' },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    // Synchronous: a chain server logs little, and no line may be lost when the process exits.
    options.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}

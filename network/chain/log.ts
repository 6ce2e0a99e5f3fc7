/** Logging of the local chain: the network side's shared JSON-lines logger. */
import { createLogger, type Logger, type LoggerOptions } from '../node-kit/log.js';

export type { Logger };

/** Creates the chain's logger (`subsystem: "chain"`), synchronous: no line is lost at exit. */
export function createChainLogger(options: Omit<LoggerOptions, 'sync'> = {}): Logger {
  return createLogger('chain', { ...options, sync: true });
}

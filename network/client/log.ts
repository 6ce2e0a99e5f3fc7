/** Logging of the gateway: the network side's shared JSON-lines logger. */
export { createLogger, type Logger } from '../node-kit/log.js';

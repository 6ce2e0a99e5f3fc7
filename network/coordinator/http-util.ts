/** HTTP helpers of the coordinator: the shared ones, and the status of a failed job. */
import type { ErrorCode } from '../protocol/errors.js';

export { MAX_BODY_BYTES, readChatRequest, readJsonBody, sendError, sendJson } from '../node-kit/http-util.js';

/** HTTP status for a job that ended in an error. */
export function statusForCode(code: ErrorCode): number {
  switch (code) {
    case 'invalid_request':
      return 400;
    case 'unauthorized':
      return 401;
    case 'unknown_model':
      return 404;
    case 'no_capacity':
    case 'not_sharing':
      return 503;
    case 'timeout':
      return 504;
    case 'worker_lost':
    case 'engine_crashed':
    case 'engine_error':
    case 'output_too_large':
      return 502;
    default:
      return 500;
  }
}

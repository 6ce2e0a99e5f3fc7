/** HTTP helpers of the coordinator: the shared ones, and the status of a failed job. */
import type { ErrorCode } from '../protocol/errors.js';
import { httpStatusForCode } from '../protocol/http-contract.js';

export { decodePathPart, MAX_BODY_BYTES, readJsonBody, sendError, sendJson } from '../node-kit/http-util.js';

/** HTTP status for a job that ended in an error. */
export function statusForCode(code: ErrorCode): number {
  return httpStatusForCode(code);
}

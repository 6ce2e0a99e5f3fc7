/**
 * CORS for browser clients, off unless an operator names the web origins it trusts
 * (`--cors-origin`). With none, no CORS header is ever sent and browsers keep pages from reading
 * answers; a named origin gets exactly its own origin back (never `*`), may send the
 * Authorization header and Silkworm's routing headers, and may read Silkworm's answer headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HEADERS } from '../protocol/http-contract.js';
import { sendError } from './http-util.js';

/** How long a browser may cache a preflight answer, in seconds. */
const PREFLIGHT_MAX_AGE_S = 600;
/** Headers a page may read from answers. */
const EXPOSED = ['retry-after', HEADERS.confidentiality, HEADERS.workerTier, HEADERS.workerId, 'x-request-id'].join(', ');
/** Request headers a page may send: standard ones, Silkworm's, and the OpenAI SDKs' own (x-stainless-*). */
const ALLOWED_HEADER = /^(authorization|content-type|accept|openai-[a-z-]+|x-stainless-[a-z0-9-]+|x-silkworm-[a-z-]+)$/;

/** Parses an origin as browsers send it (scheme://host[:port]); undefined when it is not one. */
export function normalizeOrigin(text: string): string | undefined {
  try {
    const url = new URL(text);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username) return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/** The origins given with `--cors-origin`, normalized; throws naming the first that is not an origin. */
export function parseCorsOrigins(texts: readonly string[]): string[] {
  return texts.map((text) => {
    const origin = normalizeOrigin(text);
    if (!origin) throw new Error(`--cors-origin '${text}' is not a web origin (scheme://host[:port], for example https://app.example).`);
    return origin;
  });
}

/**
 * Applies the CORS policy to a request. Returns true when it answered the request itself (a
 * preflight, or a refused one); otherwise the allowed origin's headers are set on `res`.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, allowed: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  if (allowed.size === 0) return false;
  // Answers differ by origin once any is allowed: caches must not serve one origin's to another.
  res.setHeader('vary', 'Origin');
  if (origin === undefined) return false;
  const permitted = allowed.has(origin);
  if (req.method === 'OPTIONS') {
    if (!permitted) {
      sendError(res, 403, `Origin ${origin} may not call this API from a browser (the operator allows: ${[...allowed].join(', ')}).`, 'forbidden_origin');
      return true;
    }
    const requested = String(req.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '');
    const refused = requested.find((h) => !ALLOWED_HEADER.test(h));
    if (refused) {
      sendError(res, 403, `Header '${refused}' may not be sent from a browser.`, 'forbidden_header');
      return true;
    }
    res.writeHead(204, {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': requested.join(', '),
      'access-control-max-age': String(PREFLIGHT_MAX_AGE_S),
      vary: 'Origin, Access-Control-Request-Headers',
    });
    res.end();
    return true;
  }
  if (permitted) {
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-expose-headers', EXPOSED);
  }
  return false;
}

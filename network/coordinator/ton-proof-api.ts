/**
 * The coordinator as the TON Connect dApp backend (docs/design.md, Wallet): the app manifest wallets
 * fetch, single-use `ton_proof` payloads, and the verification that turns a wallet's proof
 * into a payout address. Workers pair a wallet app through these three routes; no key ever
 * touches the worker's PC.
 *
 *   GET  /tonconnect-manifest.json   { url, name, iconUrl }
 *   GET  /tonconnect-icon.png        the app icon (when the build's icon is on disk)
 *   POST /v1/ton-proof/payload       → { payload, expiresAt }   (random, short-lived, single-use)
 *   POST /v1/ton-proof/verify        → { ok: true, address, network } | { ok: false, error: { code, message } }
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJsonBody, sendJson } from './http-util.js';
import { TON_PROOF_PATHS, verifyTonProof, type TonProofNetwork } from '../protocol/ton-proof.js';

/** The routes, for the server's table and for clients. */
export const TON_PROOF_ROUTES = TON_PROOF_PATHS;

/** How long an issued payload may be answered. */
export const TON_PROOF_PAYLOAD_TTL_MS = 10 * 60_000;
const MAX_OPEN_PAYLOADS = 10_000;
const ICON_FILE = new URL('../../build/icons/icon.png', import.meta.url);

/** What the dApp backend is configured with. */
export interface TonProofApiOptions {
  /** The coordinator's public URL: the manifest's `url`, and the domain wallets sign for. */
  publicUrl: string;
  /** The network payouts go to. */
  network: TonProofNetwork;
  /** Extra domains a proof may name (default: the public URL's host, with and without the port). */
  allowedDomains?: readonly string[];
  iconUrl?: string;
  payloadTtlMs?: number;
  now?: () => number;
}

/** The three routes; `handle` answers one of them or returns null. */
export interface TonProofApi {
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<string | null>;
  /** Payloads issued and not yet used or expired (for tests and metrics). */
  readonly openPayloads: number;
}

/** The domains a proof for this public URL may name. */
export function domainsFor(publicUrl: string): string[] {
  const url = new URL(publicUrl);
  return [...new Set([url.host, url.hostname])];
}

/** Builds the dApp backend for one coordinator. */
export function createTonProofApi(options: TonProofApiOptions): TonProofApi {
  const now = options.now ?? Date.now;
  const ttl = options.payloadTtlMs ?? TON_PROOF_PAYLOAD_TTL_MS;
  const publicUrl = options.publicUrl.replace(/\/+$/, '');
  const allowedDomains = [...domainsFor(publicUrl), ...(options.allowedDomains ?? [])];
  const open = new Map<string, number>();
  let icon: Promise<Buffer | null> | undefined;

  const prune = () => {
    const at = now();
    for (const [payload, expiresAt] of open) if (expiresAt <= at) open.delete(payload);
  };
  /** Takes the payload out of the open set: valid once, and only before it expires. */
  const consume = (payload: string): boolean => {
    const expiresAt = open.get(payload);
    open.delete(payload);
    return expiresAt !== undefined && expiresAt > now();
  };

  const issue = (res: ServerResponse) => {
    prune();
    if (open.size >= MAX_OPEN_PAYLOADS) return sendJson(res, 503, { ok: false, error: { code: 'busy', message: 'Too many pairings are open; try again in a few minutes.' } });
    const payload = randomBytes(32).toString('hex');
    const expiresAt = now() + ttl;
    open.set(payload, expiresAt);
    sendJson(res, 200, { payload, expiresAt: new Date(expiresAt).toISOString() }, { 'cache-control': 'no-store' });
  };

  const verify = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readJsonBody(req, 64 * 1024);
    if (!body.ok) return sendJson(res, body.status, { ok: false, error: { code: 'malformed', message: body.message } });
    const check = verifyTonProof(body.value, { allowedDomains, network: options.network, isPayloadValid: consume, nowSeconds: Math.floor(now() / 1000) });
    if (!check.ok) return sendJson(res, check.code === 'malformed' ? 400 : 401, { ok: false, error: { code: check.code, message: check.message } });
    const address = check.address.toString({ urlSafe: true, bounceable: false, testOnly: options.network === 'testnet' });
    sendJson(res, 200, { ok: true, address, network: check.network });
  };

  return {
    get openPayloads() {
      prune();
      return open.size;
    },
    async handle(req, res, path) {
      if (req.method === 'GET' && path === TON_PROOF_ROUTES.manifest) {
        sendJson(res, 200, { url: publicUrl, name: 'Silkworm', iconUrl: options.iconUrl ?? `${publicUrl}${TON_PROOF_ROUTES.icon}` }, { 'access-control-allow-origin': '*' });
        return 'tonconnect_manifest';
      }
      if (req.method === 'GET' && path === TON_PROOF_ROUTES.icon) {
        icon ??= readFile(ICON_FILE).catch(() => null);
        const png = await icon;
        if (png) res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length, 'access-control-allow-origin': '*' }).end(png);
        else sendJson(res, 404, { error: 'no icon in this build' });
        return 'tonconnect_icon';
      }
      if (req.method === 'POST' && path === TON_PROOF_ROUTES.payload) {
        issue(res);
        return 'ton_proof_payload';
      }
      if (req.method === 'POST' && path === TON_PROOF_ROUTES.verify) {
        await verify(req, res);
        return 'ton_proof_verify';
      }
      return null;
    },
  };
}

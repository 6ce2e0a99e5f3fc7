/**
 * A client's signed usage receipt for a sealed job. In sealed mode only the client's gateway
 * sees the answer, so it counts the tokens with the model's own tokenizer and signs what it
 * received; the coordinator bills no more than that (nor than its own size bounds, nor than the
 * worker's claim). The gateway names its receipt key when it posts the job
 * (`x-silkworm-receipt-key`) and posts the receipt to `/v1/sealed/jobs/{jobId}/receipt`.
 *
 * Signed bytes: UTF-8("silkworm usage receipt v1\n" + canonicalJson(UsageStatement)),
 *   UsageStatement = { coordinatorId, jobId, model, promptTokens, completionTokens }
 * Ed25519, keys and signatures as unpadded base64url (32 and 64 bytes).
 */
import { sign, signVerify } from '@ton/crypto';
import { z } from 'zod';
import { canonicalJson, fromBase64Url, isBase64UrlOfLength, toBase64Url, utf8 } from './encoding.js';
import { tokenCount } from './job-schemas.js';

/** Prefix of the signed bytes. */
export const USAGE_RECEIPT_PREFIX = 'silkworm usage receipt v1\n';

/** What a usage receipt states. */
export interface UsageStatement {
  coordinatorId: string;
  jobId: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
}

/** The body of `POST /v1/sealed/jobs/{jobId}/receipt`. */
export const usageReceiptBodySchema = z.strictObject({
  promptTokens: tokenCount,
  completionTokens: tokenCount,
  signature: z.string().refine((text) => isBase64UrlOfLength(text, 64), 'expected a 64-byte Ed25519 signature as base64url'),
});
export type UsageReceiptBody = z.infer<typeof usageReceiptBodySchema>;

type TonBytes = Parameters<typeof sign>[0];
const asTon = (bytes: Uint8Array): TonBytes => bytes as unknown as TonBytes;

function signingBytes(statement: UsageStatement): Uint8Array {
  const { coordinatorId, jobId, model, promptTokens, completionTokens } = statement;
  return utf8(USAGE_RECEIPT_PREFIX + canonicalJson({ coordinatorId, jobId, model, promptTokens, completionTokens }));
}

/** Signs a usage statement with the client's receipt key (64-byte @ton/crypto secret key). */
export function signUsageReceipt(statement: UsageStatement, secretKey: Uint8Array): string {
  return toBase64Url(new Uint8Array(sign(asTon(signingBytes(statement)), asTon(secretKey))));
}

/** True when `signature` is the receipt key's signature over the statement. */
export function verifyUsageReceipt(statement: UsageStatement, signature: string, publicKey: string): boolean {
  const key = fromBase64Url(publicKey);
  const sig = fromBase64Url(signature);
  if (!key || key.length !== 32 || !sig || sig.length !== 64) return false;
  try {
    return signVerify(asTon(signingBytes(statement)), asTon(sig), asTon(key));
  } catch {
    return false;
  }
}

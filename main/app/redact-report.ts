/**
 * Redaction for text the owner copies out of the app (the diagnostics report): addresses,
 * keys, hashes, tokens, seed phrases and the home directory are masked, so a report can be
 * pasted into a public bug tracker.
 */

/** Keeps the first and last `keep` characters of a long value. */
function mask(value: string, keep = 4): string {
  return value.length <= keep * 2 + 1 ? '[redacted]' : `${value.slice(0, keep)}…${value.slice(-keep)}`;
}

/** Masks secrets and personal details in free text. */
export function redactText(text: string, options: { homeDir?: string } = {}): string {
  let out = text;
  if (options.homeDir && options.homeDir.length > 1) out = out.split(options.homeDir).join('~');
  return out
    // 24-word (or 12+ word) seed phrases: lower-case words separated by single spaces.
    .replace(/\b(?:[a-z]{3,8} ){11,}[a-z]{3,8}\b/g, '[redacted words]')
    // Bearer tokens, token=… query or fragment parameters, sk- API keys.
    .replace(/\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]')
    .replace(/([#?&](?:token|key|api_key|apikey)=)[^&\s"']+/gi, '$1[redacted]')
    .replace(/\bsk-[A-Za-z0-9_-]{6,}/g, 'sk-[redacted]')
    // TON addresses: raw (wc:hex) and user-friendly (48 base64url characters).
    .replace(/-?\b\d{1,3}:[0-9a-fA-F]{64}\b/g, (match) => mask(match, 6))
    .replace(/\b[EUk0][Qf][A-Za-z0-9_-]{46}(?![A-Za-z0-9_-])/g, (match) => mask(match))
    // Long hex strings: keys, signatures, hashes.
    .replace(/\b[0-9a-fA-F]{40,}\b/g, (match) => mask(match, 6));
}

/**
 * Message content as OpenAI's APIs send it — a string, or an array of typed parts — reduced to
 * the plain text Silkworm's models read. Part types that carry something else (images, audio,
 * files) are refused with a message naming them, never dropped silently.
 */
import { z } from 'zod';

/** How one API's content parts are read. */
export interface ContentRules {
  /** The text part schemas by type (each has a `text`). */
  text: Record<string, z.ZodType<{ text: string }>>;
  /** Part types refused, with the reason given to the client. */
  refused?: Record<string, string>;
  /** Part types accepted but left out of the text (a refusal the model once gave). */
  skipped?: Record<string, z.ZodType>;
}

/** Content: a string, or an array of parts whose text is joined. */
export function textContent(rules: ContentRules): z.ZodType<string, unknown> {
  const texts = rules.text;
  const known = [...Object.keys(texts), ...Object.keys(rules.skipped ?? {})];
  return z.unknown().transform((value, ctx): string => {
    if (typeof value === 'string') return value;
    if (!Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'content must be a string or an array of content parts' });
      return z.NEVER;
    }
    let text = '';
    for (const [index, part] of value.entries()) {
      const type = typeof part === 'object' && part !== null ? (part as { type?: unknown }).type : undefined;
      const refused = typeof type === 'string' ? rules.refused?.[type] : undefined;
      const schema = typeof type === 'string' ? (texts[type] ?? rules.skipped?.[type]) : undefined;
      if (refused) {
        ctx.addIssue({ code: 'custom', path: [index], message: refused });
        continue;
      }
      if (!schema) {
        ctx.addIssue({ code: 'custom', path: [index, 'type'], message: `expected a content part of type ${known.map((k) => `'${k}'`).join(' or ')}` });
        continue;
      }
      const parsed = schema.safeParse(part);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [index, ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
        continue;
      }
      if (typeof type === 'string' && texts[type]) text += (parsed.data as { text: string }).text;
    }
    return text;
  });
}

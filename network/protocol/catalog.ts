/**
 * The model catalog a coordinator publishes (`GET /v1/catalog`): the models the network wants
 * served and pays for, where to download each one and the sha256 it must have. Pure: shared by
 * the coordinator (which loads it from an operator file) and the worker (which downloads from it).
 */
import { z } from 'zod';
import { id } from './job-schemas.js';

/** The path of the catalog on a coordinator. */
export const CATALOG_PATH = '/v1/catalog';

/** Where relative catalog URLs of files the coordinator serves itself point (`files/NAME`). */
export const CATALOG_FILES_PATH = '/v1/files/';

/** A plain file name: no directory, no leading dot (so never `..`), nothing to escape. */
export const CATALOG_FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/** A download URL: absolute http(s), or relative to the catalog (served by the coordinator). */
const urlSchema = z
  .string()
  .min(1)
  .max(2000)
  .refine((text) => {
    if (/^https?:\/\//i.test(text)) return URL.canParse(text);
    return !text.includes('\\') && !/^[a-z][a-z0-9+.-]*:/i.test(text) && !text.startsWith('/') && !text.split('/').includes('..');
  }, 'an http(s):// URL, or a path relative to the catalog such as files/model.gguf (no .., no leading /)');

/** One model of the catalog. */
export const catalogModelSchema = z.strictObject({
  /** The model id clients ask for and workers announce; the downloaded file is `<id>.gguf`. */
  id,
  name: z.string().min(1).max(200),
  description: z.string().max(2000).default(''),
  url: urlSchema,
  sizeBytes: z.number().int().positive().max(2 ** 50),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 as 64 lower-case hex digits'),
  /** "Q4_K_M", "F16", … as the publisher names it. */
  quantization: z.string().min(1).max(32),
  /** "8B", "1.2M", … when known. */
  parameters: z.string().max(32).optional(),
  /** The context length workers should serve it at, in tokens. */
  contextLength: z.number().int().min(16).max(1 << 20),
  license: z.string().max(200).optional(),
});
export type CatalogModel = z.infer<typeof catalogModelSchema>;

/** What `GET /v1/catalog` answers (and what the operator's catalog file holds). */
export const catalogSchema = z
  .strictObject({ models: z.array(catalogModelSchema).max(500) })
  .refine((catalog) => new Set(catalog.models.map((m) => m.id)).size === catalog.models.length, { message: 'model ids must be unique', path: ['models'] });
export type Catalog = z.infer<typeof catalogSchema>;

/** Parses a catalog; a failure explains every problem in one readable message. */
export function parseCatalog(value: unknown): { ok: true; value: Catalog } | { ok: false; message: string } {
  const parsed = catalogSchema.safeParse(value);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: z.prettifyError(parsed.error) };
}

/** The absolute download URL of an entry, resolving a relative one against the catalog's URL. */
export function resolveCatalogUrl(entryUrl: string, coordinatorUrl: string): string {
  const base = new URL(CATALOG_PATH, coordinatorUrl);
  return new URL(entryUrl, base).toString();
}

/** The file name a relative `files/NAME` entry asks the coordinator to serve, else null. */
export function servedFileName(entryUrl: string): string | null {
  const match = /^files\/(.+)$/.exec(entryUrl);
  return match && CATALOG_FILE_NAME.test(match[1] as string) ? (match[1] as string) : null;
}

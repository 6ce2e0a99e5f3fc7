/**
 * The part of JSON Schema that a llama.cpp grammar enforces exactly (node-llama-cpp's
 * `createGrammarForJsonSchema` and its function-calling parameter grammars). Structured output
 * and tool parameters are checked against it before any work: a schema that needs a keyword the
 * grammar cannot enforce (`pattern`, `minimum`, `format: email`…) is refused with a message
 * naming the keyword and where it is, because accepting it would mean returning JSON that may
 * break the schema. What is accepted is normalized into the grammar's dialect:
 * `anyOf` → `oneOf` (a value the grammar makes matches one branch, so it matches any-of),
 * `definitions` → `$defs`, annotations (`title`, `$schema`, `default`…) dropped.
 */

/** Largest schema accepted, in bytes of JSON. */
export const MAX_SCHEMA_BYTES = 32 * 1024;
/** Deepest nesting of sub-schemas accepted. */
export const MAX_SCHEMA_DEPTH = 16;

/** A schema in the grammar's dialect (node-llama-cpp's GbnfJsonSchema). */
export type GrammarSchema = { [key: string]: unknown };

/** Why a schema was refused, and where (a dotted path inside the schema). */
export interface SchemaProblem {
  message: string;
  path: string;
}

/** Keywords that only annotate: dropped, they constrain nothing. */
const ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'title', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'strict']);
const BASIC_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
const STRING_FORMATS = new Set(['date-time', 'time', 'date']);
/** Keywords the grammar enforces, by the type they apply to. */
const TYPE_KEYWORDS: Record<string, readonly string[]> = {
  string: ['minLength', 'maxLength', 'format'],
  number: [],
  integer: [],
  boolean: [],
  null: [],
  object: ['properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties'],
  array: ['items', 'prefixItems', 'minItems', 'maxItems'],
};
const ALL_TYPE_KEYWORDS = new Set(Object.values(TYPE_KEYWORDS).flat());

class Refused extends Error {
  constructor(readonly problem: SchemaProblem) {
    super(problem.message);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(path: string, key: string | number): string {
  return path ? `${path}.${key}` : String(key);
}

function refuse(path: string, message: string): never {
  throw new Refused({ path, message });
}

function count(value: unknown, path: string, key: string): number {
  if (!Number.isInteger(value) || (value as number) < 0) refuse(join(path, key), `'${key}' must be a whole number ≥ 0.`);
  return value as number;
}

/**
 * Checks a schema and returns it in the grammar's dialect, or the first problem found.
 * Idempotent: a normalized schema normalizes to itself (workers check again on receipt).
 */
export function normalizeJsonSchema(input: unknown): { ok: true; schema: GrammarSchema } | { ok: false; problem: SchemaProblem } {
  let bytes: number;
  try {
    bytes = new TextEncoder().encode(JSON.stringify(input)).length;
  } catch {
    return { ok: false, problem: { path: '', message: 'The schema is not JSON.' } };
  }
  if (bytes > MAX_SCHEMA_BYTES) return { ok: false, problem: { path: '', message: `The schema is ${bytes} bytes of JSON; at most ${MAX_SCHEMA_BYTES} are accepted.` } };
  try {
    if (!isPlainObject(input)) refuse('', 'A schema must be a JSON object.');
    const defs = rootDefs(input);
    const schema = normalize(input, '', 0, defs, true);
    return { ok: true, schema };
  } catch (error) {
    if (error instanceof Refused) return { ok: false, problem: error.problem };
    throw error;
  }
}

function rootDefs(root: Record<string, unknown>): Set<string> {
  const names = new Set<string>();
  for (const key of ['$defs', 'definitions']) {
    const defs = root[key];
    if (defs === undefined) continue;
    if (!isPlainObject(defs)) refuse(key, `'${key}' must be an object of schemas.`);
    for (const name of Object.keys(defs)) names.add(name);
  }
  return names;
}

function normalize(node: unknown, path: string, depth: number, defs: ReadonlySet<string>, root = false): GrammarSchema {
  if (depth > MAX_SCHEMA_DEPTH) refuse(path, `The schema nests deeper than ${MAX_SCHEMA_DEPTH} levels.`);
  if (!isPlainObject(node)) refuse(path, 'A schema must be a JSON object (true/false schemas are not supported).');
  const out: GrammarSchema = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (ANNOTATIONS.has(key)) continue;
    if (key === 'description') {
      if (typeof value !== 'string') refuse(join(path, key), "'description' must be a string.");
      out.description = value;
    } else if (key === '$defs' || key === 'definitions') {
      if (!root) refuse(join(path, key), `'${key}' is supported at the top of the schema only.`);
    } else rest[key] = value;
  }
  if (root) {
    const merged = { ...(isPlainObject(node.definitions) ? node.definitions : {}), ...(isPlainObject(node.$defs) ? node.$defs : {}) };
    if (Object.keys(merged).length > 0) {
      out.$defs = Object.fromEntries(Object.entries(merged).map(([name, sub]) => [name, normalize(sub, join('$defs', name), depth + 1, defs)]));
    }
  }
  const kinds = ['type', 'const', 'enum', 'oneOf', 'anyOf', 'allOf', '$ref'].filter((k) => k in rest);
  if (kinds.length === 0) refuse(path, "A schema must say what it allows: 'type', 'enum', 'const', 'anyOf'/'oneOf' or '$ref' (an empty schema, any value, cannot be enforced).");
  if (kinds.length > 1 && !(kinds.length === 2 && kinds.includes('type') && (kinds.includes('enum') || kinds.includes('const')))) {
    refuse(path, `Combining ${kinds.map((k) => `'${k}'`).join(' and ')} in one schema is not supported.`);
  }
  if ('const' in rest) return { ...out, const: literal(rest.const, join(path, 'const')), ...onlyKeys(rest, ['const', 'type'], path) };
  if ('enum' in rest) {
    const values = rest.enum;
    if (!Array.isArray(values) || values.length === 0) refuse(join(path, 'enum'), "'enum' must be a non-empty array.");
    onlyKeys(rest, ['enum', 'type'], path);
    return { ...out, enum: values.map((v, i) => literal(v, join(join(path, 'enum'), i))) };
  }
  if ('$ref' in rest) {
    onlyKeys(rest, ['$ref'], path);
    const match = typeof rest.$ref === 'string' ? /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(rest.$ref) : null;
    if (!match?.[1] || !defs.has(match[1])) refuse(join(path, '$ref'), "'$ref' must point to '#/$defs/NAME' (or '#/definitions/NAME') defined at the top of the schema.");
    return { ...out, $ref: `#/$defs/${match[1]}` };
  }
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    if (!(key in rest)) continue;
    onlyKeys(rest, [key], path);
    const branches = rest[key];
    if (!Array.isArray(branches) || branches.length === 0) refuse(join(path, key), `'${key}' must be a non-empty array of schemas.`);
    if (key === 'allOf') {
      if (branches.length !== 1) refuse(join(path, key), "'allOf' with more than one schema is not supported.");
      return { ...normalize(branches[0], join(join(path, key), 0), depth + 1, defs), ...out };
    }
    return { ...out, oneOf: branches.map((b, i) => normalize(b, join(join(path, key), i), depth + 1, defs)) };
  }
  return typed(rest, out, path, depth, defs);
}

function literal(value: unknown, path: string): string | number | boolean | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value;
  refuse(path, 'Only strings, numbers, booleans and null are supported as enum or const values.');
}

function onlyKeys(rest: Record<string, unknown>, allowed: readonly string[], path: string): Record<string, never> {
  const extra = Object.keys(rest).find((k) => !allowed.includes(k));
  if (extra !== undefined) unsupported(extra, path);
  return {};
}

function unsupported(key: string, path: string): never {
  if (ALL_TYPE_KEYWORDS.has(key)) refuse(join(path, key), `'${key}' does not apply to this schema's type.`);
  refuse(join(path, key), `The JSON Schema keyword '${key}' is not supported: Silkworm enforces schemas with a llama.cpp grammar, which cannot guarantee it. Supported: type, properties, required, additionalProperties, items, prefixItems, min/maxItems, min/maxProperties, min/maxLength, format (date, time, date-time), enum, const, anyOf/oneOf, $ref to $defs, description.`);
}

function typed(rest: Record<string, unknown>, out: GrammarSchema, path: string, depth: number, defs: ReadonlySet<string>): GrammarSchema {
  const type = rest.type;
  const types = Array.isArray(type) ? type : [type];
  if (types.length === 0 || types.some((t) => typeof t !== 'string' || !(t in TYPE_KEYWORDS))) {
    refuse(join(path, 'type'), `'type' must be one of ${Object.keys(TYPE_KEYWORDS).join(', ')}, or an array of them.`);
  }
  const names = [...new Set(types as string[])];
  for (const key of Object.keys(rest)) if (key !== 'type' && !names.some((t) => TYPE_KEYWORDS[t]?.includes(key))) unsupported(key, path);
  if (names.length > 1) {
    // Several basic types are one grammar rule; object or array among them becomes a oneOf.
    if (names.every((t) => BASIC_TYPES.has(t)) && names.every((t) => t === 'string' || !('format' in rest || 'minLength' in rest || 'maxLength' in rest))) {
      return { ...out, type: names, ...stringKeywords(rest, path) };
    }
    return { ...out, oneOf: names.map((t) => typed({ type: t, ...pick(rest, TYPE_KEYWORDS[t] ?? []) }, {}, path, depth, defs)) };
  }
  const name = names[0] as string;
  if (name === 'string') return { ...out, type: name, ...stringKeywords(rest, path) };
  if (name === 'object') return { ...out, type: name, ...objectKeywords(rest, path, depth, defs) };
  if (name === 'array') return { ...out, type: name, ...arrayKeywords(rest, path, depth, defs) };
  return { ...out, type: name };
}

function pick(rest: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(rest).filter(([k]) => keys.includes(k)));
}

function stringKeywords(rest: Record<string, unknown>, path: string): GrammarSchema {
  const out: GrammarSchema = {};
  if (rest.minLength !== undefined) out.minLength = count(rest.minLength, path, 'minLength');
  if (rest.maxLength !== undefined) out.maxLength = count(rest.maxLength, path, 'maxLength');
  if (rest.format !== undefined) {
    if (typeof rest.format !== 'string' || !STRING_FORMATS.has(rest.format)) refuse(join(path, 'format'), `The string format '${String(rest.format)}' is not supported (supported: ${[...STRING_FORMATS].join(', ')}).`);
    out.format = rest.format;
  }
  return out;
}

function objectKeywords(rest: Record<string, unknown>, path: string, depth: number, defs: ReadonlySet<string>): GrammarSchema {
  const out: GrammarSchema = {};
  const properties = rest.properties ?? {};
  if (!isPlainObject(properties)) refuse(join(path, 'properties'), "'properties' must be an object of schemas.");
  out.properties = Object.fromEntries(Object.entries(properties).map(([key, sub]) => [key, normalize(sub, join(join(path, 'properties'), key), depth + 1, defs)]));
  if (rest.required !== undefined) {
    const required = rest.required;
    if (!Array.isArray(required) || required.some((k) => typeof k !== 'string')) refuse(join(path, 'required'), "'required' must be an array of property names.");
    const missing = (required as string[]).find((k) => !(k in properties));
    if (missing !== undefined) refuse(join(path, 'required'), `'required' names '${missing}', which is not in 'properties'.`);
    out.required = required;
  }
  const additional = rest.additionalProperties;
  if (additional !== undefined && additional !== false) {
    // JSON Schema allows extra properties by default; the grammar allows none, a stricter subset.
    if (additional !== true) out.additionalProperties = normalize(additional, join(path, 'additionalProperties'), depth + 1, defs);
  }
  if (rest.minProperties !== undefined) out.minProperties = count(rest.minProperties, path, 'minProperties');
  if (rest.maxProperties !== undefined) out.maxProperties = count(rest.maxProperties, path, 'maxProperties');
  return out;
}

function arrayKeywords(rest: Record<string, unknown>, path: string, depth: number, defs: ReadonlySet<string>): GrammarSchema {
  const out: GrammarSchema = {};
  if (rest.items !== undefined && rest.items !== false) out.items = normalize(rest.items, join(path, 'items'), depth + 1, defs);
  if (rest.prefixItems !== undefined) {
    if (!Array.isArray(rest.prefixItems)) refuse(join(path, 'prefixItems'), "'prefixItems' must be an array of schemas.");
    out.prefixItems = rest.prefixItems.map((s, i) => normalize(s, join(join(path, 'prefixItems'), i), depth + 1, defs));
  }
  if (rest.items === undefined && rest.prefixItems === undefined) refuse(path, "An array schema must say what its items are ('items' or 'prefixItems').");
  if (rest.minItems !== undefined) out.minItems = count(rest.minItems, path, 'minItems');
  if (rest.maxItems !== undefined) out.maxItems = count(rest.maxItems, path, 'maxItems');
  return out;
}

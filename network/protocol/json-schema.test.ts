/** The JSON Schema subset a grammar can enforce: what clients send is normalized, the rest named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeJsonSchema, MAX_SCHEMA_BYTES } from './json-schema.js';

test('schemas from the SDKs (zod via openai, AI SDK, LangChain) normalize into the grammar dialect', () => {
  const zodStyle = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    title: 'extract',
    properties: { city: { type: 'string', title: 'city', description: 'Where' }, sunny: { type: 'boolean' }, note: { anyOf: [{ type: 'string' }, { type: 'null' }] } },
    required: ['city', 'sunny', 'note'],
    additionalProperties: false,
  };
  const out = normalizeJsonSchema(zodStyle);
  assert.ok(out.ok);
  assert.deepEqual(out.schema, {
    type: 'object',
    properties: { city: { description: 'Where', type: 'string' }, sunny: { type: 'boolean' }, note: { oneOf: [{ type: 'string' }, { type: 'null' }] } },
    required: ['city', 'sunny', 'note'],
  });
  const again = normalizeJsonSchema(out.schema);
  assert.ok(again.ok);
  assert.deepEqual(again.schema, out.schema, 'normalizing twice changes nothing (workers check again)');
});

test('definitions become $defs, and refs follow; nullable object types become a oneOf', () => {
  const out = normalizeJsonSchema({ type: 'object', properties: { a: { $ref: '#/definitions/A' }, b: { type: ['object', 'null'], properties: { x: { type: 'integer' } } } }, definitions: { A: { type: 'string', enum: ['x', 'y'] } } });
  assert.ok(out.ok);
  assert.deepEqual(out.schema.$defs, { A: { enum: ['x', 'y'] } });
  assert.deepEqual((out.schema.properties as Record<string, unknown>).a, { $ref: '#/$defs/A' });
  assert.deepEqual((out.schema.properties as Record<string, unknown>).b, { oneOf: [{ type: 'object', properties: { x: { type: 'integer' } } }, { type: 'null' }] });
});

test('what a grammar cannot enforce is refused, naming the keyword and where it is', () => {
  const refused = (schema: unknown) => {
    const out = normalizeJsonSchema(schema);
    assert.ok(!out.ok, JSON.stringify(schema));
    return out.problem;
  };
  assert.deepEqual(refused({ type: 'object', properties: { email: { type: 'string', pattern: '@' } } }).path, 'properties.email.pattern');
  assert.match(refused({ type: 'object', properties: { email: { type: 'string', pattern: '@' } } }).message, /'pattern' is not supported/);
  assert.match(refused({ type: 'integer', minimum: 1 }).message, /'minimum' is not supported/);
  assert.match(refused({ type: 'string', format: 'email' }).message, /format 'email' is not supported/);
  assert.match(refused({}).message, /empty schema/);
  assert.match(refused({ type: 'object', properties: {}, required: ['ghost'] }).message, /'ghost'/);
  assert.match(refused({ type: 'string', minItems: 1 }).message, /does not apply/);
  assert.match(refused({ $ref: '#' }).message, /\$defs/);
  assert.match(refused({ type: 'array' }).message, /items/);
  assert.match(refused({ type: 'string', description: 'x'.repeat(MAX_SCHEMA_BYTES) }).message, /at most/);
  let deep: Record<string, unknown> = { type: 'string' };
  for (let i = 0; i < 40; i++) deep = { type: 'array', items: deep };
  assert.match(refused(deep).message, /deeper/);
});

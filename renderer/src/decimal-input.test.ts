// Decimal input as people type it: either separator, the locale's grouping, nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDecimal, parseNumber } from './decimal-input.js';

test('a comma or a dot as the decimal separator', () => {
  for (const locale of ['en-US', 'de-DE', 'fr-FR']) {
    assert.equal(parseDecimal('0,30', locale), '0.30', locale);
    assert.equal(parseDecimal('0.30', locale), '0.30', locale);
    assert.equal(parseDecimal(' 3 ', locale), '3', locale);
    assert.equal(parseDecimal(',5', locale), '0.5', locale);
  }
});

test('grouping as the locale writes it', () => {
  assert.equal(parseDecimal('1,234.5', 'en-US'), '1234.5');
  assert.equal(parseDecimal('1.234,5', 'de-DE'), '1234.5');
  assert.equal(parseDecimal('1 234,5', 'fr-FR'), '1234.5');
  assert.equal(parseDecimal('1\u202f234,5', 'fr-FR'), '1234.5');
  assert.equal(parseDecimal('1,234', 'en-US'), '1234', 'a thousand where commas group');
  assert.equal(parseDecimal('1.234', 'de-DE'), '1234', 'a thousand where dots group');
  assert.equal(parseDecimal('1,234', 'de-DE'), '1.234', 'a decimal comma where commas are decimals');
});

test('anything else is not a number', () => {
  for (const text of ['', 'abc', '1,2,3.4.5', '-1', '1e3', '0.', '1..2', '€3', '3 EUR']) assert.equal(parseDecimal(text, 'en-US'), null, text);
  assert.equal(parseNumber('83', 'en-US'), 83);
  assert.equal(parseNumber('2,5', 'en-US'), 2.5);
  assert.equal(parseNumber('x', 'en-US'), null);
});

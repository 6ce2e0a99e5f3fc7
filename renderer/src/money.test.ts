// Earnings formatting: precision, the owner's currency, and the locale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFiat, formatTon, formatTonExact, money } from './money.js';

test('TON with sensible precision: two decimals from 1 TON, four below, dust said as dust', () => {
  assert.equal(formatTon('0', 'en-US'), '0');
  assert.equal(formatTon('1234567890123', 'en-US'), '1,234.57', 'grouped, two decimals, rounded half up');
  assert.equal(formatTon('1000000000', 'en-US'), '1', 'no trailing zeros');
  assert.equal(formatTon('8766000', 'en-US'), '0.0088', 'not 0.008766000');
  assert.equal(formatTon('8765000', 'en-US'), '0.0088', 'half rounds away from zero');
  assert.equal(formatTon('8764999', 'en-US'), '0.0088');
  assert.equal(formatTon('8766', 'en-US'), '< 0.0001', 'never a run of zeros: 0.000008766 is dust');
  assert.equal(formatTon('100000', 'en-US'), '0.0001');
  assert.equal(formatTon('99999', 'en-US'), '< 0.0001');
  assert.equal(formatTon(123_456_789_012_345_678_901n, 'en-US'), '123,456,789,012.35', 'beyond 2^53 nanotons, still exact');
  assert.equal(formatTon('-2500000000', 'en-US'), '−2.5');
});

test('exact TON for the Advanced tables: every nanoton', () => {
  assert.equal(formatTonExact('8766', 'en-US'), '0.000008766');
  assert.equal(formatTonExact('1000000000000000007', 'en-US'), '1,000,000,000.000000007');
  assert.equal(formatTonExact('0', 'en-US'), '0');
});

test('the owner’s currency at their rate: ISO codes with their symbol, anything else after the number', () => {
  const usd = { currency: 'USD', perTon: '3.1' };
  assert.equal(formatFiat('1000000000', usd, 'en-US'), '$3.10');
  assert.equal(formatFiat('8766000', usd, 'en-US'), '$0.03', '0.008766 × 3.1 = 0.0272 → $0.03');
  assert.equal(formatFiat('1000000', usd, 'en-US'), '< $0.01');
  assert.equal(formatFiat('0', usd, 'en-US'), '$0.00');
  assert.equal(formatFiat('5000000000', { currency: '€', perTon: '2.5' }, 'en-US'), '12.50 €', 'a symbol the owner typed is kept as typed');
  assert.equal(formatFiat(10n ** 18n, { currency: 'EUR', perTon: '3.123456789' }, 'en-US'), '€3,123,456,789.00', 'exact for a billion TON');
  assert.deepEqual(money('8766000', usd, 'en-US'), { ton: '0.0088 TON', fiat: '≈ $0.03' });
  assert.deepEqual(money('8766000', null, 'en-US'), { ton: '0.0088 TON', fiat: null }, 'no rate: TON only, nothing invented');
});

test('the locale decides separators and symbol placement', () => {
  assert.equal(formatTon('1234567890123', 'de-DE'), '1.234,57');
  assert.equal(formatTon('8766000', 'de-DE'), '0,0088');
  assert.equal(formatTon('8766', 'de-DE'), '< 0,0001');
  assert.equal(formatFiat('1000000000', { currency: 'EUR', perTon: '3.1' }, 'de-DE'), '3,10\u00a0€');
  assert.equal(formatFiat('1000000000', { currency: 'EUR', perTon: '3.1' }, 'fr-FR'), '3,10\u00a0€');
  assert.equal(formatTon('1234567890123', 'fr-FR'), '1\u202f234,57');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { electricityFor, electricityInputSchema, nanotonsPerKwh } from './electricity.js';

test('electricity: a price per kWh and a TON price become exact nanotons per kWh', () => {
  assert.equal(nanotonsPerKwh({ pricePerKwh: '0.30', tonPrice: '3' }), 100_000_000n, '0.30 € at 3 €/TON is 0.1 TON');
  assert.equal(nanotonsPerKwh({ pricePerKwh: '0.25', tonPrice: '2.5' }), 100_000_000n);
  assert.equal(nanotonsPerKwh({ pricePerKwh: '1', tonPrice: '3' }), 333_333_333n, 'rounded down below half');
  assert.equal(nanotonsPerKwh({ pricePerKwh: '2', tonPrice: '3' }), 666_666_667n, 'rounded up from half');
  assert.equal(nanotonsPerKwh({ pricePerKwh: '0', tonPrice: '3' }), 0n);
  assert.equal(nanotonsPerKwh({ pricePerKwh: '999999999.999999999', tonPrice: '0.000000001' }), 999_999_999_999_999_999n * 1_000_000_000n, 'no float anywhere');
});

test('electricity: the owner’s watts win; else the measured draw; else nothing', () => {
  const input = { pricePerKwh: '0.30', currency: 'EUR', tonPrice: '3', watts: null };
  assert.equal(electricityFor(undefined, 200), undefined);
  assert.equal(electricityFor(input, null), undefined, 'no watts known: the forecast stays gross');
  assert.deepEqual(electricityFor(input, 212.4), { nanotonsPerKwh: 100_000_000n, watts: 212, wattsSource: 'measured' });
  assert.deepEqual(electricityFor({ ...input, watts: 350 }, 212), { nanotonsPerKwh: 100_000_000n, watts: 350, wattsSource: 'estimated' });
});

test('electricity: bad input is refused with a message that says what to type', () => {
  const ok = { pricePerKwh: '0.30', currency: 'EUR', tonPrice: '3', watts: 300 };
  assert.equal(electricityInputSchema.safeParse(ok).success, true);
  assert.equal(electricityInputSchema.safeParse({ ...ok, currency: '€' }).success, true);
  for (const [field, value, words] of [
    ['pricePerKwh', '0,30', 'a number such as 0.25'],
    ['pricePerKwh', '-1', 'a number such as 0.25'],
    ['pricePerKwh', '1e3', 'a number such as 0.25'],
    ['tonPrice', '0.000', 'cannot be 0'],
    ['currency', '', 'Name the currency'],
    ['currency', '<script>', 'code or symbol'],
    ['watts', 0, '>=1'],
    ['watts', 10.5, 'int'],
  ] as const) {
    const parsed = electricityInputSchema.safeParse({ ...ok, [field]: value });
    assert.equal(parsed.success, false, `${field}=${String(value)} must be refused`);
    const message = parsed.error?.issues.map((issue) => issue.message).join('; ') ?? '';
    assert.ok(message.toLowerCase().includes(words.toLowerCase()) || JSON.stringify(parsed.error?.issues).includes(words), `${field}: '${message}' should say '${words}'`);
  }
  assert.equal(electricityInputSchema.safeParse({ ...ok, extra: 1 }).success, false, 'unknown fields refused');
});

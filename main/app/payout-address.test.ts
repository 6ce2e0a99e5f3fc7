import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address } from '@ton/core';
import { validatePayoutAddress } from './payout-address.js';

const address = new Address(0, Buffer.alloc(32, 11));

test('mainnet takes mainnet addresses and shows them non-bounceable', () => {
  const result = validatePayoutAddress(` ${address.toString({ bounceable: true })} `, 'mainnet');
  assert.deepEqual(result, { ok: true, value: address.toString({ bounceable: false, urlSafe: true }) });
  assert.equal(validatePayoutAddress(address.toString({ testOnly: true }), 'mainnet').ok, false);
});

test('testnet refuses mainnet-flagged addresses, other workchains, raw forms and typos', () => {
  const codes = [address.toString(), new Address(-1, Buffer.alloc(32, 1)).toString({ testOnly: true }), address.toRawString(), 'EQ' + 'A'.repeat(46), '']
    .map((text) => validatePayoutAddress(text, 'testnet'))
    .map((result) => (result.ok ? 'ok' : result.error.code));
  assert.deepEqual(codes, ['wrong-network', 'invalid-address', 'invalid-address', 'invalid-address', 'invalid-address']);
});

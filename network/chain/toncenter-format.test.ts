// toncenter value conversions: hashes, addresses and get-method stacks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address, beginCell } from '@ton/core';
import { ChainError } from './chain-error.js';
import { formatStack, parseAddress, parseHash, parseStack } from './toncenter-format.js';

const isBadRequest = (error: unknown) => error instanceof ChainError && error.status === 400;

test('hashes are accepted as hex (what TonClient sends) and as base64 or base64url (what toncenter returns)', () => {
  const bytes = Buffer.from('fb'.repeat(32), 'hex');
  assert.deepEqual(parseHash(bytes.toString('hex')), bytes);
  assert.deepEqual(parseHash(bytes.toString('base64')), bytes);
  assert.deepEqual(parseHash(bytes.toString('base64url')), bytes);
  assert.throws(() => parseHash('abcd'), isBadRequest);
});

test('addresses parse in raw and friendly forms; anything else is a 400', () => {
  const address = new Address(0, Buffer.alloc(32, 5));
  assert.ok(parseAddress(address.toRawString()).equals(address));
  assert.ok(parseAddress(address.toString({ bounceable: false, testOnly: true })).equals(address));
  assert.throws(() => parseAddress('0:zz'), isBadRequest);
  assert.throws(() => parseAddress(42), isBadRequest);
});

test('argument stacks parse the forms TonClient and toncenter send', () => {
  const cell = beginCell().storeUint(7, 8).endCell();
  const stack = parseStack([['num', '12'], ['num', '-0x1f'], ['tvm.Cell', cell.toBoc().toString('base64')], ['slice', { bytes: cell.toBoc().toString('base64') }], ['null', null]]);
  assert.deepEqual(stack.map((item) => item.type), ['int', 'int', 'cell', 'slice', 'null']);
  assert.deepEqual(stack.slice(0, 2), [{ type: 'int', value: 12n }, { type: 'int', value: -31n }]);
  assert.ok(stack[2]?.type === 'cell' && stack[2].cell.equals(cell));
  assert.throws(() => parseStack([['num', '1e5']]), isBadRequest);
  assert.throws(() => parseStack('nope'), isBadRequest);
  assert.throws(() => parseStack([['tvm.Cell', 'not base64 boc']]), isBadRequest);
});

test('result stacks come out in toncenter form: hex numbers, bytes objects, nested tuple entries', () => {
  const cell = beginCell().storeUint(1, 1).endCell();
  const out = formatStack([
    { type: 'int', value: 255n },
    { type: 'int', value: -16n },
    { type: 'cell', cell },
    { type: 'tuple', items: [{ type: 'int', value: 3n }, { type: 'slice', cell }] },
  ]);
  assert.deepEqual(out, [
    ['num', '0xff'],
    ['num', '-0x10'],
    ['cell', { bytes: cell.toBoc().toString('base64') }],
    [
      'tuple',
      {
        '@type': 'tvm.tuple',
        elements: [
          { '@type': 'tvm.stackEntryNumber', number: { '@type': 'tvm.numberDecimal', number: '3' } },
          { '@type': 'tvm.stackEntrySlice', slice: { '@type': 'tvm.slice', bytes: cell.toBoc().toString('base64') } },
        ],
      },
    ],
  ]);
});

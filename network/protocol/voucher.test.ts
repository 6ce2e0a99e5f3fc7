import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address } from '@ton/core';
import { keyPairFromSeed } from '@ton/crypto';
import {
  CHAIN_GLOBAL_ID,
  compareVouchers,
  MAX_COINS,
  signVoucher,
  verifyVoucher,
  VOUCHER_TAG,
  voucherCell,
  voucherToJson,
  type Voucher,
} from './voucher.js';

const coordinator = keyPairFromSeed(Buffer.alloc(32, 7));
const other = keyPairFromSeed(Buffer.alloc(32, 9));
const vault = new Address(0, Buffer.alloc(32, 0xaa)).toString();
const otherVault = new Address(0, Buffer.alloc(32, 0xab)).toString();
const worker = new Address(0, Buffer.alloc(32, 0x11)).toString({ bounceable: false });
const otherWorker = new Address(0, Buffer.alloc(32, 0x12)).toString({ bounceable: false });
const pub = coordinator.publicKey.toString('hex');
const globalId = CHAIN_GLOBAL_ID.testnet;

function issue(cumulativeNanotons: bigint, seq: number, who = worker, chain: number = globalId): Voucher {
  return signVoucher({ globalId: chain, vault, worker: who, cumulativeNanotons, seq }, coordinator.secretKey);
}

test('cell layout: tag, global id, vault, worker, coins, seq — and nothing else', () => {
  const cell = voucherCell({ globalId, vault, worker, cumulativeNanotons: 1_500_000_000n, seq: 42 });
  const s = cell.beginParse();
  assert.equal(s.loadUint(32), VOUCHER_TAG);
  assert.equal(VOUCHER_TAG, 0x56434832);
  assert.equal(s.loadInt(32), -3);
  assert.ok(s.loadAddress().equals(Address.parse(vault)));
  assert.ok(s.loadAddress().equals(Address.parse(worker)));
  assert.equal(s.loadCoins(), 1_500_000_000n);
  assert.equal(s.loadUintBig(64), 42n);
  assert.equal(s.remainingBits, 0);
  assert.equal(s.remainingRefs, 0);
  // Friendly-address flags do not change the signed cell.
  const bounceable = voucherCell({ globalId, vault, worker: Address.parse(worker).toString(), cumulativeNanotons: 1_500_000_000n, seq: 42 });
  assert.ok(bounceable.hash().equals(cell.hash()));
});

test('sign → JSON → verify round trip keeps the exact nanotons', () => {
  const voucher = issue(123_456_789_012_345_678n, 3);
  const wire = JSON.parse(JSON.stringify(voucherToJson(voucher))) as unknown;
  const result = verifyVoucher(wire, pub, vault);
  assert.equal(result.ok, true);
  assert.ok(result.ok);
  assert.equal(result.voucher.cumulativeNanotons, 123_456_789_012_345_678n);
  assert.equal(result.voucher.seq, 3);
  assert.equal(result.voucher.coordinatorPublicKey, pub);
  assert.equal(result.voucher.globalId, globalId);
  // The parsed form and an uppercase key are accepted too.
  assert.equal(verifyVoucher(voucher, coordinator.publicKey, Address.parse(vault)).ok, true);
  assert.equal(verifyVoucher(voucher, pub.toUpperCase(), vault).ok, true);
});

test('tampering with any signed field breaks the signature', () => {
  const json = voucherToJson(issue(5_000n, 4));
  const tampered: Array<[string, unknown]> = [
    ['worker', { ...json, worker: otherWorker }],
    ['cumulative', { ...json, cumulativeNanotons: '5001' }],
    ['seq', { ...json, seq: 5 }],
    ['chain', { ...json, globalId: CHAIN_GLOBAL_ID.mainnet }],
    ['signature', { ...json, signature: Buffer.alloc(64, 1).toString('base64') }],
  ];
  for (const [field, voucher] of tampered) {
    const result = verifyVoucher(voucher, pub, vault);
    assert.deepEqual(result.ok ? 'accepted' : result.code, 'bad_signature', field);
  }
  // Swapping the vault, even when the verifier expects that vault, breaks the signature.
  const swapped = verifyVoucher({ ...json, vault: otherVault }, pub, otherVault);
  assert.equal(swapped.ok ? 'accepted' : swapped.code, 'bad_signature');
});

test('wrong vault, wrong key and forged signer are refused with their codes', () => {
  const voucher = issue(10n, 1);
  const wrongVault = verifyVoucher(voucher, pub, otherVault);
  assert.equal(wrongVault.ok ? 'accepted' : wrongVault.code, 'wrong_vault');
  const wrongKey = verifyVoucher(voucher, other.publicKey, vault);
  assert.equal(wrongKey.ok ? 'accepted' : wrongKey.code, 'wrong_key');
  // Signed by someone else but claiming the coordinator's key.
  const forged = { ...signVoucher({ globalId, vault, worker, cumulativeNanotons: 10n, seq: 1 }, other.secretKey), coordinatorPublicKey: pub };
  const result = verifyVoucher(forged, pub, vault);
  assert.equal(result.ok ? 'accepted' : result.code, 'bad_signature');
});

test('a voucher for another chain is refused when the verifier knows its chain', () => {
  const mainnet = issue(10n, 1, worker, CHAIN_GLOBAL_ID.mainnet);
  const checked = verifyVoucher(mainnet, pub, vault, CHAIN_GLOBAL_ID.testnet);
  assert.equal(checked.ok ? 'accepted' : checked.code, 'wrong_chain');
  assert.equal(verifyVoucher(mainnet, pub, vault, CHAIN_GLOBAL_ID.mainnet).ok, true);
  assert.equal(verifyVoucher(mainnet, pub, vault).ok, true, 'a verifier that does not know its chain checks the rest');
});

test('malformed vouchers are refused before any crypto', () => {
  const json = voucherToJson(issue(10n, 1));
  const bad: unknown[] = [
    null,
    { ...json, cumulativeNanotons: '1.5' },
    { ...json, cumulativeNanotons: '-1' },
    { ...json, cumulativeNanotons: 10 },
    { ...json, cumulativeNanotons: (MAX_COINS + 1n).toString() },
    { ...json, seq: 0 },
    { ...json, seq: 1.5 },
    { ...json, globalId: 2 ** 31 },
    { ...json, globalId: undefined },
    { ...json, vault: 'not-an-address' },
    { ...json, worker: Address.parse(worker).toRawString() },
    { ...json, signature: 'AAAA' },
    { ...json, coordinatorPublicKey: 'zz' },
  ];
  for (const voucher of bad) {
    const result = verifyVoucher(voucher, pub, vault);
    assert.equal(result.ok ? 'accepted' : result.code, 'malformed', JSON.stringify(voucher, (_k, v: unknown) => typeof v === 'bigint' ? v.toString() : v));
  }
});

test('signing refuses out-of-range fields', () => {
  assert.throws(() => issue(-1n, 1), RangeError);
  assert.throws(() => issue(MAX_COINS + 1n, 1), RangeError);
  assert.throws(() => issue(1n, 0), RangeError);
  assert.throws(() => signVoucher({ globalId, vault, worker, cumulativeNanotons: 1n, seq: 1 }, coordinator.publicKey), RangeError);
  assert.throws(() => issue(1n, 1, worker, 2 ** 31), RangeError);
  // A masterchain payout address is refused: the vault refuses it too (fees there are ~10x).
  assert.throws(() => issue(1n, 1, new Address(-1, Buffer.alloc(32, 0x11)).toString()), /basechain/);
});

test('compareVouchers: increases pass with the exact delta, rollbacks are flagged', () => {
  const first = issue(1_000n, 1);
  const second = issue(1_750n, 2);
  assert.deepEqual(compareVouchers(undefined, first), { ok: true, deltaNanotons: 1_000n });
  assert.deepEqual(compareVouchers(first, second), { ok: true, deltaNanotons: 750n });
  assert.deepEqual(compareVouchers(second, issue(1_750n, 3)), { ok: true, deltaNanotons: 0n });

  const code = (prev: Voucher, next: Voucher) => {
    const result = compareVouchers(prev, next);
    return result.ok ? 'ok' : result.code;
  };
  assert.equal(code(second, issue(1_749n, 3)), 'rollback');
  assert.equal(code(second, issue(2_000n, 2)), 'seq_not_increasing');
  assert.equal(code(second, issue(2_000n, 1)), 'seq_not_increasing');
  assert.equal(code(second, second), 'duplicate');
  assert.equal(code(second, issue(5_000n, 3, otherWorker)), 'worker_changed');
  const foreignVault = signVoucher({ globalId, vault: otherVault, worker, cumulativeNanotons: 5_000n, seq: 3 }, coordinator.secretKey);
  assert.equal(code(second, foreignVault), 'vault_changed');
  assert.equal(code(second, issue(5_000n, 3, worker, CHAIN_GLOBAL_ID.mainnet)), 'chain_changed');
});

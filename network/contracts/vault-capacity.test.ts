import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address, toNano, type Cell } from '@ton/core';
import { gasOf, payoutsIn, setupVaultChain, txTo, type VaultChain } from './test-chain.js';
import { PUSH_CHUNK } from './vault.js';

function workers(count: number, salt: number): Address[] {
  return Array.from({ length: count }, (_, i) => {
    const hash = Buffer.alloc(32, salt);
    hash.writeUInt32BE(i + 1, 0);
    return new Address(0, hash);
  });
}

async function dataOf(chain: VaultChain, address: Address): Promise<Cell> {
  const state = (await chain.blockchain.getContract(address)).accountState;
  if (state?.type !== 'active' || !state.state.data) throw new Error('not active');
  return state.state.data;
}

function cells(cell: Cell): number {
  return 1 + cell.refs.reduce((sum, ref) => sum + cells(ref), 0);
}

test('capacity: the vault keeps no per-worker state; each worker has its own small account', async (t) => {
  const chain = await setupVaultChain({ fund: toNano('100') });
  const { blockchain, vault, owner, issue } = chain;
  const vaultData = await dataOf(chain, vault.address);
  // A claim by the first worker, before any other is known.
  const early = await blockchain.treasury('early');
  const firstClaim = await vault.sendClaim(early.getSender(), issue(early.address, toNano('0.5'), 1));
  const gasAtOne = gasOf(txTo(firstClaim.transactions, vault.address));

  // Two full pushes of distinct new workers (the bench does 10,000; see README).
  const all = workers(2 * PUSH_CHUNK, 7);
  const pushGas: bigint[] = [];
  for (let start = 0; start < all.length; start += PUSH_CHUNK) {
    const batch = all.slice(start, start + PUSH_CHUNK).map((worker) => ({ worker, cumulativeNanotons: toNano('0.05'), seq: 1 }));
    const result = await vault.sendPushBatch(owner.getSender(), batch);
    assert.equal(payoutsIn(result.transactions).length, batch.length);
    pushGas.push(gasOf(txTo(result.transactions, vault.address)));
  }
  // The vault's storage is bit for bit what it was at deploy: nothing grows with workers.
  assert.ok((await dataOf(chain, vault.address)).hash().equals(vaultData.hash()));
  // Each account holds one cell: vault, worker, paid, seq, status.
  for (const worker of [all[0], all[all.length - 1]]) {
    assert.ok(worker);
    const data = await dataOf(chain, vault.accountAddress(worker));
    assert.equal(cells(data), 1);
    assert.ok(data.bits.length <= 2 * 267 + 124 + 64 + 2 + 1, `${data.bits.length} bits`);
  }
  // Gas per push and per claim does not depend on how many workers the vault has paid.
  assert.equal(pushGas[0], pushGas[1]);
  const late = await blockchain.treasury('late');
  const lateClaim = await vault.sendClaim(late.getSender(), issue(late.address, toNano('0.5'), 1));
  const gasAtMany = gasOf(txTo(lateClaim.transactions, vault.address));
  assert.ok(gasAtMany - gasAtOne < 100n && gasAtOne - gasAtMany < 100n, `claim gas ${gasAtOne} at 1 worker, ${gasAtMany} at ${all.length + 1}`);
  t.diagnostic(`push gas per ${PUSH_CHUNK}: ${pushGas.join(', ')}; claim gas at 1 worker ${gasAtOne}, at ${all.length + 1}: ${gasAtMany}`);
});

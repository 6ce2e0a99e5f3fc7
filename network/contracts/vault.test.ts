import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address, beginCell, toNano, type Builder, type Cell, type Sender } from '@ton/core';
import { keyPairFromSeed, sign } from '@ton/crypto';
import { signVoucher, voucherClaimParts, type Voucher } from '../protocol/voucher.js';
import { actionsOk, exitCodeOf, gasOf, internalOuts, netFlow, setupVaultChain, storageFeeOf, txTo } from './test-chain.js';
import { CLAIM_VALUE, DEFAULT_MIN_RESERVE, VaultExitCode, VaultOp } from './vault.js';

function signedCell(secretKey: Buffer, builder: Builder) {
  const cell = builder.endCell();
  return { cell, signature: sign(cell.hash(), secretKey) };
}

test('deploy: getters report owner, key, reserve and balance', async () => {
  const { vault, owner, coordinator, balance } = await setupVaultChain(toNano('10'));
  assert.ok((await vault.getOwner()).equals(owner.address));
  assert.ok((await vault.getPublicKey()).equals(coordinator.publicKey));
  assert.equal(await vault.getMinReserve(), DEFAULT_MIN_RESERVE);
  assert.equal(await vault.getBalance(), await balance(vault.address));
  assert.ok((await vault.getBalance()) > toNano('9.9'));
  assert.equal(await vault.getPaid(owner.address), 0n);
});

test('claims pay exactly the difference, to the nanoton', async (t) => {
  const chain = await setupVaultChain();
  const { blockchain, vault, issue, balance } = chain;
  const worker = await blockchain.treasury('worker');
  const steps: Array<[bigint, number]> = [[1_234_567_891n, 1], [1_234_567_891n + 987_654_321n, 2], [toNano('7.000000001'), 5]];
  let paid = 0n;
  for (const [cumulative, seq] of steps) {
    const vaultBefore = await balance(vault.address);
    const workerBefore = await balance(worker.address);
    const result = await vault.sendClaim(worker.getSender(), issue(worker.address, cumulative, seq), { queryId: 77n });
    const tx = txTo(result.transactions, vault.address);
    assert.equal(exitCodeOf(tx), 0);
    assert.ok(actionsOk(tx));
    const [payout, refund] = internalOuts(tx);
    assert.ok(payout && refund);
    // The payout message carries exactly cumulative − paid, with its voucher total and seq.
    assert.ok(payout.dest.equals(worker.address));
    assert.equal(payout.value, cumulative - paid);
    const body = payout.body.beginParse();
    assert.equal(body.loadUint(32), VaultOp.payout);
    assert.equal(body.loadUintBig(64), 77n);
    assert.equal(body.loadCoins(), cumulative);
    assert.equal(body.loadUintBig(64), BigInt(seq));
    // The rest of the attached value comes back; the vault is down by exactly the payout
    // (plus the storage fee that accrued since its last transaction, usually 0 or 1 nanoton).
    assert.equal(refund.body.beginParse().loadUint(32), VaultOp.excesses);
    assert.ok(refund.value > 0n && refund.value < CLAIM_VALUE);
    assert.equal(await balance(vault.address), vaultBefore - (cumulative - paid) - storageFeeOf(tx));
    // The worker's balance moved by exactly the payout, minus what the claim cost it.
    const workerDelta = (await balance(worker.address)) - workerBefore;
    assert.equal(workerDelta, netFlow(result.transactions, worker.address));
    const claimCost = cumulative - paid - workerDelta;
    assert.ok(claimCost > 0n && claimCost < toNano('0.01'), `claim cost ${claimCost}`);
    paid = cumulative;
    assert.equal(await vault.getPaid(worker.address), paid);
    assert.equal(await vault.getLastSeq(worker.address), seq);
    t.diagnostic(`claim seq ${seq}: gas ${gasOf(tx)}, vault fees ${tx.totalFees.coins}, worker net cost ${claimCost} nanotons`);
  }
});

test('refused claims: forged, foreign, replayed, rolled back, other vault, underfunded', async () => {
  const { blockchain, vault, issue, coordinator, balance } = await setupVaultChain(toNano('5'));
  const worker = await blockchain.treasury('worker');
  const thief = await blockchain.treasury('thief');
  const ok = await vault.sendClaim(worker.getSender(), issue(worker.address, toNano('1'), 3));
  assert.equal(exitCodeOf(txTo(ok.transactions, vault.address)), 0);

  const stranger = keyPairFromSeed(Buffer.alloc(32, 2));
  const genuine = issue(worker.address, toNano('2'), 4);
  const tamperedCell = voucherClaimParts({ ...genuine, cumulativeNanotons: toNano('3') }).cell;
  const cases: Array<[string, Sender, Voucher | { cell: Cell; signature: Buffer }, number]> = [
    ['forged: signed by another key', worker.getSender(),
      signVoucher({ vault: vault.address, worker: worker.address, cumulativeNanotons: toNano('2'), seq: 4 }, stranger.secretKey),
      VaultExitCode.badSignature],
    ['forged: amount raised after signing', worker.getSender(),
      { cell: tamperedCell, signature: Buffer.from(genuine.signature, 'base64') }, VaultExitCode.badSignature],
    ['foreign: another worker sends a valid voucher', thief.getSender(), genuine, VaultExitCode.foreignWorker],
    ['replayed: the voucher already paid', worker.getSender(), issue(worker.address, toNano('1'), 3), VaultExitCode.replayed],
    ['replayed: an older seq', worker.getSender(), issue(worker.address, toNano('2'), 2), VaultExitCode.replayed],
    ['rolled back: a later seq with a lower total', worker.getSender(), issue(worker.address, toNano('0.5'), 9), VaultExitCode.rollback],
    ['rolled back: a later seq with the same total', worker.getSender(), issue(worker.address, toNano('1'), 9), VaultExitCode.rollback],
    ['not a voucher: another signed cell with the right fields', worker.getSender(), signedCell(coordinator.secretKey,
      beginCell().storeUint(0x12345678, 32).storeAddress(vault.address).storeAddress(worker.address).storeCoins(toNano('2')).storeUint(4, 64)),
    VaultExitCode.badVoucher],
    ['another vault', worker.getSender(), issue(worker.address, toNano('2'), 4, new Address(0, Buffer.alloc(32, 5))), VaultExitCode.wrongVault],
    ['underfunded: more than balance minus reserve', worker.getSender(), issue(worker.address, toNano('6'), 4), VaultExitCode.insufficientFunds],
  ];
  for (const [name, via, voucher, code] of cases) {
    const before = await balance(vault.address);
    const result = await vault.sendClaim(via, voucher);
    const tx = txTo(result.transactions, vault.address);
    assert.equal(exitCodeOf(tx), code, name);
    // Nothing was paid: the only outgoing message is the bounce back to the sender.
    const outs = internalOuts(tx);
    assert.equal(outs.length, 1, name);
    assert.ok(outs[0]?.dest.equals(via.address as Address), name);
    assert.equal(outs[0]?.body.beginParse().loadUint(32), 0xffffffff, name);
    assert.ok((await balance(vault.address)) >= before, name);
    assert.equal(await vault.getPaid(worker.address), toNano('1'), name);
    assert.equal(await vault.getPaid(thief.address), 0n, name);
    assert.equal(await vault.getLastSeq(worker.address), 3, name);
  }
  // The genuine next voucher still pays exactly its difference afterwards.
  const next = await vault.sendClaim(worker.getSender(), genuine);
  const tx = txTo(next.transactions, vault.address);
  assert.equal(internalOuts(tx)[0]?.value, toNano('1'));
  assert.equal(await vault.getPaid(worker.address), toNano('2'));
  // Sanity: the coordinator key really is the vault's key.
  assert.ok((await vault.getPublicKey()).equals(coordinator.publicKey));
});

test('a claim may use the whole balance above the reserve, not a nanoton more', async () => {
  const { blockchain, vault, issue, balance } = await setupVaultChain(toNano('1'));
  const worker = await blockchain.treasury('worker');
  const spendable = (await balance(vault.address)) - DEFAULT_MIN_RESERVE;
  const over = await vault.sendClaim(worker.getSender(), issue(worker.address, spendable + 1n, 1));
  assert.equal(exitCodeOf(txTo(over.transactions, vault.address)), VaultExitCode.insufficientFunds);
  const exact = await vault.sendClaim(worker.getSender(), issue(worker.address, spendable, 2));
  const tx = txTo(exact.transactions, vault.address);
  assert.equal(exitCodeOf(tx), 0);
  assert.equal(internalOuts(tx)[0]?.value, spendable);
  assert.equal(await balance(vault.address), DEFAULT_MIN_RESERVE - storageFeeOf(tx));
});

test('unknown opcodes are refused; plain transfers fund the vault', async () => {
  const { blockchain, vault, balance } = await setupVaultChain(toNano('1'));
  const someone = await blockchain.treasury('someone');
  const before = await balance(vault.address);
  const plain = await someone.send({ to: vault.address, value: toNano('2'), bounce: true });
  assert.equal(exitCodeOf(txTo(plain.transactions, vault.address)), 0);
  assert.ok((await balance(vault.address)) > before + toNano('1.99'));
  const junk = await someone.send({ to: vault.address, value: toNano('1'), bounce: true, body: beginCell().storeUint(0x1234, 32).endCell() });
  assert.equal(exitCodeOf(txTo(junk.transactions, vault.address)), VaultExitCode.unknownOp);
});

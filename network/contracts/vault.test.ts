import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address, beginCell, toNano, type Builder, type Cell, type Sender } from '@ton/core';
import { keyPairFromSeed, sign } from '@ton/crypto';
import { CHAIN_GLOBAL_ID, voucherClaimParts, voucherCell, type Voucher } from '../protocol/voucher.js';
import { exitCodeOf, gasOf, netFlow, payoutsIn, refusalsTo, setupVaultChain, storageFeeOf, txTo } from './test-chain.js';
import { ACCOUNT_FLOOR, CLAIM_MIN_VALUE, CLAIM_VALUE, DEFAULT_MIN_RESERVE, VaultExitCode, VaultOp } from './vault.js';

function signedCell(secretKey: Buffer, builder: Builder) {
  const cell = builder.endCell();
  return { cell, signature: sign(cell.hash(), secretKey) };
}

test('deploy: getters report owner, key, chain, reserve, balance; accounts derive offline as on chain', async () => {
  const { vault, owner, coordinator, balance, blockchain } = await setupVaultChain({ fund: toNano('10') });
  assert.ok((await vault.getOwner()).equals(owner.address));
  assert.ok((await vault.getPublicKey()).equals(coordinator.publicKey));
  assert.equal(await vault.getGlobalId(), CHAIN_GLOBAL_ID.testnet);
  assert.equal(await vault.getMinReserve(), DEFAULT_MIN_RESERVE);
  assert.equal(await vault.getClosed(), false);
  assert.equal(await vault.getPredecessor(), null);
  assert.equal(await vault.getBalance(), await balance(vault.address));
  const worker = await blockchain.treasury('worker');
  assert.ok((await vault.getAccountAddress(worker.address)).equals(vault.accountAddress(worker.address)));
});

test('claims pay exactly the difference: the vault is down by exactly what was due', async (t) => {
  const chain = await setupVaultChain();
  const { blockchain, vault, issue, balance } = chain;
  const worker = await blockchain.treasury('worker');
  const account = chain.account(worker.address);
  const steps: Array<[bigint, number]> = [[1_234_567_891n, 1], [1_234_567_891n + 987_654_321n, 2], [toNano('7.000000001'), 5]];
  let paid = 0n;
  for (const [cumulative, seq] of steps) {
    const vaultBefore = await balance(vault.address);
    const workerBefore = await balance(worker.address);
    const accountBefore = await balance(account.address);
    // The first claim deploys the account; later ones know it exists and ask only what is due.
    const first = paid === 0n;
    const result = await vault.sendClaim(worker.getSender(), issue(worker.address, cumulative, seq), { queryId: 77n, deploy: first, amountNanotons: cumulative - paid });
    const vaultTx = txTo(result.transactions, vault.address);
    const accountTx = txTo(result.transactions, account.address);
    assert.equal(exitCodeOf(vaultTx), 0);
    assert.equal(exitCodeOf(accountTx), 0);
    const [payout] = payoutsIn(result.transactions);
    assert.ok(payout && payout.dest.equals(worker.address));
    assert.deepEqual(payout.body, { queryId: 77n, cumulativeNanotons: cumulative, seq: BigInt(seq), dueNanotons: cumulative - paid, depositNanotons: first ? ACCOUNT_FLOOR : 0n });
    // The payout carries the due plus the unused part of the claim's value.
    assert.ok(payout.value > cumulative - paid && payout.value < cumulative - paid + CLAIM_VALUE);
    // The vault paid exactly the due (plus its storage fee, 0 or a few nanotons here).
    assert.equal(await balance(vault.address), vaultBefore - (cumulative - paid) - storageFeeOf(vaultTx));
    // The account keeps its storage floor, paid by the claimant's gas on the first claim.
    assert.equal(await balance(account.address), first ? ACCOUNT_FLOOR : accountBefore - storageFeeOf(accountTx));
    const workerDelta = (await balance(worker.address)) - workerBefore;
    assert.equal(workerDelta, netFlow(result.transactions, worker.address));
    const claimCost = cumulative - paid - workerDelta;
    assert.ok(claimCost > 0n && claimCost < (first ? toNano('0.03') : toNano('0.015')), `claim cost ${claimCost}`);
    paid = cumulative;
    const state = await account.getState();
    assert.deepEqual({ ...state, worker: state.worker.toString(), master: state.master.toString() },
      { paid, lastSeq: seq, status: 0, worker: worker.address.toString(), master: vault.address.toString() });
    t.diagnostic(`claim seq ${seq}: vault gas ${gasOf(vaultTx)}, account gas ${gasOf(accountTx)}, worker net cost ${claimCost} nanotons`);
  }
});

test('a claim asking for more than is due pays the due; the vault gets the rest back', async () => {
  const { blockchain, vault, issue, balance } = await setupVaultChain({ fund: toNano('10') });
  const worker = await blockchain.treasury('worker');
  await vault.sendClaim(worker.getSender(), issue(worker.address, toNano('1'), 1));
  const before = await balance(vault.address);
  // The worker does not know what was paid and asks for its whole total again.
  const result = await vault.sendClaim(worker.getSender(), issue(worker.address, toNano('1.5'), 2), { deploy: false });
  const [payout] = payoutsIn(result.transactions);
  assert.equal(payout?.body.dueNanotons, toNano('0.5'));
  assert.equal(payout?.body.cumulativeNanotons, toNano('1.5'));
  // The vault is down by the due, never more: the account's refund also pays the vault's gas
  // for receiving it, out of the claimant's value.
  const delta = (await balance(vault.address)) - before;
  assert.ok(delta >= -toNano('0.5') && delta < -toNano('0.5') + toNano('0.001'), `vault moved ${delta}`);
});

test('refused claims, with their codes: nothing is paid, nothing is counted', async () => {
  const chain = await setupVaultChain({ fund: toNano('5') });
  const { blockchain, vault, issue, coordinator, balance } = chain;
  const worker = await blockchain.treasury('worker');
  const thief = await blockchain.treasury('thief');
  const ok = await vault.sendClaim(worker.getSender(), issue(worker.address, toNano('1'), 3));
  assert.equal(payoutsIn(ok.transactions).length, 1);

  const stranger = keyPairFromSeed(Buffer.alloc(32, 2));
  const genuine = issue(worker.address, toNano('2'), 4);
  const tamperedCell = voucherClaimParts({ ...genuine, cumulativeNanotons: toNano('3') }).cell;
  // signVoucher refuses masterchain workers, so this one is signed by hand.
  const masterchainWorker = await blockchain.treasury('masterchain-worker', { workchain: -1 });
  const masterchainVoucher = signedCell(coordinator.secretKey, beginCell().storeUint(0x56434832, 32).storeInt(chain.globalId, 32)
    .storeAddress(vault.address).storeAddress(masterchainWorker.address).storeCoins(toNano('2')).storeUint(4, 64));
  const vaultCases: Array<[string, Sender, Voucher | { cell: Cell; signature: Buffer }, number, { value?: bigint; amountNanotons?: bigint }?]> = [
    ['forged: signed by another key', worker.getSender(), issue(worker.address, toNano('2'), 4, { key: stranger }), VaultExitCode.badSignature],
    ['forged: amount raised after signing', worker.getSender(), { cell: tamperedCell, signature: Buffer.from(genuine.signature, 'base64') }, VaultExitCode.badSignature],
    ['foreign: another worker sends a valid voucher', thief.getSender(), genuine, VaultExitCode.foreignWorker],
    ['not a voucher: another signed cell', worker.getSender(), signedCell(coordinator.secretKey,
      beginCell().storeUint(0x56434852, 32).storeAddress(vault.address).storeAddress(worker.address).storeCoins(toNano('2')).storeUint(4, 64)),
    VaultExitCode.badVoucher],
    ['another vault', worker.getSender(), issue(worker.address, toNano('2'), 4, { vault: new Address(0, Buffer.alloc(32, 5)) }), VaultExitCode.wrongVault],
    ['another chain (mainnet voucher, testnet vault)', worker.getSender(), issue(worker.address, toNano('2'), 4, { globalId: CHAIN_GLOBAL_ID.mainnet }), VaultExitCode.wrongChain],
    ['masterchain payout address', masterchainWorker.getSender(), masterchainVoucher, VaultExitCode.masterchain],
    ['too little value for the gas', worker.getSender(), genuine, VaultExitCode.lowValue, { value: CLAIM_MIN_VALUE - 1n }],
    ['asks for nothing', worker.getSender(), genuine, VaultExitCode.noAmount, { amountNanotons: 0n }],
    ['underfunded: more than balance minus reserve', worker.getSender(), issue(worker.address, toNano('6'), 4), VaultExitCode.insufficientFunds, { amountNanotons: toNano('5') }],
  ];
  for (const [name, via, voucher, code, opts] of vaultCases) {
    const before = await balance(vault.address);
    const result = await vault.sendClaim(via, voucher, { deploy: false, ...opts });
    const tx = txTo(result.transactions, vault.address);
    assert.equal(exitCodeOf(tx), code, name);
    assert.equal(payoutsIn(result.transactions).length, 0, name);
    assert.ok((await balance(vault.address)) >= before, name);
    assert.equal(await chain.paid(worker.address), toNano('1'), name);
    assert.equal(await chain.paid(thief.address), 0n, name);
  }
  // The account refuses what is not ahead of its counter, and says so to the worker with the
  // claim's unused value; the vault's funds go back to the vault.
  const accountCases: Array<[string, Voucher, number]> = [
    ['replayed: the voucher already paid', issue(worker.address, toNano('1'), 3), VaultExitCode.replayed],
    ['replayed: an older seq', issue(worker.address, toNano('0.5'), 2), VaultExitCode.replayed],
    ['nothing due: a later seq with a lower total', issue(worker.address, toNano('0.5'), 9), VaultExitCode.nothingDue],
    ['nothing due: a later seq with the same total', issue(worker.address, toNano('1'), 9), VaultExitCode.nothingDue],
  ];
  for (const [name, voucher, code] of accountCases) {
    const before = await balance(vault.address);
    const result = await vault.sendClaim(worker.getSender(), voucher, { deploy: false });
    assert.deepEqual(refusalsTo(result.transactions, worker.address), [{ code, paid: toNano('1') }], name);
    assert.equal(payoutsIn(result.transactions).length, 0, name);
    // The funds came back with the vault's gas for receiving them: the vault lost nothing.
    const delta = (await balance(vault.address)) - before;
    assert.ok(delta >= 0n && delta < toNano('0.001'), `${name}: vault moved ${delta}`);
    assert.equal(await chain.paid(worker.address), toNano('1'), name);
  }
  // The genuine next voucher still pays exactly its difference afterwards.
  const next = await vault.sendClaim(worker.getSender(), genuine, { deploy: false });
  assert.equal(payoutsIn(next.transactions)[0]?.body.dueNanotons, toNano('1'));
  assert.equal(await chain.paid(worker.address), toNano('2'));
  assert.equal(voucherCell(genuine).hash().equals(voucherClaimParts(genuine).cell.hash()), true);
});

test('cross-chain replay: a voucher signed for one global id is refused by the vault of another', async () => {
  // The same owner, key and code on two chains: the global id is in the vault's state (so the
  // addresses differ) and in every voucher (so a voucher pays on one chain only).
  const testnet = await setupVaultChain({ globalId: CHAIN_GLOBAL_ID.testnet });
  const mainnet = await setupVaultChain({ globalId: CHAIN_GLOBAL_ID.mainnet });
  assert.equal(testnet.vault.address.equals(mainnet.vault.address), false);
  const worker = await mainnet.blockchain.treasury('worker');
  // A testnet voucher naming the mainnet vault's address (the worst case) is still refused.
  const replay = await mainnet.vault.sendClaim(worker.getSender(), testnet.issue(worker.address, toNano('1'), 1, { vault: mainnet.vault.address }));
  assert.equal(exitCodeOf(txTo(replay.transactions, mainnet.vault.address)), VaultExitCode.wrongChain);
  assert.equal(await mainnet.paid(worker.address), 0n);
  const genuine = await mainnet.vault.sendClaim(worker.getSender(), mainnet.issue(worker.address, toNano('1'), 1));
  assert.equal(payoutsIn(genuine.transactions)[0]?.body.dueNanotons, toNano('1'));
});

test('a claim may use the whole balance above the reserve, not a nanoton more', async () => {
  const { blockchain, vault, issue, balance, paid } = await setupVaultChain({ fund: toNano('1') });
  const worker = await blockchain.treasury('worker');
  const spendable = (await balance(vault.address)) - DEFAULT_MIN_RESERVE;
  const over = await vault.sendClaim(worker.getSender(), issue(worker.address, spendable + 1n, 1));
  assert.equal(exitCodeOf(txTo(over.transactions, vault.address)), VaultExitCode.insufficientFunds);
  const exact = await vault.sendClaim(worker.getSender(), issue(worker.address, spendable, 2));
  const tx = txTo(exact.transactions, vault.address);
  assert.equal(exitCodeOf(tx), 0);
  assert.equal(payoutsIn(exact.transactions)[0]?.body.dueNanotons, spendable);
  assert.equal(await paid(worker.address), spendable);
  assert.equal(await balance(vault.address), DEFAULT_MIN_RESERVE - storageFeeOf(tx));
});

test('unknown opcodes are refused; plain transfers fund the vault', async () => {
  const { blockchain, vault, balance } = await setupVaultChain({ fund: toNano('1') });
  const someone = await blockchain.treasury('someone');
  const before = await balance(vault.address);
  const plain = await someone.send({ to: vault.address, value: toNano('2'), bounce: true });
  assert.equal(exitCodeOf(txTo(plain.transactions, vault.address)), 0);
  assert.ok((await balance(vault.address)) > before + toNano('1.99'));
  const junk = await someone.send({ to: vault.address, value: toNano('1'), bounce: true, body: beginCell().storeUint(0x1234, 32).endCell() });
  assert.equal(exitCodeOf(txTo(junk.transactions, vault.address)), VaultExitCode.unknownOp);
  assert.equal(VaultOp.claim, 0x434c4149);
});

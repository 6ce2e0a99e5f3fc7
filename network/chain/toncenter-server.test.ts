// End-to-end: the unmodified TonClient from @ton/ton against the local chain's toncenter API.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { keyPairFromSeed, type KeyPair } from '@ton/crypto';
import { SendMode, TonClient, WalletContractV5R1, beginCell, external, internal, storeMessage, toNano, type Address, type Transaction } from '@ton/ton';
import { startChainServer, type ChainServer } from './cli.js';

const TESTNET_GLOBAL_ID = -3; // V5R1 network id (-239 mainnet); @ton/ton exposes no named constant
const silent = pino({ level: 'silent' });

let dataDir: string;
let server: ChainServer;
let client: TonClient;
let key: KeyPair;
let wallet: WalletContractV5R1;
let recipient: Address;

function newWallet(publicKey: Buffer): WalletContractV5R1 {
  return WalletContractV5R1.create({ publicKey, walletId: { networkGlobalId: TESTNET_GLOBAL_ID } });
}

async function start(): Promise<void> {
  server = await startChainServer({ host: '127.0.0.1', port: 0, dataDir, logger: silent });
  client = new TonClient({ endpoint: `${server.url}/jsonRPC` });
}

async function post(path: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function faucet(address: Address, amount: bigint): Promise<Record<string, unknown>> {
  const { status, json } = await post('/faucet', JSON.stringify({ address: address.toString(), amount: amount.toString() }));
  assert.equal(status, 200, JSON.stringify(json));
  return json.result as Record<string, unknown>;
}

async function transfer(to: Address, value: bigint): Promise<void> {
  const opened = client.open(wallet);
  const seqno = await opened.getSeqno();
  await opened.sendTransfer({ seqno, secretKey: key.secretKey, sendMode: SendMode.PAY_GAS_SEPARATELY, messages: [internal({ to, value, bounce: false, body: `payout ${seqno}` })] });
}

const ids = (txs: Transaction[]) => txs.map((tx) => `${tx.lt}:${tx.hash().toString('hex')}`);

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'silkworm-chain-'));
  key = keyPairFromSeed(randomBytes(32));
  wallet = newWallet(key.publicKey);
  recipient = newWallet(keyPairFromSeed(randomBytes(32)).publicKey).address;
  await start();
});

after(async () => {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('GET /healthz answers 200 once ready', async () => {
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { ok: boolean }).ok, true);
});

test('the faucet funds a fresh V5R1 wallet with exactly the amount asked', async () => {
  const result = await faucet(wallet.address, 7_500_000_000n);
  assert.match(String(result.note), /test TON/);
  assert.equal(await client.getBalance(wallet.address), 7_500_000_000n);
  assert.equal(await client.isContractDeployed(wallet.address), false);
});

test('the wallet deploys itself with its first transfer, and the recipient gets the TON', async () => {
  await transfer(recipient, toNano('1.25'));
  assert.equal(await client.open(wallet).getSeqno(), 1);
  assert.equal(await client.isContractDeployed(wallet.address), true);
  assert.equal(await client.getBalance(recipient), toNano('1.25'));
  const left = await client.getBalance(wallet.address);
  assert.ok(left < 7_500_000_000n - toNano('1.25') && left > toNano('6'), `wallet balance ${left}`);
  const [incoming] = await client.getTransactions(recipient, { limit: 1 });
  assert.equal(incoming?.inMessage?.info.src?.toString(), wallet.address.toString());
});

test('runGetMethod and estimateFee work through TonClient', async () => {
  const seqno = await client.runMethod(wallet.address, 'seqno');
  assert.equal(seqno.stack.readNumber(), 1);
  const publicKey = await client.runMethod(wallet.address, 'get_public_key');
  assert.equal(publicKey.stack.readBigNumber(), BigInt(`0x${key.publicKey.toString('hex')}`));
  const missing = await client.runMethodWithError(wallet.address, 'no_such_get_method');
  assert.notEqual(missing.exit_code, 0);
  const body = wallet.createTransfer({ seqno: 1, secretKey: key.secretKey, sendMode: SendMode.PAY_GAS_SEPARATELY, messages: [internal({ to: recipient, value: 1n })] });
  const fees = await client.estimateExternalMessageFee(wallet.address, { body, initCode: null, initData: null, ignoreSignature: true });
  assert.ok(fees.source_fees.gas_fee > 0 && fees.source_fees.in_fwd_fee > 0, JSON.stringify(fees));
  assert.equal(await client.open(wallet).getSeqno(), 1, 'estimating must not apply the message');
});

test('getTransactions pages through the history without duplicates or gaps', async () => {
  for (let i = 1; i <= 5; i++) await faucet(wallet.address, BigInt(i) * 1_000_000n);
  await transfer(recipient, 1_000_000n);
  await transfer(recipient, 2_000_000n);
  const full = await client.getTransactions(wallet.address, { limit: 100 });
  assert.equal(full.length, 9); // 1 faucet + deploying transfer + 5 faucets + 2 transfers
  for (let i = 1; i < full.length; i++) assert.ok(full[i - 1]!.lt > full[i]!.lt, 'newest first, lt strictly falling');
  const own = server.chain.allTransactions().filter((r) => r.account.equals(wallet.address)).reverse();
  assert.deepEqual(ids(full), own.map((r) => `${r.lt}:${r.hash.toString('hex')}`));

  const paged: Transaction[] = [];
  let page = await client.getTransactions(wallet.address, { limit: 2 });
  while (page.length > 0) {
    paged.push(...page);
    const last = page[page.length - 1]!;
    page = await client.getTransactions(wallet.address, { limit: 2, lt: last.lt.toString(), hash: last.hash().toString('base64') });
  }
  assert.deepEqual(ids(paged), ids(full));

  const pivot = full[3]!;
  const single = await client.getTransaction(wallet.address, pivot.lt.toString(), pivot.hash().toString('base64'));
  assert.equal(single?.hash().toString('hex'), pivot.hash().toString('hex'));
  const inclusive = await client.getTransactions(wallet.address, { limit: 2, lt: pivot.lt.toString(), hash: pivot.hash().toString('base64'), inclusive: true });
  assert.deepEqual(ids(inclusive), ids(full.slice(3, 5)));
  const newer = await client.getTransactions(wallet.address, { limit: 100, to_lt: pivot.lt.toString() });
  assert.deepEqual(ids(newer), ids(full.slice(0, 3)), 'to_lt is exclusive');
  const sent = full[0]!.outMessages.values()[0]?.info;
  assert.ok(sent?.type === 'internal');
  const located = await client.tryLocateResultTx(wallet.address, recipient, sent.createdLt.toString());
  assert.equal(located.inMessage?.info.src?.toString(), wallet.address.toString());
});

test('restarting on the same data directory keeps balances, seqno and history', async () => {
  const before = {
    wallet: await client.getBalance(wallet.address),
    recipient: await client.getBalance(recipient),
    seqno: await client.open(wallet).getSeqno(),
    history: ids(await client.getTransactions(wallet.address, { limit: 100 })),
  };
  await server.close();
  await start();
  assert.equal(await client.getBalance(wallet.address), before.wallet);
  assert.equal(await client.getBalance(recipient), before.recipient);
  assert.equal(await client.open(wallet).getSeqno(), before.seqno);
  assert.deepEqual(ids(await client.getTransactions(wallet.address, { limit: 100 })), before.history);

  await transfer(recipient, 3_000_000n); // the wallet keeps working after the restart
  assert.equal(await client.open(wallet).getSeqno(), before.seqno + 1);
  const [credited] = await client.getTransactions(recipient, { limit: 1 });
  assert.ok(credited?.inMessage?.info.type === 'internal' && credited.inMessage.info.value.coins === 3_000_000n);
  const balance = await client.getBalance(recipient); // less a nanoton or two of storage fees for an uninitialized account
  assert.ok(balance <= before.recipient + 3_000_000n && balance > before.recipient + 3_000_000n - 1000n, `recipient has ${balance}`);
  const [newest] = await client.getTransactions(wallet.address, { limit: 1 });
  assert.ok(newest && newest.lt > BigInt(before.history[0]!.split(':')[0]!), 'lt keeps growing after a restart');
});

test('malformed requests get clear 4xx errors and the server keeps serving', async () => {
  const zeroHash = '0'.repeat(64);
  const seqno = await client.open(wallet).getSeqno();
  const forged = wallet.createTransfer({ seqno, secretKey: keyPairFromSeed(randomBytes(32)).secretKey, sendMode: SendMode.PAY_GAS_SEPARATELY, messages: [internal({ to: recipient, value: 1n })] });
  const forgedBoc = beginCell().store(storeMessage(external({ to: wallet.address, body: forged }))).endCell().toBoc().toString('base64');
  const rpc = (method: string, params?: unknown) => JSON.stringify({ id: 7, jsonrpc: '2.0', method, params });
  const cases: [path: string, body: string, status: number, error: RegExp][] = [
    ['/jsonRPC', '{not json', 400, /not valid JSON/],
    ['/jsonRPC', '', 400, /empty/],
    ['/jsonRPC', '[]', 400, /Batch/],
    ['/jsonRPC', rpc('noSuchMethod', {}), 404, /Unknown method 'noSuchMethod'/],
    ['/jsonRPC', rpc('getAddressInformation', { address: 'EQnot-an-address' }), 400, /not a valid TON address/],
    ['/jsonRPC', rpc('getAddressInformation'), 400, /address/],
    ['/jsonRPC', rpc('getTransactions', { address: wallet.address.toString(), limit: 0 }), 400, /limit/],
    ['/jsonRPC', rpc('getTransactions', { address: wallet.address.toString(), limit: 5, lt: '1000', hash: zeroHash }), 404, /No transaction/],
    ['/jsonRPC', rpc('getTransactions', { address: wallet.address.toString(), limit: 5, hash: zeroHash }), 400, /hash needs lt/],
    ['/jsonRPC', rpc('runGetMethod', { address: wallet.address.toString(), method: 'seqno', stack: [['weird', 1]] }), 400, /unsupported type/],
    ['/jsonRPC', rpc('sendBoc', { boc: 'AAAA' }), 400, /not a serialized message/],
    ['/jsonRPC', rpc('sendBoc', { boc: forgedBoc }), 422, /rejected/],
    ['/faucet', JSON.stringify({ address: wallet.address.toString(), amount: '1000000000001' }), 400, /between/],
    ['/faucet', JSON.stringify({ address: wallet.address.toString(), amount: '1.5' }), 400, /whole number/],
    ['/faucet', JSON.stringify({ amount: '1' }), 400, /address is required/],
    ['/no/such/path', '{}', 404, /No such endpoint/],
    ['/jsonRPC', JSON.stringify({ method: 'getMasterchainInfo', pad: 'x'.repeat(1024 * 1024) }), 413, /over/],
  ];
  for (const [path, body, status, error] of cases) {
    const reply = await post(path, body);
    assert.equal(reply.status, status, `${path} ${body.slice(0, 80)} → ${JSON.stringify(reply.json)}`);
    assert.equal(reply.json.ok, false);
    assert.equal(reply.json.code, status);
    assert.match(String(reply.json.error), error);
  }
  assert.equal((await post('/jsonRPC', rpc('noSuchMethod'))).json.id, 7, 'errors echo the JSON-RPC id');
  assert.equal((await fetch(`${server.url}/jsonRPC`)).status, 400);
  assert.equal(await client.open(wallet).getSeqno(), seqno, 'the forged message changed nothing');
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  assert.ok((await client.getBalance(wallet.address)) > 0n);
});

test('toncenter GET forms answer too', async () => {
  const balance = await client.getBalance(wallet.address);
  const res = await fetch(`${server.url}/api/v2/getAddressBalance?address=${encodeURIComponent(wallet.address.toString())}`);
  assert.deepEqual(await res.json(), { ok: true, result: balance.toString() });
  const info = (await (await fetch(`${server.url}/getMasterchainInfo`)).json()) as { result: { last: { seqno: number } } };
  assert.equal(info.result.last.seqno, (await client.getMasterchainInfo()).latestSeqno);
});

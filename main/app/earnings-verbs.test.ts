// The earnings verbs over a real ledger: exact amounts as strings, paging, CSV, explorer
// links, why there are no books, and Cash out's refusals in the owner's words.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Address, Sender } from '@ton/core';
import { setImmediate } from 'node:timers/promises';
import { EarningsService, VAULT_FUNDS_STAND_MS, type CashOutChain, type ElectricitySettings } from '../earnings/earnings-service.js';
import { utcDay } from '../ledger/days.js';
import type { IncomingPayout, Ledger } from '../ledger/ledger.js';
import { job, ledgerWorld, openTestLedger, randomAddress, silentLogger, type LedgerWorld } from '../ledger/testing/ledger-fixtures.js';
import type { Books } from '../worker/earnings-binding.js';
import { explainNoBooks, NO_BOOKS, NO_PAYOUT_ADDRESS, NOT_ON_CHAIN } from './books-status.js';
import { csvFields } from './csv-range.js';
import { toWire } from '../ipc/dispatch.js';
import { chainKindOf, explorerLinks } from './explorer-links.js';
import { createEarningsVerbs } from './earnings-verbs.js';

const NOW = Date.UTC(2026, 2, 14, 12);
const A = 1_000_000_000_000_000_007n; // beyond 2^53: a float anywhere would lose the 7
const B = 2_000_000_003n;
const C = 531n;
const D = 1_469n;
const DEPOSIT = 10_000_000n;
const RETURNED = 3_456_789n;
const POWER: ElectricitySettings = { nanotonsPerKwh: 2_000_000_000n, watts: 300, wattsSource: 'measured' };

/** Four jobs over five days: two vouched and paid, one vouched (claimable), one pending; one stray payout flagged. */
function fixture(chain?: (world: LedgerWorld) => CashOutChain): { world: LedgerWorld; ledger: Ledger; books: Books; paidTx: string; strayTx: string } {
  const world = ledgerWorld();
  const ledger = openTestLedger(world, ':memory:', () => NOW);
  ledger.recordJob(job('j1', A, { model: 'llama-8b', finishedAt: Date.UTC(2026, 2, 10, 10), promptTokens: 100, completionTokens: 200, durationMs: 3_600_000 }));
  ledger.recordJob(job('j2', B, { model: 'qwen-7b', finishedAt: Date.UTC(2026, 2, 13, 9), promptTokens: 50, completionTokens: 80, durationMs: 1_800_000 }));
  ledger.recordVoucher(world.issue(A + B, 1), { jobIds: ['j1', 'j2'] });
  ledger.recordJob(job('j3', C, { model: 'llama-8b', finishedAt: Date.UTC(2026, 2, 14, 11), promptTokens: 10, completionTokens: 20, durationMs: 60_000 }));
  ledger.recordVoucher(world.issue(A + B + C, 2), { jobIds: ['j3'] });
  ledger.recordJob(job('j4', D, { model: 'qwen-7b', finishedAt: Date.UTC(2026, 2, 14, 11, 30), promptTokens: 5, completionTokens: 7 }));
  // A claimed payout, as the payout account sends it: what it paid (due) less the deposit it keeps
  // for its storage, plus the claim's unused fee coming back.
  const paid = payout(world, { txHash: 'aa'.repeat(32), lt: 1001n, seq: 1n, cumulativeNanotons: A + B, dueNanotons: A + B, depositNanotons: DEPOSIT, amountNanotons: A + B - DEPOSIT + RETURNED });
  assert.equal(ledger.recordPayout(paid).status, 'applied');
  const stray = payout(world, { txHash: 'bb'.repeat(32), lt: 1002n, seq: 2n, cumulativeNanotons: 999n, amountNanotons: 999n, sender: randomAddress().toString() });
  assert.equal(ledger.recordPayout(stray).status, 'flagged');
  return { world, ledger, books: booksOf(ledger, chain?.(world)), paidTx: paid.txHash, strayTx: stray.txHash };
}

function payout(world: LedgerWorld, fields: Partial<IncomingPayout> & { seq: bigint; cumulativeNanotons: bigint; amountNanotons: bigint }): IncomingPayout {
  return { txHash: randomBytes(32).toString('hex'), lt: 1000n + fields.seq, utime: 1_773_489_600, sender: world.vault.toString(), queryId: 0n, ...fields };
}

function booksOf(ledger: Ledger, chain?: CashOutChain): Books {
  const earnings = new EarningsService({ ledger, now: () => NOW, dayOf: utcDay, logger: silentLogger, ...(chain ? { chain } : {}) });
  return { ledger, earnings, watcher: undefined, record: async () => undefined, close: () => ledger.close() };
}

/** A chain whose vault records the claims it is sent (or fails them with `sendClaim`). */
function fakeChain(wallet: Address, sendClaim: (seq: number) => Promise<void> = async () => undefined, vault?: { closed: boolean; balance: bigint; reserve: bigint }): CashOutChain {
  const sender: Sender = { address: wallet, send: async () => undefined };
  // Without `vault`, its getters are missing, as a chain that does not answer them.
  const getters = vault ? { getClosed: async () => vault.closed, getBalance: async () => vault.balance, getMinReserve: async () => vault.reserve } : {};
  return {
    sender,
    client: { open: () => ({ ...getters, sendClaim: (_via: Sender, voucher: { seq: number }) => sendClaim(voucher.seq) }) as never },
  };
}

function value<T>(result: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!result.ok) assert.fail(`${result.error.code}: ${result.error.message}`);
  assert.ok(toWire(result.value).ok, 'plain JSON, no bigint');
  return result.value;
}

describe('summary', () => {
  test('today: exact amounts, tokens, live rate and balances as decimal strings', async () => {
    const { books } = fixture();
    const summary = value(await createEarningsVerbs(() => books, { now: () => NOW, startOfDay: (at) => at - (at % 86_400_000) }).getEarnings({ range: 'today' }));
    const { forecast, byHour, ...rest } = summary;
    assert.equal(byHour?.length, 13, 'midnight to noon');
    assert.deepEqual(byHour?.[11], { hour: 11, nanotons: '2000', jobs: 2 }, 'both of today’s jobs ended between 11:00 and 12:00');
    assert.equal(byHour?.filter((slot) => slot.jobs > 0).length, 1);
    assert.deepEqual(rest, {
      range: 'today',
      from: '2026-03-14',
      to: '2026-03-14',
      totalNanotons: '2000',
      jobs: 2,
      promptTokens: 15,
      completionTokens: 27,
      pendingNanotons: '1469',
      claimableNanotons: '531',
      paidNanotons: '1000000002000000010',
      flaggedNanotons: '999',
      byDay: [{ day: '2026-03-14', nanotons: '2000', jobs: 2, tokens: 27 }],
      byModel: [
        { model: 'qwen-7b', nanotons: '1469', jobs: 1, tokens: 7 },
        { model: 'llama-8b', nanotons: '531', jobs: 1, tokens: 20 },
      ],
      live: { nanotonsPerHour: '2000', jobsLastHour: 2 },
      flags: [{ kind: 'payout', code: 'unknown_sender', count: 1, lastAt: NOW, summary: '1 payment came from an account that is not the network’s payout account: not counted as paid.' }],
    });
    assert.equal(forecast?.electricity, null, 'no electricity price set: the forecast says it is gross');
    assert.equal(forecast?.projectedNetNanotons, forecast?.projectedGrossNanotons);
  });

  test('what the books set aside, in the owner’s words, and while the vault would refuse every claim, that it would; a voucher sent again is no flag', async () => {
    const { world, ledger, books } = fixture();
    const verbs = createEarningsVerbs(() => books, { now: () => NOW });
    // The voucher held, sent again with its receipt (a reconnect): nothing set aside for it.
    assert.equal(ledger.recordVoucher(world.issue(A + B + C, 2)).status, 'refused');
    const before = value(await verbs.getEarnings({ range: 'today' })).flags;
    assert.deepEqual(before?.map((f) => `${f.kind}/${f.code}`), ['payout/unknown_sender']);
    // Two forged vouchers, then the vault on chain turns out to hold another key than the network signs with.
    const stranger = ledgerWorld().coordinator;
    ledger.recordVoucher({ ...world.issue(9_000n, 3, { key: stranger }), coordinatorPublicKey: world.identity.coordinatorPublicKey });
    ledger.recordVoucher({ ...world.issue(8_000n, 3, { key: stranger }), coordinatorPublicKey: world.identity.coordinatorPublicKey });
    ledger.setVaultTerms({ publicKey: stranger.publicKey.toString('hex'), globalId: -3 });
    const { flags, claimableNanotons, cashOutBlocked } = value(await verbs.getEarnings({ range: '7d' }));
    assert.equal(claimableNanotons, '0', 'the voucher the vault would refuse is no longer ready to cash out');
    assert.deepEqual(
      flags?.map((f) => [`${f.kind}/${f.code}`, f.count]),
      [
        ['voucher/vault_key_mismatch', 1],
        ['voucher/bad_signature', 2],
        ['payout/unknown_sender', 1],
      ],
    );
    assert.equal(flags?.[1]?.summary, '2 promises to pay from the network did not check out (not signed by the network, for another address, or going backwards) and were set aside: not counted as ready to cash out.');
    assert.equal(cashOutBlocked?.code, 'vault_key_mismatch', 'said while it holds');
    assert.match(cashOutBlocked?.summary ?? '', /cannot be cashed out: ask its operator, or choose another network in Settings/);
    // Nothing in the owner's words is the books' jargon.
    for (const summary of [...(flags ?? []).map((f) => f.summary), cashOutBlocked?.summary ?? '']) assert.doesNotMatch(summary, /voucher|nanoton|anomal/i);
    // The vault is found to hold the network's key after all: no longer blocked, the flags stay as history.
    ledger.setVaultTerms({ publicKey: world.identity.coordinatorPublicKey, globalId: -3 });
    const after = value(await verbs.getEarnings({ range: '7d' }));
    assert.equal(after.cashOutBlocked, undefined);
    assert.equal(after.flags?.length, 3);
  });

  test('7 and 30 days: zero-filled days, totals beyond 2^53 exact', async () => {
    const { books } = fixture();
    const verbs = createEarningsVerbs(() => books);
    const week = value(await verbs.getEarnings({ range: '7d' }));
    assert.equal(week.totalNanotons, '1000000002000002010');
    assert.deepEqual(week.byDay.map((d) => [d.day, d.nanotons]), [
      ['2026-03-08', '0'], ['2026-03-09', '0'], ['2026-03-10', '1000000000000000007'], ['2026-03-11', '0'],
      ['2026-03-12', '0'], ['2026-03-13', '2000000003'], ['2026-03-14', '2000'],
    ]);
    assert.deepEqual(week.byModel, [
      { model: 'llama-8b', nanotons: '1000000000000000538', jobs: 2, tokens: 220 },
      { model: 'qwen-7b', nanotons: '2000001472', jobs: 2, tokens: 87 },
    ]);
    const month = value(await verbs.getEarnings({ range: '30d' }));
    assert.equal(month.byDay.length, 30);
    assert.equal(month.from, '2026-02-13');
    assert.equal(month.totalNanotons, '1000000002000002010');
  });

  test('the month forecast is net of the owner’s electricity, to the nanoton', async () => {
    const { books } = fixture();
    const { forecast } = value(await createEarningsVerbs(() => books, { electricity: () => POWER }).getEarnings({ range: 'today' }));
    // Basis: 4 full days (03-10..03-13) averaging (A + B) / 4; 17 days left after today.
    // Busy: 5.4 M ms so far + 1.35 M ms a day for today and the 17 days left = 29.7 M ms at 300 W and 2 TON/kWh.
    assert.deepEqual(forecast, {
      month: '2026-03',
      daysInMonth: 31,
      dayOfMonth: 14,
      earnedSoFarNanotons: '1000000002000002010',
      dailyAverageNanotons: '250000000500000002',
      basisDays: 4,
      projectedGrossNanotons: '5500000011000000046',
      projectedBusyMs: 29_700_000,
      electricity: { nanotonsPerKwh: '2000000000', watts: 300, wattsSource: 'measured', costNanotons: '4950000000' },
      projectedNetNanotons: '5500000006050000046',
    });
  });
});

describe('receipts and payouts', () => {
  test('receipts page newest first, with voucher seq, paid tx and status', async () => {
    const { books, paidTx } = fixture();
    const verbs = createEarningsVerbs(() => books);
    const first = value(await verbs.listReceipts({ limit: 3 }));
    assert.deepEqual(first.items.map((r) => r.jobId), ['j4', 'j3', 'j2']);
    assert.equal(first.next, 'j2');
    assert.deepEqual(first.items[0], { jobId: 'j4', model: 'qwen-7b', finishedAt: Date.UTC(2026, 2, 14, 11, 30), promptTokens: 5, completionTokens: 7, nanotons: '1469', voucherSeq: null, paidTx: null, status: 'pending' });
    assert.deepEqual([first.items[1]?.status, first.items[1]?.voucherSeq], ['claimable', 2]);
    assert.deepEqual([first.items[2]?.status, first.items[2]?.paidTx, first.items[2]?.nanotons], ['paid', paidTx, '2000000003']);
    const second = value(await verbs.listReceipts({ cursor: first.next ?? undefined, limit: 3 }));
    assert.deepEqual(second.items.map((r) => [r.jobId, r.nanotons]), [['j1', '1000000000000000007']]);
    assert.equal(second.next, null);
    const exact = value(await verbs.listReceipts({ limit: 4 }));
    assert.equal(exact.items.length, 4);
    assert.equal(exact.next, null, 'no empty last page');
    const stale = await verbs.listReceipts({ cursor: 'no-such-job', limit: 3 });
    assert.equal(!stale.ok && stale.error.code, 'bad-arguments');
  });

  test('payouts newest first: matched with what it paid (not the message value) and its explorer link, flagged with its reason', async () => {
    const { books, paidTx, strayTx } = fixture();
    const testnet = value(await createEarningsVerbs(() => books, { explorerUrl: explorerLinks('testnet') }).listPayouts({ limit: 10 }));
    assert.deepEqual(testnet, {
      items: [
        { txHash: strayTx, at: 1_773_489_600_000, nanotons: '999', arrivedNanotons: '999', depositNanotons: '0', explorerUrl: `https://testnet.tonviewer.com/transaction/${strayTx}`, status: 'flagged', seq: 2, flag: 'not sent by this worker\'s payout account' },
        { txHash: paidTx, at: 1_773_489_600_000, nanotons: (A + B).toString(), arrivedNanotons: (A + B - DEPOSIT + RETURNED).toString(), depositNanotons: DEPOSIT.toString(), explorerUrl: `https://testnet.tonviewer.com/transaction/${paidTx}`, status: 'matched', seq: 1, flag: null },
      ],
      next: null,
    });
    const paged = value(await createEarningsVerbs(() => books).listPayouts({ limit: 1 }));
    assert.deepEqual([paged.items.map((p) => p.txHash), paged.next], [[strayTx], strayTx]);
    const local = value(await createEarningsVerbs(() => books, { explorerUrl: explorerLinks('local') }).listPayouts({ limit: 10 }));
    assert.deepEqual(local.items.map((p) => p.explorerUrl), [null, null], 'a local chain has no explorer');
    const hostile = value(await createEarningsVerbs(() => books, { explorerUrl: (hash) => `javascript:alert('${hash}')` }).listPayouts({ limit: 10 }));
    assert.deepEqual(hostile.items.map((p) => p.explorerUrl), [null, null], 'only https links leave');
  });

  test('explorer links per network, and the chain a --chain URL points at', () => {
    const hash = 'AB'.repeat(32);
    assert.equal(explorerLinks('mainnet')(hash), `https://tonviewer.com/transaction/${'ab'.repeat(32)}`);
    assert.equal(explorerLinks('testnet', 'tonscan')(hash), `https://testnet.tonscan.org/tx/${'ab'.repeat(32)}`);
    assert.equal(explorerLinks('mainnet')('not-a-hash'), undefined);
    assert.equal(explorerLinks('local')(hash), undefined);
    assert.equal(chainKindOf('https://toncenter.com/api/v2', 'testnet'), 'mainnet');
    assert.equal(chainKindOf('https://testnet.toncenter.com/api/v2/', 'mainnet'), 'testnet');
    assert.equal(chainKindOf('http://127.0.0.1:8789', 'testnet'), 'local');
    assert.equal(chainKindOf(undefined, 'mainnet'), 'mainnet');
  });
});

describe('CSV', () => {
  test('the service’s jobs CSV, cut to the range, lines kept byte for byte', async () => {
    const { books, paidTx } = fixture();
    const verbs = createEarningsVerbs(() => books);
    const today = value(await verbs.exportEarningsCsv({ range: 'today' }));
    assert.equal(today.filename, 'silkworm-jobs-2026-03-14.csv');
    assert.equal(
      today.csv,
      'job_id,finished_at,day,model,prompt_tokens,completion_tokens,duration_ms,earned_nanotons,earned_ton,status,voucher_seq,paid_tx\r\n'
        + 'j3,2026-03-14T11:00:00.000Z,2026-03-14,llama-8b,10,20,60000,531,0.000000531,claimable,2,\r\n'
        + 'j4,2026-03-14T11:30:00.000Z,2026-03-14,qwen-7b,5,7,0,1469,0.000001469,pending,,\r\n',
    );
    const week = value(await verbs.exportEarningsCsv({ range: '7d' }));
    assert.equal(week.filename, 'silkworm-jobs-2026-03-08-to-2026-03-14.csv');
    assert.equal(week.csv, [...books.earnings.csv('jobs')].join(''), 'every job is in the week');
    assert.ok(week.csv.includes(`j1,2026-03-10T10:00:00.000Z,2026-03-10,llama-8b,100,200,3600000,1000000000000000007,1000000000.000000007,paid,1,${paidTx}\r\n`));
  });

  test('quoted fields are read back as written', () => {
    assert.deepEqual(csvFields('"a,b",2026-03-14,"say ""hi""",,x\r\n'), ['a,b', '2026-03-14', 'say "hi"', '', 'x']);
    assert.deepEqual(csvFields('"line\r\nbreak",d\r\n'), ['line\r\nbreak', 'd']);
  });
});

describe('without books', () => {
  test('every verb is unavailable and says why', async () => {
    const verbs = createEarningsVerbs(() => undefined);
    for (const result of [await verbs.getEarnings({ range: 'today' }), await verbs.listReceipts({ limit: 5 }), await verbs.listPayouts({ limit: 5 }), await verbs.exportEarningsCsv({ range: '7d' }), await verbs.cashOut(undefined)]) {
      assert.deepEqual(result, { ok: false, error: { code: 'unavailable', message: NO_BOOKS } });
    }
  });

  test('no payout address, a coordinator off chain, or one that cannot be reached', async () => {
    const noAddress = createEarningsVerbs(() => undefined, { whyUnavailable: explainNoBooks({ payoutAddress: () => null, coordinatorUrl: 'http://127.0.0.1:1' }) });
    assert.equal(((await noAddress.getEarnings({ range: 'today' })) as { error: { message: string } }).error.message, NO_PAYOUT_ADDRESS);

    let asked = 0;
    const offChain = explainNoBooks({
      payoutAddress: () => 'EQ-some-address',
      coordinatorUrl: 'ws://coordinator.test:8787',
      fetch: (async (url: URL) => {
        asked++;
        assert.equal(url.href, 'http://coordinator.test:8787/v1/pricing');
        return Response.json({ vault: null, voucher_public_key: null });
      }) as typeof fetch,
    });
    const verbs = createEarningsVerbs(() => undefined, { whyUnavailable: offChain });
    const answers = await Promise.all([verbs.getEarnings({ range: 'today' }), verbs.listReceipts({ limit: 5 }), verbs.listPayouts({ limit: 5 })]);
    assert.deepEqual(answers.map((r) => !r.ok && r.error.message), [NOT_ON_CHAIN, NOT_ON_CHAIN, NOT_ON_CHAIN]);
    assert.equal(asked, 1, 'asked the coordinator once for the whole screen');

    const down = explainNoBooks({ payoutAddress: () => 'EQ-some-address', coordinatorUrl: 'http://coordinator.test', fetch: (async () => { throw new Error('connect ECONNREFUSED'); }) as typeof fetch });
    assert.match(await down(), /coordinator at coordinator\.test cannot be asked .*ECONNREFUSED/);
  });
});

describe('Cash out', () => {
  test('no wallet on this machine: not_configured becomes a clear `unsupported`', async () => {
    const { books } = fixture();
    const result = await createEarningsVerbs(() => books).cashOut(undefined);
    assert.equal(!result.ok && result.error.code, 'unsupported');
    assert.match(!result.ok ? result.error.message : '', /started without one/);
  });

  test('sent with the latest voucher for exactly the claimable amount; a second claim waits for the payout', async () => {
    const claims: number[] = [];
    const { books } = fixture((world) => fakeChain(world.worker, async (seq) => void claims.push(seq)));
    const verbs = createEarningsVerbs(() => books);
    assert.deepEqual(value(await verbs.cashOut(undefined)), { nanotons: '531', txHash: null, status: 'sent', seq: 2 });
    assert.deepEqual(claims, [2]);
    const again = await verbs.cashOut(undefined);
    assert.equal(!again.ok && again.error.code, 'unavailable');
    assert.match(!again.ok ? again.error.message : '', /last claim was just sent.*after two minutes, you can Cash out again/);
  });

  test('a vault that is short of what is due, or closed, is said in words, and no claim is sent', async () => {
    const claims: number[] = [];
    // 531 nanotons are claimable; the vault can spend 530 above its reserve.
    const short = fixture((world) => fakeChain(world.worker, async (seq) => void claims.push(seq), { closed: false, balance: 1_530n, reserve: 1_000n }));
    const refused = await createEarningsVerbs(() => short.books).cashOut(undefined);
    assert.equal(!refused.ok && refused.error.code, 'unavailable');
    assert.match(!refused.ok ? refused.error.message : '', /^The network's vault cannot pay what you are owed right now: it can pay 0\.00000053 TON now, and 0\.000000531 TON is due to you\. Nothing was sent and no fee was spent\./);
    const closed = fixture((world) => fakeChain(world.worker, async (seq) => void claims.push(seq), { closed: true, balance: 10n ** 12n, reserve: 0n }));
    const gone = await createEarningsVerbs(() => closed.books).cashOut(undefined);
    assert.match(!gone.ok ? gone.error.message : '', /closed its vault, so it pays no claims/);
    assert.equal(claims.length, 0, 'nothing sent');
    // Exactly what is due is enough.
    const enough = fixture((world) => fakeChain(world.worker, async (seq) => void claims.push(seq), { closed: false, balance: 1_531n, reserve: 1_000n }));
    assert.equal(value(await createEarningsVerbs(() => enough.books).cashOut(undefined)).status, 'sent');
    assert.deepEqual(claims, [2]);
  });

  test('before Cash out is pressed: a vault that cannot pay what is ready, or is closed, is said beside the button, as last read, and read again after a minute', async () => {
    const { world, ledger } = fixture();
    // 531 nanotons are ready; the vault can spend 530 above its reserve.
    const vault = { closed: false, balance: 1_530n, reserve: 1_000n };
    let now = NOW;
    const earnings = new EarningsService({ ledger, now: () => now, dayOf: utcDay, logger: silentLogger, chain: fakeChain(world.worker, undefined, vault) });
    const verbs = createEarningsVerbs(() => ({ ledger, earnings, watcher: undefined, record: async () => undefined, close: () => ledger.close() }), { now: () => now });
    const blocked = async () => {
      const view = value(await verbs.getEarnings({ range: 'today' })).cashOutBlocked;
      await setImmediate(); // the reading the view started, if any, is done
      return view;
    };
    assert.equal(await blocked(), undefined, 'the first view does not wait for the chain: it starts reading the vault');
    assert.deepEqual(await blocked(), {
      code: 'vault_short',
      summary: "The network's vault can pay 0.00000053 TON right now, less than the 0.000000531 TON ready for you, so Cash out would be refused until the network's operator adds funds. What you earned stays owed to you.",
    });
    vault.balance = 10n ** 12n; // the operator tops it up
    now += VAULT_FUNDS_STAND_MS - 1;
    assert.equal((await blocked())?.code, 'vault_short', 'a reading stands for a minute');
    now += 1;
    await blocked();
    assert.equal(await blocked(), undefined, 'read again: it can pay');
    vault.closed = true;
    now += VAULT_FUNDS_STAND_MS;
    await blocked();
    assert.match((await blocked())?.summary ?? '', /^The network has closed its payout vault, so it pays no claims: Cash out would be refused\./);
  });

  test('nothing to claim is an answer, not an error', async () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world, ':memory:', () => NOW);
    ledger.recordJob(job('only', 5n));
    const result = await createEarningsVerbs(() => booksOf(ledger, fakeChain(world.worker))).cashOut(undefined);
    assert.deepEqual(value(result), { nanotons: '0', txHash: null, status: 'nothing-to-claim', seq: null });
  });

  test('wrong wallet, a failed send and a claim in flight are refused in words', async () => {
    const wrong = fixture(() => fakeChain(randomAddress()));
    const refused = await createEarningsVerbs(() => wrong.books).cashOut(undefined);
    assert.equal(!refused.ok && refused.error.code, 'invalid-address');
    assert.match(!refused.ok ? refused.error.message : '', /not the payout address your earnings are owed to/);

    const broken = fixture((world) => fakeChain(world.worker, async () => { throw new Error('connect ECONNREFUSED 127.0.0.1:8789'); }));
    const failed = await createEarningsVerbs(() => broken.books).cashOut(undefined);
    assert.equal(!failed.ok && failed.error.code, 'unavailable');
    assert.match(!failed.ok ? failed.error.message : '', /could not be sent to the chain \(connect ECONNREFUSED 127\.0\.0\.1:8789\)\. Nothing was claimed/);

    let release: () => void = () => undefined;
    const slow = fixture((world) => fakeChain(world.worker, () => new Promise<void>((resolve) => (release = resolve))));
    const verbs = createEarningsVerbs(() => slow.books);
    const first = verbs.cashOut(undefined);
    const second = await verbs.cashOut(undefined);
    assert.equal(!second.ok && second.error.message, 'A claim is being sent right now; wait for it to finish.');
    release();
    assert.equal((await first).ok, true);
  });
});

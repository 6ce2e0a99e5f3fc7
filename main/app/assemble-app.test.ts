import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Address } from '@ton/core';
import { createTestServices } from './testing/fake-core.js';
import { LogRing } from './log-ring.js';
import { NO_PAYOUT_ADDRESS } from './books-status.js';
import type { PushName } from '../ipc/contract.js';
import { CHECK_NOTICE_GAP_MS } from './notifications.js';
import { ledgerWorld, openTestLedger } from '../ledger/testing/ledger-fixtures.js';
import { CHAIN_GLOBAL_ID } from '../../network/protocol/voucher.js';

test('setSharingMode switches the real controller and stores the settings', async () => {
  const { services, fake, dataDir } = await createTestServices();
  await fake.sharing.poll();
  const result = await services.handlers.setSharingMode({ mode: 'idle' });
  assert.ok(result.ok);
  assert.equal(result.value.sharing.mode, 'idle');
  assert.equal(result.value.sharing.state, 'sharing');
  assert.match(result.value.sharing.summary, /away/);
  const stored = JSON.parse(await readFile(join(dataDir, 'app-settings.json'), 'utf8')) as { sharing: { mode: string } };
  assert.equal(stored.sharing.mode, 'idle');
});

test('settings changes are validated by the sharing settings schema, each problem named beside its field', async () => {
  const { services } = await createTestServices();
  const bad = await services.handlers.updateSharingSettings({ patch: { idleThresholdMinutes: 0, maxGpuTempC: 150 } });
  assert.equal(!bad.ok && bad.error.code, 'invalid-settings');
  assert.deepEqual(!bad.ok && bad.error.fields, [
    { path: 'idleThresholdMinutes', message: 'Away after must be at least 1 min.' },
    { path: 'maxGpuTempC', message: 'Max GPU temperature can be at most 110 °C.' },
  ]);
  assert.equal(!bad.ok && bad.error.message, 'Away after must be at least 1 min.', 'the message is plain words, never the schema’s');
  const good = await services.handlers.updateSharingSettings({ patch: { idleThresholdMinutes: 9, polite: { maxVramMb: 2048 } } });
  assert.ok(good.ok);
  assert.equal(good.value.idleThresholdMinutes, 9);
  assert.equal(good.value.polite.maxVramMb, 2048);
  assert.equal(good.value.polite.maxGpuLayers, 20, 'other polite caps are kept');
});

test('the payout address is checked (checksum, network) and stored non-bounceable', async () => {
  const { services, dataDir } = await createTestServices();
  const raw = new Address(0, Buffer.alloc(32, 3));
  const mainnet = await services.handlers.setPayoutAddress({ address: raw.toString({ testOnly: false }) });
  assert.equal(!mainnet.ok && mainnet.error.code, 'wrong-network');
  const typo = raw.toString({ testOnly: true }).slice(0, -1) + 'A';
  const broken = await services.handlers.setPayoutAddress({ address: typo === raw.toString({ testOnly: true }) ? 'x' : typo });
  assert.equal(!broken.ok && broken.error.code, 'invalid-address');
  const rawForm = await services.handlers.setPayoutAddress({ address: raw.toRawString() });
  assert.equal(!rawForm.ok && rawForm.error.code, 'invalid-address');
  const saved = await services.handlers.setPayoutAddress({ address: raw.toString({ testOnly: true, bounceable: true }) });
  assert.ok(saved.ok);
  assert.equal(saved.value.payoutAddress, raw.toString({ testOnly: true, bounceable: false }));
  const stored = JSON.parse(await readFile(join(dataDir, 'app-settings.json'), 'utf8')) as { payoutAddress: string };
  assert.equal(stored.payoutAddress, saved.value.payoutAddress);
  const cleared = await services.handlers.clearPayoutAddress(undefined);
  assert.ok(cleared.ok && cleared.value.payoutAddress === null);
});

test('earnings: session counters are real; without books the earnings verbs say why', async () => {
  const { services, fake } = await createTestServices();
  fake.worker.emit('job-started', { jobId: 'job-1', model: 'tiny-model' });
  fake.worker.counters.jobsServed = 1;
  fake.worker.counters.tokensGenerated = 16;
  fake.worker.emit('job-ended', { jobId: 'job-1', outcome: 'done', completionTokens: 16 });
  fake.worker.emit('receipt', { type: 'job.receipt', jobId: 'job-1', model: 'tiny-model', earnedNanotons: '531', cumulativeNanotons: '531', account: 'worker:worker-test', usage: { promptTokens: 1, completionTokens: 16 } });
  const session = await services.handlers.getSessionEarnings(undefined);
  assert.ok(session.ok);
  assert.equal(session.value.jobsServed, 1);
  assert.equal(session.value.tokensGenerated, 16);
  assert.equal(session.value.reportedNanotons, '531');
  for (const call of [services.handlers.getEarnings({ range: 'today' }), services.handlers.listReceipts({ limit: 5 }), services.handlers.cashOut(undefined)]) {
    const result = await call;
    assert.deepEqual(!result.ok && result.error, { code: 'unavailable', message: NO_PAYOUT_ADDRESS });
  }
  const state = await services.handlers.getState(undefined);
  assert.ok(state.ok);
  assert.equal(state.value.lastJob?.model, 'tiny-model');
  assert.equal(state.value.lastJob?.completionTokens, 16);
});

test('pushes follow the worker: state, job, session and log lines', async () => {
  const logs = new LogRing(10);
  const { services, fake } = await createTestServices({ logs });
  const seen: PushName[] = [];
  const stop = services.subscribe((name) => void seen.push(name));
  fake.worker.emit('connected');
  fake.worker.emit('job-started', { jobId: 'job-1', model: 'm' });
  fake.worker.emit('job-ended', { jobId: 'job-1', outcome: 'failed', completionTokens: 0, code: 'internal' });
  logs.write(JSON.stringify({ level: 30, time: '2025-01-01T00:00:00.000Z', subsystem: 'worker', msg: 'hello' }));
  stop();
  fake.worker.emit('connected');
  assert.deepEqual(seen, ['state', 'job', 'state', 'job', 'session', 'state', 'log']);
});

test('auto-start is refused where the shell cannot do it, and applied where it can', async () => {
  const { services } = await createTestServices();
  const refused = await services.handlers.setAutoStart({ enabled: true });
  assert.equal(!refused.ok && refused.error.code, 'unsupported');
  let enabled = false;
  const desktop = await createTestServices({ shell: { kind: 'electron', autoStart: { get: () => enabled, set: (value: boolean) => void (enabled = value) } } });
  const applied = await desktop.services.handlers.setAutoStart({ enabled: true });
  assert.ok(applied.ok && applied.value === true);
});

test('the doctor and the report say what the machine is, and the report is redacted', async () => {
  const logs = new LogRing(10);
  const { services, fake } = await createTestServices({ logs });
  await fake.sharing.poll();
  const address = new Address(0, Buffer.alloc(32, 9)).toString({ testOnly: true });
  logs.write(JSON.stringify({ level: 30, time: '2025-01-01T00:00:00.000Z', subsystem: 'worker', msg: `paying ${address}`, key: 'a'.repeat(64) }));
  const doctor = await services.handlers.getDoctor(undefined);
  assert.ok(doctor.ok);
  const byId = Object.fromEntries(doctor.value.checks.map((check) => [check.id, check]));
  assert.equal(byId.sandbox?.status, 'ok');
  assert.equal(byId.acceleration?.status, 'ok');
  assert.match(byId.telemetry?.detail ?? '', /Test GPU · 54 °C/);
  const report = await services.handlers.getReport(undefined);
  assert.ok(report.ok);
  assert.match(report.value.text, /Hardware|Checks:/);
  assert.ok(!report.value.text.includes(address), 'address masked');
  assert.ok(!report.value.text.includes('a'.repeat(64)), 'long hex masked');
});

test('electricity: stored, shown as the owner’s TON price, and cleared; setup ends once', async () => {
  const { services, dataDir } = await createTestServices({ firstRun: true, fetch: (async () => Response.json({})) as typeof fetch });
  const first = await services.handlers.getSettings(undefined);
  assert.ok(first.ok);
  assert.equal(first.value.electricity, null);
  assert.equal(first.value.fiat, null, 'no price typed and none published: TON only');
  assert.equal(first.value.setupPending, true, 'a first run walks the owner through setup');

  const saved = await services.handlers.setElectricity({ electricity: { pricePerKwh: '0.30', currency: 'EUR', tonPrice: '3', watts: 250 } });
  assert.ok(saved.ok);
  assert.deepEqual(saved.value.electricity, { pricePerKwh: '0.30', currency: 'EUR', tonPrice: '3', watts: 250 });
  assert.deepEqual(saved.value.fiat, { currency: 'EUR', perTon: '3', source: 'owner' });

  const done = await services.handlers.completeSetup(undefined);
  assert.ok(done.ok && done.value.setupPending === false);
  const stored = JSON.parse(await readFile(join(dataDir, 'app-settings.json'), 'utf8')) as { setupDone: boolean; electricity: unknown };
  assert.equal(stored.setupDone, true);
  assert.deepEqual(stored.electricity, { pricePerKwh: '0.30', currency: 'EUR', tonPrice: '3', watts: 250 });

  const cleared = await services.handlers.setElectricity({ electricity: null });
  assert.ok(cleared.ok && cleared.value.electricity === null && cleared.value.fiat === null);
});

test('a rate the coordinator publishes is used when the owner typed none', async () => {
  const fetch = (async (url: URL) => (String(url).endsWith('/v1/pricing') ? Response.json({ ton_price: { currency: 'USD', price: '3.1' } }) : new Response('', { status: 404 }))) as typeof globalThis.fetch;
  const { services } = await createTestServices({ fetch });
  const settings = await services.handlers.getSettings(undefined);
  assert.deepEqual(settings.ok && settings.value.fiat, { currency: 'USD', perTon: '3.1', source: 'coordinator' });
});

test('a coordinator that refuses this worker: the owner is told why and what to do, once, until it is welcomed again', async () => {
  const notes: [string, string][] = [];
  const { services, fake } = await createTestServices({ shell: { kind: 'dashboard', notify: (title: string, body: string) => void notes.push([title, body]) } });
  fake.worker.emit('connected');
  const refusal = { code: 'worker_ejected' as const, message: 'This worker failed too many checks of its answers.' };
  fake.worker.emit('refused', refusal);
  fake.worker.emit('disconnected', 'closed (4008 worker_ejected)');
  fake.worker.emit('refused', refusal); // the link asks again, and hears the same
  const state = await services.handlers.getState(undefined);
  assert.ok(state.ok);
  assert.equal(state.value.worker.status, 'refused', 'a refusal stands through the dropped connection');
  assert.equal(state.value.worker.refusal, 'The network no longer accepts this PC');
  assert.match(state.value.worker.lastError ?? '', /failed the network’s checks three times.*overclock.*The network said: “This worker failed too many checks of its answers\.”/);
  const doctor = await services.handlers.getDoctor(undefined);
  assert.ok(doctor.ok);
  const network = doctor.value.checks.find((c) => c.id === 'coordinator');
  assert.equal(network?.status, 'fail');
  assert.match(network?.detail ?? '', /^The network no longer accepts this PC\. Answers from this PC failed/);
  assert.deepEqual(notes.map(([title]) => title), ['The network no longer accepts this PC'], 'one notification for the refusal, not one per try');
  // Another key bound to this id: said differently.
  fake.worker.emit('refused', { code: 'identity_mismatch', message: '' });
  const mismatch = await services.handlers.getState(undefined);
  assert.ok(mismatch.ok);
  assert.equal(mismatch.value.worker.refusal, 'The network knows this PC by another key');
  assert.doesNotMatch(mismatch.value.worker.lastError ?? '', /The network said/, 'no empty quote');
  // Welcomed again (the operator lifted it): online, and a later refusal notifies again.
  fake.worker.emit('connected');
  const back = await services.handlers.getState(undefined);
  assert.ok(back.ok);
  assert.deepEqual([back.value.worker.status, back.value.worker.lastError, back.value.worker.refusal], ['connected', null, undefined]);
  assert.ok(back.value.revision > mismatch.value.revision && mismatch.value.revision > state.value.revision, 'each snapshot is newer than the last: the page keeps the newest of an answer and a push');
  fake.worker.emit('refused', refusal);
  assert.equal(notes.length, 2);
});

test('a network this version cannot work with, or whose terms it cannot use, is said plainly, without the worker-id advice of an ejection; a strike stands through it', async () => {
  const notes: [string, string][] = [];
  const { services, fake } = await createTestServices({ shell: { kind: 'dashboard', notify: (title: string, body: string) => void notes.push([title, body]) } });
  fake.worker.emit('connected');
  fake.worker.emit('check-failed', { type: 'check_failed', strikes: 1, ejectAt: 3, message: '' });
  const seen = async () => {
    const state = await services.handlers.getState(undefined);
    assert.ok(state.ok);
    return state.value.worker;
  };
  fake.worker.emit('refused', { code: 'client_too_old', message: 'Worker speaks protocol 5–5; this coordinator needs at least 6. Update Silkworm.' });
  let worker = await seen();
  assert.deepEqual([worker.status, worker.refusal, worker.refusalCode], ['refused', 'Silkworm needs an update', 'client_too_old']);
  assert.match(worker.lastError ?? '', /^The network no longer works with this version of Silkworm.*Update Silkworm: sharing starts again by itself.*The network said: “Worker speaks protocol 5–5/);
  fake.worker.emit('refused', { code: 'server_too_old', message: '' });
  worker = await seen();
  assert.equal(worker.refusal, 'The network needs an update');
  assert.match(worker.lastError ?? '', /Its operator must update it/);
  fake.worker.emit('refused', { code: 'unusable_welcome', message: '', detail: "Invalid 'settlement.vault': expected a TON address" });
  worker = await seen();
  assert.equal(worker.refusal, 'The network’s terms cannot be used');
  assert.match(worker.lastError ?? '', /cannot read.*choose another network in Settings\. \(What was wrong: Invalid 'settlement\.vault': expected a TON address\)$/);
  assert.doesNotMatch(worker.lastError ?? '', /The network said/, 'the app’s finding is not put in the network’s mouth');
  const doctor = await services.handlers.getDoctor(undefined);
  assert.ok(doctor.ok);
  assert.equal(doctor.value.checks.find((c) => c.id === 'coordinator')?.status, 'fail');
  // Welcomed again (the operator updated the network): online, and the strike is still the owner's to see.
  fake.worker.emit('connected');
  worker = await seen();
  assert.deepEqual([worker.status, worker.refusalCode, worker.failedCheck?.strikes], ['connected', undefined, 1]);
  assert.deepEqual(notes.map(([title]) => title), ['An answer from this PC failed the network’s check', 'Silkworm needs an update']);
});

test('jobs paid by a network whose vault would refuse every cash-out: the owner is told once, when a receipt comes', async () => {
  const notes: [string, string][] = [];
  const { fake } = await createTestServices({ shell: { kind: 'dashboard', notify: (title: string, body: string) => void notes.push([title, body]) } });
  const world = ledgerWorld();
  const ledger = openTestLedger(world);
  (fake.core as { books: () => unknown }).books = () => ({ ledger });
  fake.worker.emit('receipt', { seq: 1 });
  assert.equal(notes.length, 0, 'the vault’s terms not known yet: nothing to say');
  ledger.setVaultTerms({ publicKey: world.identity.coordinatorPublicKey, globalId: CHAIN_GLOBAL_ID.testnet });
  fake.worker.emit('receipt', { seq: 2 });
  assert.equal(notes.length, 0, 'the vault holds the network’s key: all is well');
  ledger.setVaultTerms({ publicKey: 'ab'.repeat(32), globalId: CHAIN_GLOBAL_ID.testnet });
  fake.worker.emit('receipt', { seq: 3 });
  fake.worker.emit('receipt', { seq: 4 });
  assert.deepEqual(notes.map(([title]) => title), ['Earnings from this network cannot be cashed out'], 'once, not once per job');
  assert.match(notes[0]?.[1] ?? '', /key its payout vault on the TON chain does not hold.*ask its operator, or choose another network in Settings/);
  ledger.close();
});

test('an answer that failed the network’s check: the owner is told at each strike, before any ejection', async () => {
  const notes: [string, string][] = [];
  let clock = 1_000_000;
  const { services, fake } = await createTestServices({ now: () => clock, shell: { kind: 'dashboard', notify: (title: string, body: string) => void notes.push([title, body]) } });
  fake.worker.emit('connected');
  fake.worker.emit('check-failed', { type: 'check_failed', strikes: 1, ejectAt: 3, message: 'An answer failed a check.' });
  const state = await services.handlers.getState(undefined);
  assert.ok(state.ok);
  assert.equal(state.value.worker.status, 'connected', 'still accepted');
  assert.equal(state.value.worker.failedCheck?.title, 'An answer from this PC failed the network’s check');
  assert.match(state.value.worker.failedCheck?.sentence ?? '', /not paid\. This is strike 1 of 3: 2 more and the network stops accepting this PC\. If you did not change Silkworm.*The network said: “An answer failed a check\.”/);
  fake.worker.emit('disconnected', 'closed (1006)');
  fake.worker.emit('connected');
  clock += CHECK_NOTICE_GAP_MS;
  fake.worker.emit('check-failed', { type: 'check_failed', strikes: 2, ejectAt: 3, message: '' });
  // A coordinator sending them by the thousand (with numbers that do not add up): the Dashboard
  // shows the latest, the desktop hears of none until the gap has passed.
  const pushed: PushName[] = [];
  const stopPushes = services.subscribe((name) => void pushed.push(name));
  for (let i = 0; i < 1000; i++) fake.worker.emit('check-failed', { type: 'check_failed', strikes: 7, ejectAt: 3, message: 'x'.repeat(2000) });
  stopPushes();
  assert.equal(pushed.filter((name) => name === 'state').length, 1, 'the same notice a thousand times is one update of the page');
  const flood = await services.handlers.getState(undefined);
  assert.ok(flood.ok);
  assert.match(flood.value.worker.failedCheck?.sentence ?? '', /strike 7 of 3: one more and/, 'never “-4 more”');
  assert.ok((flood.value.worker.failedCheck?.sentence.length ?? 0) < 1000, 'the coordinator’s words are cut short');
  fake.worker.emit('check-failed', { type: 'check_failed', strikes: 2, ejectAt: 3, message: '' });
  const second = await services.handlers.getState(undefined);
  assert.ok(second.ok);
  assert.match(second.value.worker.failedCheck?.sentence ?? '', /strike 2 of 3: one more and/, 'kept across reconnects, and the latest shown');
  const doctor = await services.handlers.getDoctor(undefined);
  assert.ok(doctor.ok);
  assert.equal(doctor.value.checks.find((c) => c.id === 'answers')?.status, 'warn');
  assert.deepEqual(notes.map(([title]) => title), ['An answer from this PC failed the network’s check', 'An answer from this PC failed the network’s check'], 'one notification per failed check');
  // Ejected, then taken back by the operator: the strikes went with the refusal.
  fake.worker.emit('refused', { code: 'worker_ejected', message: '' });
  fake.worker.emit('connected');
  const back = await services.handlers.getState(undefined);
  assert.ok(back.ok);
  assert.equal(back.value.worker.failedCheck, null);
});

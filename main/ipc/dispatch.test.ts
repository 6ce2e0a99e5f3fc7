import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dispatch, findSecretField, pushToWire, RECOVERY_PHRASE_VERBS, toWire, type VerbHandlers } from './dispatch.js';
import { VERB_NAMES } from './contract.js';
import { ok } from './result.js';
import { createTestServices } from '../app/testing/fake-core.js';

test('unknown verbs are refused, including inherited property names', async () => {
  const { services } = await createTestServices();
  for (const verb of ['nope', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 42, null, undefined, { verb: 'getState' }]) {
    const result = await dispatch(services.handlers, verb, {});
    assert.equal(result.ok, false, `verb ${String(verb)}`);
    if (!result.ok) assert.equal(result.error.code, 'unknown-verb');
  }
});

test('arguments that do not match the schema are refused before any handler runs', async () => {
  let calls = 0;
  const { services } = await createTestServices();
  const handlers = { ...services.handlers, setSharingMode: () => (calls++, ok(null)) } as unknown as VerbHandlers;
  const bad = [
    { mode: 'everything' },
    { mode: 1 },
    { mode: 'idle', extra: true },
    { mode: 'idle', __proto__: { admin: true } },
    JSON.parse('{"mode":"idle","__proto__":{"admin":true}}'),
    'idle',
    ['idle'],
    null,
  ];
  for (const args of bad) {
    const result = await dispatch(handlers, 'setSharingMode', args);
    assert.equal(result.ok, false, JSON.stringify(args));
    if (!result.ok) assert.equal(result.error.code, 'bad-arguments');
  }
  const huge = await dispatch(handlers, 'setPayoutAddress', { address: 'x'.repeat(1_000_000) });
  assert.equal(huge.ok, false);
  const patch = await dispatch(handlers, 'updateSharingSettings', { patch: { idleThresholdMinutes: 'soon' } });
  assert.equal(patch.ok, false);
  const unknownField = await dispatch(handlers, 'updateSharingSettings', { patch: { shareEverything: true } });
  assert.equal(unknownField.ok, false);
  assert.equal(calls, 0);
});

test('a handler that throws becomes a plain internal error without its message', async () => {
  const { services } = await createTestServices();
  const handlers = { ...services.handlers, getState: () => { throw new Error('secret detail /home/owner/.ssh'); } } as unknown as VerbHandlers;
  const result = await dispatch(handlers, 'getState', undefined);
  assert.deepEqual(result, { ok: false, error: { code: 'internal', message: 'getState failed unexpectedly; see Diagnostics → Logs.' } });
});

test('secret-looking fields never cross, wherever they are nested', async () => {
  assert.equal(findSecretField({ a: [{ b: { mnemonic: 'x' } }] }), '$.a.0.b.mnemonic');
  assert.equal(findSecretField({ secretKey: 'x' }), '$.secretKey');
  assert.equal(findSecretField({ payoutAddress: 'UQ…', jobsServed: 1 }), null);
  const { services } = await createTestServices();
  const handlers = { ...services.handlers, getWallet: () => ok({ payoutAddress: null, network: 'testnet', announcedAddress: null, keys: { privateKey: 'abcd' } }) } as unknown as VerbHandlers;
  const result = await dispatch(handlers, 'getWallet', {});
  assert.equal(result.ok, false);
  if (!result.ok) assert.equal(result.error.code, 'internal');
});

test('only plain JSON data crosses: class instances become data, bigints are refused', () => {
  assert.deepEqual(toWire({ at: new Date(0), list: new Set([1]) }), { ok: true, value: { at: '1970-01-01T00:00:00.000Z', list: {} } });
  assert.equal(toWire({ nanotons: 10n }).ok, false);
  const getter = toWire({ get value() { throw new Error('boom'); } });
  assert.equal(getter.ok, false);
});

test('every verb answers a plain, secret-free value or a typed error', async () => {
  const { services } = await createTestServices();
  const args: Record<string, unknown> = {
    setSharingMode: { mode: 'idle' },
    updateSharingSettings: { patch: { idleThresholdMinutes: 7 } },
    setAutoStart: { enabled: true },
    setElectricity: { electricity: { pricePerKwh: '0.30', currency: 'EUR', tonPrice: '3', watts: null } },
    setPayoutAddress: { address: 'kQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    getEarnings: { range: 'today' },
    openLink: { url: 'https://tonviewer.com/' },
    listReceipts: { limit: 5 },
    listPayouts: { limit: 5 },
    exportEarningsCsv: { range: '7d' },
    downloadModel: { id: 'no-such-model' },
    cancelDownload: { id: 'no-such-model' },
    useModel: { id: 'no-such-model' },
    removeModel: { id: 'no-such-model' },
    createLocalWallet: { passphrase: 'dispatch-test-passphrase' },
    importLocalWallet: { words: 'abandon '.repeat(24) },
    revealRecoveryPhrase: { passphrase: 'dispatch-test-passphrase' },
  };
  for (const verb of VERB_NAMES) {
    const result = await dispatch(services.handlers, verb, args[verb] ?? {});
    // The recovery words cross only as `$.words` of the two verbs that exist to show them.
    if (result.ok) assert.equal(findSecretField(result.value), RECOVERY_PHRASE_VERBS.has(verb) ? '$.words' : null, verb);
    else assert.ok(['unavailable', 'unsupported', 'invalid-address', 'wrong-network', 'unreachable', 'invalid-recovery-phrase'].includes(result.error.code), `${verb}: ${result.error.code} ${result.error.message}`);
    assert.deepEqual(JSON.parse(JSON.stringify(result)), result, `${verb} is plain data`);
  }
});

test('the recovery words never cross anywhere else: other verbs, pushes, the wallet view, logs, the report', async () => {
  const { LogRing } = await import('../app/log-ring.js');
  const { createLogger } = await import('../../network/node-kit/log.js');
  const logs = new LogRing();
  const { services } = await createTestServices({ logs, logger: createLogger('test', { level: 'debug', destination: logs }) });
  const pushes: unknown[] = [];
  services.subscribe((_name, payload) => void pushes.push(payload));
  const created = await dispatch(services.handlers, 'createLocalWallet', { passphrase: 'a long passphrase' });
  assert.ok(created.ok);
  const { words } = created.value as { words: string[] };
  assert.equal(words.length, 24);
  await dispatch(services.handlers, 'confirmWalletBackup', {});
  const revealed = await dispatch(services.handlers, 'revealRecoveryPhrase', { passphrase: 'a long passphrase' });
  assert.deepEqual(revealed.ok && (revealed.value as { words: string[] }).words, words);
  const wrong = await dispatch(services.handlers, 'revealRecoveryPhrase', { passphrase: 'not it at all' });
  assert.equal(!wrong.ok && wrong.error.code, 'wrong-passphrase');
  const phrase = words.join(' ');
  const elsewhere = [
    await dispatch(services.handlers, 'getWallet', {}),
    await dispatch(services.handlers, 'getReport', {}),
    await dispatch(services.handlers, 'getLogs', {}),
    pushes,
    logs.entries(1000),
  ];
  for (const value of elsewhere) {
    const text = JSON.stringify(value);
    assert.ok(!text.includes(phrase) && !words.slice(0, 3).every((w) => text.includes(`"${w}"`)), `words leaked: ${text.slice(0, 200)}`);
  }
  const handlers = { ...services.handlers, getWallet: () => ok({ words }) } as unknown as VerbHandlers;
  const refused = await dispatch(handlers, 'getWallet', {});
  assert.equal(!refused.ok && refused.error.code, 'internal', 'any other verb answering words is refused');
  const nested = { ...services.handlers, revealRecoveryPhrase: () => ok({ words, extra: { mnemonic: words } }) } as unknown as VerbHandlers;
  assert.equal((await dispatch(nested, 'revealRecoveryPhrase', { passphrase: 'x' })).ok, false, 'only $.words, nothing nested');
  assert.equal(pushToWire('wallet', { words }), null, 'never in a push');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { Address } from '@ton/core';
import { mnemonicToPrivateKey } from '@ton/crypto';
import { WalletContractV5R1 } from '@ton/ton';
import { LocalWallet, normaliseWords } from './local-wallet.js';
import type { OsKeychain } from './key-vault.js';
import { testTempDir } from '../app/testing/temp-dir.js';

const PASS = 'correct horse battery';
const tempDir = () => testTempDir('silkworm-wallet-');

test('create: a valid V5R1 address for the network, words encrypted, file 0600', async () => {
  const dir = await tempDir();
  const wallet = new LocalWallet({ dir, network: 'testnet' });
  assert.equal(wallet.needsPassphrase().required, true, 'headless: passphrase + scrypt');
  const missing = await wallet.create();
  assert.equal(!missing.ok && missing.error.code, 'passphrase-required');
  const short = await wallet.create('short');
  assert.equal(!short.ok && short.error.code, 'passphrase-required');

  const created = await wallet.create(PASS);
  assert.ok(created.ok);
  const { address, words } = created.value;
  assert.equal(words.length, 24);
  const parsed = Address.parseFriendly(address);
  assert.equal(parsed.isTestOnly, true);
  assert.equal(parsed.isBounceable, false);
  const key = await mnemonicToPrivateKey(words);
  const expected = WalletContractV5R1.create({ workchain: 0, publicKey: key.publicKey, walletId: { networkGlobalId: -3 } });
  assert.ok(parsed.address.equals(expected.address), 'V5R1 with the testnet network id');
  const mainnetForm = WalletContractV5R1.create({ workchain: 0, publicKey: key.publicKey, walletId: { networkGlobalId: -239 } });
  assert.ok(!parsed.address.equals(mainnetForm.address));

  const bytes = await readFile(wallet.vault.file, 'utf8');
  // No two neighbouring words in any spelling (space, comma, quotes…). Single words are not
  // checked alone: the file's own JSON keys ("tag", say) are BIP-39 words too.
  for (let i = 0; i + 1 < words.length; i++) assert.ok(!new RegExp(`\\b${words[i]}\\W+${words[i + 1]}\\b`).test(bytes), `"${words[i]} ${words[i + 1]}" is not in the file`);
  assert.ok(bytes.includes(address), 'the address is in the clear header');
  assert.equal((await stat(wallet.vault.file)).mode & 0o777, 0o600);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);

  const again = await wallet.create(PASS);
  assert.equal(!again.ok && again.error.code, 'wallet-exists', 'never overwrites a wallet');
  const status = await wallet.status();
  assert.ok(status.ok && status.value);
  assert.deepEqual([status.value.address, status.value.backedUp, status.value.protection], [address, false, 'passphrase']);
  assert.ok((await wallet.confirmBackup()).ok);
  const confirmed = await wallet.status();
  assert.equal(confirmed.ok && confirmed.value?.backedUp, true);
  const revealed = await wallet.reveal(PASS);
  assert.deepEqual(revealed.ok && revealed.value, words, 'the header rewrite kept the secret');
});

test('a wrong passphrase is refused and loses nothing', async () => {
  const wallet = new LocalWallet({ dir: await tempDir(), network: 'testnet' });
  const created = await wallet.create(PASS);
  assert.ok(created.ok);
  const before = await readFile(wallet.vault.file);
  const wrong = await wallet.reveal('not the passphrase');
  assert.equal(!wrong.ok && wrong.error.code, 'wrong-passphrase');
  const none = await wallet.reveal();
  assert.equal(!none.ok && none.error.code, 'passphrase-required');
  assert.deepEqual(await readFile(wallet.vault.file), before);
  const right = await wallet.reveal(PASS);
  assert.deepEqual(right.ok && right.value, created.value.words);
});

test('import: the same words give the same address; bad phrases are refused before any write', async () => {
  const first = new LocalWallet({ dir: await tempDir(), network: 'mainnet' });
  const created = await first.create(PASS);
  assert.ok(created.ok);
  assert.match(created.value.address, /^UQ/, 'mainnet, non-bounceable');
  const dir = await tempDir();
  const second = new LocalWallet({ dir, network: 'mainnet' });
  const numbered = created.value.words.map((word, i) => `${i + 1}. ${word.toUpperCase()}`).join('\n');
  assert.deepEqual(normaliseWords(numbered), created.value.words);
  const bad = await second.import([...created.value.words.slice(0, 23), created.value.words[0] === 'abandon' ? 'zoo' : 'abandon'], PASS);
  assert.equal(!bad.ok && bad.error.code, 'invalid-recovery-phrase');
  const short = await second.import('abandon ability able', PASS);
  assert.equal(!short.ok && short.error.code, 'invalid-recovery-phrase');
  const status = await second.status();
  assert.equal(status.ok && status.value, null, 'nothing written');
  const imported = await second.import(numbered, 'another passphrase');
  assert.ok(imported.ok);
  assert.equal(imported.value.address, created.value.address);
  const st = await second.status();
  assert.equal(st.ok && st.value?.backedUp, true, 'imported words are already written down');
});

test('a crash mid-write leaves the old file readable', async () => {
  const wallet = new LocalWallet({ dir: await tempDir(), network: 'testnet' });
  const created = await wallet.create(PASS);
  assert.ok(created.ok);
  // A write that died after the temp file, before the rename: a stray, half-written .tmp.
  await writeFile(`${wallet.vault.file}.tmp`, '{"format":"silkworm-local-wal');
  const reopened = new LocalWallet({ dir: wallet.vault.dir, network: 'testnet' });
  const status = await reopened.status();
  assert.equal(status.ok && status.value?.address, created.value.address);
  const words = await reopened.reveal(PASS);
  assert.deepEqual(words.ok && words.value, created.value.words);
  assert.ok((await reopened.confirmBackup()).ok, 'the next write replaces the stray temp file');
  const again = await reopened.reveal(PASS);
  assert.ok(again.ok);
});

test('a damaged file is reported, never overwritten', async () => {
  const wallet = new LocalWallet({ dir: await tempDir(), network: 'testnet' });
  assert.ok((await wallet.create(PASS)).ok);
  await writeFile(wallet.vault.file, 'garbage');
  const status = await wallet.status();
  assert.equal(!status.ok && status.error.code, 'unavailable');
  const create = await wallet.create(PASS);
  assert.equal(create.ok, false);
  assert.equal(await readFile(wallet.vault.file, 'utf8'), 'garbage');
});

test('with an OS keychain the words are sealed by it; a basic_text-like keychain falls back to a passphrase', async () => {
  const sealed: Buffer[] = [];
  const keychain: OsKeychain = {
    problem: () => null,
    encrypt: (plain) => {
      const data = Buffer.from(Buffer.from(plain, 'utf8').map((b) => b ^ 0x5a));
      sealed.push(data);
      return data;
    },
    decrypt: (data) => Buffer.from(data.map((b) => b ^ 0x5a)).toString('utf8'),
  };
  const wallet = new LocalWallet({ dir: await tempDir(), network: 'testnet', keychain });
  assert.equal(wallet.needsPassphrase().required, false);
  const created = await wallet.create();
  assert.ok(created.ok);
  assert.equal(sealed.length, 1);
  const words = await wallet.reveal();
  assert.deepEqual(words.ok && words.value, created.value.words);

  const basicText = new LocalWallet({ dir: await tempDir(), network: 'testnet', keychain: { ...keychain, problem: () => 'No keyring is running.' } });
  assert.equal(basicText.needsPassphrase().required, true);
  const refused = await basicText.create();
  assert.equal(!refused.ok && refused.error.code, 'passphrase-required');
  assert.match(!refused.ok ? refused.error.message : '', /No keyring/);
  const withPass = await basicText.create(PASS);
  assert.ok(withPass.ok);
  const status = await basicText.status();
  assert.equal(status.ok && status.value?.protection, 'passphrase');
});

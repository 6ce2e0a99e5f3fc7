/** The command line as scripts use it: --help everywhere, clear errors and exit codes for bad input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WalletContractV5R1 } from '@ton/ton';
import { Address } from '@ton/core';
import { keyPairFromSeed } from '@ton/crypto';

const CLI = fileURLToPath(new URL('../bin/silkworm.mjs', import.meta.url));
const silkworm = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

test('every command answers --help with its usage', () => {
  for (const [command, usage] of [
    ['demo', /Usage: silkworm demo/],
    ['coordinator', /Usage: silkworm coordinator --listen HOST:PORT --data DIR/],
    ['worker', /Usage: silkworm worker --coordinator URL --data DIR --model FILE/],
    ['gateway', /Usage: silkworm gateway --coordinator URL/],
    ['chain', /Usage: silkworm chain --listen HOST:PORT --data DIR/],
    ['model', /Usage: silkworm model make-test OUT\.gguf/],
  ] as const) {
    const r = silkworm(command, '--help');
    assert.equal(r.status, 0, command);
    assert.match(r.stdout, usage);
  }
});

test('unknown commands and options are refused with exit codes and a reason', () => {
  const unknown = silkworm('mine-bitcoin');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'mine-bitcoin'/);
  const option = silkworm('worker', '--turbo');
  assert.equal(option.status, 1);
  assert.match(option.stderr, /Unknown option '--turbo'/);
});

test('worker arguments are checked before anything starts', () => {
  const noModel = silkworm('worker', '--coordinator', 'http://127.0.0.1:9');
  assert.match(noModel.stderr, /--model FILE is required/);
  const mainnet = WalletContractV5R1.create({ workchain: 0, publicKey: keyPairFromSeed(Buffer.alloc(32, 3)).publicKey }).address.toString({ bounceable: false });
  const typo = `${mainnet.slice(0, 20)}${mainnet[20] === 'A' ? 'B' : 'A'}${mainnet.slice(21)}`;
  const typoRun = silkworm('worker', '--coordinator', 'http://127.0.0.1:9', '--model', 'x.gguf', '--payout-address', typo);
  assert.equal(typoRun.status, 1);
  assert.match(typoRun.stderr, /not a valid TON address/);
  const wrongNetwork = silkworm('worker', '--coordinator', 'http://127.0.0.1:9', '--model', 'x.gguf', '--payout-address', mainnet);
  assert.equal(wrongNetwork.status, 1);
  assert.match(wrongNetwork.stderr, /is a mainnet address but this worker is on testnet/);
  // The payout vault refuses masterchain addresses (fees there are ~10x): so does the worker.
  const masterchain = new Address(-1, Buffer.alloc(32, 4)).toString({ bounceable: false, testOnly: true });
  const masterchainRun = silkworm('worker', '--coordinator', 'http://127.0.0.1:9', '--model', 'x.gguf', '--payout-address', masterchain);
  assert.equal(masterchainRun.status, 1);
  assert.match(masterchainRun.stderr, /is on workchain -1; payouts go to the basechain/);
  const missing = silkworm('worker', '--coordinator', 'http://127.0.0.1:9', '--model', '/nonexistent/model.gguf', '--data', '/tmp/silkworm-cli-test');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /model file \/nonexistent\/model\.gguf does not exist/);
});

test('browser and network exposure are refused at start with the reason: a bad --cors-origin, a gateway beyond loopback without its key', () => {
  const cors = silkworm('coordinator', '--listen', '127.0.0.1:0', '--data', '/tmp/silkworm-cli-test-cors', '--cors-origin', 'https://app.example/path');
  assert.equal(cors.status, 1);
  assert.match(cors.stderr, /--cors-origin 'https:\/\/app\.example\/path' is not a web origin/);
  const gateway = silkworm('gateway', '--coordinator', 'http://127.0.0.1:9', '--listen', '0.0.0.0:0');
  assert.equal(gateway.status, 1);
  assert.match(gateway.stderr, /beyond loopback \('0\.0\.0\.0'\) only with a local key \(--local-key\)/);
});

test('probe options are checked before anything starts', () => {
  const data = '/tmp/silkworm-cli-test-probes';
  const noCatalog = silkworm('coordinator', '--listen', '127.0.0.1:0', '--data', data, '--probe-interval', '60');
  assert.equal(noCatalog.status, 1);
  assert.match(noCatalog.stderr, /--probe-interval needs --catalog/);
  const tooOften = silkworm('coordinator', '--listen', '127.0.0.1:0', '--data', data, '--probe-interval', '0.2');
  assert.equal(tooOften.status, 1);
  assert.match(tooOften.stderr, /--probe-interval must be 0 \(off\) or a number of seconds from 1 to 86400/);
  const promptsAlone = silkworm('coordinator', '--listen', '127.0.0.1:0', '--data', data, '--probe-prompts', 'p.jsonl');
  assert.equal(promptsAlone.status, 1);
  assert.match(promptsAlone.stderr, /--probe-prompts is for probes: give --probe-interval too/);
});

test('model make-test writes a GGUF file', async () => {
  const out = `/tmp/silkworm-cli-test-${process.pid}.gguf`;
  const r = silkworm('model', 'make-test', out);
  assert.equal(r.status, 0, r.stderr);
  const { readFile, rm } = await import('node:fs/promises');
  assert.equal((await readFile(out)).subarray(0, 4).toString(), 'GGUF');
  await rm(out);
});

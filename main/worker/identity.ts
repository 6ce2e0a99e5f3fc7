/**
 * The worker's long-term identity: an Ed25519 key whose 32-byte seed stays in the data dir
 * (mode 0600; the Electron shell encrypts it with safeStorage), and the build hash it vouches
 * for in its descriptor.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appRoot } from '../app-root.js';
import { readOrCreateJsonFile } from '../../network/node-kit/json-file.js';
import { identityKeyPairFromSeed, type IdentityKeyPair } from '../../network/protocol/descriptor.js';

/** Loads the identity key from `dataDir`, creating it on first start. */
export async function loadIdentity(dataDir: string): Promise<IdentityKeyPair> {
  const file = join(dataDir, 'worker-identity.json');
  const { seed } = await readOrCreateJsonFile(file, () => ({ seed: randomBytes(32).toString('hex') }), { mode: 0o600 });
  return identityKeyPairFromSeed(Buffer.from(seed, 'hex'));
}

/** The hash of this build: the git commit when run from a checkout, else a hash of package.json. */
export function buildHash(): string {
  const root = appRoot();
  try {
    const head = readFileSync(join(root, '.git', 'HEAD'), 'utf8').trim();
    const commit = head.startsWith('ref: ') ? readFileSync(join(root, '.git', head.slice(5)), 'utf8').trim() : head;
    if (/^[0-9a-f]{40}$/.test(commit)) return commit;
  } catch {
    // not a checkout (packaged app): fall through
  }
  return createHash('sha256').update(readFileSync(join(root, 'package.json'))).digest('hex');
}

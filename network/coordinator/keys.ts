/** Keys the coordinator keeps in its data dir: its identity id and its voucher-signing key. */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { keyPairFromSeed } from '@ton/crypto';
import { readOrCreateJsonFile, type WriteFileOptions } from '../node-kit/json-file.js';

function readOrCreate<T>(file: string, create: () => T): Promise<T> {
  const secret: WriteFileOptions = { mode: 0o600 };
  return readOrCreateJsonFile(file, create, secret);
}

/** The coordinator's persistent id and Ed25519 voucher key, created on first start. */
export async function loadCoordinatorKeys(dataDir: string): Promise<{ coordinatorId: string; voucherKey: { secretKey: Uint8Array; publicKey: Uint8Array } }> {
  await mkdir(dataDir, { recursive: true });
  const { coordinatorId } = await readOrCreate(join(dataDir, 'coordinator.json'), () => ({ coordinatorId: `coord-${randomUUID()}` }));
  const { seed } = await readOrCreate(join(dataDir, 'voucher-key.json'), () => ({ seed: randomBytes(32).toString('hex') }));
  const pair = keyPairFromSeed(Buffer.from(seed, 'hex'));
  return { coordinatorId, voucherKey: { secretKey: new Uint8Array(pair.secretKey), publicKey: new Uint8Array(pair.publicKey) } };
}

/** Keys the coordinator keeps in its data dir: its identity id and its voucher-signing key. */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keyPairFromSeed } from '@ton/crypto';

async function readOrCreate<T>(file: string, create: () => T): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    const value = create();
    await writeFile(`${file}.tmp`, JSON.stringify(value, null, 2), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
    return value;
  }
}

/** The coordinator's persistent id and Ed25519 voucher key, created on first start. */
export async function loadCoordinatorKeys(dataDir: string): Promise<{ coordinatorId: string; voucherKey: { secretKey: Uint8Array; publicKey: Uint8Array } }> {
  await mkdir(dataDir, { recursive: true });
  const { coordinatorId } = await readOrCreate(join(dataDir, 'coordinator.json'), () => ({ coordinatorId: `coord-${randomUUID()}` }));
  const { seed } = await readOrCreate(join(dataDir, 'voucher-key.json'), () => ({ seed: randomBytes(32).toString('hex') }));
  const pair = keyPairFromSeed(Buffer.from(seed, 'hex'));
  return { coordinatorId, voucherKey: { secretKey: new Uint8Array(pair.secretKey), publicKey: new Uint8Array(pair.publicKey) } };
}

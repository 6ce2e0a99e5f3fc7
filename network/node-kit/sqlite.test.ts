import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { durability, openDurableDb, withoutFsync } from './sqlite.js';

test('withoutFsync commits at synchronous=NORMAL and leaves the connection at FULL, even when the write throws', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-sqlite-'));
  try {
    const db = openDurableDb(join(dir, 'db.sqlite'), { migrations: [], what: 'test db' });
    db.exec('CREATE TABLE t (v INTEGER)');
    const seen: number[] = [];
    const write = withoutFsync(db, (v: number) => {
      seen.push(durability(db).synchronous);
      if (v < 0) throw new Error('refused');
      db.prepare('INSERT INTO t (v) VALUES (?)').run(v);
      return v;
    });
    assert.equal(write(1), 1);
    assert.throws(() => write(-1), /refused/);
    assert.deepEqual(seen, [1, 1], 'NORMAL (1) while writing');
    assert.equal(durability(db).synchronous, 2, 'FULL (2) again after');
    // Inside a transaction the outer commit decides: the setting is not touched.
    db.transaction(() => write(2))();
    assert.equal(seen.at(-1), 2);
    db.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

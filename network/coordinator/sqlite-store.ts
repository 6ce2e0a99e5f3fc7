/** The embedded CoordinatorStore: SQLite through better-sqlite3, one writer, WAL, durable commits. */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { AccountTotal, CoordinatorStore, SettledJob } from './store.js';

const MIGRATIONS: string[] = [
  `CREATE TABLE clients (id TEXT PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0));
   CREATE TABLE deposits (reference TEXT PRIMARY KEY, client_id TEXT NOT NULL, amount INTEGER NOT NULL);
   CREATE TABLE holds (job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, amount INTEGER NOT NULL);
   CREATE TABLE jobs (job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, model TEXT NOT NULL, cost INTEGER NOT NULL, settled_at INTEGER NOT NULL);
   CREATE TABLE job_credits (job_id TEXT NOT NULL, account TEXT NOT NULL, worker_id TEXT NOT NULL, earned INTEGER NOT NULL,
     prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, PRIMARY KEY (job_id, worker_id));
   CREATE TABLE accounts (account TEXT PRIMARY KEY, cumulative INTEGER NOT NULL, seq INTEGER NOT NULL, pushed INTEGER NOT NULL DEFAULT 0);
   CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
];

/** Opens (and migrates) the coordinator database in `dataDir`. */
export function openSqliteStore(dataDir: string): CoordinatorStore {
  const db = new Database(join(dataDir, 'coordinator.sqlite'));
  db.defaultSafeIntegers(true);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  const version = Number(db.pragma('user_version', { simple: true }));
  for (let i = version; i < MIGRATIONS.length; i++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[i] ?? '');
      db.pragma(`user_version = ${i + 1}`);
    })();
  }

  const q = {
    balance: db.prepare<[string], { balance: bigint }>('SELECT balance FROM clients WHERE id = ?'),
    ensureClient: db.prepare('INSERT OR IGNORE INTO clients (id, balance) VALUES (?, 0)'),
    addBalance: db.prepare('UPDATE clients SET balance = balance + ? WHERE id = ?'),
    insertDeposit: db.prepare('INSERT OR IGNORE INTO deposits (reference, client_id, amount) VALUES (?, ?, ?)'),
    insertHold: db.prepare('INSERT INTO holds (job_id, client_id, amount) VALUES (?, ?, ?)'),
    hold: db.prepare<[string], { client_id: string; amount: bigint }>('SELECT client_id, amount FROM holds WHERE job_id = ?'),
    deleteHold: db.prepare('DELETE FROM holds WHERE job_id = ?'),
    insertJob: db.prepare('INSERT OR IGNORE INTO jobs (job_id, client_id, model, cost, settled_at) VALUES (?, ?, ?, ?, ?)'),
    insertCredit: db.prepare('INSERT INTO job_credits (job_id, account, worker_id, earned, prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?, ?, ?)'),
    bumpAccount: db.prepare(
      `INSERT INTO accounts (account, cumulative, seq) VALUES (?, ?, 1)
       ON CONFLICT (account) DO UPDATE SET cumulative = cumulative + excluded.cumulative, seq = seq + 1`,
    ),
    account: db.prepare<[string], { cumulative: bigint; seq: bigint }>('SELECT cumulative, seq FROM accounts WHERE account = ?'),
    unpushed: db.prepare<[bigint], { account: string; cumulative: bigint; seq: bigint }>('SELECT account, cumulative, seq FROM accounts WHERE cumulative - pushed >= ? AND cumulative > pushed'),
    markPushed: db.prepare('UPDATE accounts SET pushed = MAX(pushed, ?) WHERE account = ?'),
    getSetting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
    setSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
  };

  const account = (name: string): AccountTotal => {
    const row = q.account.get(name);
    return { account: name, cumulative: row?.cumulative ?? 0n, seq: Number(row?.seq ?? 0n) };
  };

  const refund = (jobId: string, keep: bigint) => {
    const hold = q.hold.get(jobId);
    if (!hold) return;
    const back = hold.amount > keep ? hold.amount - keep : 0n;
    q.addBalance.run(back, hold.client_id);
    q.deleteHold.run(jobId);
  };

  return {
    balance: (clientId) => q.balance.get(clientId)?.balance ?? 0n,
    deposit: db.transaction((clientId: string, amount: bigint, reference: string) => {
      if (amount <= 0n) throw new RangeError('A deposit must be positive.');
      if (q.insertDeposit.run(reference, clientId, amount).changes === 0) return false;
      q.ensureClient.run(clientId);
      q.addBalance.run(amount, clientId);
      return true;
    }),
    reserve: db.transaction((clientId: string, jobId: string, amount: bigint) => {
      const balance = q.balance.get(clientId)?.balance ?? 0n;
      if (balance < amount) return false;
      q.addBalance.run(-amount, clientId);
      q.insertHold.run(jobId, clientId, amount);
      return true;
    }),
    settle: db.transaction((job: SettledJob) => {
      if (q.insertJob.run(job.jobId, job.clientId, job.model, job.cost, Date.now()).changes === 0) return undefined;
      refund(job.jobId, job.cost);
      return job.credits.map((c) => {
        q.insertCredit.run(job.jobId, c.account, c.workerId, c.earned, c.promptTokens, c.completionTokens);
        q.bumpAccount.run(c.account, c.earned);
        return account(c.account);
      });
    }),
    release: db.transaction((jobId: string) => refund(jobId, 0n)),
    account,
    unpushed: (threshold) => q.unpushed.all(threshold).map((r) => ({ account: r.account, cumulative: r.cumulative, seq: Number(r.seq) })),
    markPushed: (name, cumulative) => void q.markPushed.run(cumulative, name),
    getSetting: (key) => q.getSetting.get(key)?.value,
    setSetting: (key, value) => void q.setSetting.run(key, value),
    close: () => db.close(),
  };
}

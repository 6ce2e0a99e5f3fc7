/** `silkworm coordinator audit`: checks the books' invariants; exit status 1 when one fails. */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Address } from '@ton/core';
import { createTonClient } from '../node-kit/ton-client.js';
import { paidToWorker } from './push-chain.js';
import pg from 'pg';
import { auditCoordinator, formatAudit } from './audit.js';
import { parseStoreSpec, type StoreSpec } from './open-store.js';

/** Help text of `silkworm coordinator audit`. */
export const AUDIT_HELP = `Usage: silkworm coordinator audit (--data DIR | --store postgres://…) [--chain URL] [--json]

Checks the coordinator's books and prints every row that breaks a rule:
  job_balanced          each job: charge = Σ worker credits + commission
  charge_within_hold    each metered job: charge ≤ its hold
  account_matches       each earnings account: total = Σ of its credits
  pushed_within_credit  each account: pushed ≤ credited (= vouchered)
  client_conserved      each client: deposits = balance + holds + charges
  hold_expired          no hold outlives its job (holds of a stopped coordinator
                        are refunded when it starts)
  paid_within_credit    with --chain: each account paid on chain ≤ credited
Exit status 0 when all hold, 1 when one fails. Safe while the coordinator runs.

Options:
  --data DIR        the coordinator's data folder (default .silkworm/coordinator)
  --store URL       the PostgreSQL database several instances share (as given to
                    the coordinators); audited in one read-only snapshot
  --chain URL       toncenter v2 endpoint: also read what the vault paid each account
  --chain-api-key KEY
  --json            print the report as JSON
  -h, --help        show this help`;

const VAULT_SETTING = `SELECT value FROM settings WHERE key = 'vault'`;

async function vaultOf(dataDir: string, store: StoreSpec): Promise<string | undefined> {
  if (store !== undefined) {
    const client = new pg.Client({ connectionString: store, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      return ((await client.query(VAULT_SETTING)).rows[0] as { value: string } | undefined)?.value;
    } finally {
      await client.end();
    }
  }
  const db = new Database(join(dataDir, 'coordinator.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(VAULT_SETTING).get() as { value: string } | undefined)?.value;
  } finally {
    db.close();
  }
}

/** Runs the audit; returns the exit status. `print` receives the report (standard output by default). */
export async function runAuditCommand(argv: string[], print: (text: string) => void = console.log): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string', default: '.silkworm/coordinator' },
      store: { type: 'string' },
      chain: { type: 'string' },
      'chain-api-key': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    print(AUDIT_HELP);
    return 0;
  }
  const store = parseStoreSpec(values.store);
  if (!store.ok) throw new Error(`--store: ${store.message}`);
  let paidOnChain: ((account: string) => Promise<bigint>) | undefined;
  if (values.chain) {
    const vaultAddress = await vaultOf(values.data, store.value);
    if (!vaultAddress) throw new Error('--chain: this coordinator has no vault yet (it never started with --chain).');
    const client = createTonClient(values.chain, { apiKey: values['chain-api-key'] });
    const vault = Address.parse(vaultAddress);
    paidOnChain = (account) => paidToWorker(client, vault, Address.parse(account));
  }
  const report = await auditCoordinator(values.data, { ...(store.value !== undefined ? { store: store.value } : {}), ...(paidOnChain ? { paidOnChain } : {}) });
  print(values.json ? JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) : formatAudit(report));
  return report.ok ? 0 : 1;
}

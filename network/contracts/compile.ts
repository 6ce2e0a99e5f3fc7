// Compiles the payout vault and its per-worker payout account from their Tolk sources with
// @ton/tolk-js (wasm, offline). Results are cached in memory for the life of the process; no
// build output is written.
import { readFileSync } from 'node:fs';
import { Cell } from '@ton/core';
import { runTolkCompiler } from '@ton/tolk-js';

const sourceDir = new URL('./', import.meta.url);

/** A compiled contract: its code cell and the code hash the compiler reported. */
export type CompiledContract = { code: Cell; codeHashHex: string; tolkVersion: string };
/** Kept for callers of the single-contract era. */
export type CompiledVault = CompiledContract;

/** The Tolk entry points this folder compiles. */
export type ContractName = 'vault' | 'payout-account';

const cache = new Map<ContractName, Promise<CompiledContract>>();

/** Compiles `<name>.tolk` once per process and returns the same result afterwards. */
export function compileContract(name: ContractName): Promise<CompiledContract> {
  let pending = cache.get(name);
  if (!pending) {
    pending = compile(name).catch((error: unknown) => {
      cache.delete(name); // let a later call retry instead of caching a failure
      throw error;
    });
    cache.set(name, pending);
  }
  return pending;
}

/** Compiles `vault.tolk` (the master). */
export function compileVault(): Promise<CompiledContract> {
  return compileContract('vault');
}

/** The vault's code cell. */
export async function vaultCode(): Promise<Cell> {
  return (await compileContract('vault')).code;
}

/** The payout account's code cell (the vault deploys one per worker). */
export async function accountCode(): Promise<Cell> {
  return (await compileContract('payout-account')).code;
}

async function compile(name: ContractName): Promise<CompiledContract> {
  const result = await runTolkCompiler({
    entrypointFileName: `${name}.tolk`,
    // Only our own files come through here; `@stdlib/*` is embedded in tolk-js.
    fsReadCallback: (path) => readFileSync(new URL(path, sourceDir), 'utf8'),
  });
  if (result.status === 'error') {
    throw new Error(`${name}.tolk failed to compile: ${result.message}`);
  }
  const [code] = Cell.fromBoc(Buffer.from(result.codeBoc64, 'base64'));
  if (!code) throw new Error(`${name}.tolk compiled to an empty BOC`);
  if (result.stderr.trim()) process.emitWarning(`tolk: ${result.stderr.trim()}`);
  return { code, codeHashHex: result.codeHashHex, tolkVersion: result.tolkVersion };
}

// Compiles the payout vault from its Tolk source with @ton/tolk-js (wasm, offline).
// The result is cached in memory for the life of the process; no build output is written.
import { readFileSync } from 'node:fs';
import { Cell } from '@ton/core';
import { runTolkCompiler } from '@ton/tolk-js';

const sourceDir = new URL('./', import.meta.url);

/** The compiled vault: its code cell and the code hash the compiler reported. */
export type CompiledVault = { code: Cell; codeHashHex: string; tolkVersion: string };

let cached: Promise<CompiledVault> | undefined;

/** Compiles `vault.tolk` once per process and returns the same result afterwards. */
export function compileVault(): Promise<CompiledVault> {
  cached ??= compile().catch((error: unknown) => {
    cached = undefined; // let a later call retry instead of caching a failure
    throw error;
  });
  return cached;
}

/** The vault's code cell (see {@link compileVault}). */
export async function vaultCode(): Promise<Cell> {
  return (await compileVault()).code;
}

async function compile(): Promise<CompiledVault> {
  const result = await runTolkCompiler({
    entrypointFileName: 'vault.tolk',
    // Only our own files come through here; `@stdlib/*` is embedded in tolk-js.
    fsReadCallback: (path) => readFileSync(new URL(path, sourceDir), 'utf8'),
  });
  if (result.status === 'error') {
    throw new Error(`vault.tolk failed to compile: ${result.message}`);
  }
  const [code] = Cell.fromBoc(Buffer.from(result.codeBoc64, 'base64'));
  if (!code) throw new Error('vault.tolk compiled to an empty BOC');
  if (result.stderr.trim()) process.emitWarning(`tolk: ${result.stderr.trim()}`);
  return { code, codeHashHex: result.codeHashHex, tolkVersion: result.tolkVersion };
}

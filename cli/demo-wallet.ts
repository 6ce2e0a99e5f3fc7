/** The demo owner's local wallet: a testnet WalletContractV5R1 whose mnemonic stays in the demo dir. */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { WalletContractV5R1 } from '@ton/ton';
import { mnemonicNew, mnemonicToPrivateKey, type KeyPair } from '@ton/crypto';

/** Loads (or creates) the demo wallet; returns it, its key and its non-bounceable testnet address. */
export async function loadDemoWallet(file: string): Promise<{ address: string; raw: string; key: KeyPair; wallet: WalletContractV5R1 }> {
  let mnemonic: string[];
  try {
    mnemonic = (JSON.parse(await readFile(file, 'utf8')) as { mnemonic: string[] }).mnemonic;
  } catch {
    mnemonic = await mnemonicNew(24);
    await writeFile(`${file}.tmp`, JSON.stringify({ mnemonic, note: 'Local demo wallet for test TON only.' }), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }
  const key = await mnemonicToPrivateKey(mnemonic);
  const wallet = WalletContractV5R1.create({ workchain: 0, publicKey: key.publicKey, walletId: { networkGlobalId: -3 } });
  return { address: wallet.address.toString({ testOnly: true, bounceable: false }), raw: wallet.address.toRawString(), key, wallet };
}

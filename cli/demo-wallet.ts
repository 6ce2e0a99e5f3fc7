/** The demo owner's local wallet: a testnet WalletContractV5R1 whose mnemonic stays in the demo dir. */
import { WalletContractV5R1 } from '@ton/ton';
import { mnemonicNew, mnemonicToPrivateKey, type KeyPair } from '@ton/crypto';
import { readOrCreateJsonFile } from '../network/node-kit/json-file.js';

/** Loads (or creates) the demo wallet; returns it, its words and key, and its non-bounceable testnet address. */
export async function loadDemoWallet(file: string): Promise<{ address: string; raw: string; words: string[]; key: KeyPair; wallet: WalletContractV5R1 }> {
  const { mnemonic } = await readOrCreateJsonFile(file, async () => ({ mnemonic: await mnemonicNew(24), note: 'Local demo wallet for test TON only.' }), { mode: 0o600 });
  const key = await mnemonicToPrivateKey(mnemonic);
  const wallet = WalletContractV5R1.create({ workchain: 0, publicKey: key.publicKey, walletId: { networkGlobalId: -3 } });
  return { address: wallet.address.toString({ testOnly: true, bounceable: false }), raw: wallet.address.toRawString(), words: mnemonic, key, wallet };
}

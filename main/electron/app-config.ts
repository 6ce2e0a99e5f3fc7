/**
 * Where the desktop app's worker connects and what it serves: `<userData>/config.json`, with
 * SILKWORM_COORDINATOR / SILKWORM_MODEL / SILKWORM_NETWORK / SILKWORM_CHAIN overriding it (development).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const configSchema = z.object({
  coordinatorUrl: z.string().url().optional(),
  modelPath: z.string().min(1).optional(),
  network: z.enum(['mainnet', 'testnet']).default('testnet'),
  /** A toncenter v2 endpoint (payouts, balances, Cash out); default: public toncenter for the network. */
  chainUrl: z.string().url().optional(),
  chainApiKey: z.string().min(1).optional(),
});

/** Public toncenter, by network. */
const TONCENTER = { mainnet: 'https://toncenter.com/api/v2', testnet: 'https://testnet.toncenter.com/api/v2' } as const;

/** The app's configuration. */
export type AppConfig = z.infer<typeof configSchema>;

/** Reads the configuration; a missing file means defaults, a damaged one is an error. */
export async function loadAppConfig(userData: string, env: NodeJS.ProcessEnv = process.env): Promise<AppConfig> {
  const file = join(userData, 'config.json');
  const text = await readFile(file, 'utf8').catch(() => '{}');
  const config = configSchema.parse(JSON.parse(text));
  const network = env.SILKWORM_NETWORK === 'mainnet' || env.SILKWORM_NETWORK === 'testnet' ? env.SILKWORM_NETWORK : config.network;
  return {
    ...config,
    network,
    chainUrl: env.SILKWORM_CHAIN ?? config.chainUrl ?? TONCENTER[network],
    ...(env.SILKWORM_COORDINATOR ? { coordinatorUrl: env.SILKWORM_COORDINATOR } : {}),
    ...(env.SILKWORM_MODEL ? { modelPath: env.SILKWORM_MODEL } : {}),
  };
}

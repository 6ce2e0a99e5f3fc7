/**
 * Where the desktop app's worker connects and what it serves: `<userData>/config.json`, with
 * SILKWORM_COORDINATOR / SILKWORM_MODEL / SILKWORM_NETWORK overriding it (development).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const configSchema = z.object({
  coordinatorUrl: z.string().url().optional(),
  modelPath: z.string().min(1).optional(),
  network: z.enum(['mainnet', 'testnet']).default('testnet'),
});

/** The app's configuration. */
export type AppConfig = z.infer<typeof configSchema>;

/** Reads the configuration; a missing file means defaults, a damaged one is an error. */
export async function loadAppConfig(userData: string, env: NodeJS.ProcessEnv = process.env): Promise<AppConfig> {
  const file = join(userData, 'config.json');
  const text = await readFile(file, 'utf8').catch(() => '{}');
  const config = configSchema.parse(JSON.parse(text));
  return {
    ...config,
    ...(env.SILKWORM_COORDINATOR ? { coordinatorUrl: env.SILKWORM_COORDINATOR } : {}),
    ...(env.SILKWORM_MODEL ? { modelPath: env.SILKWORM_MODEL } : {}),
    ...(env.SILKWORM_NETWORK === 'mainnet' || env.SILKWORM_NETWORK === 'testnet' ? { network: env.SILKWORM_NETWORK } : {}),
  };
}

#!/usr/bin/env node
// The `silkworm` command. Runs the TypeScript sources through tsx, so a fresh clone needs
// no build step: `npm ci`, then `npx silkworm <command>`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/index.ts');
process.exitCode = await main(process.argv.slice(2));

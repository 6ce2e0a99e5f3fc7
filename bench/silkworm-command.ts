/**
 * The `silkworm` command as the bench starts it: `node [the flags of its #! line] bin/silkworm.mjs …`.
 * An installed `silkworm` runs with those flags (its first line is `#!/usr/bin/env -S node …`);
 * `node bin/silkworm.mjs` alone would skip them, and the bench would measure another program.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../bin/silkworm.mjs', import.meta.url));

/** The Node flags on the command's `#!/usr/bin/env -S node …` line. */
function shebangFlags(): string[] {
  const first = readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!.*?\bnode\b(.*)$/.exec(first);
  return match?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}

/** Node's arguments for `silkworm ARGS…`; `nodeArgs` come after the command's own flags, so they win. */
export function silkwormArgs(args: readonly string[], nodeArgs: readonly string[] = []): string[] {
  return [...shebangFlags(), ...nodeArgs, CLI, ...args];
}

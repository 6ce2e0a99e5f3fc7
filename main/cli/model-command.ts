/** `silkworm model`: model utilities (today: make-test). */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { writeTestModel } from '../models/test-model.js';

/** Help text of `silkworm model`. */
export const MODEL_HELP = `Usage: silkworm model make-test OUT.gguf [--size tiny|bench]

Writes a small llama-architecture GGUF model whose greedy output is predictable: each
printable character is followed by the next one ("abc" → "defg…"). For tests and demos
offline; it knows nothing.

Options:
  --size tiny|bench   tiny (~0.5 MB, default) or bench (larger, slower, for benchmarks)
  -h, --help          show this help`;

/** Parses arguments and runs the model subcommand. */
export async function runModelCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { size: { type: 'string', default: 'tiny' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  const [subcommand, out] = positionals;
  if (values.help || !subcommand) {
    console.log(MODEL_HELP);
    if (!values.help) throw new Error('a subcommand is required.');
    return;
  }
  if (subcommand !== 'make-test') throw new Error(`unknown subcommand '${subcommand}' (expected make-test).`);
  if (!out) throw new Error('make-test needs the output path, e.g. silkworm model make-test model.gguf');
  if (values.size !== 'tiny' && values.size !== 'bench') throw new Error(`--size must be tiny or bench (got '${values.size}').`);
  const path = resolve(out);
  await writeTestModel(path, { size: values.size });
  console.log(JSON.stringify({ msg: 'test model written', path, size: values.size }));
}

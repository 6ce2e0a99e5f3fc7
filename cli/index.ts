/**
 * The `silkworm` command line (docs/design.md, Command line, stable: scripts depend on it). This folder is a
 * composition root: it may import every deployable, and nothing imports it.
 */
const HELP = `Usage: silkworm <command> [options]

Commands:
  demo                    a whole local network in one command (coordinator + worker)
  coordinator             run a coordinator (the network side); 'coordinator audit' checks its books
  worker                  run a headless worker that shares this machine's GPU
  gateway                 a local OpenAI-compatible endpoint that seals requests end to end
  chain                   run a local TON chain (toncenter v2 API) with a faucet of test TON
  model make-test OUT     write a small test model (GGUF) for offline tests and demos

Run 'silkworm <command> --help' for a command's options.`;

/**
 * Each command resolves with its exit status (nothing: 0). Loaded on use: a command does not pay
 * for the others' imports (the chain's sandbox emulator alone takes a second to load).
 */
const COMMANDS: Record<string, (argv: string[]) => Promise<void | number>> = {
  coordinator: async (argv) => (await import('../network/coordinator/cli.js')).runCoordinatorCommand(argv),
  worker: async (argv) => (await import('../main/cli/worker-command.js')).runWorkerCommand(argv),
  model: async (argv) => (await import('../main/cli/model-command.js')).runModelCommand(argv),
  gateway: async (argv) => (await import('../network/client/cli.js')).runGatewayCommand(argv),
  chain: async (argv) => (await import('../network/chain/cli.js')).runChainCommand(argv),
  demo: async (argv) => (await import('./demo.js')).runDemoCommand(argv),
};

/** Runs the command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP);
    return command ? 0 : 1;
  }
  const run = COMMANDS[command];
  if (!run) {
    console.error(`silkworm: unknown command '${command}'.\n\n${HELP}`);
    return 2;
  }
  try {
    return (await run(rest)) ?? 0;
  } catch (error) {
    console.error(`silkworm ${command}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/** `silkworm chain`: a local TON chain behind a toncenter-v2-compatible API, until SIGINT/SIGTERM. */
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { formatHostPort, parseHostPort } from '../protocol/host-port.js';
import { LocalChain, FAUCET_MAX_NANOTONS } from './local-chain.js';
import { createChainLogger, type Logger } from './log.js';
import { createToncenterServer } from './toncenter-server.js';

/** Help text of `silkworm chain`. */
export const CHAIN_HELP = `Usage: silkworm chain --listen HOST:PORT --data DIR

Runs a local TON chain (the real TON emulator from @ton/sandbox) behind a
toncenter-v2-compatible HTTP API, so @ton/ton's TonClient works against it
offline. Balances, contracts and transaction history are kept in DIR and survive
a restart. Its coins are local test TON: they exist only here and are worth nothing.

Options:
  --listen HOST:PORT   where to listen (default 127.0.0.1:8790; port 0 = any free port)
  --data DIR           where the chain keeps its state (default .silkworm/chain)
  -h, --help           show this help

Endpoints:
  POST /jsonRPC        toncenter v2 JSON-RPC (point TonClient's endpoint here)
  GET|POST /<method>   the same methods in toncenter's GET/POST form
  POST /faucet         {"address": "...", "amount": "<nanotons>"}: local test TON,
                       at most ${FAUCET_MAX_NANOTONS} nanotons a request (default 10 TON)
  GET /healthz         200 once ready`;

/** Where and how to run a chain server. */
export interface ChainServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  dataDir: string;
  logger?: Logger;
}

/** A running chain server. */
export interface ChainServer {
  /** Base URL, e.g. http://127.0.0.1:8790; TonClient's endpoint is `${url}/jsonRPC`. */
  url: string;
  chain: LocalChain;
  /** Stops accepting requests, waits for chain work in progress and releases the data directory. */
  close(): Promise<void>;
}

/** Opens the chain in `dataDir` and serves it; logs `chain ready` with the URL. */
export async function startChainServer(options: ChainServerOptions): Promise<ChainServer> {
  const logger = options.logger ?? createChainLogger();
  const chain = await LocalChain.open(options.dataDir);
  const server = createToncenterServer(chain, logger);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await chain.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' || options.host === '' ? '127.0.0.1' : options.host;
  const url = `http://${formatHostPort({ host, port })}`;
  logger.info({ url, jsonRpc: `${url}/jsonRPC`, dataDir: options.dataDir, faucet: chain.faucetAddress.toString(), block: chain.lastBlock.seqno }, 'chain ready');
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), 5000); // a stuck client must not block shutdown
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      await chain.close();
      logger.info({ url }, 'chain stopped');
    })();
    return closing;
  };
  return { url, chain, close };
}

/** Parses arguments and runs the chain; returns once it has shut down. */
export async function runChainCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:8790' },
      data: { type: 'string', default: '.silkworm/chain' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(CHAIN_HELP);
    return;
  }
  const listen = parseHostPort(values.listen);
  if (!listen.ok) throw new Error(`--listen: ${listen.message}`);
  if (values.data.trim() === '') throw new Error('--data must name a directory.');
  const logger = createChainLogger();
  const server = await startChainServer({ ...listen.value, dataDir: values.data, logger });
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      logger.info({ signal }, 'shutting down');
      server.close().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

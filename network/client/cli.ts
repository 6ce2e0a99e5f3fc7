/** `silkworm gateway`: runs a local sealed-mode OpenAI endpoint until SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { parseHostPort } from '../protocol/host-port.js';
import { isBase64UrlOfLength } from '../protocol/encoding.js';
import { tierSchema } from '../protocol/worker-frames.js';
import { TIER_DESCRIPTIONS } from '../protocol/descriptor.js';
import { startGateway } from './gateway.js';
import { createLogger } from './log.js';

/** Help text of `silkworm gateway`. */
export const GATEWAY_HELP = `Usage: silkworm gateway --coordinator URL [--listen HOST:PORT] [options]

Runs a local OpenAI-compatible endpoint that seals every request end to end (HPKE, RFC 9180)
to a key inside the chosen worker's job process and opens the answer here. Point any OpenAI
client at http://HOST:PORT/v1: the coordinator sees only the model, max_tokens and ciphertext.

Options:
  --coordinator URL      the coordinator's base URL (http:// or https://)
  --listen HOST:PORT     where to listen (default 127.0.0.1:8788; port 0 = any). Beyond
                         loopback only with --local-key
  --local-key KEY        require "Authorization: Bearer KEY" on every request (at least
                         16 characters); needed to listen beyond loopback
  --api-key KEY          the coordinator API key (sent as Authorization: Bearer KEY)
  --min-tier TIER        lowest worker tier to seal to: unsandboxed | sandboxed | tee
                         (default sandboxed)
  --trust-worker KEY     only use workers with this identity key (base64url); repeatable
  --request-timeout MS   longest a request may take, retries included (default 120000)
  -h, --help             show this help

Serves POST /v1/chat/completions, /v1/responses and /v1/completions (streaming and
not), GET /v1/models, /v1/models/ID and /healthz, as the coordinator does in transport
mode. Answers carry x-silkworm-confidentiality: sealed and x-silkworm-worker-tier.
Browser pages are refused (any Origin header).

What the tiers mean:
  sandboxed    ${TIER_DESCRIPTIONS.sandboxed.label}: the PC's owner can still read its memory.
  unsandboxed  ${TIER_DESCRIPTIONS.unsandboxed.label}.
  tee          ${TIER_DESCRIPTIONS.tee.label}.`;

/** Parses arguments and runs the gateway; returns once it has shut down. */
export async function runGatewayCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      coordinator: { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:8788' },
      'api-key': { type: 'string' },
      'min-tier': { type: 'string', default: 'sandboxed' },
      'trust-worker': { type: 'string', multiple: true },
      'request-timeout': { type: 'string', default: '120000' },
      'local-key': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(GATEWAY_HELP);
    return;
  }
  if (!values.coordinator) throw new Error('--coordinator URL is required (for example --coordinator http://127.0.0.1:8787).');
  const coordinatorUrl = parseCoordinatorUrl(values.coordinator);
  const listen = parseHostPort(values.listen);
  if (!listen.ok) throw new Error(`--listen: ${listen.message}`);
  const minTier = tierSchema.safeParse(values['min-tier']);
  if (!minTier.success) throw new Error(`--min-tier must be one of ${tierSchema.options.join(', ')}.`);
  const trusted = values['trust-worker'];
  const badKey = trusted?.find((key) => !isBase64UrlOfLength(key, 32));
  if (badKey !== undefined) throw new Error(`--trust-worker '${badKey}' is not a 32-byte identity key in base64url.`);
  const requestTimeoutMs = Number(values['request-timeout']);
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs < 1000) throw new Error('--request-timeout must be a whole number of milliseconds, at least 1000.');

  const logger = createLogger('gateway');
  const gateway = await startGateway({
    ...listen.value,
    coordinatorUrl,
    minTier: minTier.data,
    requestTimeoutMs,
    logger,
    ...(values['api-key'] ? { apiKey: values['api-key'] } : {}),
    ...(values['local-key'] !== undefined ? { localKey: values['local-key'] } : {}),
    ...(trusted ? { trustedIdentityKeys: trusted } : {}),
  });
  console.error(`Silkworm gateway: OpenAI base URL ${gateway.url}/v1 (sealed end to end; workers of tier ${minTier.data} or higher)`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      logger.info('shutting down');
      gateway.close().then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** Accepts http(s) URLs, and ws(s) ones for symmetry with `silkworm worker`. */
function parseCoordinatorUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--coordinator '${text}' is not a URL (for example http://127.0.0.1:8787).`);
  }
  if (url.protocol === 'ws:' || url.protocol === 'wss:') return `${url.protocol === 'ws:' ? 'http:' : 'https:'}//${url.host}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--coordinator must be an http:// or https:// URL, not ${url.protocol}`);
  return url.toString().replace(/\/+$/, '');
}

/**
 * `silkworm demo`: a whole local network in one command — a coordinator and a headless
 * worker serving a generated test model — then one real request through it, and the lines
 * to call it yourself with curl or the OpenAI SDK.
 */
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseHostPort } from '../network/protocol/host-port.js';
import { startCoordinator } from '../network/coordinator/server.js';
import { createLogger as createCoordinatorLogger } from '../network/coordinator/log.js';
import { startHeadlessWorker } from '../main/worker/headless.js';
import { createLogger } from '../main/log.js';
import { writeTestModel } from '../main/models/test-model.js';

const HELP = `Usage: silkworm demo [--listen HOST:PORT] [--data DIR]

Starts a local Silkworm network on this machine — a coordinator and a worker serving a
generated test model — sends it one request, and prints how to call it.

Options:
  --listen HOST:PORT   where the coordinator listens (default 127.0.0.1:8787)
  --data DIR           demo state (default .silkworm/demo)
  --once               exit after the first request (for scripts and CI)
  -h, --help           show this help`;

/** Runs the demo until SIGINT/SIGTERM (or after one request with --once). */
export async function runDemoCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:8787' },
      data: { type: 'string', default: '.silkworm/demo' },
      once: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const listen = parseHostPort(values.listen);
  if (!listen.ok) throw new Error(`--listen: ${listen.message}`);
  const dataDir = resolve(values.data);
  const modelPath = join(dataDir, 'silkworm-test.gguf');
  await mkdir(dataDir, { recursive: true });
  if (!existsSync(modelPath)) await writeTestModel(modelPath);
  const apiKey = `sk-demo-${randomBytes(12).toString('hex')}`;
  const level = process.env.SILKWORM_LOG_LEVEL ?? 'warn';

  const coordinator = await startCoordinator({
    ...listen.value,
    dataDir: join(dataDir, 'coordinator'),
    apiKeys: [apiKey],
    logger: createCoordinatorLogger('coordinator', { level }),
  });
  const joined = new Promise<void>((done) => coordinator.registry.once('added', () => done()));
  const worker = await startHeadlessWorker({ coordinatorUrl: coordinator.url, dataDir: join(dataDir, 'worker'), modelPath, logger: createLogger('worker', { level }) });
  await joined;

  const base = `${coordinator.url}/v1`;
  const started = performance.now();
  const response = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ model: 'silkworm-test', messages: [{ role: 'user', content: 'abc' }], max_tokens: 24, temperature: 0 }),
  });
  const body = (await response.json()) as { choices?: { message: { content: string } }[]; usage?: { completion_tokens: number }; error?: { message: string } };
  const ms = performance.now() - started;
  const answer = body.choices?.[0]?.message.content;

  console.log(`
Silkworm demo — a local network on this machine (test model; earnings would be local test TON)

  coordinator   ${coordinator.url}   (GET /healthz, GET /metrics)
  worker        ${worker.workerId} · model silkworm-test · ${worker.engineInfo.gpu} · ${worker.engineInfo.tokensPerSecond} tok/s measured
  first request ${answer !== undefined ? `"abc" → "${answer}" (${body.usage?.completion_tokens ?? 0} tokens in ${ms.toFixed(0)} ms)` : `failed: ${body.error?.message ?? response.status}`}

OpenAI base URL: ${base}
API key:         ${apiKey}

  curl ${base}/chat/completions -H "Authorization: Bearer ${apiKey}" -H "Content-Type: application/json" \\
    -d '{"model":"silkworm-test","messages":[{"role":"user","content":"abc"}],"max_tokens":16,"stream":true}'

  // npm install openai
  const client = new OpenAI({ baseURL: '${base}', apiKey: '${apiKey}' });
  const stream = await client.chat.completions.create({ model: 'silkworm-test', messages: [{ role: 'user', content: 'abc' }], stream: true });
  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
${values.once ? '' : '\nPress Ctrl+C to stop.'}`);

  if (answer === undefined) process.exitCode = 1;
  if (!values.once) {
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
  }
  await worker.stop();
  await coordinator.close();
}

/**
 * Test only: a fake coordinator with fake workers in one node:http server on port 0. It serves
 * `GET /v1/workers` (signed descriptors) and `POST /v1/sealed/jobs` exactly as sealed-http.ts
 * specifies, with each fake worker's "job process" opening the envelope and sealing a canned
 * answer. Everything the coordinator part sees (bodies, frames, log lines) is recorded, so
 * tests can prove no plaintext reaches it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { identityKeyPairFromSeed, signDescriptor, type IdentityKeyPair, type SignedDescriptor, type WorkerDescriptor } from '../../protocol/descriptor.js';
import { toBase64Url } from '../../protocol/encoding.js';
import { JobKeyPair, openRequest, ReplayGuard, type OpenedJob } from '../../protocol/sealed.js';
import { formatSealedJobEvent, type SealedJobEvent } from '../../protocol/sealed-http.js';
import type { Tier } from '../../protocol/worker-frames.js';
import { encodeAnswerPart } from '../../protocol/answer-parts.js';

/** One fake worker: identity, job-process key, and how its engine answers. */
export interface FakeWorker {
  workerId: string;
  tier: Tier;
  identity: IdentityKeyPair;
  keyPair: JobKeyPair;
  replayGuard: ReplayGuard;
  /** Answer pieces (text, or a thinking model's thought); a continuation skips the pieces it already holds. */
  answer: (job: OpenedJob) => (string | { reasoning: string })[];
  /** After this many chunks, the worker is "lost" (a retryable error event). */
  loseAfter?: number;
  /** Jobs this worker opened (plaintext: the worker side, never the coordinator side). */
  opened: OpenedJob[];
  signed: SignedDescriptor;
}

/** A running fake coordinator. */
export interface FakeCoordinator {
  url: string;
  coordinatorId: string;
  workers: FakeWorker[];
  /** Raw request bodies, SSE frames and log lines the coordinator part handled. */
  seen: string[];
  /** Rewrites each outgoing stream event (to tamper with chunks); identity by default. `null` drops the connection there. */
  tamper: (event: SealedJobEvent) => SealedJobEvent | null;
  /** Replaces the published list (to publish tampered descriptors). */
  published?: unknown[];
  close(): Promise<void>;
}

let seedCounter = 1;

/** Makes a fake worker with a fresh identity and job-process key. */
export async function makeFakeWorker(workerId: string, tier: Tier, answer: FakeWorker['answer'], models = [{ id: 'tiny', sha256: 'ab'.repeat(32), contextSize: 2048 }]): Promise<FakeWorker> {
  const identity = identityKeyPairFromSeed(new Uint8Array(32).fill(seedCounter++));
  const keyPair = await JobKeyPair.generate();
  const descriptor: WorkerDescriptor = {
    v: 1,
    workerId,
    identityKey: toBase64Url(identity.publicKey),
    hpke: { suite: 'X25519-HKDF-SHA256-ChaCha20Poly1305', publicKey: keyPair.publicKey },
    models,
    tier,
    appVersion: '0.1.0',
    buildHash: 'e889fd3',
    tokensPerSecond: 50,
    priceCoefficient: 1,
    issuedAt: Date.now() - 1000,
    expiresAt: Date.now() + 60 * 60_000,
  };
  return { workerId, tier, identity, keyPair, replayGuard: new ReplayGuard(), answer, opened: [], signed: signDescriptor(descriptor, identity.secretKey) };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } }));
}

/** Starts the fake coordinator on 127.0.0.1, port 0. */
export async function startFakeCoordinator(workers: FakeWorker[], options: { apiKey?: string } = {}): Promise<FakeCoordinator> {
  const fake: FakeCoordinator = { url: '', coordinatorId: 'coord-fake', workers, seen: [], tamper: (event) => event, close: async () => {} };
  const log = (fields: Record<string, unknown>) => fake.seen.push(JSON.stringify(fields));

  const sealedJob = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    fake.seen.push(raw);
    const envelope = JSON.parse(raw) as { jobId: string; workerId: string; model: string; maxTokens: number; recipientKey: string };
    log({ msg: 'sealed job', jobId: envelope.jobId, workerId: envelope.workerId, model: envelope.model, maxTokens: envelope.maxTokens });
    const worker = workers.find((w) => w.workerId === envelope.workerId);
    if (!worker) return sendError(res, 503, 'worker_lost', 'That worker is not connected.');
    if (envelope.recipientKey !== worker.keyPair.publicKey) return sendError(res, 409, 'stale_worker_key', 'Sealed to an old key.');
    // The worker's job process: the only place the plaintext exists.
    const opened = await openRequest(envelope, { keyPair: worker.keyPair, workerId: worker.workerId, coordinatorId: fake.coordinatorId, models: ['tiny'], replayGuard: worker.replayGuard });
    if (!opened.ok) return sendError(res, 400, 'sealed_refused', `The job process refused the envelope: ${opened.error.code}.`);
    worker.opened.push(opened.value.job);
    const done = { text: opened.value.job.continuation ?? '', reasoning: opened.value.job.continuationReasoning ?? '' };
    const pieces = worker.answer(opened.value.job).map((piece) => (typeof piece === 'string' ? { text: piece } : { text: '', reasoning: piece.reasoning }));
    const covered = { text: 0, reasoning: 0 };
    const rest = pieces.filter((piece) => {
      const kind = piece.reasoning === undefined ? 'text' : 'reasoning';
      if (covered[kind] >= done[kind].length) return true;
      covered[kind] += (piece.reasoning ?? piece.text).length;
      return false;
    });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    let dropped = false;
    const emit = (event: SealedJobEvent) => {
      if (dropped) return;
      const tampered = fake.tamper(event);
      if (tampered === null) {
        // Breaks the connection once what was written is on its way, without the stream's proper end.
        dropped = true;
        return void res.write(': dropped\n\n', () => res.destroy());
      }
      const frame = formatSealedJobEvent(tampered);
      fake.seen.push(frame);
      res.write(frame);
    };
    res.write(': keepalive\n\n');
    const sealer = opened.value.responseSealer;
    for (const [index, piece] of rest.entries()) {
      if (worker.loseAfter !== undefined && index >= worker.loseAfter) {
        emit({ type: 'error', error: { code: 'worker_lost', message: 'The worker disconnected.', retryable: true } });
        return dropped ? undefined : res.end();
      }
      emit({ type: 'chunk', ...(await sealer.seal(encodeAnswerPart(piece))) });
    }
    emit({ type: 'chunk', ...(await sealer.seal('', { final: true, finishReason: 'stop' })) });
    emit({ type: 'usage', usage: { promptTokens: 11, completionTokens: rest.length } });
    if (!dropped) res.end();
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) return sendError(res, 401, 'invalid_api_key', 'Incorrect API key provided.');
    if (req.method === 'GET' && url.pathname === '/v1/workers') {
      fake.seen.push(`GET ${url.pathname}${url.search}`);
      const data = fake.published ?? workers.filter((w) => !url.searchParams.get('model') || w.signed.descriptor.models.some((m) => m.id === url.searchParams.get('model'))).map((w) => w.signed);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', coordinatorId: fake.coordinatorId, data }));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/v1/sealed/jobs') {
      sealedJob(req, res).catch((error: unknown) => sendError(res, 500, 'internal', String(error)));
      return;
    }
    sendError(res, 404, 'not_found', 'Unknown route.');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return fake;
}

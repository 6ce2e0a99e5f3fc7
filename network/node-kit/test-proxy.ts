/**
 * A TCP proxy for tests that can be cut (refusing and dropping connections, as a host gone away)
 * and restored on the same port: in front of PostgreSQL or NATS, it takes one side off while the
 * others stay. It runs on a thread of its own: a coordinator's blocking store calls hold the main
 * thread while they wait for PostgreSQL, through this proxy.
 */
import { Worker } from 'node:worker_threads';

const PROXY_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const sockets = new Set();
let server;
let port = 0;
function restore(done) {
  if (server) return done();
  server = net.createServer((inbound) => {
    const outbound = net.connect(workerData.target.port, workerData.target.host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  // The first time on any free port, then on the same one again.
  server.listen(port, '127.0.0.1', () => {
    port = server.address().port;
    done();
  });
}
function cut(done) {
  const closing = server;
  server = undefined;
  for (const s of sockets) s.destroy();
  if (closing) closing.close(done);
  else done();
}
parentPort.on('message', (what) => (what === 'cut' ? cut : restore)(() => parentPort.postMessage(port)));
`;

/** The proxy, driven from the test's thread. */
export class CuttableProxy {
  /** Where it listens (the same port after each restore). */
  port = 0;
  private readonly thread: Worker;

  private constructor(target: { host: string; port: number }) {
    this.thread = new Worker(PROXY_THREAD, { eval: true, workerData: { target } });
  }

  /** Starts a proxy to `target` on a free loopback port. */
  static async start(target: { host: string; port: number }): Promise<CuttableProxy> {
    const proxy = new CuttableProxy(target);
    await proxy.restore();
    return proxy;
  }

  private ask(what: 'cut' | 'restore'): Promise<void> {
    return new Promise((resolve, reject) => {
      this.thread.once('error', reject);
      this.thread.once('message', (port: number) => {
        this.thread.off('error', reject);
        this.port = port;
        resolve();
      });
      this.thread.postMessage(what);
    });
  }

  /** Accepts connections again, on the same port. */
  restore(): Promise<void> {
    return this.ask('restore');
  }

  /** Refuses new connections and drops every open one, as a database host gone away. */
  cut(): Promise<void> {
    return this.ask('cut');
  }

  /** Stops the proxy for good. */
  async stop(): Promise<void> {
    await this.thread.terminate();
  }
}

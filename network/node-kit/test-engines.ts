/**
 * Real engines for tests: a throwaway PostgreSQL cluster (initdb in a temp dir, `postgres` on a
 * free port) and a NATS server on a free port, stopped (and deleted) afterwards. When a binary is missing, `skip` says which and
 * how to get it (.ci/run installs it from Debian's packages);
 * tests pass that reason to node:test's `skip` rather than passing silently.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A running engine: where to reach it, and how to stop it (kills only the process it started). */
export interface TestEngine {
  url: string;
  /** The server's process id (benchmarks read its CPU time). */
  pid: number;
  stop(): Promise<void>;
}

/** A server program: on PATH, or where Debian's postgresql package keeps it (off PATH). */
function program(name: string): string {
  if (!spawnSync(name, ['--version'], { stdio: 'ignore' }).error) return name;
  const debian = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').map((v) => join('/usr/lib/postgresql', v, 'bin', name)) : [];
  return debian.find((path) => existsSync(path)) ?? name;
}

/** Why a test needing `binary` cannot run here, or undefined when it can. */
export function missingBinary(binary: 'postgres' | 'nats-server'): string | undefined {
  const needed = binary === 'postgres' ? ['initdb', 'postgres'] : ['nats-server'];
  for (const name of needed) {
    if (spawnSync(program(name), ['--version'], { stdio: 'ignore' }).error) {
      return `${name} not found on PATH: install it (apt-get install ${binary === 'postgres' ? 'postgresql' : 'nats-server'}); .ci/run does`;
    }
  }
  return undefined;
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** initdb and postgres refuse to run as root: as root, run them as `nobody`. */
function unprivileged(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

/** Resolves when `child` prints `ready` on stderr or stdout; rejects if it exits first. */
function waitForLine(child: ChildProcess, ready: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      if (ready.test(seen)) {
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null): void => reject(new Error(`${what} exited (${code}) before it was ready:\n${seen.slice(-2000)}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Starts a NATS server on a free loopback port, or on `port` (to start one again where it was); no persistence: core NATS only. */
export async function startNats(options: { port?: number } = {}): Promise<TestEngine> {
  const port = options.port ?? (await freePort());
  const child = spawn(program('nats-server'), ['-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLine(child, /Server is ready/, 'nats-server');
  return { url: `nats://127.0.0.1:${port}`, pid: child.pid ?? 0, stop: () => stopChild(child) };
}

/** Creates a database on a test cluster (its `postgres` database's URL) and returns the new one's URL. */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return serverUrl.replace(/\/postgres$/, `/${name}`);
}

/**
 * Starts a fresh PostgreSQL cluster; `url` names its `postgres` database, user `silkworm`, trust
 * auth. Commits skip the disk flush unless `durable` (a benchmark that compares against a store
 * that flushes wants PostgreSQL to flush too, as it does in production).
 */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<TestEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-pg-'));
  const data = join(dir, 'data');
  const sockets = join(dir, 'sockets');
  await mkdir(sockets);
  const user = unprivileged();
  if (user) {
    await chown(dir, user.uid, user.gid);
    await chown(sockets, user.uid, user.gid);
  }
  const init = spawnSync(program('initdb'), ['-D', data, '-U', 'silkworm', '--auth=trust', '-E', 'UTF8', '--no-sync'], { encoding: 'utf8', ...(user ?? {}) });
  if (init.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);
  }
  const port = await freePort();
  // fsync off in tests: a test cluster is thrown away; durability is PostgreSQL's own business in production.
  const child = spawn(program('postgres'), ['-D', data, '-p', String(port), '-k', sockets, '-c', 'listen_addresses=127.0.0.1', '-c', `fsync=${options.durable ? 'on' : 'off'}`, '-c', 'max_connections=200'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user ?? {}),
  });
  try {
    await waitForLine(child, /ready to accept connections/, 'postgres');
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://silkworm@127.0.0.1:${port}/postgres`,
    pid: child.pid ?? 0,
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

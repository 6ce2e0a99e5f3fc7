/** The scale-out bench's CPU caps (cgroups) and the /proc readers of the benches (CPU of process trees, wake-ups). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createCpuCaps } from './cpu-cap.js';
import { readCpu, readMachineTicks, readMainThreadSched, treeCpuSeconds } from './proc.js';

/** A process id nothing runs under now. */
function deadPid(): number {
  for (let pid = 4_000_000; ; pid--) if (!existsSync(`/proc/${pid}`)) return pid;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A process that spins on the CPU until killed. */
function spinner(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

async function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

test('a cap of a share of a core must be a positive number', () => {
  assert.throws(() => createCpuCaps(['x'], 0), /positive number of cores/);
  assert.throws(() => createCpuCaps(['x'], Number.NaN), /positive number of cores/);
});

test('a capped process spinning on the CPU gets its share of a core, and no more, until released', async (t) => {
  const caps = createCpuCaps(['test'], 0.2);
  if (typeof caps === 'string') {
    t.skip(`CPU caps cannot be made here: ${caps}`);
    return;
  }
  const [cap] = caps;
  assert.ok(cap);
  const child = spinner();
  try {
    const pid = child.pid ?? 0;
    cap.add(pid);
    await sleep(200); // let it start under the cap
    const before = readCpu(pid)?.selfS ?? Number.NaN;
    const started = performance.now();
    await sleep(1500);
    const share = ((readCpu(pid)?.selfS ?? Number.NaN) - before) / ((performance.now() - started) / 1000);
    // At most a fifth of a core (clock ticks of 10 ms blur it a little); spinning uncapped takes a whole one.
    assert.ok(share > 0.1 && share < 0.3, `the capped spinner used ${share.toFixed(3)} of a core`);
    assert.ok(cap.throttled() > 10, `the cap held it back ${cap.throttled()} times`);
    cap.release();
    const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    assert.doesNotMatch(cgroups, /silkworm-bench-/, 'released, the process is back where the bench runs');
  } finally {
    await stopped(child);
    for (const c of caps) c.release();
  }
});

test('an empty cgroup a killed run left behind goes when the next run makes its caps', (t) => {
  const caps = createCpuCaps(['first'], 0.2);
  if (typeof caps === 'string') {
    t.skip(`CPU caps cannot be made here: ${caps}`);
    return;
  }
  const home = dirname(caps[0]?.path ?? '');
  const stale = join(home, `silkworm-bench-${deadPid()}-single-0`);
  const kept = join(home, `silkworm-bench-${process.pid}-kept`);
  try {
    mkdirSync(stale);
    mkdirSync(kept);
    const more = createCpuCaps(['second'], 0.2);
    assert.ok(typeof more !== 'string');
    for (const c of more) c.release();
    assert.ok(!existsSync(stale), 'the cgroup of a run whose process is gone was removed');
    assert.ok(existsSync(kept), "a running bench's own cgroups stay");
  } finally {
    for (const dir of [stale, kept]) if (existsSync(dir)) rmdirSync(dir);
    for (const c of caps) c.release();
  }
});

test("a process tree's CPU keeps what its exited children spent", async (t) => {
  if (!existsSync('/proc/self/stat')) {
    t.skip('no /proc here');
    return;
  }
  // The shell waits for (reaps) a child that spends 400 ms of CPU (not of wall clock, which a busy
  // machine would give less CPU), then sleeps: the child is gone from the tree when read, its CPU
  // in the shell's reaped figure.
  const burn = `node -e "const spent = () => { const u = process.cpuUsage(); return u.user + u.system; }; while (spent() < 400000) {}"`;
  const shell = spawn('sh', ['-c', `${burn}; sleep 60`], { stdio: 'ignore', env: { ...process.env, PATH: `${process.execPath.replace(/\/[^/]*$/, '')}:${process.env.PATH ?? ''}` } });
  try {
    const pid = shell.pid ?? 0;
    const before = treeCpuSeconds(pid);
    for (let waited = 0; !((readCpu(pid)?.reapedChildrenS ?? 0) > 0) && waited < 30_000; waited += 100) await sleep(100);
    const spent = treeCpuSeconds(pid) - before;
    assert.ok(spent >= 0.3, `the tree spent ${spent.toFixed(2)} s, the exited child's 0.4 s included`);
    assert.ok((readCpu(pid)?.selfS ?? 1) < 0.1, 'the shell itself spent next to nothing');
  } finally {
    await stopped(shell);
  }
});

test("the machine's busy ticks grow while a process spins", async (t) => {
  const first = readMachineTicks();
  if (!first) {
    t.skip('no /proc/stat here');
    return;
  }
  const child = spinner();
  try {
    await sleep(500);
    const second = readMachineTicks();
    assert.ok(second);
    assert.ok(second.total > first.total && second.busy >= first.busy + 30, `busy ticks ${first.busy} → ${second.busy} while a process spun for 0.5 s`);
    assert.ok(second.busy - first.busy <= second.total - first.total);
  } finally {
    await stopped(child);
  }
});

test("a process's main thread: its CPU to the nanosecond, and how often it woke", async (t) => {
  if (!existsSync(`/proc/${process.pid}/task/${process.pid}/schedstat`)) {
    t.skip('no /proc/PID/task/PID/schedstat here (not Linux, or a kernel without schedstats)');
    return;
  }
  // A process that wakes every 50 ms and does nothing else.
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 50)'], { stdio: 'ignore' });
  try {
    await sleep(300); // past its start-up
    const pid = child.pid ?? 0;
    const first = readMainThreadSched(pid);
    assert.ok(first && first.slices > 0 && first.cpuS > 0, `read ${JSON.stringify(first)}`);
    await sleep(1000);
    const second = readMainThreadSched(pid);
    assert.ok(second);
    // About 20 wake-ups of its timer in that second; a few more or fewer on a busy machine.
    const woke = second.slices - first.slices;
    assert.ok(woke >= 10 && woke <= 100, `${woke} time slices in 1 s of a 50 ms timer`);
    // Each wake-up runs a little: more than nothing, far less than the second.
    const ranS = second.cpuS - first.cpuS;
    assert.ok(ranS > 0 && ranS < 0.5, `its main thread ran ${ranS} s in 1 s`);
    assert.equal(readMainThreadSched(deadPid()), undefined);
  } finally {
    await stopped(child);
  }
});

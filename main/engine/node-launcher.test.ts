/**
 * The Node launcher's channel to a job process that died before its exit was seen: writes fail
 * with EPIPE, and that must reach no one (the exit handler fails the jobs), never crash the worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeJobProcessLauncher } from './node-launcher.js';

test('sending to a job process killed -9 before its exit is seen does not throw or emit an error', async () => {
  const handle = new NodeJobProcessLauncher().launch();
  const exited = new Promise<string | null>((resolve) => handle.onExit((_code, signal) => resolve(signal)));
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  try {
    // The process is up and talking: it answers `unload` (no model loaded) with its RSS.
    const answered = new Promise((resolve) => handle.onMessage(resolve));
    handle.send({ type: 'unload', seq: 0 });
    await answered;
    handle.kill('SIGKILL');
    // Block the event loop so the exit is not yet observed: the channel still says connected.
    const until = Date.now() + 300;
    while (Date.now() < until);
    for (let i = 0; i < 20; i++) handle.send({ type: 'cancel', seq: i, jobId: 'gone' });
    assert.equal(await exited, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(uncaught, [], 'no write error escaped');
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});

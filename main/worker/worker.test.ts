// Pausing is never delayed by other work: a model switch or a payout-address change waits for the
// running job to end, but a pause stops that job at once, and neither then loads anything onto
// the GPU or offers capacity while the worker is paused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scriptedModel, startGpuWorker, type ScriptedGpuLauncher } from './testing/scripted-gpu.js';
import { ScriptedCoordinator } from './testing/scripted-coordinator.js';

/** When job `jobId` was cancelled, or undefined if not within `ms`. */
async function cancelledWithin(gpu: ScriptedGpuLauncher, jobId: string, ms: number): Promise<number | undefined> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const cancel = gpu.events.find((e) => e.what === `cancel ${jobId}`);
    if (cancel) return cancel.at;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return undefined;
}

for (const change of ['model switch', 'payout-address change'] as const) {
  test(`a pause during a ${change} that waits for a running job stops the job at once, and the worker stays paused with nothing loaded`, { timeout: 10_000 }, async () => {
    const coordinator = await ScriptedCoordinator.start();
    const { worker, gpu, engine, stop } = await startGpuWorker(coordinator, { available: true });
    try {
      await coordinator.announced(true);
      coordinator.send({ type: 'job.offer', jobId: 'job-1', model: 'm', messages: [{ role: 'user', content: 'abc' }], params: { maxTokens: 1000, temperature: 0 } });
      await coordinator.next('job.chunk');
      const changing = change === 'model switch' ? worker.switchModel(scriptedModel('m2')) : worker.setPayoutAddress('EQ-another-address');
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(worker.activeJobs, 1, `the ${change} waits for the job`);

      const fromEvent = gpu.events.length;
      const pausedAt = performance.now();
      const pausing = worker.pause();
      const cancelledAt = await cancelledWithin(gpu, 'job-1', 300);
      // Left running, the job would hold everything up: end it so the test can report.
      if (cancelledAt === undefined) gpu.finish('job-1');
      assert.ok(cancelledAt !== undefined && cancelledAt - pausedAt < 100, `the job is cancelled at once (${cancelledAt === undefined ? 'not within 300 ms' : `after ${Math.round(cancelledAt - pausedAt)} ms`})`);
      const [timing] = await Promise.all([pausing, changing]);
      assert.equal(timing.jobsStopped, 1);
      assert.equal((await coordinator.next('job.error', (f) => f.jobId === 'job-1')).code, 'not_sharing', 'the job moves on to another worker');
      assert.deepEqual(
        gpu.since(fromEvent).filter((what) => what.startsWith('load')),
        [],
        'nothing is loaded onto the GPU while paused',
      );
      assert.equal(engine.info, undefined, 'the GPU is handed back');
      // The change reconnects to announce itself: wait until its hello has said what it says.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(coordinator.availability.at(-1), false, 'the worker is left paused');
      assert.ok(!coordinator.availability.slice(coordinator.availability.indexOf(false)).includes(true), 'no capacity is offered on the way');

      // Sharing resumes: the model it now serves loads once, and capacity is offered.
      const fromResume = gpu.events.length;
      await worker.resume();
      await coordinator.announced(true);
      assert.deepEqual(gpu.since(fromResume), [`load /models/${change === 'model switch' ? 'm2' : 'm'}.gguf layers=auto vram=none`]);
    } finally {
      await stop();
      await coordinator.close();
    }
  });
}

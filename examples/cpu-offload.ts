/**
 * Offloading CPU-bound work to threads keeps the event loop responsive.
 *
 * A "heartbeat" task asks to wake up every 10 ms and records how late it wakes (the loop's
 * lag). The same four prime-counting jobs run twice: first on the loop itself (each blocks the
 * loop while it computes), then with `toThread` on the default worker-thread executor. The
 * program prints the largest lag seen in each case.
 *
 * Shows: toThread(moduleUrl, exportName, ...args) (asyncio.to_thread, where the function is
 * named by module and export because a closure cannot cross to a thread), gather, and run()
 * shutting the thread pool down at the end.
 */
import { createTask, gather, getRunningLoop, run, sleep, toThread } from "asyncio-ts";
// The same job, imported for the "on the loop" run.
import { countPrimes } from "./cpu-jobs.mjs";

const JOBS = new URL("./cpu-jobs.mjs", import.meta.url);
const LIMIT = 1_000_000;

/** Runs `work` while a heartbeat measures the loop's lag; returns [result, max lag in ms]. */
async function withHeartbeat<T>(work: () => PromiseLike<T>): Promise<[T, number]> {
  const loop = getRunningLoop();
  let maxLag = 0;
  let beating = true;
  const heartbeat = createTask(async () => {
    while (beating) {
      const due = loop.time() + 10;
      await sleep(10);
      maxLag = Math.max(maxLag, loop.time() - due);
    }
  });
  await sleep(0);
  const result = await work();
  beating = false;
  await heartbeat;
  return [result, maxLag];
}

await run(async () => {
  const [inline, inlineLag] = await withHeartbeat(async () => {
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      counts.push(countPrimes(LIMIT));
      await sleep(0); // let the heartbeat run between jobs
    }
    return counts;
  });
  console.log(`on the loop:   ${inline.length} jobs, max loop lag ${inlineLag.toFixed(0)} ms`);

  // Start the pool's threads first (loading the pool is a one-off cost, not part of the work).
  await gather(Array.from({ length: 4 }, () => () => toThread<number>(JOBS, "countPrimes", 10)));
  const [offloaded, threadLag] = await withHeartbeat(() =>
    gather(Array.from({ length: 4 }, () => () => toThread<number>(JOBS, "countPrimes", LIMIT))),
  );
  console.log(`on threads:    ${offloaded.length} jobs, max loop lag ${threadLag.toFixed(0)} ms`);
  console.log(`same results: ${JSON.stringify(inline) === JSON.stringify(offloaded)}`);
});

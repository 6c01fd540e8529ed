import { createTask, run, Semaphore, sleep, type Task } from "asyncio-ts";
import type { BenchFn } from "../../lib/contender.ts";

const bench: BenchFn = (n) =>
  run(async () => {
    const sem = new Semaphore(100);
    const job = async () => {
      await sem.acquire();
      try {
        await sleep(0);
      } finally {
        sem.release();
      }
    };
    const t0 = performance.now();
    const tasks: Task<void>[] = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = createTask(job);
    for (const t of tasks) await t;
    return { ms: performance.now() - t0 };
  });
export default bench;

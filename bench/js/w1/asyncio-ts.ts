import { createTask, run, sleep, type Task } from "asyncio-ts";
import type { BenchFn } from "../../lib/contender.ts";

async function child(): Promise<void> {
  await sleep(0);
  await sleep(0);
  await sleep(0);
}

const bench: BenchFn = (n) =>
  run(async () => {
    const t0 = performance.now();
    const tasks: Task<void>[] = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = createTask(child);
    for (const t of tasks) await t;
    return { ms: performance.now() - t0 };
  });
export default bench;

import { createTask, type Future, getRunningLoop, run, sleep, type Task } from "asyncio-ts";
import { type BenchFn, fullGc } from "../../lib/contender.ts";

let shared: Future<void>;
async function wait(): Promise<void> {
  await shared;
}

const bench: BenchFn = (n) =>
  run(async () => {
    shared = getRunningLoop().createFuture<void>();
    const tasks: Task<void>[] = new Array(n).fill(null);
    fullGc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < n; i++) tasks[i] = createTask(wait);
    // Let every task start and block on the Future.
    await sleep(0);
    await sleep(0);
    fullGc();
    const after = process.memoryUsage().heapUsed;
    shared.setResult();
    for (const t of tasks) await t;
    return { bytesPerTask: (after - before) / n };
  });
export default bench;

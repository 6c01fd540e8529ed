import { createTask, getRunningLoop, run, sleep, type Task } from "asyncio-ts";
import type { BenchFn } from "../../lib/contender.ts";

const HOUR = 3_600_000;
const longSleep = () => sleep(HOUR);

const bench: BenchFn = (n) =>
  run(async () => {
    const tasks: Task<void>[] = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = createTask(longSleep);
    await sleep(10); // every task is now blocked in its sleep
    const t0 = performance.now();
    const allDone = getRunningLoop().createFuture<void>();
    let remaining = n;
    const onDone = () => {
      if (--remaining === 0) allDone.setResult();
    };
    for (const t of tasks) t.addDoneCallback(onDone);
    for (const t of tasks) t.cancel();
    await allDone;
    const ms = performance.now() - t0;
    if (!tasks.every((t) => t.cancelled())) throw new Error("a task was not cancelled");
    return { ms };
  });
export default bench;

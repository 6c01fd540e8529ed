import { run, sleep, spawn, type Task, until } from "effection";
import type { BenchFn } from "../../lib/contender.ts";

const longSleep = () => sleep(3_600_000);

const bench: BenchFn = (n) =>
  run(function* () {
    const tasks: Task<void>[] = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = yield* spawn(longSleep);
    yield* sleep(10); // every task is now blocked in its sleep
    const t0 = performance.now();
    // Halt all of them at once (not one after another), then wait for every halt.
    yield* until(Promise.all(tasks.map((t) => t.halt())));
    return { ms: performance.now() - t0 };
  });
export default bench;

import { type Operation, run, sleep, spawn, type Task } from "effection";
import type { BenchFn } from "../../lib/contender.ts";

// Effection has no "yield to the scheduler" operation; sleep(0) (a setTimeout) is the idiom.
function* child(): Operation<void> {
  yield* sleep(0);
  yield* sleep(0);
  yield* sleep(0);
}

const bench: BenchFn = (n) =>
  run(function* () {
    const t0 = performance.now();
    const tasks: Task<void>[] = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = yield* spawn(child);
    for (const t of tasks) yield* t;
    return { ms: performance.now() - t0 };
  });
export default bench;

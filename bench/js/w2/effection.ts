import { run, sleep, spawn, type Task } from "effection";
import type { BenchFn } from "../../lib/contender.ts";
import { timerPlan } from "./plan.ts";

const bench: BenchFn = (n, params) =>
  run(function* () {
    const { delays, longest } = timerPlan(n, params);
    const t0 = performance.now();
    const tasks: Task<void>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const d = delays[i];
      tasks[i] = yield* spawn(() => sleep(d));
    }
    for (const t of tasks) yield* t;
    const ms = performance.now() - t0;
    return { ms, overheadMs: ms - longest };
  });
export default bench;

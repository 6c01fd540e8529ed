import { run, sleep, spawn, suspend } from "effection";
import type { BenchFn } from "../../lib/contender.ts";

const longSleep = () => sleep(3_600_000);

const bench: BenchFn = (n) =>
  run(function* () {
    const parent = yield* spawn(function* () {
      for (let i = 0; i < n; i++) yield* spawn(longSleep);
      yield* suspend();
    });
    yield* sleep(10); // every child is now blocked in its sleep
    const t0 = performance.now();
    yield* parent.halt();
    return { ms: performance.now() - t0 };
  });
export default bench;

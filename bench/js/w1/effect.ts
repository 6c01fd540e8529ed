import { Effect, Fiber } from "effect";
import type { BenchFn } from "../../lib/contender.ts";

const child = Effect.gen(function* () {
  yield* Effect.yieldNow;
  yield* Effect.yieldNow;
  yield* Effect.yieldNow;
});

const bench: BenchFn = (n) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const t0 = performance.now();
      const fibers: Fiber.Fiber<void>[] = new Array(n);
      for (let i = 0; i < n; i++) fibers[i] = yield* Effect.forkChild(child);
      for (const f of fibers) yield* Fiber.join(f);
      return { ms: performance.now() - t0 };
    }),
  );
export default bench;

import { Effect, Fiber } from "effect";
import type { BenchFn } from "../../lib/contender.ts";

const longSleep = Effect.sleep(3_600_000);

const bench: BenchFn = (n) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const fibers: Fiber.Fiber<void>[] = new Array(n);
      for (let i = 0; i < n; i++) fibers[i] = yield* Effect.forkChild(longSleep);
      yield* Effect.sleep(10); // every fiber is now blocked in its sleep
      const t0 = performance.now();
      yield* Fiber.interruptAll(fibers);
      const ms = performance.now() - t0;
      if (!fibers.every((f) => f.pollUnsafe() !== undefined)) throw new Error("fiber still alive");
      return { ms };
    }),
  );
export default bench;

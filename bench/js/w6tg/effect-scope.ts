import { Effect, Fiber } from "effect";
import type { BenchFn } from "../../lib/contender.ts";

const longSleep = Effect.sleep(3_600_000);

const bench: BenchFn = (n) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const children: Fiber.Fiber<void>[] = new Array(n);
      const parent = yield* Effect.forkChild(
        Effect.gen(function* () {
          for (let i = 0; i < n; i++) children[i] = yield* Effect.forkChild(longSleep);
          yield* Effect.never;
        }),
      );
      yield* Effect.sleep(10); // every child is now blocked in its sleep
      const t0 = performance.now();
      yield* Fiber.interrupt(parent);
      const ms = performance.now() - t0;
      if (!children.every((f) => f.pollUnsafe() !== undefined)) throw new Error("child alive");
      return { ms };
    }),
  );
export default bench;

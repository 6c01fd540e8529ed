import { Deferred, Effect, Fiber } from "effect";
import { type BenchFn, fullGc } from "../../lib/contender.ts";

const heapUsed = Effect.sync(() => {
  fullGc();
  return process.memoryUsage().heapUsed;
});

const bench: BenchFn = (n) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const deferred = yield* Deferred.make<void>();
      const wait = Deferred.await(deferred);
      const fibers: Fiber.Fiber<void>[] = new Array(n).fill(null);
      const before = yield* heapUsed;
      for (let i = 0; i < n; i++) fibers[i] = yield* Effect.forkChild(wait);
      // Let every fiber start and block on the Deferred.
      yield* Effect.sleep(1);
      const after = yield* heapUsed;
      yield* Deferred.succeed(deferred, undefined);
      for (const f of fibers) yield* Fiber.join(f);
      return { bytesPerTask: (after - before) / n };
    }),
  );
export default bench;

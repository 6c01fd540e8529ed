import { Effect, Fiber, Queue } from "effect";
import type { BenchFn } from "../../lib/contender.ts";
import { checkSum, shape } from "./shape.ts";

const bench: BenchFn = (n, params) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const { producers, consumers, perProducer, perConsumer, expectedSum } = shape(n, params);
      const queue = yield* Queue.bounded<number>(100);
      const take = Queue.take(queue);
      const t0 = performance.now();
      const fibers: Fiber.Fiber<unknown>[] = [];
      for (let p = 0; p < producers; p++) {
        fibers.push(
          yield* Effect.forkChild(
            Effect.gen(function* () {
              for (let i = 0; i < perProducer; i++) yield* Queue.offer(queue, i);
            }),
          ),
        );
      }
      for (let c = 0; c < consumers; c++) {
        fibers.push(
          yield* Effect.forkChild(
            Effect.gen(function* () {
              let sum = 0;
              for (let i = 0; i < perConsumer; i++) sum += yield* take;
              return sum;
            }),
          ),
        );
      }
      const sums: unknown[] = [];
      for (const f of fibers) sums.push(yield* Fiber.join(f));
      const ms = performance.now() - t0;
      checkSum(sums, expectedSum);
      return { ms };
    }),
  );
export default bench;

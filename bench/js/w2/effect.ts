import { Effect, Fiber } from "effect";
import type { BenchFn } from "../../lib/contender.ts";
import { timerPlan } from "./plan.ts";

const bench: BenchFn = (n, params) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const { delays, longest } = timerPlan(n, params);
      const t0 = performance.now();
      const fibers: Fiber.Fiber<void>[] = new Array(n);
      for (let i = 0; i < n; i++) fibers[i] = yield* Effect.forkChild(Effect.sleep(delays[i]));
      for (const f of fibers) yield* Fiber.join(f);
      const ms = performance.now() - t0;
      return { ms, overheadMs: ms - longest };
    }),
  );
export default bench;

import { Effect } from "effect";
import type { BenchFn } from "../../lib/contender.ts";

// The cheapest body Effect has (Effect.void), under Effect.timeout.
const scope = Effect.timeout(Effect.void, 1000);

const bench: BenchFn = (n) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) yield* scope;
      return { ms: performance.now() - t0 };
    }),
  );
export default bench;

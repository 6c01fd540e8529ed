import type { BenchParams } from "../../lib/contender.ts";
import { uniformDelays } from "../../lib/rng.ts";

/** The delays of a W2 run (shorter during the warm-up) and the longest of them. */
export function timerPlan(n: number, params: BenchParams): { delays: number[]; longest: number } {
  const maxDelay = params.warmup ? 100 : Number(params.maxDelay);
  const delays = uniformDelays(n, maxDelay, Number(params.seed));
  let longest = 0;
  for (const d of delays) if (d > longest) longest = d;
  return { delays, longest };
}

import type { BenchFn } from "../../lib/contender.ts";
import { timerPlan } from "./plan.ts";

const bench: BenchFn = async (n, params) => {
  const { delays, longest } = timerPlan(n, params);
  const t0 = performance.now();
  const promises: Promise<void>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const d = delays[i];
    promises[i] = new Promise((resolve) => setTimeout(resolve, d));
  }
  for (const p of promises) await p;
  const ms = performance.now() - t0;
  return { ms, overheadMs: ms - longest };
};
export default bench;

import pLimit from "p-limit";
import type { BenchFn } from "../../lib/contender.ts";

async function job(): Promise<void> {
  await null;
}

const bench: BenchFn = async (n) => {
  const limit = pLimit(100);
  const t0 = performance.now();
  const promises: Promise<void>[] = new Array(n);
  for (let i = 0; i < n; i++) promises[i] = limit(job);
  for (const p of promises) await p;
  return { ms: performance.now() - t0 };
};
export default bench;

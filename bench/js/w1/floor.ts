import type { BenchFn } from "../../lib/contender.ts";

async function child(): Promise<void> {
  await null;
  await null;
  await null;
}

const bench: BenchFn = async (n) => {
  const t0 = performance.now();
  const promises: Promise<void>[] = new Array(n);
  for (let i = 0; i < n; i++) promises[i] = child();
  for (const p of promises) await p;
  return { ms: performance.now() - t0 };
};
export default bench;

import { type BenchFn, fullGc } from "../../lib/contender.ts";

let shared: Promise<void>;
async function wait(): Promise<void> {
  await shared;
}

const bench: BenchFn = async (n) => {
  let release!: () => void;
  shared = new Promise((resolve) => {
    release = resolve;
  });
  const promises: Promise<void>[] = new Array(n).fill(null);
  fullGc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) promises[i] = wait();
  await new Promise((resolve) => setImmediate(resolve));
  fullGc();
  const after = process.memoryUsage().heapUsed;
  release();
  for (const p of promises) await p;
  return { bytesPerTask: (after - before) / n };
};
export default bench;

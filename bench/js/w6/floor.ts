import type { BenchFn } from "../../lib/contender.ts";

const HOUR = 3_600_000;
const ignore = () => {};
const cancelled = new Error("cancelled");

// The least a cancellable sleep can be: a timer and the promise's reject function.
const bench: BenchFn = async (n) => {
  const cancels: (() => void)[] = new Array(n);
  const promises: Promise<void>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    promises[i] = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, HOUR);
      cancels[i] = () => {
        clearTimeout(timer);
        reject(cancelled);
      };
    }).then(ignore, ignore);
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
  const t0 = performance.now();
  for (const cancel of cancels) cancel();
  await Promise.all(promises);
  return { ms: performance.now() - t0 };
};
export default bench;

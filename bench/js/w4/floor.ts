import type { BenchFn } from "../../lib/contender.ts";

/** The least a concurrency limit can be: a counter and a FIFO of resolve functions. */
function limiter(limit: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  let head = 0;
  return {
    acquire(): Promise<void> | undefined {
      if (active < limit) {
        active++;
        return undefined;
      }
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    release(): void {
      if (head < waiting.length) {
        const next = waiting[head];
        waiting[head++] = undefined as never;
        if (head === waiting.length) waiting.length = head = 0;
        next(); // the permit passes straight to the next waiter
      } else active--;
    },
  };
}

const bench: BenchFn = async (n) => {
  const sem = limiter(100);
  const job = async () => {
    await sem.acquire();
    try {
      await null;
    } finally {
      sem.release();
    }
  };
  const t0 = performance.now();
  const promises: Promise<void>[] = new Array(n);
  for (let i = 0; i < n; i++) promises[i] = job();
  for (const p of promises) await p;
  return { ms: performance.now() - t0 };
};
export default bench;

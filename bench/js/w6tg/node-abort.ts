import { setMaxListeners } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import type { BenchFn } from "../../lib/contender.ts";

const HOUR = 3_600_000;
const ignore = () => {};

const bench: BenchFn = async (n) => {
  const controller = new AbortController();
  const signal = controller.signal;
  setMaxListeners(0, signal); // n listeners on one signal is the point here
  const promises: Promise<void>[] = new Array(n);
  for (let i = 0; i < n; i++) promises[i] = delay(HOUR, undefined, { signal }).then(ignore, ignore);
  await delay(10);
  const t0 = performance.now();
  controller.abort();
  await Promise.all(promises);
  return { ms: performance.now() - t0 };
};
export default bench;

import { setTimeout as delay } from "node:timers/promises";
import type { BenchFn } from "../../lib/contender.ts";

const HOUR = 3_600_000;
const ignore = () => {};

const bench: BenchFn = async (n) => {
  const controllers: AbortController[] = new Array(n);
  const promises: Promise<void>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const controller = (controllers[i] = new AbortController());
    promises[i] = delay(HOUR, undefined, { signal: controller.signal }).then(ignore, ignore);
  }
  await delay(10);
  const t0 = performance.now();
  for (const c of controllers) c.abort();
  await Promise.all(promises);
  return { ms: performance.now() - t0 };
};
export default bench;

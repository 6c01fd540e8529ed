import { run, timeout } from "asyncio-ts";
import type { BenchFn } from "../../lib/contender.ts";

async function noop(): Promise<void> {}
async function body(): Promise<void> {
  await noop();
}

const bench: BenchFn = (n) =>
  run(async () => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await timeout(1000, body);
    return { ms: performance.now() - t0 };
  });
export default bench;

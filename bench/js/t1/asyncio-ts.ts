import { run } from "asyncio-ts";
import type { BenchFn } from "../../lib/contender.ts";
import { fromAsyncioTs } from "../../lib/optional.ts";

const timeout =
  fromAsyncioTs<(delay: number | null, body: () => Promise<void>) => Promise<void>>("timeout");

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

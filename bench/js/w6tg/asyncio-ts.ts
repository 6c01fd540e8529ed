import { createTask, isCancelledError, run, sleep } from "asyncio-ts";
import type { BenchFn } from "../../lib/contender.ts";
import { fromAsyncioTs } from "../../lib/optional.ts";

interface Group {
  createTask(fn: () => Promise<void>): unknown;
}
const taskGroup = fromAsyncioTs<(body: (tg: Group) => Promise<void>) => Promise<void>>("taskGroup");

const HOUR = 3_600_000;
const longSleep = () => sleep(HOUR);

const bench: BenchFn = (n) =>
  run(async () => {
    const parent = createTask(() =>
      taskGroup(async (tg) => {
        for (let i = 0; i < n; i++) tg.createTask(longSleep);
      }),
    );
    await sleep(10); // every child is now blocked in its sleep
    const t0 = performance.now();
    parent.cancel();
    try {
      await parent;
    } catch (error) {
      if (!isCancelledError(error)) throw error;
    }
    const ms = performance.now() - t0;
    if (!parent.cancelled()) throw new Error("the parent was not cancelled");
    return { ms };
  });
export default bench;

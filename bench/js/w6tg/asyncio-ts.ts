import { createTask, isCancelledError, run, sleep, taskGroup } from "asyncio-ts";
import type { BenchFn } from "../../lib/contender.ts";

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

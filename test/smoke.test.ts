import assert from "node:assert/strict";
import { test } from "node:test";
import { createTask, getRunningLoop, sleep } from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

test("the seed example's two tasks finish after the longer delay, not the sum", async () => {
  const log: string[] = [];
  const elapsed = await runVirtual(async () => {
    const loop = getRunningLoop();
    const start = loop.time();
    const sayAfter = async (delay: number, message: string) => {
      await sleep(delay);
      log.push(`${message}@${loop.time() - start}`);
    };
    const t1 = createTask(() => sayAfter(1000, "Hello"));
    const t2 = createTask(() => sayAfter(2000, "World"));
    await t1;
    await t2;
    return loop.time() - start;
  });
  assert.deepEqual(log, ["Hello@1000", "World@2000"]);
  assert.equal(elapsed, 2000);
});

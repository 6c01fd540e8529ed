/**
 * Task behaviour: lazy and eager start, names, cancellation semantics (asyncio's `cancel`,
 * `cancelling`, `uncancel`, `_must_cancel`, `_fut_waiter`), strong references, stacks and
 * inspect strings. Scenarios follow CPython's test_tasks.py, rewritten for the virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CancelledError, createTask, getRunningLoop, sleep } from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

describe("cancel()", () => {
  test("a cancel requested before the task's first await of a Future cancels that Future and wakes the task", async () => {
    const outcome = await runVirtual(async () => {
      const fut = getRunningLoop().createFuture<number>();
      const task = createTask(async () => {
        try {
          await fut;
          return "not cancelled";
        } catch (e) {
          return `caught ${(e as Error).name}: ${(e as Error).message}`;
        }
      });
      // The task starts on the next iteration and reaches `await fut`, but the Future's `then`
      // is called on a later microtask than this continuation: the request is still pending.
      await sleep(0);
      assert.equal(task.cancel("stop"), true);
      const result = await task;
      return { result, futCancelled: fut.cancelled() };
    });
    assert.deepEqual(outcome, { result: "caught CancelledError: stop", futCancelled: true });
  });
});

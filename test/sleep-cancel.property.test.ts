/**
 * Sleeps and their cancellation, property-based (fast-check): up to 300 tasks sleep, each is
 * cancelled by a timer at some time or not at all. There are enough of them for the timer heap
 * to compact while they are cancelled (past 64 cancelled entries), and the cancelling timers
 * often fall in the same loop iteration as the sleeps they cancel. Whatever the mix, no wake-up
 * is lost: every task ends, exactly as asyncio would end it.
 *
 * - no cancel, or a cancel after its deadline: the task wakes at its deadline;
 * - a cancel before its deadline: it ends cancelled at the cancel's time;
 * - a cancel at its deadline: the cancel's timer was scheduled first, so it runs first in that
 *   iteration and the task ends cancelled, as in asyncio (the sleep's own timer then finds its
 *   Future cancelled).
 *
 * This property was added after a lost wake-up that only a 20 000-task test found: a cancel that
 * itself triggered the heap's compaction was taken for one due in the current iteration.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { CancelledError, createTask, getRunningLoop, sleep } from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

// Deadlines spread over a second and cancels bunched in its first 30 ms: the heap keeps most
// sleepers while many are cancelled at once, which is when it compacts; a few cancels fall on
// the deadline itself.
const sleeper = fc
  .record({
    delay: fc.integer({ min: 1, max: 1000 }),
    cancelAt: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined, freq: 4 }),
    onDeadline: fc.boolean(),
  })
  .map(({ delay, cancelAt, onDeadline }) => ({
    delay,
    cancelAt: cancelAt !== undefined && onDeadline && cancelAt % 5 === 0 ? delay : cancelAt,
  }));

test("many sleeps cancelled by timers at any time: every task ends, woken at its deadline or cancelled at the cancel's time", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(sleeper, { minLength: 1, maxLength: 300, size: "max" }),
      async (specs) => {
        const outcomes: string[] = [];
        await runVirtual(async () => {
          const loop = getRunningLoop();
          const tasks = specs.map((spec, i) =>
            createTask(async () => {
              try {
                await sleep(spec.delay);
                outcomes[i] = `woke at ${loop.time()}`;
              } catch (error) {
                assert.equal(outcomes[i], undefined, "one outcome per task");
                outcomes[i] = error instanceof CancelledError ? `cancelled at ${loop.time()}` : "?";
                throw error;
              }
            }),
          );
          specs.forEach((spec, i) => {
            if (spec.cancelAt !== undefined) loop.callAt(spec.cancelAt, () => tasks[i].cancel());
          });
          for (const task of tasks) await task.then(undefined, () => undefined);
        });
        const expected = specs.map(({ delay, cancelAt }) =>
          cancelAt === undefined || cancelAt > delay
            ? `woke at ${delay}`
            : `cancelled at ${cancelAt}`,
        );
        assert.deepEqual(outcomes, expected);
      },
    ),
    { numRuns: 60 },
  );
});

/**
 * Conformance: task lifecycles under random scripts, compared event by event with CPython 3.13
 * (the traces it gave for the same scripts are in `fixtures/task-scripts.cpython.json`,
 * recorded as described in `conformance-sync-scripts.test.ts`).
 *
 * `fixtures/task-scripts.ts` turns a seed into 2 to 6 tasks that await later tasks directly,
 * through `gather` (duplicates included) and through `shield`, cancel one another and
 * themselves (before they start, from timers, twice in a row, with and without messages),
 * read `cancelling()`, call `uncancel()`, await themselves, throw, sleep inside `timeout()`,
 * `waitFor()` a later task (cancelling it on expiry); each task handles a
 * CancelledError reaching its script in one way: re-raise it, swallow it with `uncancel()`,
 * ignore it (go on with the count unchanged), or return a value. The trace records every
 * outcome with its cancel message and the `cancelling()` counts, and the final state of every
 * task.
 *
 * CPython test scenarios this generalises (test_tasks, in our own words): cancelling a task
 * that awaits another task cancels the awaited one too; cancelling a task that awaits a gather
 * cancels the children, one awaiting a shield does not reach the shielded task; a cancelled
 * child fails the gather; cancel() counts requests, uncancel() takes them back; a task that
 * catches its CancelledError and returns a value finishes with it; one that cancels itself
 * gets CancelledError at its next wait; a cancel after the awaited task finished but before the
 * awaiter resumed; cancel() on a done task returns false; a task awaiting itself gets
 * RuntimeError; a task that returns with a cancel still pending ends cancelled; cancel messages
 * travel through chained awaits; a timeout that expires while an outside cancel is pending or
 * was swallowed (the TimeoutError only when the timeout caused it); wait_for of a task.
 *
 * The CPython side runs the pure-Python Future and Task (same semantics as the C ones) with
 * three details aligned on asyncio-ts, each a documented difference:
 * - a task's own CancelledError (and its message) is given to every `result()` and awaiter;
 *   CPython hands it to the first one only and later ones get a CancelledError without message;
 * - `await shield(x)` with `x` cancelled carries `x`'s message; CPython's has none;
 * - a gather whose `cancel()` was requested, and whose last child then finished without being
 *   cancelled, fails with the request's message; CPython uses the message of the last child in
 *   the argument list (usually none).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { generateTasks, interpretTasks } from "./fixtures/task-scripts.ts";
import { readRecorded, testAgainstRecorded } from "./fixtures/traces.ts";
import { runVirtual } from "./helpers.ts";

const recorded = readRecorded("task-scripts.cpython.json");

const runScript = (seed: number) => runVirtual(() => interpretTasks(generateTasks(seed)));

describe("conformance: task scripts against CPython 3.13 traces", () => {
  testAgainstRecorded(recorded, runScript);

  test("the scripts exercise what they are meant to", async () => {
    const counts = {
      awaitedCancelled: 0,
      gatherFailed: 0,
      shieldFailed: 0,
      returnedAfterCancel: 0,
      swallowed: 0,
      awaitSelf: 0,
      countAboveOne: 0,
      cancelOnDone: 0,
      withMessage: 0,
      timedOut: 0,
    };
    for (let seed = 0; seed < 400; seed++) {
      for (const line of await runScript(seed)) {
        if (/ await failed CancelledError/.test(line)) counts.awaitedCancelled++;
        if (/ gather failed /.test(line)) counts.gatherFailed++;
        if (/ shield failed /.test(line)) counts.shieldFailed++;
        if (/ result=1\d/.test(line)) counts.returnedAfterCancel++;
        if (/ uncancel -> /.test(line)) counts.swallowed++;
        if (/ await self -> RuntimeError| self failed /.test(line)) counts.awaitSelf++;
        if (/cancelling=[2-9]/.test(line)) counts.countAboveOne++;
        if (/ -> false \(/.test(line)) counts.cancelOnDone++;
        if (/CancelledError\(m\d\)/.test(line)) counts.withMessage++;
        if (/ -> TimeoutError /.test(line)) counts.timedOut++;
      }
    }
    for (const [kind, n] of Object.entries(counts)) {
      // 400 scripts give 35 to 900 of each; a generator change that starves one fails here.
      assert.ok(n >= 20, `only ${n} events of kind ${kind}`);
    }
  });
});

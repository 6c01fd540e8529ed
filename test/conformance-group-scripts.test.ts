/**
 * Conformance: nested task groups and timeouts under random scripts, compared event by event
 * with CPython 3.13 (the traces it gave for the same scripts are in
 * `fixtures/group-scripts.cpython.json`, recorded as described in
 * `conformance-sync-scripts.test.ts`).
 *
 * `fixtures/group-scripts.ts` turns a seed into a tree of nodes, each run by a task: task groups
 * whose children are nodes (some with `eagerStart`) and whose body runs more operations, `timeout()` scopes (rescheduled
 * at times), `waitFor()`, `shield()`, `gather()` (with and without `returnExceptions`), `wait()`
 * and `asCompleted()` of new tasks, failures, `tg.cancel()`, self-cancellation and
 * `uncancel()`, and timers cancelling tasks from outside. Each node handles a CancelledError in
 * one way: re-raise it, clean up (sleep) and re-raise, swallow it with `uncancel()`, or throw an
 * error instead. The trace records every node's end and every scope's outcome, ExceptionGroups
 * as nested lists, with the `cancelling()` counts.
 *
 * CPython test scenarios this generalises (test_taskgroups, test_timeouts, in our own words): a
 * child failure cancels the siblings and the body, and every error comes out in one
 * ExceptionGroup, nested groups nesting theirs; a child that fails while being cancelled; a body
 * error joins the group; an outside cancellation propagates once the children have ended, unless
 * errors win, and is then re-requested; `cancelling()` is restored after a handled failure;
 * nested timeouts, only the one that expired converts the cancellation; a timeout that expires
 * while a group aborts; reschedule() of an active, expiring or expired timeout.
 *
 * The CPython side has asyncio 3.15's `TaskGroup.cancel()` and the newest `create_task()`
 * (gh-128550, `eager_start`) backported, keeps a group's children in creation order (CPython
 * iterates a set), and models one documented difference: a
 * cancellation of the parent that the group's wait absorbed after `tg.cancel()` still
 * propagates here (see group_interp.py).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { generateGroups, interpretGroups } from "./fixtures/group-scripts.ts";
import { readRecorded, testAgainstRecorded } from "./fixtures/traces.ts";
import { runVirtual } from "./helpers.ts";

const recorded = readRecorded("group-scripts.cpython.json");

const runScript = (seed: number) => runVirtual(() => interpretGroups(generateGroups(seed)));

describe("conformance: task group scripts against CPython 3.13 traces", () => {
  testAgainstRecorded(recorded, runScript);

  test("the scripts exercise what they are meant to", async () => {
    const counts = {
      groupFailed: 0,
      nestedGroups: 0,
      groupOk: 0,
      timedOut: 0,
      rescheduled: 0,
      caught: 0,
      outsideCancel: 0,
      countAboveOne: 0,
      combinators: 0,
    };
    for (let seed = 0; seed < 400; seed++) {
      for (const line of await runScript(seed)) {
        if (/ group -> EG\[/.test(line)) counts.groupFailed++;
        if (/EG\[EG\[/.test(line)) counts.nestedGroups++;
        if (/ group ok /.test(line)) counts.groupOk++;
        if (/ -> Timeout /.test(line)) counts.timedOut++;
        if (/ reschedule ok/.test(line)) counts.rescheduled++;
        if (/ caught Cancelled /.test(line)) counts.caught++;
        if (/ cancel \S+ -> true/.test(line)) counts.outsideCancel++;
        if (/c=[2-9]/.test(line)) counts.countAboveOne++;
        if (/ (gather results|wait done|asCompleted|shield ok|waitFor ok)/.test(line)) {
          counts.combinators++;
        }
      }
    }
    for (const [kind, n] of Object.entries(counts)) {
      // A generator change that starves one kind of event fails here.
      assert.ok(n >= 20, `only ${n} events of kind ${kind}`);
    }
  });
});

/**
 * Conformance: several `runner.run()` calls on one `Runner`, with background tasks that outlive
 * the run that started them, under random scripts, compared event by event with CPython 3.13's
 * `asyncio.Runner` (the traces it gave for the same scripts are in
 * `fixtures/runner-scripts.cpython.json`, recorded as described in
 * `conformance-sync-scripts.test.ts`).
 *
 * `fixtures/runner-scripts.ts` turns a seed into two to four runs whose main functions sleep,
 * fail, spawn background tasks (some eager: lazy on the idle loop between runs), join tasks of
 * earlier runs, cancel tasks, run task groups and timeouts; the trace says which tasks are
 * still pending after each run, and every task's final state after a last run that cancels
 * what is left.
 *
 * CPython test scenarios this generalises (test_runners, in our own words): a task started by
 * one run makes progress only during later runs and keeps its state in between; the run that
 * sees main end still finishes the loop iteration in progress (run_until_complete's stop() lets
 * _run_once finish), so a task whose last step is scheduled in it is done when run() returns;
 * an error of main is raised by run() and the runner stays usable; virtual time carries over.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { generateRunner, interpretRunner } from "./fixtures/runner-scripts.ts";
import { readRecorded, testAgainstRecorded } from "./fixtures/traces.ts";

const recorded = readRecorded("runner-scripts.cpython.json");

const runScript = (seed: number) => interpretRunner(generateRunner(seed));

describe("conformance: Runner scripts against CPython 3.13 traces", () => {
  testAgainstRecorded(recorded, runScript);

  test("the scripts exercise what they are meant to", async () => {
    const counts = {
      pendingAfterRun: 0,
      joined: 0,
      joinedCancelled: 0,
      runRaised: 0,
      caught: 0,
      groupFailed: 0,
      timedOut: 0,
    };
    for (let seed = 0; seed < 300; seed++) {
      for (const line of await runScript(seed)) {
        if (/ after run \d: pending \S/.test(line)) counts.pendingAfterRun++;
        if (/ join \S+ -> (done|swallowed)/.test(line)) counts.joined++;
        if (/ join \S+ -> task cancelled/.test(line)) counts.joinedCancelled++;
        if (/ run \d raised /.test(line)) counts.runRaised++;
        if (/ caught Cancelled /.test(line)) counts.caught++;
        if (/ group -> EG\[/.test(line)) counts.groupFailed++;
        if (/ -> Timeout /.test(line)) counts.timedOut++;
      }
    }
    for (const [kind, n] of Object.entries(counts)) {
      // A generator change that starves one kind of event fails here.
      assert.ok(n >= 20, `only ${n} events of kind ${kind}`);
    }
  });
});

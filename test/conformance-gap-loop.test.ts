/**
 * Conformance gap audit: scenarios of CPython's test_base_events, test_events (the loop API:
 * handles, closing, the exception handler, debug mode), test_pep492, test_graph
 * (capture_call_graph) and test_tools (ps/pstree) that the other files leave out, written with
 * CPython's own step counts. This file imports the built package by its name, as a program does
 * (so `npm run build` first): what it pins includes how dist/ behaves, with the source maps tsx
 * turns on. Everything runs on the virtual clock.
 *
 * Pinned elsewhere: call order within an iteration, timer order, negative delays, cancelled
 * handles, the exact context of a failing callback, a broken custom or default handler, a
 * callback's async context (event-loop.test.ts, conformance-events.test.ts); slow callbacks and
 * steps, creation stacks in the handler's context (event-loop.test.ts); run() inside a loop,
 * Runner life cycle (runners.test.ts, conformance-runners.test.ts); task factories
 * (tasks.test.ts, conformance-eager.test.ts); test_context.py and the context tests of
 * test_tasks (conformance-context.test.ts); the task table and tree for hand-made snapshots
 * (ps.test.ts).
 *
 * Do not apply, by design: thread checks, call_soon_threadsafe and policies (one thread, no
 * policy); run_forever/run_until_complete/stop and the selector's internals (`_run_once`, the
 * cancelled-timer cleanup, `_process_events`: the loop is driven by Node's); hash and ordering of
 * TimerHandles (no operator overloading); PYTHONASYNCIODEBUG (debug mode is an option of run());
 * generator-based coroutines, `types.coroutine`, `iscoroutine`, coroutine origin tracking and
 * "coroutine is being awaited already" (a promise can be awaited any number of times); async
 * generator finalization by the garbage collector; sockets, pipes and subprocesses (the gap-io
 * file and the I/O conformance files).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type ExceptionContext, getRunningLoop, type RunOptions, run, sleep } from "asyncio-ts";

const THIS_FILE = fileURLToPath(import.meta.url);

/** Runs `main` on a fresh loop of the built package, virtual time, no SIGINT handling. */
function runVirtual<T>(main: () => T | PromiseLike<T>, options: RunOptions = {}): Promise<T> {
  return run(main, { clock: "virtual", handleSignals: false, ...options });
}

async function yields(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await sleep(0);
}

/** The line of the code that calls this (for "created at" checks). */
function callerLine(): number {
  const frame = new Error().stack!.split("\n")[2]!;
  return Number(/:(\d+):\d+\)?$/.exec(frame)![1]);
}

describe("gap: handles in debug mode (test_events HandleTests, TimerTests)", () => {
  test("callSoon, callLater and callAt record the caller's line as their innermost frame, shown in the inspect string and the handler's context (test_handle_source_traceback)", async () => {
    const contexts: ExceptionContext[] = [];
    const expected: number[] = [];
    await runVirtual(
      async () => {
        const loop = getRunningLoop();
        loop.setExceptionHandler((_loop, context) => contexts.push(context));
        function fails() {
          throw new Error("boom");
        }
        expected.push(callerLine() + 1);
        const soon = loop.callSoon(fails);
        expected.push(callerLine() + 1);
        const later = loop.callLater(0, fails);
        expected.push(callerLine() + 1);
        const at = loop.callAt(0, fails);
        [soon, later, at].forEach((handle, i) => {
          assert.ok(
            String(handle).endsWith(
              ` created at ${THIS_FILE}:${expected[i]}:${/:(\d+)>$/.exec(String(handle))?.[1]}>`,
            ),
            String(handle),
          );
        });
        await yields(2);
      },
      { debug: true },
    );
    assert.equal(contexts.length, 3);
    contexts.forEach((context, i) => {
      const top = context.sourceTraceback!.split("\n")[0]!;
      assert.ok(top.includes(`${THIS_FILE}:${expected[i]}:`), top);
    });
  });
});

/**
 * Conformance: run() and Runner scenarios from CPython's test_runners that the main file does
 * not pin: what the exception handler receives for a leftover task's error, the debug flag,
 * and the life cycle of a Runner's loop. Virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CancelledError,
  createTask,
  getRunningLoop,
  Runner,
  RuntimeError,
  sleep,
  type Task,
} from "../src/index.ts";
import { collectExceptions, runVirtual } from "./helpers.ts";

describe("conformance: run()", () => {
  test("a leftover task that fails while being cancelled at shutdown is reported with the task and its error (test_asyncio_run_reports_hanging_tasks_errors)", async () => {
    const { contexts, handler } = collectExceptions();
    let leftover: Task<void> | undefined;
    const result = await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      leftover = createTask(async () => {
        try {
          await sleep(100);
        } catch {
          throw new RangeError("division by zero");
        }
      });
      await sleep(0);
      return 123;
    });
    assert.equal(result, 123);
    assert.equal(leftover!.done(), true);
    assert.equal(contexts.length, 1);
    const context = contexts[0] as { message: string; exception?: unknown; task?: unknown };
    assert.ok(context.exception instanceof RangeError);
    assert.equal(context.task, leftover);
    assert.match(context.message, /shutdown/);
  });

  test("a leftover task is cancelled at shutdown, not run to its end (test_asyncio_run_cancels_hanging_tasks)", async () => {
    let leftover: Task<void> | undefined;
    let finished = false;
    await runVirtual(async () => {
      leftover = createTask(async () => {
        await sleep(100);
        finished = true;
      });
      return 123;
    });
    assert.equal(leftover!.cancelled(), true);
    assert.equal(finished, false);
  });

  test("the debug option is what the loop reports, on and off (test_asyncio_run_debug)", async () => {
    for (const debug of [false, true]) {
      const seen = await runVirtual(() => getRunningLoop().getDebug(), { debug });
      assert.equal(seen, debug);
    }
  });

  test("main's error after a yield is what run() rejects with (test_asyncio_run_raises)", async () => {
    await assert.rejects(
      runVirtual(async () => {
        await sleep(0);
        throw new RangeError("spam");
      }),
      (e: unknown) => e instanceof RangeError && e.message === "spam",
    );
  });

  test("a main task that swallows its own cancellation and returns gives its value", async () => {
    const value = await runVirtual(async () => {
      const me = createTask(async () => {
        try {
          await sleep(1000);
        } catch (e) {
          assert.ok(e instanceof CancelledError);
          return "caught";
        }
        return "slept";
      });
      await sleep(0);
      me.cancel();
      return await me;
    });
    assert.equal(value, "caught");
  });
});

describe("conformance: Runner", () => {
  test("close() closes the loop; getLoop() afterwards is a RuntimeError saying the runner is closed (test_explicit_close)", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    const loop = runner.getLoop();
    await runner.close();
    assert.throws(
      () => runner.getLoop(),
      (e: unknown) => e instanceof RuntimeError && /Runner is closed/.test(e.message),
    );
    assert.equal(loop.isClosed(), true);
  });

  test("close() twice is fine and the runner stays closed (test_double_close)", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    await runner.close();
    await runner.close();
    assert.throws(() => runner.getLoop(), RuntimeError);
  });

  test("run() after close() rejects with RuntimeError and runs nothing (test_run_after_close)", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    await runner.run(() => 1);
    await runner.close();
    let ran = false;
    await assert.rejects(
      runner.run(() => {
        ran = true;
      }),
      (e: unknown) => e instanceof RuntimeError && /Runner is closed/.test(e.message),
    );
    assert.equal(ran, false);
  });

  test("the loop is the same across run() calls and not running in between", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    try {
      const a = await runner.run(() => getRunningLoop());
      const b = await runner.run(() => getRunningLoop());
      assert.equal(a, b);
      assert.equal(a, runner.getLoop());
      assert.equal(a.isRunning(), false);
      assert.equal(a.isClosed(), false);
    } finally {
      await runner.close();
    }
  });

  test("a non-function is a TypeError and leaves the runner usable (test_run_non_coro)", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    try {
      await assert.rejects(runner.run(123 as unknown as () => number), TypeError);
      assert.equal(await runner.run(() => 7), 7);
    } finally {
      await runner.close();
    }
  });
});

/**
 * Conformance: event-loop scenarios from CPython's test_base_events, test_events and
 * test_futures2 that event-loop.test.ts does not pin: the order of callbacks and timers within
 * one iteration, handles cancelled by an earlier callback, the context and the fields the
 * exception handler receives, a broken default handler behind a broken custom one, timer handle
 * inspect strings and `loop.createTask`. Virtual clock, except where the real clock is the point.
 */
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { describe, test } from "node:test";
import {
  type ExceptionContext,
  getRunningLoop,
  run,
  sleep,
  type TimerHandle,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

describe("conformance: order within one iteration", () => {
  test("a callSoon made by a timer callback runs after the other timers due in the same iteration (test__run_once_schedule_handle)", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.callLater(10, () => {
        log.push("timer 1");
        loop.callSoon(() => log.push("soon from timer 1"));
      });
      loop.callLater(10, () => log.push("timer 2"));
      await sleep(20);
    });
    assert.deepEqual(log, ["timer 1", "timer 2", "soon from timer 1"]);
  });

  test("callLater(0) made before a callSoon runs after it: due timers join the ready queue behind it", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.callLater(0, () => log.push("later(0)"));
      loop.callSoon(() => log.push("soon"));
      await sleep(1);
    });
    assert.deepEqual(log, ["soon", "later(0)"]);
  });

  test("a callback that cancels a later callback of the same iteration keeps it from running", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      let victim: { cancel(): void } | null = null;
      loop.callSoon(() => {
        log.push("first");
        victim!.cancel();
      });
      victim = loop.callSoon(() => log.push("second (cancelled)"));
      loop.callSoon(() => log.push("third"));
      let timerVictim: TimerHandle | null = null;
      loop.callLater(5, () => {
        log.push("timer a");
        timerVictim!.cancel();
      });
      timerVictim = loop.callLater(5, () => log.push("timer b (cancelled)"));
      await sleep(10);
      assert.equal(timerVictim.cancelled(), true);
    });
    assert.deepEqual(log, ["first", "third", "timer a"]);
  });

  test("on the real clock a callAt timer never runs before its deadline (test_time_and_call_at)", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        const when = loop.time() + 30;
        const ranAt = loop.createFuture<number>();
        loop.callAt(when, () => ranAt.setResult(loop.time()));
        assert.ok((await ranAt) >= when);
      },
      { handleSignals: false },
    );
  });
});

describe("conformance: the exception handler", () => {
  test("it receives exactly message, exception and handle for a failing callback; after setExceptionHandler(null) it is no longer called (test_set_exc_handler_custom)", async (t) => {
    const errors = t.mock.method(console, "error", () => {});
    const seen: ExceptionContext[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler((_loop, context) => seen.push(context));
      const handle = loop.callSoon(function zeroError() {
        throw new RangeError("division by zero");
      });
      await sleep(0);
      assert.equal(seen.length, 1);
      assert.deepEqual(Object.keys(seen[0]).sort(), ["exception", "handle", "message"]);
      assert.equal(seen[0].handle, handle);
      assert.match(seen[0].message, /^Exception in callback zeroError/);
      loop.setExceptionHandler(null);
      loop.callSoon(function zeroError() {
        throw new RangeError("again");
      });
      await sleep(0);
    });
    assert.equal(seen.length, 1);
    assert.equal(errors.mock.callCount(), 1);
    assert.match(String(errors.mock.calls[0].arguments[0]), /Exception in callback zeroError/);
  });

  test("it runs in the async context of the callback that threw (test_handle_exc_handler_correct_context, gh-96704)", async () => {
    const storage = new AsyncLocalStorage<string>();
    const seen: Array<string | undefined> = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler(() => seen.push(storage.getStore()));
      storage.run("scheduled in bar", () =>
        loop.callSoon(() => {
          throw new Error("boom");
        }),
      );
      loop.callSoon(() => {
        storage.enterWith("set by the callback");
        throw new Error("boom");
      });
      await sleep(0);
    });
    assert.deepEqual(seen, ["scheduled in bar", "set by the callback"]);
  });

  test("a done callback's error reaches the handler in the context where the callback was added", async () => {
    const storage = new AsyncLocalStorage<string>();
    const seen: Array<string | undefined> = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler(() => seen.push(storage.getStore()));
      const fut = loop.createFuture<void>();
      storage.run("added here", () =>
        fut.addDoneCallback(() => {
          throw new Error("boom");
        }),
      );
      storage.run("completed here", () => fut.setResult());
      await sleep(0);
    });
    assert.deepEqual(seen, ["added here"]);
  });

  test("a custom handler and a default handler that both throw: the loop logs it and goes on; the default one got the original context (test_default_exc_handler_broken)", async (t) => {
    const errors = t.mock.method(console, "error", () => {});
    let received: ExceptionContext | undefined;
    const result = await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.defaultExceptionHandler = (context) => {
        received = context;
        throw new RangeError("spam");
      };
      loop.setExceptionHandler(() => {
        throw new RangeError("ham");
      });
      loop.callSoon(function zeroError() {
        throw new TypeError("original");
      });
      await sleep(1);
      return "went on";
    });
    assert.equal(result, "went on");
    assert.ok(received !== undefined);
    assert.equal(received.message, "Unhandled error in exception handler");
    assert.equal((received.exception as Error).message, "ham");
    const original = received.context as ExceptionContext;
    assert.ok(original.exception instanceof TypeError);
    assert.match(original.message, /Exception in callback zeroError/);
    const texts = errors.mock.calls.map((c) => String(c.arguments[0]));
    assert.ok(
      texts.some((s) =>
        /^Exception in default exception handler while handling an unexpected error in custom exception handler/.test(
          s,
        ),
      ),
      texts.join("\n"),
    );
  });
});

describe("conformance: handles and tasks made by the loop", () => {
  test("a cancelled TimerHandle prints as <TimerHandle cancelled when=…> (test_timer_repr)", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      await sleep(23);
      function noop() {}
      const handle = loop.callLater(100, noop);
      assert.equal(String(handle), "<TimerHandle when=123 noop()>");
      handle.cancel();
      assert.equal(String(handle), "<TimerHandle cancelled when=123>");
      assert.equal(handle.when(), 123);
    });
  });

  test("a failing timer callback is reported as 'Exception in callback name()', without its deadline", async () => {
    const messages: string[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler((_loop, context) => messages.push(context.message));
      loop.callLater(10, function late() {
        throw new Error("late failure");
      });
      await sleep(20);
    });
    assert.deepEqual(messages, ["Exception in callback late()"]);
  });

  test("loop.createTask(fn, { name }) names the task and runs it on that loop (test_create_named_task_with_default_factory)", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const task = loop.createTask(() => sleep(5, "ran"), { name: "test_task" });
      assert.equal(task.name, "test_task");
      assert.equal(task.getLoop(), loop);
      assert.equal(await task, "ran");
      assert.equal(loop.time(), 5);
    });
  });
});

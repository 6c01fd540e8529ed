/**
 * Bad input to every public entry point of the core: a TypeError or RangeError that names the
 * argument (one message template: "Expected `delay` to be …, got `NaN` (number)"), thrown
 * before anything changes, so the object stays usable and nothing is left half-done.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  allTasks,
  CancelledError,
  createTask,
  EventLoop,
  ensureFuture,
  Future,
  getRunningLoop,
  Runner,
  run,
  sleep,
  VirtualClock,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

/** Casts a bad value to whatever type a call site wants, to get past the type checker. */
function bad<T>(value: unknown): T {
  return value as T;
}

function expectError(kind: "TypeError" | "RangeError", argument: string) {
  return (error: unknown) => {
    assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
    assert.equal(error.name, kind, error.message);
    assert.ok(
      error.message.includes(`\`${argument}\``),
      `message should name \`${argument}\`: ${error.message}`,
    );
    return true;
  };
}

describe("createTask", () => {
  test("a promise instead of a function: TypeError explaining to pass the function; no task created", async () => {
    await runVirtual(async () => {
      const before = allTasks().size;
      const promise = sleep(10);
      assert.throws(
        () => createTask(bad(promise)),
        (e: Error) => {
          assert.equal(e.name, "TypeError");
          assert.match(e.message, /`fn`/);
          assert.match(e.message, /promise/);
          assert.match(e.message, /createTask\(\(\) => work\(\)\)/);
          return true;
        },
      );
      assert.equal(allTasks().size, before, "no task was created");
      await promise;
      assert.equal(await createTask(() => "still works"), "still works");
    });
  });

  test("other bad functions and options are TypeErrors naming the argument", async () => {
    await runVirtual(async () => {
      const before = allTasks().size;
      assert.throws(() => createTask(bad(5)), expectError("TypeError", "fn"));
      assert.throws(() => createTask(bad(null)), expectError("TypeError", "fn"));
      assert.throws(() => createTask(() => 1, bad(5)), expectError("TypeError", "options"));
      assert.throws(
        () => createTask(() => 1, { name: bad(5) }),
        expectError("TypeError", "options.name"),
      );
      assert.throws(
        () => createTask(() => 1, { eagerStart: bad("yes") }),
        expectError("TypeError", "options.eagerStart"),
      );
      assert.equal(allTasks().size, before);
    });
  });

  test("outside a loop: RuntimeError saying how to fix it", () => {
    assert.throws(() => createTask(() => 1), {
      name: "RuntimeError",
      message: "no running event loop: start your program with run(main)",
    });
  });

  test("the example message template", async () => {
    await runVirtual(async () => {
      await assert.rejects(sleep(Number.NaN), {
        name: "RangeError",
        message: "Expected `delay` to be a number of milliseconds, not NaN, got `NaN` (number)",
      });
      assert.throws(() => getRunningLoop().callLater(bad("x"), () => {}), {
        name: "TypeError",
        message: 'Expected `delay` to be a number of milliseconds, got `"x"` (string)',
      });
    });
  });
});

describe("sleep", () => {
  test("bad delays are rejections, never synchronous throws", async () => {
    await runVirtual(async () => {
      let p: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        p = sleep(Number.NaN);
      });
      await assert.rejects(p!, expectError("RangeError", "delay"));
      await assert.rejects(sleep(bad("10")), expectError("TypeError", "delay"));
      await assert.rejects(sleep(bad(undefined)), expectError("TypeError", "delay"));
      await assert.rejects(sleep(bad(10n)), expectError("TypeError", "delay"));
      assert.equal(await sleep(1, "fine"), "fine");
    });
  });

  test("outside a loop it rejects with RuntimeError", async () => {
    await assert.rejects(sleep(10), { name: "RuntimeError", message: /no running event loop/ });
  });
});

describe("EventLoop", () => {
  test("callSoon/callLater/callAt check the callback, delay and deadline; nothing is scheduled", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      assert.throws(() => loop.callSoon(bad(5)), expectError("TypeError", "callback"));
      assert.throws(() => loop.callLater(bad("x"), () => {}), expectError("TypeError", "delay"));
      assert.throws(() => loop.callLater(Number.NaN, () => {}), expectError("RangeError", "delay"));
      assert.throws(() => loop.callLater(10, bad("f")), expectError("TypeError", "callback"));
      assert.throws(() => loop.callAt(bad(null), () => {}), expectError("TypeError", "when"));
      assert.throws(() => loop.callAt(Number.NaN, () => {}), expectError("RangeError", "when"));
      assert.throws(() => loop.callAt(10, bad({})), expectError("TypeError", "callback"));
      let ran = 0;
      loop.callSoon(() => ran++);
      await sleep(20);
      assert.equal(ran, 1, "only the good call was scheduled");
    });
  });

  test("exception handler, debug flag and callExceptionHandler check their arguments", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      assert.throws(() => loop.setExceptionHandler(bad(5)), expectError("TypeError", "handler"));
      assert.equal(loop.getExceptionHandler(), null);
      assert.throws(() => loop.setDebug(bad("yes")), expectError("TypeError", "enabled"));
      assert.equal(loop.getDebug(), false);
      assert.throws(() => loop.callExceptionHandler(bad({})), expectError("TypeError", "context"));
      assert.throws(
        () => loop.callExceptionHandler(bad(null)),
        expectError("TypeError", "context"),
      );
    });
  });

  test("new EventLoop checks its options", () => {
    assert.throws(() => new EventLoop(bad(5)), expectError("TypeError", "options"));
    assert.throws(
      () => new EventLoop({ clock: bad(5) }),
      expectError("TypeError", "options.clock"),
    );
    assert.throws(
      () => new EventLoop({ clock: bad("fast") }),
      expectError("TypeError", "options.clock"),
    );
    assert.throws(
      () => new EventLoop({ clock: bad({ now: 1 }) }),
      expectError("TypeError", "options.clock"),
    );
    assert.throws(() => new EventLoop({ debug: bad(1) }), expectError("TypeError", "enabled"));
    const loop = new EventLoop({ clock: { now: () => 0 } });
    assert.equal(loop.time(), 0);
    loop.close();
  });

  test("VirtualClock checks its start and advance amounts", () => {
    assert.throws(() => new VirtualClock(Number.NaN), expectError("RangeError", "start"));
    assert.throws(
      () => new VirtualClock(Number.POSITIVE_INFINITY),
      expectError("RangeError", "start"),
    );
    assert.throws(() => new VirtualClock(bad("0")), expectError("TypeError", "start"));
    const clock = new VirtualClock();
    assert.throws(() => clock.advance(-1), expectError("RangeError", "ms"));
    assert.throws(() => clock.advance(Number.NaN), expectError("RangeError", "ms"));
    assert.throws(() => clock.advance(Number.POSITIVE_INFINITY), expectError("RangeError", "ms"));
    // A numeric string used to pass the check and turn the time into the string "05".
    assert.throws(() => clock.advance(bad("5")), expectError("TypeError", "ms"));
    assert.equal(clock.now(), 0);
    clock.advance(2.5);
    assert.equal(clock.now(), 2.5);
  });
});

describe("run and Runner", () => {
  test("run(notAFunction) rejects with a TypeError that says to pass the function", async () => {
    await assert.rejects(run(bad(5)), expectError("TypeError", "main"));
    await assert.rejects(run(bad(Promise.resolve(1))), (e: Error) => {
      assert.equal(e.name, "TypeError");
      assert.match(e.message, /run\(main\), not run\(main\(\)\)/);
      return true;
    });
  });

  test("run options are checked before any loop starts", async () => {
    const listeners = process.listenerCount("SIGINT");
    await assert.rejects(
      run(() => 1, bad(5)),
      expectError("TypeError", "options"),
    );
    await assert.rejects(
      run(() => 1, { clock: bad(5) }),
      expectError("TypeError", "options.clock"),
    );
    await assert.rejects(
      run(() => 1, { debug: bad("yes") }),
      expectError("TypeError", "options.debug"),
    );
    await assert.rejects(
      run(() => 1, { handleSignals: bad(1) }),
      expectError("TypeError", "options.handleSignals"),
    );
    assert.equal(process.listenerCount("SIGINT"), listeners);
  });

  test("new Runner checks its options; runner.run checks fn and stays usable", async () => {
    assert.throws(() => new Runner(bad(5)), expectError("TypeError", "options"));
    assert.throws(
      () => new Runner({ clock: bad("fast") }),
      expectError("TypeError", "options.clock"),
    );
    assert.throws(() => new Runner({ debug: bad(0) }), expectError("TypeError", "options.debug"));
    await using runner = new Runner({ clock: "virtual", handleSignals: false });
    await assert.rejects(runner.run(bad("main")), expectError("TypeError", "fn"));
    await assert.rejects(
      runner.run(() => 1, bad(5)),
      expectError("TypeError", "options"),
    );
    assert.equal(await runner.run(() => "ok"), "ok");
  });
});

describe("Task and Future methods", () => {
  test("task.name = 5 and setName(5) are TypeErrors; the name is unchanged", async () => {
    await runVirtual(async () => {
      const task = createTask(() => sleep(1), { name: "kept" });
      assert.throws(
        () => {
          task.name = bad(5);
        },
        expectError("TypeError", "name"),
      );
      assert.throws(() => task.setName(bad(null)), expectError("TypeError", "name"));
      assert.equal(task.name, "kept");
      await task;
    });
  });

  test("cancel(null) means no message, as asyncio's cancel(None)", async () => {
    await runVirtual(async () => {
      const task = createTask(() => sleep(10));
      assert.equal(task.cancel(null), true);
      await assert.rejects(
        async () => await task,
        (e: Error) => e instanceof CancelledError,
      );
      assert.equal(task.cancelled(), true);
      const fut = new Future();
      assert.equal(fut.cancel(null), true);
      assert.equal(fut.cancelled(), true);
    });
  });

  test("cancel(5) is a TypeError and cancels nothing", async () => {
    await runVirtual(async () => {
      const task = createTask(() => sleep(10, "finished"));
      assert.throws(() => task.cancel(bad(5)), expectError("TypeError", "msg"));
      assert.equal(task.cancelling(), 0);
      assert.equal(await task, "finished");
      const fut = new Future();
      assert.throws(() => fut.cancel(bad({})), expectError("TypeError", "msg"));
      assert.equal(fut.cancelled(), false);
    });
  });

  test("addDoneCallback/removeDoneCallback check the callback; new Future checks its options", async () => {
    await runVirtual(async () => {
      const fut = new Future<number>();
      assert.throws(() => fut.addDoneCallback(bad(5)), expectError("TypeError", "callback"));
      assert.throws(() => fut.removeDoneCallback(bad("x")), expectError("TypeError", "callback"));
      assert.throws(() => new Future(bad(5)), expectError("TypeError", "options"));
      assert.throws(() => new Future({ loop: bad({}) }), expectError("TypeError", "options.loop"));
      fut.setResult(1);
      assert.equal(await fut, 1);
    });
  });

  test("ensureFuture rejects what is neither a Future, a promise nor a function", async () => {
    await runVirtual(async () => {
      assert.throws(
        () => ensureFuture(bad<() => unknown>(5)),
        expectError("TypeError", "awaitable"),
      );
      // biome-ignore lint/suspicious/noThenProperty: a malformed thenable is the bad input here.
      const notThenable = { then: 1 };
      assert.throws(
        () => ensureFuture(bad<() => unknown>(notThenable)),
        expectError("TypeError", "awaitable"),
      );
      assert.equal(await ensureFuture(Promise.resolve("p")), "p");
      assert.equal(await ensureFuture(() => "f"), "f");
    });
  });
});

/**
 * The event loop: callback scheduling (`callSoon`, `callLater`, `callAt`), handles, the exception
 * handler, debug mode, the clock and virtual time, fairness of one iteration, and several loops
 * in one process. Scenarios follow CPython's test_base_events.py and test_events.py, on the
 * virtual clock.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, connect, createServer } from "node:net";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import {
  createTask,
  Event,
  EventLoop,
  type ExceptionContext,
  getRunningLoop,
  Handle,
  RuntimeError,
  run,
  sleep,
  TimerHandle,
  VirtualClock,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

/** Waits until the loop has run everything scheduled so far (callbacks and due timers). */
function settle(ms = 0): Promise<void> {
  return sleep(ms);
}

describe("callSoon", () => {
  test("runs callbacks in FIFO order with their arguments", async () => {
    const log: unknown[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const h1 = loop.callSoon((a: number, b: string) => log.push(["first", a, b]), 1, "x");
      const h2 = loop.callSoon(() => log.push(["second"]));
      loop.callSoon((...rest: number[]) => log.push(["third", ...rest]), 3, 4, 5);
      assert.ok(h1 instanceof Handle);
      assert.ok(!(h1 instanceof TimerHandle));
      assert.equal(h2.cancelled(), false);
      await settle();
    });
    assert.deepEqual(log, [["first", 1, "x"], ["second"], ["third", 3, 4, 5]]);
  });

  test("callbacks do not run synchronously, and a callback's own callSoon runs after those already queued", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.callSoon(() => {
        log.push("a");
        loop.callSoon(() => log.push("a-child"));
      });
      loop.callSoon(() => log.push("b"));
      log.push("sync");
      await settle();
      await settle();
    });
    assert.deepEqual(log, ["sync", "a", "b", "a-child"]);
  });

  test("a cancelled Handle does not run; cancel() is idempotent and harmless after the run", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const h = loop.callSoon(() => log.push("cancelled one"));
      const kept = loop.callSoon(() => log.push("kept"));
      h.cancel();
      h.cancel();
      assert.equal(h.cancelled(), true);
      await settle();
      kept.cancel();
      assert.equal(kept.cancelled(), true);
    });
    assert.deepEqual(log, ["kept"]);
  });

  test("a callback runs in the loop's context: getRunningLoop works, currentTask is null", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const seen: unknown[] = [];
      const { currentTask } = await import("../src/index.ts");
      loop.callSoon(() => seen.push(getRunningLoop() === loop, currentTask()));
      await settle();
      assert.deepEqual(seen, [true, null]);
    });
  });
});

describe("handle inspect strings", () => {
  test("show the callback, the deadline of a timer, and the cancelled state", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      function tick() {}
      const h = loop.callSoon(tick);
      assert.equal(String(h), "<Handle tick()>");
      assert.equal(inspect(h), "<Handle tick()>");
      const anon = loop.callSoon(() => {});
      assert.match(String(anon), /^<Handle (anon|anonymous)\(\)>$/);
      const t = loop.callLater(100, tick);
      assert.equal(String(t), "<TimerHandle when=100 tick()>");
      h.cancel();
      t.cancel();
      assert.equal(String(h), "<Handle cancelled>");
      assert.equal(String(t), "<TimerHandle cancelled when=100>");
      assert.equal(t.when(), 100, "a cancelled timer keeps its deadline");
    });
  });

  test("in debug mode, an argument whose inspect hook throws shows as <Class instance>; the failing callback is still reported and the loop goes on", async () => {
    class Hostile {
      [inspect.custom](): string {
        throw new Error("no inspecting me");
      }
    }
    const messages: string[] = [];
    let after = false;
    await runVirtual(
      async () => {
        const loop = getRunningLoop();
        loop.setExceptionHandler((_loop, context) => messages.push(context.message));
        const h = loop.callSoon(
          function fails(_x: Hostile, _n: number) {
            throw new RangeError("from the callback");
          },
          new Hostile(),
          7,
        );
        assert.match(String(h), /^<Handle fails\(<Hostile instance>, 7\) created at /);
        const spare = loop.callSoon((_x: Hostile) => {}, new Hostile());
        spare.cancel();
        await sleep(0);
        after = true;
      },
      { debug: true },
    );
    assert.equal(after, true);
    assert.deepEqual(messages, ["Exception in callback fails(<Hostile instance>, 7)"]);
  });
});

describe("callLater and callAt", () => {
  test("timers fire in deadline order at their deadlines on the virtual clock", async () => {
    const log: Array<[string, number]> = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const at = (name: string) => () => log.push([name, loop.time()]);
      loop.callLater(300, at("300"));
      loop.callLater(100, at("100"));
      loop.callAt(200, at("at 200"));
      loop.callLater(0, at("0"));
      await sleep(1000);
    });
    assert.deepEqual(log, [
      ["0", 0],
      ["100", 100],
      ["at 200", 200],
      ["300", 300],
    ]);
  });

  test("timers with equal deadlines fire in the order they were created", async () => {
    const log: number[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      for (let i = 0; i < 20; i++) loop.callLater(50, () => log.push(i));
      loop.callAt(50, () => log.push(20));
      await sleep(100);
    });
    assert.deepEqual(
      log,
      Array.from({ length: 21 }, (_, i) => i),
    );
  });

  test("a negative delay keeps its past deadline and fires in deadline order", async () => {
    const log: Array<[string, number]> = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      await sleep(1000);
      const at = (name: string) => (when: number) => log.push([name, when]);
      const h1 = loop.callLater(-10, at("-10"), 990);
      const h2 = loop.callLater(-500, at("-500"), 500);
      loop.callAt(0, at("at 0"), 0);
      loop.callLater(0, at("0"), 1000);
      assert.equal(h1.when(), 990);
      assert.equal(h2.when(), 500);
      await settle();
    });
    assert.deepEqual(log, [
      ["at 0", 0],
      ["-500", 500],
      ["-10", 990],
      ["0", 1000],
    ]);
  });

  test("TimerHandle.when() is the deadline in loop time and passes arguments", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      await sleep(250);
      const got: unknown[] = [];
      const h = loop.callLater(100, (a: string, b: number) => got.push(a, b, loop.time()), "x", 7);
      assert.ok(h instanceof TimerHandle);
      assert.equal(h.when(), 350);
      assert.equal(loop.callAt(1234, () => {}).when(), 1234);
      await sleep(200);
      assert.deepEqual(got, ["x", 7, 350]);
    });
  });

  test("a cancelled TimerHandle never fires, even among many others", async () => {
    const log: number[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const handles = Array.from({ length: 200 }, (_, i) =>
        loop.callLater(10 + (i % 7), () => log.push(i)),
      );
      for (let i = 0; i < handles.length; i++) if (i % 3 !== 0) handles[i].cancel();
      assert.equal(handles[1].cancelled(), true);
      assert.equal(handles[0].cancelled(), false);
      await sleep(100);
    });
    const expected = Array.from({ length: 200 }, (_, i) => i)
      .filter((i) => i % 3 === 0)
      .sort((a, b) => 10 + (a % 7) - (10 + (b % 7)) || a - b);
    assert.deepEqual(log, expected);
  });

  test("on the real clock, a deadline beyond Node's 24.8-day timer limit neither fires nor spins", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    let fired = false;
    try {
      await run(
        async () => {
          const loop = getRunningLoop();
          loop.callLater(3_000_000_000, () => {
            fired = true;
          });
          const sleeper = createTask(() => sleep(4_000_000_000));
          // Real time passes while the loop has only those far timers.
          await new Promise((resolve) => setTimeout(resolve, 30));
          sleeper.cancel();
        },
        { handleSignals: false },
      );
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    assert.equal(fired, false);
    assert.deepEqual(warnings, [], "Node would clamp the delay to 1 ms and the loop would spin");
  });

  test("callLater(Infinity) never fires and does not keep the loop waiting", async () => {
    let fired = false;
    const end = await runVirtual(async () => {
      const loop = getRunningLoop();
      const h = loop.callLater(Number.POSITIVE_INFINITY, () => {
        fired = true;
      });
      assert.equal(h.when(), Number.POSITIVE_INFINITY);
      await sleep(5000);
      return loop.time();
    });
    assert.equal(fired, false);
    assert.equal(end, 5000);
  });
});

describe("exception handler", () => {
  test("a throwing callback goes to handler(loop, context) with message, exception and handle; the loop goes on", async () => {
    const calls: Array<[EventLoop, ExceptionContext]> = [];
    const log: string[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler((l, ctx) => calls.push([l, ctx]));
      const boom = new Error("boom");
      const h = loop.callSoon(function failing() {
        throw boom;
      });
      loop.callSoon(() => log.push("next callback still runs"));
      loop.callLater(5, () => {
        throw new TypeError("late");
      });
      await sleep(10);
      log.push("task still runs");
      assert.equal(calls.length, 2);
      const [l, ctx] = calls[0];
      assert.equal(l, loop);
      assert.equal(ctx.exception, boom);
      assert.equal(ctx.handle, h);
      assert.match(ctx.message, /Exception in callback/);
      assert.match(ctx.message, /failing/);
      assert.ok(calls[1][1].exception instanceof TypeError);
      assert.ok(calls[1][1].handle instanceof TimerHandle);
    });
    assert.deepEqual(log, ["next callback still runs", "task still runs"]);
  });

  test("setExceptionHandler(null) restores the default handler, which logs to console.error", async (t) => {
    const errors = t.mock.method(console, "error", () => {});
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const custom = () => {};
      loop.setExceptionHandler(custom);
      assert.equal(loop.getExceptionHandler(), custom);
      loop.setExceptionHandler(null);
      assert.equal(loop.getExceptionHandler(), null);
      loop.callSoon(() => {
        throw new Error("to the default handler");
      });
      await settle();
    });
    assert.equal(errors.mock.callCount(), 1);
    const text = String(errors.mock.calls[0].arguments[0]);
    assert.match(text, /Exception in callback/);
    assert.match(text, /to the default handler/);
  });

  test("a handler that throws is reported by the default handler with both errors; the loop goes on", async (t) => {
    const errors = t.mock.method(console, "error", () => {});
    const result = await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler(() => {
        throw new Error("handler broke");
      });
      loop.callSoon(() => {
        throw new Error("original");
      });
      await settle();
      return "went on";
    });
    assert.equal(result, "went on");
    assert.equal(errors.mock.callCount(), 1);
    const text = String(errors.mock.calls[0].arguments[0]);
    assert.match(text, /Unhandled error in exception handler/);
    assert.match(text, /handler broke/);
    assert.match(text, /original/);
  });

  test("callExceptionHandler passes any context to the handler", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const seen: ExceptionContext[] = [];
      loop.setExceptionHandler((_l, ctx) => seen.push(ctx));
      const ctx = { message: "custom", extra: 42 };
      loop.callExceptionHandler(ctx);
      assert.deepEqual(seen, [ctx]);
    });
  });

  test("the default handler prints the message, extra fields and the error's stack", (t) => {
    const errors = t.mock.method(console, "error", () => {});
    const loop = new EventLoop({ clock: "virtual" });
    loop.defaultExceptionHandler({
      message: "something failed",
      exception: new Error("why"),
      extra: 1,
    });
    const text = String(errors.mock.calls[0].arguments[0]);
    assert.match(text, /^something failed/);
    assert.match(text, /extra: 1/);
    assert.match(text, /Error: why\n\s+at /);
    loop.close();
  });
});

describe("loop state", () => {
  test("debug flag: off by default, set by run({debug}) and setDebug", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      assert.equal(loop.getDebug(), false);
      loop.setDebug(true);
      assert.equal(loop.getDebug(), true);
      loop.setDebug(false);
      assert.equal(loop.getDebug(), false);
    });
    await runVirtual(() => assert.equal(getRunningLoop().getDebug(), true), { debug: true });
  });

  test("in debug mode a callback slower than slowCallbackDuration is reported with console.warn", async (t) => {
    const warns = t.mock.method(console, "warn", () => {});
    await runVirtual(
      async () => {
        const loop = getRunningLoop();
        loop.slowCallbackDuration = 0;
        loop.callSoon(function slowOne() {});
        await settle();
      },
      { debug: true },
    );
    const texts = warns.mock.calls.map((c) => String(c.arguments[0]));
    assert.ok(
      texts.some((s) => /executing <Handle slowOne\(\) created at [^>]*> took/.test(s)),
      texts.join("\n"),
    );
  });

  test("in debug mode a slow task step is reported too: the code a task runs between two waits", async (t) => {
    const warns = t.mock.method(console, "warn", () => {});
    await runVirtual(
      async () => {
        const loop = getRunningLoop();
        loop.slowCallbackDuration = 20;
        const busy = createTask(
          async () => {
            await sleep(0);
            const end = performance.now() + 30;
            while (performance.now() < end) {} // blocks the loop after resuming
            await sleep(0);
          },
          { name: "busy" },
        );
        createTask(() => sleep(0), { name: "quick" });
        await busy;
      },
      { debug: true },
    );
    const texts = warns.mock.calls.map((c) => String(c.arguments[0]));
    assert.ok(
      texts.some((s) => /executing a step of <Task pending name='busy'.*> took \d+\.\d ms/.test(s)),
      texts.join("\n"),
    );
    assert.ok(!texts.some((s) => s.includes("name='quick'")), texts.join("\n"));
  });

  test("a task's step runs to its next wait before the next ready callback, as in asyncio", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const log: string[] = [];
      const fut = loop.createFuture<number>();
      const child = createTask(async () => {
        await fut;
        log.push("child resumed");
        await Promise.resolve(); // a few plain promise turns are part of the same step
        await Promise.resolve();
        log.push("child returns");
      });
      await sleep(0);
      fut.addDoneCallback(() => log.push(`callback sees done=${child.done()}`));
      fut.setResult(1);
      loop.callSoon(() => log.push(`callSoon sees done=${child.done()}`));
      await child;
      assert.deepEqual(log, [
        "child resumed",
        "child returns",
        "callback sees done=true",
        "callSoon sees done=true",
      ]);
    });
  });

  test("steps run whole in ready order, whatever plain promise turns they take before waiting again", async () => {
    await runVirtual(async () => {
      const log: string[] = [];
      const hops = async (n: number) => {
        for (let i = 0; i < n; i++) await Promise.resolve();
      };
      // x and y start in the same iteration and resume from sleep(0) in the same iteration.
      const x = createTask(async () => {
        await hops(3); // first turn: plain promise turns before the first wait
        log.push("x1");
        await sleep(0);
        log.push("x2");
        await hops(2); // a resumed step: turns, then a wait again
        await sleep(0);
        log.push("x3");
        await hops(2);
        log.push("x4");
      });
      const y = createTask(async () => {
        log.push("y1");
        await sleep(0);
        log.push("y2");
        await sleep(0);
        log.push("y3");
        await sleep(0);
        log.push("y4");
      });
      await Promise.all([x, y]);
      assert.deepEqual(log, ["x1", "y1", "x2", "y2", "x3", "x4", "y3", "y4"]);
    });
  });

  test("an eager task started in a step, whose first step goes on past an await that does not suspend, finishes that step before the next entry", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const log: string[] = [];
      const ready = new Event();
      ready.set();
      const eagerChild = (name: string) =>
        createTask(
          async () => {
            log.push(`${name} starts`);
            await ready.wait(); // set: no suspension in asyncio
            log.push(`${name} goes on`);
          },
          { eagerStart: true },
        );
      // In a task's first turn…
      createTask(async () => {
        eagerChild("a");
        await sleep(0);
      });
      loop.callSoon(() => log.push("callback"));
      await sleep(0);
      // …and in a resumed step: main's wake-up and the timer are due in the same iteration.
      loop.callLater(0, () => log.push("timer"));
      await sleep(0);
      eagerChild("b");
      await sleep(0);
      assert.deepEqual(log, [
        "a starts",
        "a goes on",
        "callback",
        "b starts",
        "b goes on",
        "timer",
      ]);
    });
  });

  test("callSoon/callLater/callAt refuse an async function, as asyncio refuses coroutines", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const job = async () => {};
      assert.throws(() => loop.callSoon(job), {
        name: "TypeError",
        message: /`callback`.*createTask/,
      });
      assert.throws(() => loop.callLater(1, job), { name: "TypeError", message: /`callback`/ });
      assert.throws(() => loop.callAt(1, job), { name: "TypeError", message: /`callback`/ });
    });
  });

  test("a callback or done callback whose promise rejects is reported to the exception handler, not as an unhandled rejection", async () => {
    const messages: string[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler((_loop, context) =>
        messages.push(`${context.message}: ${(context.exception as Error).message}`),
      );
      loop.callSoon(function later() {
        return Promise.reject(new Error("from a callback"));
      });
      const fut = loop.createFuture<void>();
      fut.addDoneCallback(async function onDone() {
        throw new Error("from a done callback");
      });
      fut.setResult();
      await sleep(1);
    });
    assert.deepEqual(messages.sort(), [
      "Exception in callback later(): from a callback",
      "Exception in callback onDone(): from a done callback",
    ]);
  });

  test("a default exception handler that throws is logged, and the loop goes on (test_default_exc_handler_broken)", async (t) => {
    const errors = t.mock.method(console, "error", () => {});
    const result = await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.defaultExceptionHandler = () => {
        throw new Error("broken default");
      };
      loop.callSoon(() => {
        throw new Error("boom");
      });
      await sleep(1);
      return "went on";
    });
    assert.equal(result, "went on");
    assert.ok(
      errors.mock.calls.some(
        (c) => String(c.arguments[0]) === "Exception in default exception handler",
      ),
    );
  });

  test("isRunning/isClosed follow the loop's life; a closed loop rejects scheduling", async () => {
    let loop!: EventLoop;
    await runVirtual(() => {
      loop = getRunningLoop();
      assert.equal(loop.isRunning(), true);
      assert.equal(loop.isClosed(), false);
      assert.throws(() => loop.close(), RuntimeError);
    });
    assert.equal(loop.isRunning(), false);
    assert.equal(loop.isClosed(), true);
    assert.throws(() => loop.callSoon(() => {}), { name: "RuntimeError", message: /closed/ });
    assert.throws(() => loop.callLater(1, () => {}), { name: "RuntimeError", message: /closed/ });
    assert.throws(() => loop.callAt(1, () => {}), { name: "RuntimeError", message: /closed/ });
    assert.throws(() => loop.createTask(() => 1), { name: "RuntimeError", message: /closed/ });
    loop.close(); // closing twice is harmless
  });

  test("a loop that is not running is idle and its toString shows the state", () => {
    const loop = new EventLoop();
    assert.equal(loop.isRunning(), false);
    assert.equal(loop.isClosed(), false);
    assert.equal(String(loop), "<EventLoop idle debug=false tasks=0>");
    loop.close();
    assert.equal(String(loop), "<EventLoop closed debug=false tasks=0>");
  });

  test("time() is monotonic on the real clock", async () => {
    await run(
      async () => {
        const loop = getRunningLoop();
        let last = loop.time();
        for (let i = 0; i < 50; i++) {
          await sleep(0);
          const now = loop.time();
          assert.ok(now >= last);
          last = now;
        }
      },
      { handleSignals: false },
    );
  });
});

describe("debug mode: where objects were created (asyncio's source_traceback)", () => {
  test("Futures, tasks and handles record their creation stack, which starts in the program", async () => {
    await runVirtual(
      async () => {
        const loop = getRunningLoop();
        const fut = loop.createFuture<number>();
        const task = createTask(async () => {});
        const handle = loop.callSoon(() => {});
        const timer = loop.callLater(10, () => {});
        for (const [what, stack] of [
          ["future", fut.getCreationStack()],
          ["task", task.getCreationStack()],
        ] as const) {
          assert.ok(stack !== undefined, what);
          // The innermost frame is this file's, not the runtime's constructors.
          assert.match(stack.split("\n")[0]!, /event-loop\.test\.ts/, what);
          assert.doesNotMatch(stack, /src[\\/]futures[\\/]/, what);
        }
        // The inspect strings say where, as asyncio's reprs do.
        assert.match(String(fut), /^<Future pending created at .*event-loop\.test\.ts:\d+:\d+>$/);
        assert.match(
          String(task),
          /^<Task pending name='Task-\d+' created at .*event-loop\.test\.ts:\d+:\d+>$/,
        );
        assert.match(
          String(handle),
          /^<Handle anonymous\(\) created at .*event-loop\.test\.ts:\d+:\d+>$/,
        );
        assert.match(
          String(timer),
          /^<TimerHandle when=10 anonymous\(\) created at .*event-loop\.test\.ts/,
        );
        timer.cancel();
        fut.cancel();
        await task;
      },
      { debug: true },
    );
  });

  test("outside debug mode nothing is recorded and the inspect strings are unchanged", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const fut = loop.createFuture<number>();
      assert.equal(fut.getCreationStack(), undefined);
      assert.equal(String(fut), "<Future pending>");
      const task = createTask(async () => {});
      assert.equal(task.getCreationStack(), undefined);
      assert.equal(String(loop.callSoon(function cb() {})), "<Handle cb()>");
      fut.cancel();
      await task;
    });
  });

  test("the exception handler's context gets sourceTraceback for the task, Future or handle", async () => {
    const contexts: ExceptionContext[] = [];
    await runVirtual(
      async () => {
        const loop = getRunningLoop();
        loop.setExceptionHandler((_l, ctx) => contexts.push(ctx));
        loop.callSoon(function failing() {
          throw new Error("boom");
        });
        await settle();
        const given: ExceptionContext = { message: "custom", future: loop.createFuture() };
        loop.callExceptionHandler(given);
        // The caller's object is left as it was.
        assert.equal(given.sourceTraceback, undefined);
        loop.callExceptionHandler({ message: "explicit", sourceTraceback: "at mine" });
        (given.future as { cancel(): void }).cancel();
      },
      { debug: true },
    );
    assert.equal(contexts.length, 3);
    assert.match(contexts[0]!.sourceTraceback ?? "", /^at .*event-loop\.test\.ts/);
    assert.match(contexts[1]!.sourceTraceback ?? "", /event-loop\.test\.ts/);
    assert.equal(contexts[2]!.sourceTraceback, "at mine");
  });

  test("the default handler prints where the object was created", async (t) => {
    const errors = t.mock.method(console, "error", () => {});
    await runVirtual(
      async () => {
        getRunningLoop().callSoon(function failing() {
          throw new Error("boom");
        });
        await settle();
      },
      { debug: true },
    );
    const text = errors.mock.calls.map((c) => String(c.arguments[0])).join("\n");
    assert.match(text, /Exception in callback failing\(\)/);
    assert.match(
      text,
      /Object created at \(innermost frame first\):\n {2}at .*event-loop\.test\.ts/,
    );
  });

  test("a never-retrieved task error reported by run() comes with the task's creation stack", async () => {
    const contexts: ExceptionContext[] = [];
    await runVirtual(
      async () => {
        getRunningLoop().setExceptionHandler((_l, ctx) => contexts.push(ctx));
        createTask(async function fails() {
          throw new Error("lost");
        });
        await settle();
      },
      { debug: true },
    );
    const report = contexts.find((c) => c.message === "Task exception was never retrieved");
    assert.ok(report, JSON.stringify(contexts.map((c) => c.message)));
    assert.match(report.sourceTraceback ?? "", /event-loop\.test\.ts/);
  });
});

describe("virtual clock", () => {
  test("an hour of sleeps runs instantly with exact virtual times", async () => {
    const times = await runVirtual(async () => {
      const loop = getRunningLoop();
      const seen: number[] = [];
      for (let i = 0; i < 60; i++) {
        await sleep(60_000);
        seen.push(loop.time());
      }
      return seen;
    });
    assert.deepEqual(
      times,
      Array.from({ length: 60 }, (_, i) => (i + 1) * 60_000),
    );
  });

  test("time starts at 0 and only jumps to the next deadline when nothing is ready", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      assert.equal(loop.time(), 0);
      for (let i = 0; i < 100; i++) await sleep(0);
      assert.equal(loop.time(), 0);
      await sleep(3);
      assert.equal(loop.time(), 3);
      await sleep(0.5);
      assert.equal(loop.time(), 3.5);
    });
  });

  test("concurrent sleepers wake at their own deadlines, total time is the longest", async () => {
    const log: Array<[number, number]> = [];
    const end = await runVirtual(async () => {
      const loop = getRunningLoop();
      const tasks = [5000, 1000, 3000, 1000].map((d, i) =>
        createTask(async () => {
          await sleep(d);
          log.push([i, loop.time()]);
        }),
      );
      for (const t of tasks) await t;
      return loop.time();
    });
    assert.equal(end, 5000);
    assert.deepEqual(log, [
      [1, 1000],
      [3, 1000],
      [2, 3000],
      [0, 5000],
    ]);
  });

  test("a custom VirtualClock may start elsewhere and be advanced by hand", async () => {
    const clock = new VirtualClock(10_000);
    await run(
      async () => {
        const loop = getRunningLoop();
        assert.equal(loop.time(), 10_000);
        await sleep(500);
        assert.equal(loop.time(), 10_500);
        clock.advance(1000);
        assert.equal(loop.time(), 11_500);
      },
      { clock, handleSignals: false },
    );
  });
});

describe("fairness: one iteration runs only what was ready when it began", () => {
  test("callbacks scheduled by callbacks wait for the next iteration, after timers that came due", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      let i = 0;
      const chain = () => {
        log.push(`chain ${i}`);
        if (++i < 4) loop.callSoon(chain);
      };
      loop.callSoon(chain);
      loop.callLater(0, () => log.push("timer"));
      await sleep(10);
    });
    // Draining the ready queue until empty would give chain 0..3 before the timer.
    assert.deepEqual(log, ["chain 0", "timer", "chain 1", "chain 2", "chain 3"]);
  });

  test("a chain of callSoon callbacks does not starve a host setImmediate", async () => {
    const count = await runVirtual(async () => {
      const loop = getRunningLoop();
      let hostRan = false;
      let n = 0;
      const spin = () => {
        n++;
        if (!hostRan) loop.callSoon(spin);
      };
      loop.callSoon(spin);
      setImmediate(() => {
        hostRan = true;
      });
      while (!hostRan) await sleep(0);
      return n;
    });
    assert.ok(count >= 1);
  });

  test("a task looping on sleep(0) does not starve a due timer", async () => {
    const spins = await runVirtual(async () => {
      const loop = getRunningLoop();
      let fired = false;
      loop.callLater(0, () => {
        fired = true;
      });
      let n = 0;
      while (!fired) {
        n++;
        await sleep(0);
      }
      return n;
    });
    assert.ok(spins >= 1);
  });

  test("on the real clock, a task looping on sleep(0) lets a callLater timer fire", async () => {
    const spins = await run(
      async () => {
        const loop = getRunningLoop();
        let fired = false;
        loop.callLater(2, () => {
          fired = true;
        });
        let n = 0;
        while (!fired) {
          n++;
          await sleep(0);
        }
        return n;
      },
      { handleSignals: false },
    );
    assert.ok(spins >= 1);
  });

  test("a task looping on sleep(0) does not starve socket I/O", async () => {
    const server = createServer((socket) => socket.end("hello"));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    try {
      const received = await runVirtual(async () => {
        let data = "";
        let ended = false;
        const client = connect(port, "127.0.0.1");
        client.setEncoding("utf8");
        client.on("data", (chunk: string) => {
          data += chunk;
        });
        client.on("end", () => {
          ended = true;
        });
        let spins = 0;
        while (!ended) {
          spins++;
          await sleep(0);
        }
        client.destroy();
        assert.ok(spins > 1);
        return data;
      });
      assert.equal(received, "hello");
    } finally {
      server.close();
    }
  });
});

describe("several loops", () => {
  test("two loops run at once in one process, each with its own clock and tasks", async () => {
    const log: string[] = [];
    const program = (name: string, step: number) => async () => {
      const loop = getRunningLoop();
      for (let i = 0; i < 3; i++) {
        await sleep(step);
        log.push(`${name}@${loop.time()}`);
        assert.equal(getRunningLoop(), loop);
      }
      return loop;
    };
    const [a, b] = await Promise.all([runVirtual(program("a", 100)), runVirtual(program("b", 7))]);
    assert.notEqual(a, b);
    assert.deepEqual(
      log.filter((s) => s.startsWith("a")),
      ["a@100", "a@200", "a@300"],
    );
    assert.deepEqual(
      log.filter((s) => s.startsWith("b")),
      ["b@7", "b@14", "b@21"],
    );
  });

  test("run() inside a running loop's task rejects with RuntimeError, and the loop goes on", async () => {
    const result = await runVirtual(async () => {
      const inner = run(() => 1);
      assert.ok(inner instanceof Promise);
      await assert.rejects(inner, {
        name: "RuntimeError",
        message: /cannot be called from a running event loop/,
      });
      const fromCallback: Promise<unknown>[] = [];
      getRunningLoop().callSoon(() => {
        fromCallback.push(run(() => 2));
      });
      await sleep(0);
      await assert.rejects(fromCallback[0], { name: "RuntimeError" });
      return "still fine";
    });
    assert.equal(result, "still fine");
  });
});

describe("getRunningLoop", () => {
  test("throws RuntimeError outside a loop, explaining how to fix it", () => {
    assert.throws(() => getRunningLoop(), {
      name: "RuntimeError",
      message: "no running event loop: start your program with run(main)",
    });
  });
});

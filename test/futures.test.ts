/**
 * Future: states, results and exceptions, cancellation, done callbacks, awaiting, and the
 * guarantee that a Future never causes an unhandled rejection by itself. Scenarios follow
 * CPython's test_futures.py.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import {
  CancelledError,
  createTask,
  EventLoop,
  type ExceptionContext,
  Future,
  getRunningLoop,
  Handle,
  InvalidStateError,
  QueueEmpty,
  RuntimeError,
  sleep,
  type Task,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";
import { describeRun, ROOT, runTs } from "./run-node.ts";

describe("states", () => {
  test("a new Future is pending: result() and exception() throw InvalidStateError", async () => {
    await runVirtual(() => {
      const fut = getRunningLoop().createFuture<number>();
      assert.equal(fut.done(), false);
      assert.equal(fut.cancelled(), false);
      assert.equal(fut.state, "pending");
      assert.throws(() => fut.result(), InvalidStateError);
      assert.throws(() => fut.exception(), InvalidStateError);
      assert.equal(fut.getLoop(), getRunningLoop());
    });
  });

  test("setResult finishes it once; later setResult/setException throw, cancel returns false", async () => {
    await runVirtual(() => {
      const fut = new Future<number>();
      fut.setResult(42);
      assert.equal(fut.done(), true);
      assert.equal(fut.cancelled(), false);
      assert.equal(fut.state, "finished");
      assert.equal(fut.result(), 42);
      assert.equal(fut.exception(), null);
      assert.throws(() => fut.setResult(1), InvalidStateError);
      assert.throws(() => fut.setException(new Error("x")), InvalidStateError);
      assert.equal(fut.cancel(), false);
      assert.equal(fut.result(), 42);
    });
  });

  test("setException makes result() throw that error and exception() return it", async () => {
    await runVirtual(() => {
      const fut = new Future<number>();
      const error = new RangeError("bad");
      fut.setException(error);
      assert.equal(fut.done(), true);
      assert.equal(fut.cancelled(), false);
      assert.equal(fut.exception(), error);
      assert.throws(
        () => fut.result(),
        (e) => e === error,
      );
      assert.throws(() => fut.setResult(1), InvalidStateError);
      assert.equal(fut.cancel(), false);
    });
  });

  test("an error class given to setException is instantiated (asyncio: set_exception(SomeClass))", async () => {
    await runVirtual(async () => {
      const fut = new Future<number>();
      fut.setException(QueueEmpty);
      const stored = fut.exception();
      assert.ok(stored instanceof QueueEmpty);
      await assert.rejects(async () => await fut, QueueEmpty);
      const plain = new Future<number>();
      plain.setException(Error);
      assert.equal((plain.exception() as Error).constructor, Error);
      // A plain function is a value like any other, not a class to instantiate.
      const fn = () => 1;
      const other = new Future<number>();
      other.setException(fn);
      assert.equal(other.exception(), fn);
      // A constructor that throws leaves the Future pending.
      class Picky extends Error {
        constructor(needed?: string) {
          if (needed === undefined) throw new TypeError("Picky needs an argument");
          super(needed);
        }
      }
      const picky = new Future<number>();
      assert.throws(() => picky.setException(Picky), /Picky needs an argument/);
      assert.equal(picky.done(), false);
      picky.cancel();
    });
  });

  test("a non-Error value can be set as the exception", async () => {
    await runVirtual(async () => {
      const fut = new Future<number>();
      fut.setException("plain string");
      assert.equal(fut.exception(), "plain string");
      await assert.rejects(
        async () => await fut,
        (e) => e === "plain string",
      );
    });
  });

  test("cancel(msg) cancels once: result() and exception() throw CancelledError(msg)", async () => {
    await runVirtual(() => {
      const fut = new Future<number>();
      assert.equal(fut.cancel("no longer needed"), true);
      assert.equal(fut.cancelled(), true);
      assert.equal(fut.done(), true);
      assert.equal(fut.state, "cancelled");
      assert.throws(() => fut.result(), {
        name: "CancelledError",
        message: "no longer needed",
      });
      assert.throws(() => fut.exception(), CancelledError);
      assert.equal(fut.cancel("again"), false);
      assert.throws(() => fut.setResult(1), InvalidStateError);
      assert.throws(() => fut.setException(new Error()), InvalidStateError);
      try {
        fut.result();
      } catch (e) {
        assert.equal((e as CancelledError).cancelMessage, "no longer needed");
      }
    });
  });

  test("cancel() without a message gives a CancelledError with an empty message", async () => {
    await runVirtual(() => {
      const fut = new Future();
      fut.cancel();
      assert.throws(
        () => fut.result(),
        (e) => {
          assert.ok(e instanceof CancelledError);
          assert.equal(e.message, "");
          assert.equal(e.cancelMessage, undefined);
          return true;
        },
      );
    });
  });

  test("toString and inspect show the state, result or exception", async () => {
    await runVirtual(() => {
      const pending = new Future();
      assert.equal(String(pending), "<Future pending>");
      const ok = new Future<unknown>();
      ok.setResult({ a: [1, 2] });
      assert.equal(String(ok), "<Future finished result={ a: [Array] }>");
      const failed = new Future();
      failed.setException(new TypeError("nope"));
      failed.exception();
      assert.equal(inspect(failed), '<Future finished exception=TypeError("nope")>');
      const cancelled = new Future();
      cancelled.cancel();
      assert.equal(inspect(cancelled), "<Future cancelled>");
    });
  });
});

describe("loops", () => {
  test("a task awaiting a Future of another loop gets RuntimeError (test_other_loop_future)", async () => {
    const other = new EventLoop();
    const fut = new Future<number>({ loop: other });
    await runVirtual(async () => {
      await assert.rejects(
        async () => await fut,
        (e: Error) => e instanceof RuntimeError && /attached to a different loop/.test(e.message),
      );
      assert.equal(fut.done(), false, "the Future is left alone");
    });
    other.close();
  });
});

describe("done callbacks", () => {
  test("are scheduled on the loop, not called synchronously, in the order they were added", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const fut = new Future<string>();
      fut.addDoneCallback((f) => log.push(`a:${f.result()}`));
      fut.addDoneCallback((f) => log.push(`b:${f.result()}`));
      fut.setResult("v");
      log.push("after setResult");
      fut.addDoneCallback(() => log.push("c (added when done)"));
      log.push("after late add");
      await sleep(0);
    });
    assert.deepEqual(log, [
      "after setResult",
      "after late add",
      "a:v",
      "b:v",
      "c (added when done)",
    ]);
  });

  test("receive the Future itself, also on cancel and on exception", async () => {
    const seen: Array<[Future<unknown>, string]> = [];
    await runVirtual(async () => {
      const a = new Future();
      const b = new Future();
      for (const f of [a, b]) f.addDoneCallback((g) => seen.push([g, g.state]));
      a.cancel();
      b.setException(new Error("x"));
      b.exception();
      await sleep(0);
      assert.deepEqual(seen, [
        [a, "cancelled"],
        [b, "finished"],
      ]);
    });
  });

  test("removeDoneCallback removes every registration and returns how many", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const fut = new Future<number>();
      const a = () => log.push("a");
      const b = () => log.push("b");
      fut.addDoneCallback(a);
      fut.addDoneCallback(b);
      fut.addDoneCallback(a);
      assert.equal(fut.removeDoneCallback(a), 2);
      assert.equal(fut.removeDoneCallback(a), 0);
      fut.setResult(1);
      // Once scheduled, callbacks are no longer registered: removing finds nothing.
      assert.equal(fut.removeDoneCallback(b), 0);
      await sleep(0);
    });
    assert.deepEqual(log, ["b"]);
  });

  test("a callback that throws goes to the exception handler as asyncio reports any callback, with its handle; later callbacks still run", async () => {
    const contexts: ExceptionContext[] = [];
    const log: string[] = [];
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler((_l, ctx) => contexts.push(ctx));
      const fut = new Future();
      const boom = new Error("boom");
      fut.addDoneCallback(function throwing() {
        throw boom;
      });
      fut.addDoneCallback(() => log.push("second"));
      fut.setResult(undefined);
      await sleep(0);
      assert.equal(contexts.length, 1);
      assert.equal(contexts[0].exception, boom);
      assert.equal(contexts[0].message, "Exception in callback throwing()");
      assert.ok(contexts[0].handle instanceof Handle);
      assert.equal(String(contexts[0].handle), "<Handle throwing()>");
      assert.deepEqual(Object.keys(contexts[0]).sort(), ["exception", "handle", "message"]);
    });
    assert.deepEqual(log, ["second"]);
  });
});

describe("awaiting", () => {
  test("a Future whose result is the Future itself, or leads back to it through other Futures, fails its awaiters with a TypeError, as a promise resolved with itself rejects, instead of spinning forever", async () => {
    const result = await runTs(join(ROOT, "test", "fixtures", "future-self-result.ts"), 20_000);
    assert.equal(result.code, 0, describeRun("future-self-result.ts", result));
    assert.deepEqual(result.stdout.trim().split("\n"), [
      "awaiter of a pending Future: TypeError",
      "awaiter of a done Future: TypeError",
      "result() is the Future: true",
      "two-Future cycle, awaiter of a pending Future: TypeError",
      "two-Future cycle, awaiter of a done Future: TypeError",
    ]);
  });

  test("await returns the result set later by a callback", async () => {
    const value = await runVirtual(async () => {
      const fut = getRunningLoop().createFuture<string>();
      getRunningLoop().callLater(100, () => fut.setResult("ready"));
      return [await fut, getRunningLoop().time()];
    });
    assert.deepEqual(value, ["ready", 100]);
  });

  test("await throws the exception, or CancelledError(msg) when the Future is cancelled", async () => {
    await runVirtual(async () => {
      const failed = new Future();
      const error = new Error("failed");
      getRunningLoop().callSoon(() => failed.setException(error));
      await assert.rejects(
        async () => await failed,
        (e) => e === error,
      );
      const cancelled = new Future();
      getRunningLoop().callSoon(() => cancelled.cancel("gone"));
      await assert.rejects(async () => await cancelled, {
        name: "CancelledError",
        message: "gone",
      });
    });
  });

  test("awaiting a done Future gives its outcome without waiting for a loop iteration", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const fut = new Future<number>();
      fut.setResult(7);
      let callbackRan = false;
      loop.callSoon(() => {
        callbackRan = true;
      });
      assert.equal(await fut, 7);
      assert.equal(callbackRan, false);
      const cancelled = new Future();
      cancelled.cancel("c");
      await assert.rejects(async () => await cancelled, CancelledError);
      assert.equal(await fut, 7, "a Future can be awaited again");
    });
  });

  test("several tasks awaiting one Future all get the result", async () => {
    const results = await runVirtual(async () => {
      const fut = new Future<number>();
      const tasks = [1, 2, 3].map((k) => createTask(async () => (await fut) * k));
      await sleep(10);
      fut.setResult(10);
      return Promise.all(tasks);
    });
    assert.deepEqual(results, [10, 20, 30]);
  });

  test("a Future works with then chains and native promise combinators", async () => {
    await runVirtual(async () => {
      const a = new Future<number>();
      const b = new Future<number>();
      getRunningLoop().callSoon(() => {
        a.setResult(1);
        b.setResult(2);
      });
      assert.deepEqual(await Promise.all([a, b]), [1, 2]);
      assert.equal(await a.then((v) => v + 100), 101);
      const failed = new Future();
      failed.setException(new Error("e"));
      assert.equal(await failed.then(null, (e) => (e as Error).message), "e");
      const fromAsync = async () => a;
      assert.equal(await fromAsync(), 1, "JavaScript unwraps a returned Future");
    });
  });
});

describe("never an unhandled rejection by itself", () => {
  test("failed and cancelled Futures nobody awaits, and awaits that catch, cause no unhandledRejection", async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", listener);
    try {
      const contexts: ExceptionContext[] = [];
      await runVirtual(async () => {
        getRunningLoop().setExceptionHandler((_l, ctx) => contexts.push(ctx));
        const ignored = new Future();
        ignored.setException(new Error("nobody looks"));
        const cancelled = new Future();
        cancelled.cancel();
        const awaited = new Future();
        getRunningLoop().callSoon(() => awaited.setException(new Error("caught")));
        try {
          await awaited;
        } catch {
          // Expected: the error is handled here.
        }
        const failingTask = createTask(async () => {
          throw new Error("task error nobody awaits");
        });
        await sleep(10);
        assert.equal(failingTask.done(), true);
      });
      // Let any unhandled rejection surface (Node reports them after the microtask queue drains).
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
      // The errors nobody retrieved are reported to the exception handler instead.
      assert.deepEqual(contexts.map((c) => c.message).sort(), [
        "Future exception was never retrieved",
        "Task exception was never retrieved",
      ]);
    } finally {
      process.off("unhandledRejection", listener);
    }
  });

  test("retrieving the exception (exception(), result() or await) prevents the never-retrieved report", async () => {
    const contexts: ExceptionContext[] = [];
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler((_l, ctx) => contexts.push(ctx));
      const a = new Future();
      a.setException(new Error("a"));
      a.exception();
      const b = new Future();
      b.setException(new Error("b"));
      assert.throws(() => b.result());
      const c = new Future();
      c.setException(new Error("c"));
      await c.then(null, () => {});
    });
    assert.deepEqual(contexts, []);
  });
  test("an error replaced by a cancellation delivered at resumption counts as retrieved", async () => {
    const contexts: ExceptionContext[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler((_l, ctx) => contexts.push(ctx));
      const fut = new Future();
      const waiter = createTask(async () => {
        await fut;
      });
      await sleep(0);
      // The Future fails, then the task is cancelled before it resumes: it gets CancelledError.
      loop.callSoon(() => {
        fut.setException(new Error("replaced"));
        waiter.cancel();
      });
      await assert.rejects(async () => {
        await waiter;
      }, CancelledError);
    });
    assert.deepEqual(contexts, []);
  });
});

describe("outside a loop", () => {
  test("a Future can be created, completed and awaited without any loop", async () => {
    const fut = new Future<string>();
    assert.throws(() => fut.getLoop(), RuntimeError);
    const log: string[] = [];
    fut.addDoneCallback((f) => log.push(`callback ${f.result()}`));
    setTimeout(() => fut.setResult("no loop"), 1);
    assert.equal(await fut, "no loop");
    await Promise.resolve();
    assert.deepEqual(log, ["callback no loop"]);
  });

  test("a throwing done callback is an uncaught error; later callbacks and awaiters still run", async () => {
    const result = await runTs(join(ROOT, "test", "fixtures", "done-callback-no-loop.ts"), 30_000);
    assert.equal(result.code, 0, describeRun("done-callback-no-loop.ts", result));
    assert.deepEqual(result.stdout.trim().split("\n").sort(), [
      "awaiter woke: value",
      "second callback: value",
      "uncaught: callback failed",
    ]);
  });

  test("a Future created outside a loop binds to the loop of the task that awaits it", async () => {
    const fut = new Future<number>();
    const loop = await runVirtual(async () => {
      getRunningLoop().callLater(50, () => fut.setResult(5));
      assert.equal(await fut, 5);
      return getRunningLoop();
    });
    assert.equal(fut.getLoop(), loop);
  });
});

describe("types", () => {
  test("a Future<T> or Task<T> is usable where a Future<unknown> or Task<unknown> is expected", async () => {
    // This test is checked by the type checker (npm test runs tsc): Future must be covariant
    // in T, or helpers taking `Future<unknown>` reject every concrete Future.
    await runVirtual(async () => {
      const fut: Future<number> = new Future<number>();
      const task: Task<void> = createTask(async () => {});
      const futures: Future<unknown>[] = [fut, task];
      const tasks: Task<unknown>[] = [task];
      fut.setResult(1);
      await task;
      assert.equal(futures.length + tasks.length, 3);
    });
  });
});

/**
 * Conformance: Future scenarios from CPython's test_futures and test_futures2 that the main
 * files (futures.test.ts, conformance-tasks.test.ts) do not pin: the never-retrieved report after
 * cancel(), recursive inspect strings, InvalidStateError messages, callback removal, wrapping
 * thenables with ensureFuture, and a cancel message travelling from a Future through the tasks
 * that await it. Virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import {
  allTasks,
  CancelledError,
  createTask,
  currentTask,
  ensureFuture,
  Future,
  getRunningLoop,
  InvalidStateError,
  sleep,
  type Task,
} from "../src/index.ts";
import { collectExceptions, errorOf, runVirtual, syncErrorOf } from "./helpers.ts";

describe("conformance: never-retrieved reports (test_futures tb_logger)", () => {
  test("a Future that failed and was then asked to cancel is not reported (test_tb_logger_not_called_after_cancel)", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(() => {
      getRunningLoop().setExceptionHandler(handler);
      const fut = new Future<number>();
      fut.setException(new RangeError("boom"));
      // cancel() is refused (the Future is done), but asyncio's cancel() first turns off the
      // traceback logging: asking to cancel means nobody wants the outcome.
      assert.equal(fut.cancel(), false);
      assert.equal(fut.cancelled(), false);
    });
    assert.deepEqual(contexts, []);
  });

  test("a task that failed and was then asked to cancel is not reported either (Task.cancel)", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      const task = createTask(async () => {
        throw new RangeError("task boom");
      });
      await sleep(0);
      assert.equal(task.done(), true);
      assert.equal(task.cancel(), false);
    });
    assert.deepEqual(contexts, []);
  });

  test("a pending Future nobody completes and a finished one nobody reads are not reported (test_tb_logger_abandoned, test_tb_logger_result_unretrieved)", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(() => {
      getRunningLoop().setExceptionHandler(handler);
      new Future<number>();
      new Future<number>().setResult(42);
    });
    assert.deepEqual(contexts, []);
  });
});

describe("conformance: inspect strings", () => {
  test("a task whose result contains the task itself shows it as '...' instead of recursing (test_recursive_repr_for_pending_tasks)", async () => {
    await runVirtual(async () => {
      const main = currentTask()!;
      const task = createTask(() => allTasks(), { name: "lister" });
      const result = await task;
      assert.ok(result.has(task as Task<unknown>));
      const expected = `<Task finished name='lister' result=Set(2) { <Task pending name='${main.name}'>, ... }>`;
      assert.equal(String(task), expected);
      assert.equal(inspect(task), expected);
      // The same guard covers a Future whose result holds it.
      const fut = new Future<unknown[]>();
      fut.setResult([fut]);
      assert.equal(String(fut), "<Future finished result=[ ... ]>");
    });
  });
});

describe("conformance: results and errors", () => {
  test("InvalidStateError of a pending Future says which outcome is missing, as asyncio", async () => {
    await runVirtual(() => {
      const fut = new Future<number>();
      const fromResult = syncErrorOf(() => fut.result());
      const fromException = syncErrorOf(() => fut.exception());
      assert.ok(fromResult instanceof InvalidStateError);
      assert.ok(fromException instanceof InvalidStateError);
      assert.equal(fromResult.message, "Result is not set.");
      assert.equal(fromException.message, "Exception is not set.");
      assert.equal(fromResult.name, "InvalidStateError");
    });
  });

  test("a failed Future awaited five times throws the same error each time, its stack unchanged (test_future_traceback)", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        throw new TypeError("42");
      });
      const seen: unknown[] = [];
      for (let i = 0; i < 5; i++) seen.push(await errorOf(task));
      const first = seen[0] as TypeError;
      assert.ok(first instanceof TypeError);
      for (const e of seen) assert.equal(e, first);
      assert.equal(first.stack, (seen[4] as TypeError).stack);
    });
  });
});

describe("conformance: done callbacks", () => {
  test("removing the first and second of three callbacks, one of them twice, leaves the third (test_callbacks_remove_first_and_second_callback)", async () => {
    await runVirtual(async () => {
      const fut = new Future<string>();
      const bag: number[] = [];
      const cb1 = () => bag.push(42);
      const cb2 = () => bag.push(17);
      const cb3 = () => bag.push(100);
      for (const cb of [cb1, cb2, cb3]) fut.addDoneCallback(cb);
      assert.deepEqual(
        [cb1, cb2, cb1].map((cb) => fut.removeDoneCallback(cb)),
        [1, 1, 0],
      );
      fut.setResult("foo");
      assert.deepEqual(bag, []);
      await sleep(0);
      assert.deepEqual(bag, [100]);
      assert.equal(fut.result(), "foo");
    });
  });

  test("removeDoneCallback counts every registration: six of cb1 are removed at once, cb2 stays (test_remove_done_callback)", async () => {
    await runVirtual(async () => {
      const fut = new Future<string>();
      const bag: number[] = [];
      const cb1 = () => bag.push(1);
      const cb2 = () => bag.push(2);
      const cb3 = () => bag.push(3);
      fut.addDoneCallback(cb1);
      fut.addDoneCallback(cb2);
      assert.equal(fut.removeDoneCallback(cb2), 1);
      assert.equal(fut.removeDoneCallback(cb3), 0);
      fut.addDoneCallback(cb2);
      for (let i = 0; i < 5; i++) fut.addDoneCallback(cb1);
      assert.equal(fut.removeDoneCallback(cb1), 6);
      fut.setResult("foo");
      await sleep(0);
      assert.deepEqual(bag, [2]);
    });
  });
});

describe("conformance: cancel messages travel through awaiters", () => {
  test("a Future cancelled with a message: a task awaiting it, and a task awaiting that task, both end cancelled with it", async () => {
    await runVirtual(async () => {
      const fut = new Future<number>();
      const inner = createTask(async () => await fut);
      const outer = createTask(async () => await inner);
      await sleep(0);
      await sleep(0);
      assert.equal(fut.cancel("stop here"), true);
      const error = await errorOf(outer);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "stop here");
      for (const t of [inner, outer]) {
        assert.equal(t.cancelled(), true);
        const e = syncErrorOf(() => t.result());
        assert.ok(e instanceof CancelledError);
        assert.equal(e.message, "stop here");
      }
    });
  });

  test("a cancelled Future's done callback sees cancelled(), and exception() throws its CancelledError with the message", async () => {
    await runVirtual(async () => {
      const fut = new Future<number>();
      const seen: unknown[] = [];
      fut.addDoneCallback((f) => {
        seen.push(f.cancelled());
        seen.push((syncErrorOf(() => f.exception()) as CancelledError).message);
      });
      fut.cancel("no longer needed");
      await sleep(0);
      assert.deepEqual(seen, [true, "no longer needed"]);
    });
  });
});

describe("conformance: ensureFuture of thenables (test_wrap_future*)", () => {
  test("a thenable that is not a promise is wrapped in a Future of the running loop that gets its value", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      let resolveIt!: (value: string) => void;
      const thenable: PromiseLike<string> = {
        // biome-ignore lint/suspicious/noThenProperty: a custom thenable is the input here.
        then(onFulfilled, onRejected) {
          return new Promise<string>((resolve) => {
            resolveIt = resolve;
          }).then(onFulfilled, onRejected);
        },
      };
      const fut = ensureFuture(thenable);
      assert.ok(fut instanceof Future);
      assert.equal(fut.getLoop(), loop);
      assert.equal(fut.done(), false);
      loop.callLater(10, () => resolveIt("oi"));
      assert.equal(await fut, "oi");
      assert.equal(fut.result(), "oi");
      assert.equal(loop.time(), 10);
    });
  });

  test("a rejected thenable's error becomes the wrapper's exception", async () => {
    await runVirtual(async () => {
      const error = new RangeError("rejected");
      const fut = ensureFuture(Promise.reject(error));
      assert.equal(await errorOf(fut), error);
      assert.equal(fut.exception(), error);
    });
  });

  test("the wrapper of a promise that already resolved, cancelled before it copied the value, stays cancelled (test_wrap_future_cancel2)", async () => {
    await runVirtual(async () => {
      const source = Promise.resolve(42);
      const fut = ensureFuture(source);
      assert.equal(fut.cancel(), true);
      await sleep(0);
      assert.equal(fut.cancelled(), true);
      assert.equal(await source, 42);
    });
  });

  test("cancelling the wrapper of a pending promise cancels only the wrapper: the promise still settles (documented difference)", async () => {
    // asyncio's wrap_future cancels the concurrent future too (test_wrap_future_cancel); a
    // JavaScript promise cannot be cancelled, so ensureFuture documents that only the wrapper is.
    await runVirtual(async () => {
      const loop = getRunningLoop();
      let settled = false;
      const source = new Promise<string>((resolve) => {
        loop.callLater(5, () => {
          settled = true;
          resolve("late");
        });
      });
      const fut = ensureFuture(source);
      fut.cancel();
      assert.ok((await errorOf(fut)) instanceof CancelledError);
      assert.equal(await source, "late");
      assert.equal(settled, true);
      assert.equal(fut.cancelled(), true);
    });
  });
});

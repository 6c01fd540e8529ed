/**
 * Conformance: Task, Future and eager-start scenarios from CPython's test_tasks,
 * test_futures and test_eager_task_factory that the main files do not pin. Virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
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
  TimeoutError,
  timeout,
  wait,
  waitFor,
} from "../src/index.ts";
import { collectExceptions, errorOf, now, runVirtual, syncErrorOf } from "./helpers.ts";

describe("conformance: cancel messages", () => {
  for (const [label, msg, expected] of [
    ["no argument", undefined, ""],
    ["null", null, ""],
    ["a message", "my message", "my message"],
  ] as const) {
    test(`cancel(${label}) of a sleeping task: result() and exception() throw CancelledError('${expected}')`, async () => {
      await runVirtual(async () => {
        const task = createTask(() => sleep(10_000));
        await sleep(0);
        assert.equal(msg === undefined ? task.cancel() : task.cancel(msg), true);
        const { done, pending } = await wait([task]);
        assert.equal(done.has(task), true);
        assert.equal(pending.size, 0);
        assert.equal(task.cancelled(), true);
        const fromResult = syncErrorOf(() => task.result());
        const fromException = syncErrorOf(() => task.exception());
        for (const e of [fromResult, fromException]) {
          assert.ok(e instanceof CancelledError);
          assert.equal((e as CancelledError).cancelMessage ?? "", expected);
        }
        if (expected !== "") assert.equal((fromResult as CancelledError).message, expected);
      });
    });
  }

  test("a message given before the task starts reaches its CancelledError", async () => {
    await runVirtual(async () => {
      let ran = false;
      const task = createTask(async () => {
        ran = true;
        await sleep(10_000);
      });
      task.cancel("my message");
      await wait([task]);
      const e = syncErrorOf(() => task.exception());
      assert.ok(e instanceof CancelledError);
      assert.equal((e as CancelledError).message, "my message");
      assert.equal(ran, false);
    });
  });

  test("the awaiter of a task cancelled from a callback sees the message and can chain it as the cause", async () => {
    await runVirtual(async () => {
      const started = new Future<void>();
      const inner = createTask(async () => {
        started.setResult();
        await sleep(10_000);
      });
      const outer = createTask(async () => {
        await started;
        getRunningLoop().callSoon(() => inner.cancel("msg"));
        try {
          await inner;
        } catch (e) {
          throw new RangeError("cancelled", { cause: e });
        }
      });
      const error = await errorOf(outer);
      assert.ok(error instanceof RangeError);
      assert.ok(error.cause instanceof CancelledError);
      assert.equal((error.cause as CancelledError).message, "msg");
      assert.equal(inner.cancelled(), true);
      // The awaiter threw another error: it ends with it, not cancelled.
      assert.equal(outer.cancelled(), false);
    });
  });
});

describe("conformance: cancellation of tasks", () => {
  test("cancelling a task between two zero sleeps ends it cancelled; cancel() is false afterwards (test_cancel_yield)", async () => {
    await runVirtual(async () => {
      let reached = false;
      const task = createTask(async () => {
        await sleep(0);
        await sleep(0);
        reached = true;
        return 12;
      });
      await sleep(0); // the task starts and waits on its first sleep
      assert.equal(task.cancel(), true);
      assert.ok((await errorOf(task)) instanceof CancelledError);
      assert.equal(task.done(), true);
      assert.equal(task.cancelled(), true);
      assert.equal(task.cancel(), false);
      assert.equal(reached, false);
    });
  });

  test("cancel() right after createTask of a sleeper: the task ends cancelled at once, not after 10 s (test_cancel)", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        await sleep(10_000);
        return 12;
      });
      getRunningLoop().callSoon(() => task.cancel());
      assert.ok((await errorOf(task)) instanceof CancelledError);
      assert.equal(task.cancelled(), true);
      assert.equal(now(), 0);
    });
  });

  test("a task that cancels itself then awaits a subtask: the subtask and what it waits on are cancelled (bpo-34872)", async () => {
    await runVirtual(async () => {
      const fut = new Future<void>();
      let nested: Task<void> | undefined;
      const task = createTask(async () => {
        nested = createTask(async () => {
          await fut;
        });
        await sleep(0);
        currentTask()!.cancel();
        await nested;
      });
      assert.ok((await errorOf(task)) instanceof CancelledError);
      assert.equal(task.cancelled(), true);
      assert.equal(nested!.cancelled(), true);
      assert.equal(fut.cancelled(), true);
    });
  });

  test("a task awaiting a Future: cancel() cancels that Future and the task stops waiting on it (test_task_cancel_waiter_future)", async () => {
    await runVirtual(async () => {
      const fut = new Future<void>();
      const task = createTask(async () => {
        await fut;
      });
      await sleep(0);
      assert.equal(task.getStack().length, 1);
      task.cancel();
      await sleep(0);
      assert.ok((await errorOf(task)) instanceof CancelledError);
      assert.equal(fut.cancelled(), true);
      assert.deepEqual(task.getStack(), []);
    });
  });

  test("two cancel() calls count twice; the task still ends cancelled once", async () => {
    await runVirtual(async () => {
      const task = createTask(() => sleep(10_000));
      await sleep(0);
      assert.equal(task.cancel(), true);
      assert.equal(task.cancel(), true);
      assert.equal(task.cancelling(), 2);
      assert.ok((await errorOf(task)) instanceof CancelledError);
      assert.equal(task.cancelled(), true);
      assert.equal(task.cancel(), false);
    });
  });

  test("uncancel() in the handler then another wait: the inspect string drops 'cancelling', a second cancel() ends it (test_uncancel_basic)", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          assert.ok(e instanceof CancelledError);
          currentTask()!.uncancel();
          await sleep(10_000);
        }
      });
      await sleep(10);
      assert.equal(task.cancel(), true);
      assert.match(String(task), / ?cancelling/);
      await sleep(10);
      assert.doesNotMatch(String(task), /cancelling/);
      assert.equal(task.cancelling(), 0);
      assert.equal(task.cancel(), true);
      assert.ok((await errorOf(task)) instanceof CancelledError);
      assert.equal(now(), 20);
    });
  });

  test("a timeout handled inside a task, by uncancel(), does not disturb the code after it (test_uncancel_structured_blocks)", async () => {
    await runVirtual(async () => {
      const log: string[] = [];
      const task = createTask(async () => {
        try {
          await timeout(1000, async () => {
            await sleep(600);
            log.push("first request");
            await sleep(600);
            log.push("second request");
          });
        } catch (e) {
          assert.ok(e instanceof TimeoutError);
          log.push("timed out");
        }
        assert.equal(currentTask()!.cancelling(), 0);
        await sleep(500);
        log.push("unrelated code");
        return "ok";
      });
      assert.equal(await task, "ok");
      assert.deepEqual(log, ["first request", "timed out", "unrelated code"]);
      assert.equal(now(), 1500);
    });
  });

  test("an outside cancel while a timeout is active propagates as CancelledError and keeps the count", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        await timeout(1000, () => sleep(10_000));
      });
      await sleep(100);
      task.cancel();
      assert.ok((await errorOf(task)) instanceof CancelledError);
      assert.equal(task.cancelled(), true);
      assert.equal(task.cancelling(), 1);
      assert.equal(now(), 100);
    });
  });

  test("a sleep cancelled from outside removes its timer: time does not jump to its deadline", async () => {
    await runVirtual(async () => {
      const task = createTask(() => sleep(10_000, "yeah"));
      await sleep(0);
      task.cancel();
      assert.ok((await errorOf(task)) instanceof CancelledError);
      await sleep(0);
      // Nothing else is scheduled: the loop's time stays at 0.
      assert.equal(now(), 0);
    });
  });
});

describe("conformance: eager start (test_eager_task_factory)", () => {
  test("an eager task that sets a Future and returns: done by the next microtask turn; the Future has the value", async () => {
    await runVirtual(async () => {
      const fut = new Future<string>();
      const task = createTask(
        async () => {
          fut.setResult("my message");
        },
        { eagerStart: true },
      );
      assert.equal(fut.done(), true);
      await Promise.resolve();
      assert.equal(task.done(), true);
      assert.equal(await fut, "my message");
    });
  });

  test("an eager task with a synchronous function is done inside createTask; cancel() then returns false", async () => {
    await runVirtual(async () => {
      const task = createTask(() => "finished without blocking", { eagerStart: true });
      assert.equal(task.done(), true);
      assert.equal(task.cancel(), false);
      assert.equal(await task, "finished without blocking");
      assert.equal(task.cancelled(), false);
    });
  });

  test("an eager task that blocks, cancelled with a message: cancelling() > 0 and awaiting it throws that message", async () => {
    await runVirtual(async () => {
      const task = createTask(
        async () => {
          await sleep(100);
          return "finished after blocking";
        },
        { eagerStart: true },
      );
      assert.equal(task.done(), false);
      task.cancel("cancellation message");
      assert.ok(task.cancelling() > 0);
      const error = await errorOf(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "cancellation message");
      assert.equal(now(), 0);
    });
  });

  test("an eager task that blocks finishes after its wait", async () => {
    await runVirtual(async () => {
      const task = createTask(
        async () => {
          await sleep(100);
          return "finished after blocking";
        },
        { eagerStart: true },
      );
      assert.equal(task.done(), false);
      assert.equal(await task, "finished after blocking");
      assert.equal(task.done(), true);
      assert.equal(now(), 100);
    });
  });

  test("currentTask() in an eager task is the task, during its eager step and after blocking; the creator is current again after", async () => {
    await runVirtual(async () => {
      const creator = currentTask();
      let captured: Task | null = null;
      let afterWait: Task | null = null;
      const task = createTask(
        async () => {
          captured = currentTask();
          await sleep(100);
          afterWait = currentTask();
        },
        { eagerStart: true },
      );
      assert.equal(captured, task);
      assert.equal(currentTask(), creator);
      await task;
      assert.equal(afterWait, task);
    });
  });

  test("allTasks() seen from an eager step includes the task; once done it is gone", async () => {
    await runVirtual(async () => {
      let seen: Set<Task> | undefined;
      const task = createTask(
        async () => {
          seen = allTasks();
        },
        { eagerStart: true },
      );
      assert.ok(seen!.has(task));
      await task;
      assert.equal(allTasks().has(task), false);
    });
  });

  test("an eager task that blocks stays in allTasks() until it finishes", async () => {
    await runVirtual(async () => {
      const fut1 = new Future<void>();
      const fut2 = new Future<void>();
      let seen: Set<Task> | undefined;
      const task = createTask(
        async () => {
          seen = allTasks();
          await fut1;
          fut2.setResult();
        },
        { eagerStart: true },
      );
      assert.ok(seen!.has(task));
      assert.ok(allTasks().has(task));
      fut1.setResult();
      await fut2;
      await sleep(0);
      assert.equal(allTasks().has(task), false);
    });
  });

  test("an eager task that throws before waiting: the error is its exception, reported once if never retrieved", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      const task = createTask(
        () => {
          throw new RangeError("eager boom");
        },
        { eagerStart: true },
      );
      assert.equal(task.done(), true);
      assert.ok(task.exception() instanceof RangeError);
    });
    // exception() retrieved it: nothing reported.
    assert.equal(contexts.length, 0);
  });
});

describe("conformance: futures (test_futures)", () => {
  test("a callback added to a done Future is scheduled, not called synchronously", async () => {
    await runVirtual(async () => {
      const fut = new Future<number>();
      fut.setResult(1);
      const log: string[] = [];
      fut.addDoneCallback(() => log.push("callback"));
      log.push("after add");
      await sleep(0);
      assert.deepEqual(log, ["after add", "callback"]);
    });
  });

  test("removing a callback after the Future completed does not unschedule it and returns 0", async () => {
    await runVirtual(async () => {
      const fut = new Future<number>();
      const log: string[] = [];
      const cb1 = () => log.push("cb1");
      const cb2 = () => log.push("cb2");
      fut.addDoneCallback(cb1);
      fut.addDoneCallback(cb2);
      fut.setResult(1);
      assert.equal(fut.removeDoneCallback(cb2), 0);
      await sleep(0);
      assert.deepEqual(log, ["cb1", "cb2"]);
    });
  });

  test("a callback that removes a later callback while callbacks run: the later one still runs (list mutation)", async () => {
    await runVirtual(async () => {
      const fut = new Future<number>();
      const log: string[] = [];
      const cb2 = () => log.push("cb2");
      fut.addDoneCallback(() => {
        log.push("cb1");
        assert.equal(fut.removeDoneCallback(cb2), 0);
      });
      fut.addDoneCallback(cb2);
      fut.setResult(1);
      await sleep(0);
      assert.deepEqual(log, ["cb1", "cb2"]);
    });
  });

  test("removeDoneCallback of the first, second or third of three callbacks leaves the others in order", async () => {
    await runVirtual(async () => {
      for (const drop of [0, 1, 2]) {
        const fut = new Future<number>();
        const log: number[] = [];
        const cbs = [0, 1, 2].map((i) => () => log.push(i));
        for (const cb of cbs) fut.addDoneCallback(cb);
        assert.equal(fut.removeDoneCallback(cbs[drop]!), 1);
        fut.setResult(1);
        await sleep(0);
        assert.deepEqual(
          log,
          [0, 1, 2].filter((i) => i !== drop),
        );
      }
    });
  });

  test("a callback added by a callback while they run is scheduled too", async () => {
    await runVirtual(async () => {
      const fut = new Future<number>();
      const log: string[] = [];
      fut.addDoneCallback(() => {
        log.push("first");
        fut.addDoneCallback(() => log.push("added later"));
      });
      fut.setResult(1);
      await sleep(0);
      await sleep(0);
      assert.deepEqual(log, ["first", "added later"]);
    });
  });

  test("after cancel(), setResult and setException throw InvalidStateError and the state stays cancelled", async () => {
    await runVirtual(async () => {
      const fut = new Future<number>();
      assert.equal(fut.cancel(), true);
      assert.ok(syncErrorOf(() => fut.setResult(1)) instanceof InvalidStateError);
      assert.ok(syncErrorOf(() => fut.setException(new Error("x"))) instanceof InvalidStateError);
      assert.equal(fut.cancelled(), true);
      assert.equal(fut.cancel(), false);
    });
  });

  test("never-retrieved reporting: a result nobody read is silent, an exception nobody read is reported once", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      const ok = new Future<number>();
      ok.setResult(42);
      const failed = new Future<number>();
      failed.setException(new RangeError("never retrieved"));
      const retrieved = new Future<number>();
      retrieved.setException(new RangeError("retrieved"));
      assert.ok(syncErrorOf(() => retrieved.result()) instanceof RangeError);
      const cancelledThenNothing = new Future<number>();
      cancelledThenNothing.cancel();
    });
    const reported = contexts.map((c) => (c.exception as Error | undefined)?.message);
    assert.deepEqual(reported, ["never retrieved"]);
  });
});

describe("conformance: more cancellation details", () => {
  test("two cancel() calls with different messages while waiting: the first one cancelled the wait, so the task sees it", async () => {
    // asyncio: the first cancel() cancels the awaited Future with its message; the second finds
    // it already cancelled and only sets _must_cancel, which does not replace a CancelledError
    // already on its way in.
    await runVirtual(async () => {
      let seen: unknown;
      const task = createTask(async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          seen = e;
          throw e;
        }
      });
      await sleep(0);
      task.cancel("first");
      task.cancel("second");
      assert.equal(task.cancelling(), 2);
      const error = await errorOf(task);
      assert.ok(seen instanceof CancelledError);
      assert.equal((seen as CancelledError).message, "first");
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "first");
    });
  });

  test("two cancel() calls before the task starts: the last message wins", async () => {
    await runVirtual(async () => {
      const task = createTask(() => sleep(10_000));
      task.cancel("first");
      task.cancel("second");
      const error = await errorOf(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "second");
    });
  });

  test("ensureFuture() returns a Future or Task as is and starts a function as a task", async () => {
    await runVirtual(async () => {
      const fut = new Future<number>();
      assert.equal(ensureFuture(fut), fut);
      const task = createTask(() => sleep(10, "t"));
      assert.equal(ensureFuture(task), task);
      const started = ensureFuture(() => sleep(5, "f"));
      assert.ok(allTasks().has(started as Task<string>));
      assert.equal(await started, "f");
      const wrapped = ensureFuture(Promise.resolve(3));
      assert.ok(wrapped instanceof Future);
      assert.equal(await wrapped, 3);
      await task;
    });
  });

  test("waitFor() of a plain Future that never completes cancels that Future on expiry", async () => {
    await runVirtual(async () => {
      const fut = new Future<number>();
      const error = await errorOf(waitFor(fut, 100));
      assert.ok(error instanceof TimeoutError);
      assert.equal(fut.cancelled(), true);
      assert.equal(now(), 100);
    });
  });

  test("sleep(delay, value) resolves to the value; cancelled with a message it throws that message", async () => {
    await runVirtual(async () => {
      assert.equal(await sleep(10, "yeah"), "yeah");
      const task = createTask(() => sleep(10_000, "never"));
      await sleep(0);
      task.cancel("stop sleeping");
      const error = await errorOf(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "stop sleeping");
    });
  });

  test("an eager task created inside an eager task: each sees itself as current, the creator is current again afterwards", async () => {
    await runVirtual(async () => {
      const main = currentTask();
      const seen: Array<Task | null> = [];
      let inner: Task<void> | undefined;
      const outer = createTask(
        async () => {
          seen.push(currentTask());
          inner = createTask(
            async () => {
              seen.push(currentTask());
              await sleep(10);
              seen.push(currentTask());
            },
            { eagerStart: true },
          );
          seen.push(currentTask());
          await inner;
        },
        { eagerStart: true },
      );
      assert.equal(currentTask(), main);
      assert.deepEqual(seen, [outer, inner, outer]);
      await outer;
      assert.deepEqual(seen, [outer, inner, outer, inner]);
    });
  });

  test("a task that cancels itself during its eager step and then returns ends cancelled", async () => {
    await runVirtual(async () => {
      const task = createTask(
        () => {
          currentTask()!.cancel("self");
          return 1;
        },
        { eagerStart: true },
      );
      assert.equal(task.cancelled(), true);
      const error = await errorOf(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "self");
    });
  });
});

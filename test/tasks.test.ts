/**
 * Task behaviour: lazy and eager start, names, cancellation semantics (asyncio's `cancel`,
 * `cancelling`, `uncancel`, `_must_cancel`, `_fut_waiter`), strong references, stacks and
 * inspect strings. Scenarios follow CPython's test_tasks.py, rewritten for the virtual clock.
 *
 * One JavaScript difference shows in these tests: the loop runs a batch of ready callbacks
 * synchronously, and task code after an `await` runs in microtasks after that batch. A task's
 * first step runs from the ready queue at its place, as in asyncio; its later steps never
 * interleave with plain callbacks of the same iteration.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import v8 from "node:v8";
import vm from "node:vm";
import {
  allTasks,
  CancelledError,
  createEagerTaskFactory,
  createTask,
  currentSignal,
  currentTask,
  eagerTaskFactory,
  ensureFuture,
  Future,
  gather,
  getRunningLoop,
  Runner,
  RuntimeError,
  sleep,
  Task,
  type TaskFactory,
  taskGroup,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

/** Yields to the loop `n` times. */
async function yieldTimes(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await sleep(0);
}

/** Lets `n` microtask turns pass without yielding to the loop. */
async function microtasks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

describe("starting", () => {
  test("a task starts on a later loop iteration: the code after createTask runs first", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const task = createTask(() => {
        log.push("task runs");
        return 1;
      });
      log.push("after createTask");
      await microtasks(20);
      log.push("after microtasks");
      assert.equal(task.done(), false);
      await sleep(0);
      log.push("after one yield");
      assert.equal(await task, 1);
    });
    assert.deepEqual(log, ["after createTask", "after microtasks", "task runs", "after one yield"]);
  });

  test("tasks start from the ready queue, in order with callbacks, as in asyncio", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.callSoon(() => log.push("callback 1"));
      createTask(() => log.push("task A"));
      loop.callSoon(() => log.push("callback 2"));
      createTask(() => log.push("task B"));
      await yieldTimes(2);
    });
    // A task's first step runs at its place in the ready queue (its synchronous part, up to its
    // first await); what follows an await runs in microtasks after the iteration's batch.
    assert.deepEqual(log, ["callback 1", "task A", "callback 2", "task B"]);
  });

  test("eagerStart runs the function synchronously up to its first wait", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      let inside: Task<unknown> | null = null;
      const task = createTask(
        async () => {
          inside = currentTask();
          log.push("eager: before wait");
          await sleep(10);
          log.push("eager: after wait");
          return "r";
        },
        { eagerStart: true },
      );
      log.push("after createTask");
      assert.equal(inside, task, "currentTask() inside an eager task is the task itself");
      assert.equal(task.done(), false);
      assert.equal(await task, "r");
    });
    assert.deepEqual(log, ["eager: before wait", "after createTask", "eager: after wait"]);
  });

  test("an eager task that never waits is done by the next microtask turn", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => "quick", { eagerStart: true });
      assert.equal(
        task.done(),
        false,
        "JavaScript cannot see an async function's end synchronously",
      );
      await microtasks(1);
      assert.equal(task.done(), true);
      assert.equal(task.result(), "quick");
      const sync = createTask(() => 5, { eagerStart: true });
      assert.equal(sync.done(), true, "a plain function's result is known at once");
      assert.equal(sync.result(), 5);
      const throwing = createTask(
        () => {
          throw new TypeError("sync failure");
        },
        { eagerStart: true },
      );
      assert.equal(throwing.done(), true);
      assert.ok(throwing.exception() instanceof TypeError);
    });
  });

  test("a function returning a plain value, throwing, or returning a Future all make tasks", async () => {
    await runVirtual(async () => {
      assert.equal(await createTask(() => 3), 3);
      const error = new Error("thrown synchronously");
      const failing = createTask(() => {
        throw error;
      });
      await assert.rejects(
        async () => await failing,
        (e) => e === error,
      );
      const fut = new Future<string>();
      getRunningLoop().callLater(20, () => fut.setResult("from future"));
      assert.equal(await createTask(() => fut), "from future");
    });
  });

  test("a task returning a Future waits on it, so cancelling the task cancels that Future", async () => {
    await runVirtual(async () => {
      const fut = new Future<string>();
      const task = createTask(() => fut);
      await yieldTimes(2);
      assert.deepEqual(task.getStack(), ["waiting on <Future pending>"]);
      task.cancel("stop");
      await assert.rejects(async () => await task, { name: "CancelledError", message: "stop" });
      assert.equal(fut.cancelled(), true);
    });
  });
});

describe("names", () => {
  test("default names are Task-N with increasing N; names can be given and set", async () => {
    await runVirtual(async () => {
      const a = createTask(() => {});
      const b = createTask(() => {});
      const na = Number(/^Task-(\d+)$/.exec(a.name)![1]);
      const nb = Number(/^Task-(\d+)$/.exec(b.name)![1]);
      assert.equal(nb, na + 1);
      const named = createTask(() => {}, { name: "worker" });
      assert.equal(named.name, "worker");
      assert.equal(named.getName(), "worker");
      named.name = "renamed";
      assert.equal(named.getName(), "renamed");
      named.setName("again");
      assert.equal(named.name, "again");
      await Promise.all([a, b, named]);
    });
  });
});

describe("cancel()", () => {
  test("a task that returned in this iteration is done: a sibling's cancel() right after returns false", async () => {
    await runVirtual(async () => {
      const a = createTask(async () => {
        await sleep(0);
        return 1;
      });
      let cancelled: boolean | undefined;
      createTask(async () => {
        await sleep(0);
        cancelled = a.cancel();
      });
      assert.equal(await a, 1);
      await sleep(0);
      assert.equal(cancelled, false);
    });
  });

  test("a cancel requested before the task's first await of a Future cancels that Future and wakes the task", async () => {
    const outcome = await runVirtual(async () => {
      const fut = getRunningLoop().createFuture<number>();
      const task = createTask(async () => {
        try {
          await fut;
          return "not cancelled";
        } catch (e) {
          return `caught ${(e as Error).name}: ${(e as Error).message}`;
        }
      });
      // The task starts on the next iteration and reaches `await fut`, but the Future's `then`
      // is called on a later microtask than this continuation: the request is still pending.
      await sleep(0);
      assert.equal(task.cancel("stop"), true);
      const result = await task;
      return { result, futCancelled: fut.cancelled() };
    });
    assert.deepEqual(outcome, { result: "caught CancelledError: stop", futCancelled: true });
  });

  test("cancelling a sleeping task throws CancelledError(msg) at its await; the task ends cancelled", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const task = createTask(async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          log.push(`${(e as Error).name}(${(e as Error).message}) at ${loop.time()}`);
          throw e;
        } finally {
          log.push("finally");
        }
      });
      await sleep(100);
      assert.equal(task.cancel("enough"), true);
      assert.equal(task.done(), false, "cancel() only requests");
      await assert.rejects(async () => await task, { name: "CancelledError", message: "enough" });
      assert.equal(task.cancelled(), true);
      assert.throws(() => task.result(), { name: "CancelledError", message: "enough" });
      assert.throws(() => task.exception(), CancelledError);
      assert.equal(loop.time(), 100);
    });
    assert.deepEqual(log, ["CancelledError(enough) at 100", "finally"]);
  });

  test("cancel() returns false on a done task and changes nothing", async () => {
    await runVirtual(async () => {
      const task = createTask(() => "done");
      await task;
      assert.equal(task.cancel(), false);
      assert.equal(task.cancelling(), 0);
      assert.equal(task.cancelled(), false);
      assert.equal(task.result(), "done");
      assert.equal(task.signal.aborted, false);
    });
  });

  test("each request is counted by cancelling()", async () => {
    await runVirtual(async () => {
      const task = createTask(() => sleep(1000));
      await sleep(0);
      assert.equal(task.cancelling(), 0);
      assert.equal(task.cancel(), true);
      assert.equal(task.cancel(), true);
      assert.equal(task.cancelling(), 2);
      await assert.rejects(async () => await task, CancelledError);
      assert.equal(task.cancel(), false);
      assert.equal(task.cancelling(), 2);
    });
  });

  test("cancel() cancels the Future the task awaits", async () => {
    await runVirtual(async () => {
      const fut = new Future<number>();
      const task = createTask(async () => await fut);
      await yieldTimes(2);
      task.cancel("m");
      assert.equal(fut.cancelled(), true);
      assert.throws(() => fut.result(), { name: "CancelledError", message: "m" });
      await assert.rejects(async () => await task, { message: "m" });
    });
  });

  test("every Future the task waits on at once is cancelled, each wait throwing CancelledError(msg)", async () => {
    await runVirtual(async () => {
      const a = new Future<number>();
      const b = new Future<number>();
      const errors: unknown[] = [];
      const task = createTask(async () => {
        const results = await Promise.allSettled([a, b]);
        for (const r of results) if (r.status === "rejected") errors.push(r.reason);
        return "returned";
      });
      await yieldTimes(2);
      assert.equal(task.getStack().length, 2);
      task.cancel("both");
      assert.equal(a.cancelled(), true);
      assert.equal(b.cancelled(), true);
      assert.equal(await task, "returned", "the task handled the cancellation itself");
      assert.equal(errors.length, 2);
      for (const e of errors) {
        assert.ok(e instanceof CancelledError);
        assert.equal(e.message, "both");
      }
    });
  });

  test("cancel() aborts the task's signal with the CancelledError as reason", async () => {
    await runVirtual(async () => {
      const task = createTask(() => sleep(1000));
      const signal = task.signal;
      let reasonSeen: unknown;
      signal.addEventListener("abort", () => {
        reasonSeen = signal.reason;
      });
      assert.equal(signal.aborted, false);
      await sleep(0);
      task.cancel("abort it");
      assert.equal(signal.aborted, true);
      assert.ok(signal.reason instanceof CancelledError);
      assert.equal(signal.reason.message, "abort it");
      assert.equal(reasonSeen, signal.reason);
      await assert.rejects(async () => await task, CancelledError);
    });
  });

  test("a signal first read after cancel() is already aborted", async () => {
    await runVirtual(async () => {
      const task = createTask(() => sleep(1000));
      await sleep(0);
      task.cancel("late reader");
      assert.equal(task.signal.aborted, true);
      assert.equal((task.signal.reason as Error).message, "late reader");
      await assert.rejects(async () => await task, CancelledError);
    });
  });

  test("a task not waiting on anything gets the cancellation at its next wait", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const task = createTask(async () => {
        // A plain promise is not a wait the runtime can cancel.
        await new Promise((resolve) => setImmediate(resolve));
        log.push("plain promise resolved");
        try {
          await sleep(0);
          log.push("not reached");
        } catch (e) {
          log.push(`next wait threw ${(e as Error).name}(${(e as Error).message})`);
          throw e;
        }
      });
      await sleep(0);
      assert.deepEqual(task.getStack(), []);
      task.cancel("pending");
      assert.match(String(task), /^<Task cancelling name='/);
      await assert.rejects(async () => await task, { message: "pending" });
    });
    assert.deepEqual(log, ["plain promise resolved", "next wait threw CancelledError(pending)"]);
  });

  test("a task that cancels itself gets CancelledError at its next wait", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        currentTask()!.cancel("self");
        await sleep(0);
        return "not reached";
      });
      await assert.rejects(async () => await task, { message: "self" });
      assert.equal(task.cancelled(), true);
    });
  });

  test("a pending cancellation reaches the next sleep on the next iteration, after the callbacks already scheduled (as asyncio)", async () => {
    // asyncio's step cancels the sleep's Future; the task wakes from the ready queue. The
    // CancelledError used to be thrown inside the step that called sleep().
    for (const delay of [0, 10]) {
      const log: string[] = [];
      await runVirtual(async () => {
        const loop = getRunningLoop();
        const task = createTask(async () => {
          loop.callSoon(() => log.push("cb1"));
          currentTask()!.cancel("self");
          loop.callSoon(() => log.push("cb2"));
          try {
            await sleep(delay);
          } catch (e) {
            log.push(`caught ${(e as CancelledError).message}`);
            // Delivered once: the next wait is not cancelled again.
            await sleep(0);
            log.push("slept after");
          }
        });
        await yieldTimes(4);
        assert.equal(task.done(), true);
        assert.equal(task.cancelling(), 1);
      });
      assert.deepEqual(log, ["cb1", "cb2", "caught self", "slept after"], `sleep(${delay})`);
    }
  });

  test("an eager step that cancels its creator: the creator's next sleep throws after the callbacks and steps queued before it", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const main = currentTask()!;
      loop.callSoon(() => log.push("cb"));
      createTask(
        async () => {
          main.cancel("by eager");
          await sleep(0);
          log.push("eager resumed");
        },
        { eagerStart: true },
      );
      try {
        await sleep(0);
      } catch (e) {
        log.push(`main caught ${(e as CancelledError).message}`);
        main.uncancel();
      }
      await sleep(0);
    });
    assert.deepEqual(log, ["cb", "eager resumed", "main caught by eager"]);
  });

  test("a cancelled task that returns before the cancellation is delivered ends cancelled", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        currentTask()!.cancel("at end");
        return "ignored result";
      });
      await assert.rejects(async () => await task, { message: "at end" });
      assert.equal(task.cancelled(), true);

      const viaPlainPromise = createTask(async () => {
        await new Promise((resolve) => setImmediate(resolve));
        return "ignored too";
      });
      await sleep(0);
      viaPlainPromise.cancel();
      await assert.rejects(async () => await viaPlainPromise, CancelledError);
      assert.equal(viaPlainPromise.cancelled(), true);
    });
  });

  test("a task whose function throws CancelledError ends cancelled, even without cancel()", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        await sleep(1);
        throw new CancelledError("thrown by hand");
      });
      await assert.rejects(async () => await task, { message: "thrown by hand" });
      assert.equal(task.cancelled(), true);
      assert.equal(task.cancelling(), 0);
    });
  });

  test("a Future cancelled under the task (not the task) makes the task end cancelled if it lets the error go", async () => {
    await runVirtual(async () => {
      const fut = new Future();
      const task = createTask(async () => await fut);
      await yieldTimes(2);
      fut.cancel("inner");
      await assert.rejects(async () => await task, { message: "inner" });
      assert.equal(task.cancelled(), true);
      assert.equal(task.cancelling(), 0);
    });
  });

  test("a task that catches the CancelledError and returns finishes with its result", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        try {
          await sleep(1000);
        } catch (e) {
          assert.ok(e instanceof CancelledError);
          return "recovered";
        }
        return "not reached";
      });
      await sleep(0);
      task.cancel();
      assert.equal(await task, "recovered");
      assert.equal(task.cancelled(), false);
      assert.equal(task.cancelling(), 1, "the request stays counted, as in asyncio");
    });
  });

  test("a task that ignores the cancellation keeps running and can wait again", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const task = createTask(async () => {
        try {
          await sleep(1000);
        } catch {
          // Swallowed on purpose: asyncio lets a task refuse a cancellation.
        }
        await sleep(50);
        return loop.time();
      });
      await sleep(10);
      task.cancel();
      assert.equal(await task, 60);
    });
  });

  test("cancel before the task starts: the function never runs and the task ends cancelled", async () => {
    let ran = false;
    await runVirtual(async () => {
      const task = createTask(() => {
        ran = true;
      });
      assert.equal(task.cancel("too early"), true);
      await assert.rejects(async () => await task, {
        name: "CancelledError",
        message: "too early",
      });
      assert.equal(task.cancelled(), true);
    });
    assert.equal(ran, false);
  });

  test("cancelling the awaiter of a task cancels the awaited task", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const inner = createTask(async () => {
        try {
          await sleep(10_000);
        } finally {
          log.push("inner finally");
        }
      });
      const outer = createTask(async () => {
        try {
          await inner;
        } finally {
          log.push("outer finally");
        }
      });
      await yieldTimes(2);
      assert.deepEqual(outer.getStack(), [`waiting on <Task pending name='${inner.name}'>`]);
      outer.cancel("from outside");
      await assert.rejects(async () => await outer, { message: "from outside" });
      assert.equal(inner.cancelled(), true);
      assert.equal(inner.cancelling(), 1);
      assert.equal(outer.cancelled(), true);
    });
    assert.deepEqual(log, ["inner finally", "outer finally"]);
  });

  test("if the awaited task refuses the cancellation, the awaiter gets its result (as asyncio)", async () => {
    await runVirtual(async () => {
      const inner = createTask(async () => {
        try {
          await sleep(1000);
        } catch {
          // Refuses the cancellation on purpose.
        }
        return "inner result";
      });
      const outer = createTask(async () => await inner);
      await yieldTimes(2);
      assert.equal(outer.cancel(), true);
      // The request went to the awaited task, so the awaiter itself has nothing pending.
      assert.equal(await outer, "inner result");
      assert.equal(outer.cancelling(), 1);
    });
  });

  test("a cancel arriving after the awaited Future completed but before the task resumed is delivered at resumption", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const fut = new Future<number>();
      const log: string[] = [];
      const task = createTask(async () => {
        try {
          await fut;
          log.push("resumed with result");
        } catch (e) {
          log.push(`resumed with ${(e as Error).name}`);
          throw e;
        }
      });
      await yieldTimes(2);
      // Both in one iteration: the Future completes, then the cancel arrives before the task's
      // continuation runs.
      loop.callSoon(() => fut.setResult(1));
      loop.callSoon(() => assert.equal(task.cancel("late"), true));
      await assert.rejects(async () => await task, { message: "late" });
      assert.equal(fut.result(), 1, "the Future keeps its result");
      assert.deepEqual(log, ["resumed with CancelledError"]);
    });
  });

  test("the same applies to a sleep whose timer already fired", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const task = createTask(() => sleep(100, "value"));
      await yieldTimes(2);
      loop.callAt(100, () => task.cancel("after the timer"));
      await assert.rejects(async () => await task, { message: "after the timer" });
    });
  });
});

describe("who cancelled", () => {
  test("cancel() from a task records that task; without a message the error says so", async () => {
    await runVirtual(async () => {
      const victim = createTask(() => sleep(1000), { name: "victim" });
      const killer = createTask(
        async () => {
          await sleep(5);
          victim.cancel();
        },
        { name: "killer" },
      );
      await killer;
      const error = await victim.then(null, (e: unknown) => e as CancelledError);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.origin?.kind, "task");
      assert.equal(error.origin?.requester?.name, "killer");
      assert.equal(error.message, "cancelled by task 'killer'");
      assert.equal(error.cancelMessage, undefined);
    });
  });

  test("each cancellation names the requester as it is called then, across several requesters and a rename", async () => {
    await runVirtual(async () => {
      const victims = [0, 1, 2, 3].map(() => createTask(() => sleep(1000)));
      const first = createTask(
        async () => {
          victims[0]!.cancel();
          victims[1]!.cancel();
        },
        { name: "first" },
      );
      await first;
      const second = createTask(
        async () => {
          victims[2]!.cancel();
          second.name = "renamed";
          victims[3]!.cancel();
        },
        { name: "second" },
      );
      await second;
      const errors = (await Promise.all(
        victims.map((v) => v.then(null, (e: unknown) => e)),
      )) as CancelledError[];
      assert.deepEqual(
        errors.map((e) => e.message),
        [
          "cancelled by task 'first'",
          "cancelled by task 'first'",
          "cancelled by task 'second'",
          "cancelled by task 'renamed'",
        ],
      );
      assert.deepEqual(
        errors.map((e) => e.origin?.requester),
        [first, first, second, second],
      );
      assert.ok(Object.isFrozen(errors[0]!.origin), "an origin is a read-only record");
    });
  });

  test("cancel() from a loop callback records a 'callback' origin; a message wins over the description", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(1000));
      const b = createTask(() => sleep(1000));
      getRunningLoop().callSoon(() => {
        a.cancel();
        b.cancel("explicit");
      });
      const ea = (await a.then(null, (e: unknown) => e)) as CancelledError;
      const eb = (await b.then(null, (e: unknown) => e)) as CancelledError;
      assert.equal(ea.origin?.kind, "callback");
      assert.equal(ea.origin?.requester, null);
      assert.equal(eb.message, "explicit");
      assert.equal(eb.cancelMessage, "explicit");
      assert.equal(eb.origin?.kind, "callback");
    });
  });

  test("cancelling both the task and the Future it awaits ends the task cancelled", async () => {
    await runVirtual(async () => {
      const fut = new Future();
      const task = createTask(async () => await fut);
      await yieldTimes(2);
      fut.cancel("future first");
      task.cancel("then task");
      await assert.rejects(async () => await task, CancelledError);
      assert.equal(task.cancelled(), true);
    });
  });
});

describe("cancelling() and uncancel()", () => {
  test("uncancel() decrements the count and returns it, never below 0", async () => {
    await runVirtual(async () => {
      const task = createTask(() => sleep(1000));
      await sleep(0);
      task.cancel();
      task.cancel();
      assert.equal(task.uncancel(), 1);
      assert.equal(task.uncancel(), 0);
      assert.equal(task.uncancel(), 0);
      assert.equal(task.cancelling(), 0);
      await assert.rejects(
        async () => await task,
        CancelledError,
        "the delivered cancel still ends it",
      );
    });
  });

  test("uncancel() to 0 drops an undelivered request and gives a fresh, un-aborted signal", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const task = createTask(async () => {
        await new Promise((resolve) => setImmediate(resolve));
        await sleep(10);
        return loop.time();
      });
      const firstSignal = task.signal;
      await sleep(0);
      task.cancel();
      assert.equal(firstSignal.aborted, true);
      assert.equal(task.uncancel(), 0);
      const secondSignal = task.signal;
      assert.notEqual(secondSignal, firstSignal);
      assert.equal(secondSignal.aborted, false);
      assert.equal(firstSignal.aborted, true);
      assert.equal(typeof (await task), "number");
      assert.equal(task.cancelled(), false);
    });
  });

  test("after uncancel() to 0 a new cancel() aborts the fresh signal and is delivered", async () => {
    await runVirtual(async () => {
      const log: string[] = [];
      const task = createTask(async () => {
        try {
          await sleep(1000);
        } catch (e) {
          log.push(`first: ${(e as Error).message}`);
          assert.equal(currentTask()!.uncancel(), 0);
        }
        assert.equal(currentSignal().aborted, false);
        await sleep(1000);
      });
      await sleep(10);
      const first = task.signal;
      task.cancel("one");
      assert.equal(first.aborted, true);
      await sleep(10);
      const second = task.signal;
      assert.notEqual(second, first);
      assert.equal(second.aborted, false);
      task.cancel("two");
      assert.equal(second.aborted, true);
      assert.equal((second.reason as Error).message, "two");
      await assert.rejects(async () => await task, { message: "two" });
      assert.deepEqual(log, ["first: one"]);
      assert.equal(task.cancelling(), 1);
    });
  });

  test("uncancel() above 0 keeps the request pending and the signal aborted", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        await new Promise((resolve) => setImmediate(resolve));
        await sleep(10);
      });
      await sleep(0);
      task.cancel();
      task.cancel();
      assert.equal(task.uncancel(), 1);
      assert.equal(task.signal.aborted, true);
      await assert.rejects(async () => await task, CancelledError);
    });
  });
});

describe("awaiting itself", () => {
  test("a task that awaits itself gets RuntimeError instead of waiting forever (asyncio)", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        try {
          await currentTask()!;
        } catch (e) {
          return `${(e as Error).name}: ${(e as Error).message}`;
        }
        return "not reached";
      });
      assert.match(
        await task,
        /^RuntimeError: Task cannot await on itself: <Task pending name='Task-\d+'/,
      );
    });
  });

  test("an async function of the task returning the task (a thenable) fails the same way", async () => {
    await runVirtual(async () => {
      const getSelf = async () => currentTask();
      const task = createTask(async () => {
        await getSelf();
        return "not reached";
      });
      await assert.rejects(async () => await task, {
        name: "RuntimeError",
        message: /Task cannot await on itself/,
      });
    });
  });
});

describe("Task is not a settable Future", () => {
  test("setResult and setException throw RuntimeError and change nothing", async () => {
    await runVirtual(async () => {
      const task = createTask(() => sleep(10, "real"));
      assert.throws(() => task.setResult("fake"), {
        name: "RuntimeError",
        message: /Task does not support setResult/,
      });
      assert.throws(() => task.setException(new Error()), {
        name: "RuntimeError",
        message: /Task does not support setException/,
      });
      assert.equal(task.done(), false);
      assert.equal(await task, "real");
    });
  });
});

describe("awaiting tasks", () => {
  test("a task's error is thrown to the task that awaits it, and counts as retrieved", async () => {
    const contexts: unknown[] = [];
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler((_l, ctx) => contexts.push(ctx));
      const error = new Error("inner failed");
      const inner = createTask(async () => {
        await sleep(5);
        throw error;
      });
      const outer = createTask(async () => {
        try {
          await inner;
        } catch (e) {
          return e;
        }
      });
      assert.equal(await outer, error);
      assert.equal(inner.exception(), error);
    });
    assert.deepEqual(contexts, []);
  });

  test("a task awaiting another task gets its result when it finishes", async () => {
    const result = await runVirtual(async () => {
      const inner = createTask(() => sleep(30, 21));
      const outer = createTask(async () => (await inner) * 2);
      return outer;
    });
    assert.equal(result, 42);
  });
});

describe("strong references", () => {
  test("a task nobody references still completes, even across garbage collections", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const log: number[] = [];
    await runVirtual(async () => {
      for (let i = 0; i < 10; i++) {
        createTask(async () => {
          const fut = new Future<number>();
          getRunningLoop().callLater(100, (f: Future<number>) => f.setResult(i), fut);
          log.push(await fut);
        });
      }
      await sleep(50);
      gc();
      await sleep(100);
    });
    assert.deepEqual(log, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test("a finished task that is still referenced does not keep its waits alive", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const refs: WeakRef<object>[] = [];
    const macrotask = () => new Promise((resolve) => setImmediate(resolve));
    // The tasks stay in this array, as a program joining many tasks keeps them.
    const kept: Task<void>[] = [];
    await runVirtual(async () => {
      for (const delay of [0, 0, 5]) {
        kept.push(
          createTask(async () => {
            const wait = sleep(delay);
            refs.push(new WeakRef(wait));
            await wait;
          }),
        );
      }
      for (const task of kept) await task;
    });
    // WeakRefs are only cleared after the job that made them ends, hence the turns.
    await macrotask();
    gc();
    await macrotask();
    assert.equal(kept.length, 3);
    assert.deepEqual(
      refs.map((ref) => ref.deref() === undefined),
      [true, true, true],
    );
  });
  test("a finished task that cancelled others is not kept alive by the runtime's shared cancellation records", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const macrotask = () => new Promise((resolve) => setImmediate(resolve));
    let ref: WeakRef<object> | undefined;
    await runVirtual(async () => {
      const victims = [createTask(() => sleep(1000)), createTask(() => sleep(1000))];
      const requester = createTask(async () => {
        await sleep(0);
        // One record for both requests (same message, same origin).
        for (const v of victims) v.cancel("stop");
      });
      ref = new WeakRef(requester);
      await requester;
      for (const v of victims) await v.then(undefined, () => undefined);
      assert.ok(victims.every((v) => v.cancelled()));
    });
    await macrotask();
    gc();
    await macrotask();
    assert.equal(ref?.deref(), undefined);
  });
});

describe("introspection", () => {
  test("getStack() says what the task waits on; empty when not waiting", async () => {
    await runVirtual(async () => {
      const fut = new Future();
      const onFuture = createTask(async () => await fut);
      const onSleep = createTask(() => sleep(250));
      const onZero = createTask(async () => {
        for (;;) await sleep(0);
      });
      assert.deepEqual(onSleep.getStack(), []);
      await yieldTimes(2);
      assert.deepEqual(onFuture.getStack(), ["waiting on <Future pending>"]);
      assert.deepEqual(onSleep.getStack(), ["waiting on <sleep until 250>"]);
      assert.deepEqual(onZero.getStack(), ["waiting on <sleep 0>"]);
      assert.deepEqual(currentTask()!.getStack(), []);
      for (const t of [onFuture, onSleep, onZero]) t.cancel();
      await Promise.allSettled([onFuture, onSleep, onZero]);
      assert.deepEqual(onFuture.getStack(), []);
    });
  });

  test("in debug mode getStack() adds where the wait began and tasks record their creation stack", async () => {
    await runVirtual(
      async () => {
        const task = createTask(async function waitsHere() {
          await sleep(100);
        });
        await yieldTimes(2);
        const stack = task.getStack();
        assert.equal(stack[0], "waiting on <sleep until 100>");
        assert.ok(
          stack.some((line) => line.includes("waitsHere")),
          stack.join("\n"),
        );
        assert.match(task.getCreationStack() ?? "", /tasks\.test\.ts/);
        task.cancel();
      },
      { debug: true },
    );
  });

  test("toString and inspect show state, name, what it waits on, result or exception", async () => {
    await runVirtual(async () => {
      const fut = new Future();
      const waiting = createTask(async () => await fut, { name: "w" });
      assert.equal(String(waiting), "<Task pending name='w'>");
      await yieldTimes(2);
      assert.equal(inspect(waiting), "<Task pending name='w' waiting on <Future pending>>");
      const sleeper = createTask(() => sleep(100), { name: "s" });
      await yieldTimes(2);
      assert.equal(String(sleeper), "<Task pending name='s' waiting on <sleep until 100>>");
      const ok = createTask(() => ({ answer: 42 }), { name: "ok" });
      await ok;
      assert.equal(String(ok), "<Task finished name='ok' result={ answer: 42 }>");
      const bad = createTask(
        () => {
          throw new RangeError("too big");
        },
        { name: "bad" },
      );
      await bad.then(null, () => {});
      assert.equal(String(bad), "<Task finished name='bad' exception=RangeError(\"too big\")>");
      waiting.cancel();
      sleeper.cancel();
      // As asyncio's repr: asked to cancel, not done yet.
      assert.match(String(waiting), /^<Task cancelling name='w'/);
      await Promise.allSettled([waiting, sleeper]);
      assert.equal(String(waiting), "<Task cancelled name='w'>");
    });
  });

  test("allTasks() holds the pending tasks of this loop, the main task included", async () => {
    await runVirtual(async () => {
      const main = currentTask()!;
      assert.deepEqual(allTasks(), new Set([main]));
      const a = createTask(() => sleep(10));
      const b = createTask(() => sleep(20));
      assert.deepEqual(allTasks(), new Set([main, a, b]));
      const snapshot = allTasks();
      await a;
      assert.deepEqual(allTasks(), new Set([main, b]));
      assert.equal(snapshot.size, 3, "a new Set each time");
      await b;
      assert.deepEqual(allTasks(), new Set([main]));
    });
    assert.throws(() => allTasks(), RuntimeError);
  });

  test("currentTask() is the task anywhere in its call tree, null in a callback, and throws outside a loop", async () => {
    await runVirtual(async () => {
      // Returns the name: a Task is a thenable, so resolving a promise with it would unwrap it.
      const deep = async (n: number): Promise<string | undefined> => {
        if (n === 0) {
          await sleep(1);
          return currentTask()?.name;
        }
        return deep(n - 1);
      };
      const task = createTask(() => deep(20), { name: "deep" });
      assert.equal(await task, "deep");
      const seen: unknown[] = [];
      getRunningLoop().callSoon(() => seen.push(currentTask()));
      const fut = new Future();
      fut.addDoneCallback(() => seen.push(currentTask()));
      fut.setResult(1);
      await sleep(0);
      assert.deepEqual(seen, [null, null]);
    });
    assert.throws(() => currentTask(), {
      name: "RuntimeError",
      message: "no running event loop: start your program with run(main)",
    });
  });

  test("currentTask() follows interleaving tasks", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      const worker = (name: string) => async () => {
        for (let i = 0; i < 3; i++) {
          assert.equal(currentTask()!.name, name);
          log.push(name);
          await sleep(0);
        }
      };
      await Promise.all([
        createTask(worker("a"), { name: "a" }),
        createTask(worker("b"), { name: "b" }),
      ]);
    });
    assert.deepEqual(log, ["a", "b", "a", "b", "a", "b"]);
  });

  test("currentSignal() is the current task's signal, and throws outside a task", async () => {
    await runVirtual(async () => {
      const task = createTask(() => currentSignal());
      assert.equal(await task, task.signal);
      const errors: unknown[] = [];
      getRunningLoop().callSoon(() => {
        try {
          currentSignal();
        } catch (e) {
          errors.push(e);
        }
      });
      await sleep(0);
      assert.ok(errors[0] instanceof RuntimeError);
      assert.match((errors[0] as Error).message, /outside a task/);
    });
    assert.throws(() => currentSignal(), RuntimeError);
  });

  test("getLoop() is the loop the task runs on", async () => {
    await runVirtual(async () => {
      assert.equal(createTask(() => {}).getLoop(), getRunningLoop());
    });
  });
});

describe("sleep(0) inside a task", () => {
  test("repeated, overlapping and cancelled zero sleeps each settle once, with their own value", async () => {
    const outcome = await runVirtual(async () => {
      const log: string[] = [];
      // Sequential zero sleeps (the task's waiter object is reused between them).
      for (let i = 0; i < 3; i++) log.push(await sleep(0, `seq${i}`));
      // Two at once: neither may steal the other's wake-up.
      log.push(...(await Promise.all([sleep(0, "a"), sleep(0, "b")])));
      // Cancelled while queued, then sleeping again in the same task.
      const task = createTask(async () => {
        try {
          await sleep(0);
          return "not cancelled";
        } catch (error) {
          assert.ok(error instanceof CancelledError);
          return await sleep(0, "slept again after the cancel");
        }
      });
      await sleep(0); // the task is now waiting in its first sleep(0)
      task.cancel();
      log.push(await task);
      return log;
    });
    assert.deepEqual(outcome, ["seq0", "seq1", "seq2", "a", "b", "slept again after the cancel"]);
  });
});

describe("task factories (asyncio's set_task_factory)", () => {
  test("every way of making a task goes through the loop's factory, with the options given", async () => {
    const seen: Array<[string | undefined, boolean | undefined]> = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      assert.equal(loop.getTaskFactory(), null);
      const factory: TaskFactory = (l, fn, options) => {
        assert.equal(l, loop);
        seen.push([options.name, options.eagerStart]);
        return new Task(fn, { ...options, loop: l });
      };
      loop.setTaskFactory(factory);
      assert.equal(loop.getTaskFactory(), factory);
      await createTask(async () => {}, { name: "a", eagerStart: false });
      await loop.createTask(async () => {}, { name: "b" });
      await taskGroup(async (tg) => {
        tg.createTask(async () => {}, { name: "c" });
      });
      await gather([async () => 1]);
      await ensureFuture(async () => 2);
      // new Task() does not.
      await new Task(async () => {}, { loop, name: "direct" });
      loop.setTaskFactory(null);
      await createTask(async () => {}, { name: "after reset" });
    });
    assert.deepEqual(seen, [
      ["a", false],
      ["b", undefined],
      ["c", undefined],
      [undefined, undefined],
      [undefined, undefined],
    ]);
  });

  test("eagerTaskFactory starts tasks eagerly unless a task says eagerStart: false", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.setTaskFactory(eagerTaskFactory);
      const order: string[] = [];
      const eager = createTask(async () => {
        order.push("eager ran");
      });
      const lazy = createTask(
        async () => {
          order.push("lazy ran");
        },
        { eagerStart: false },
      );
      order.push("created");
      await eager;
      await lazy;
      assert.deepEqual(order, ["eager ran", "created", "lazy ran"]);
    });
  });

  test("createEagerTaskFactory makes eager tasks of a Task subclass", async () => {
    class Tagged<T> extends Task<T> {
      readonly tag = "tagged";
    }
    await runVirtual(async () => {
      getRunningLoop().setTaskFactory(createEagerTaskFactory(Tagged));
      let ran = false;
      const task = createTask(async () => {
        ran = true;
      });
      assert.equal(ran, true);
      assert.ok(task instanceof Tagged);
      await task;
    });
    assert.throws(() => createEagerTaskFactory(Future as never), {
      name: "TypeError",
      message: /`taskClass`.*Task or a subclass/,
    });
  });

  test("Runner.run's main task is made by the factory too", async () => {
    await using runner = new Runner({ clock: "virtual", handleSignals: false });
    const made: string[] = [];
    runner.getLoop().setTaskFactory((loop, fn, options) => {
      made.push(options.name ?? "?");
      return new Task(fn, { ...options, loop });
    });
    assert.equal(await runner.run(async () => currentTask()?.name, { name: "main" }), "main");
    assert.deepEqual(made, ["main"]);
  });

  test("bad factories and bad results are TypeErrors; the loop keeps its factory", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      assert.throws(() => loop.setTaskFactory(42 as never), {
        name: "TypeError",
        message: /`factory`.*a function or null/,
      });
      assert.equal(loop.getTaskFactory(), null);
      loop.setTaskFactory((() => ({ not: "a task" })) as never);
      assert.throws(() => createTask(async () => {}), {
        name: "TypeError",
        message: /task factory's result.*a Task/,
      });
      // Arguments are checked before the factory sees them.
      assert.throws(() => createTask(Promise.resolve() as never), { name: "TypeError" });
      loop.setTaskFactory(null);
    });
  });
});

describe("two cancel() calls before the task resumes", () => {
  test("are delivered as one CancelledError at a sleep (asyncio clears _must_cancel at delivery)", async () => {
    await runVirtual(async () => {
      const log: unknown[] = [];
      const task = createTask(async () => {
        try {
          await sleep(10);
        } catch (error) {
          log.push([error instanceof CancelledError, currentTask()?.cancelling()]);
        }
        await sleep(0);
        log.push("slept again");
        return "done";
      });
      await sleep(1);
      task.cancel();
      task.cancel();
      assert.equal(await task, "done");
      assert.deepEqual(log, [[true, 2], "slept again"]);
    });
  });

  test("at a Future the first cancel() cancelled, the task gets the Future's CancelledError, not the second message", async () => {
    // asyncio's __step replaces only an outcome that is not a CancelledError: the Future's own
    // error (first message, or its owner's) delivers both requests.
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const seen: string[] = [];
      const waitOn = (fut: Future<unknown>) =>
        createTask(async () => {
          try {
            await fut;
          } catch (e) {
            seen.push((e as CancelledError).message);
          }
          await sleep(0);
          seen.push("next wait ok");
        });
      const first = waitOn(loop.createFuture());
      await sleep(0);
      first.cancel("first");
      first.cancel("second");
      await first;
      const owned = loop.createFuture();
      const second = waitOn(owned);
      await sleep(0);
      owned.cancel("by owner");
      second.cancel("by task");
      await second;
      assert.deepEqual(seen, ["first", "next wait ok", "by owner", "next wait ok"]);
    });
  });

  test("at a sleep(0) (asyncio's bare yield, no Future) uncancel() withdraws the request, and the last message wins", async () => {
    await runVirtual(async () => {
      const seen: string[] = [];
      const body = async () => {
        try {
          await sleep(0);
          seen.push("slept");
        } catch (e) {
          seen.push(`cancelled ${(e as CancelledError).message}`);
        }
      };
      const withdrawn = createTask(body, { eagerStart: true });
      withdrawn.cancel("withdrawn");
      assert.equal(withdrawn.uncancel(), 0);
      await withdrawn;
      const twice = createTask(body, { eagerStart: true });
      twice.cancel("a");
      twice.cancel("b");
      await twice.then(undefined, () => {});
      const selfCancelled = createTask(async () => {
        currentTask()!.cancel("self");
        await body();
      });
      await sleep(0);
      selfCancelled.uncancel();
      await selfCancelled;
      assert.deepEqual(seen, ["slept", "cancelled b", "slept"]);
    });
  });
});

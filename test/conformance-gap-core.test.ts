/**
 * Conformance gap audit: scenarios of CPython's test_tasks, test_futures2, test_waitfor,
 * test_timeouts, test_runners and test_taskgroups that no other file pinned, written against
 * the public API. The TaskGroup scenarios run twice, with the default task factory and with
 * `eagerTaskFactory` (CPython runs its whole TaskGroup suite a second time with the eager task
 * factory). Virtual clock throughout; a "busy" loop is simulated with `VirtualClock.advance()`.
 */
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import {
  CancelledError,
  createTask,
  currentTask,
  ExceptionGroup,
  eagerTaskFactory,
  Future,
  gather,
  getRunningLoop,
  KeyboardInterrupt,
  Runner,
  RuntimeError,
  shield,
  sleep,
  type Task,
  type TaskFactory,
  TaskGroup,
  TimeoutError,
  taskGroup,
  timeout,
  VirtualClock,
  wait,
  waitFor,
} from "../src/index.ts";
import { collectExceptions, errorOf, now, runVirtual, syncErrorOf } from "./helpers.ts";

/** Lets the loop run a few iterations: enough for done callbacks of done callbacks. */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await sleep(0);
}

describe("conformance gap: cancellation of tasks (test_tasks)", () => {
  test("a cancel() after the awaited Future completed, withdrawn by uncancel() before the task resumes, is never delivered (test_uncancel_resets_must_cancel)", async () => {
    await runVirtual(async () => {
      const fut = new Future<void>();
      const task = createTask(async () => {
        await fut;
        return 42;
      });
      await sleep(0);
      fut.setResult();
      // The Future is done, so cancel() can only mark the task; uncancel() takes that back.
      assert.equal(task.cancel(), true);
      assert.equal(task.cancelling(), 1);
      assert.equal(task.uncancel(), 0);
      assert.equal(task.cancelling(), 0);
      assert.equal(await task, 42);
      assert.equal(task.cancelled(), false);
    });
  });

  test("uncancel() on a task that already ended cancelled changes nothing: it stays done and cancelled (test_uncancel_basic)", async () => {
    await runVirtual(async () => {
      const task = createTask(() => sleep(10_000));
      await sleep(0);
      assert.equal(task.cancel(), true);
      assert.equal(task.cancelling(), 1);
      assert.equal(task.cancelled(), false); // not delivered yet
      await wait([task]);
      assert.equal(task.cancelled(), true);
      task.uncancel();
      assert.equal(task.cancelled(), true);
      assert.equal(task.done(), true);
      assert.ok(syncErrorOf(() => task.result()) instanceof CancelledError);
    });
  });

  test("a task that swallows the cancellation of one Future and then awaits another gets that one's result; only the first Future is cancelled (test_cancel_task_ignoring)", async () => {
    await runVirtual(async () => {
      const [fut1, fut2, fut3] = [new Future<void>(), new Future<void>(), new Future<number>()];
      const task = createTask(async () => {
        await fut1;
        try {
          await fut2;
        } catch {
          // Swallowed on purpose: the scenario under test.
        }
        return await fut3;
      });
      await sleep(0);
      fut1.setResult();
      await sleep(0);
      assert.equal(task.cancel(), true);
      assert.equal(fut2.cancelled(), true); // cancelled at once, by cancel()
      await sleep(0);
      fut3.setResult(42);
      assert.equal(await task, 42);
      assert.equal(fut3.cancelled(), false);
      assert.equal(task.cancelled(), false);
    });
  });

  test("a task that throws a KeyboardInterrupt while handling its cancellation ends with that error, not cancelled, and the interrupt escapes the loop (test_baseexception_during_cancel)", async () => {
    const interrupt = new KeyboardInterrupt();
    let task: Task<void> | undefined;
    let mainEnd = "";
    const error = await errorOf(
      runVirtual(async () => {
        task = createTask(async () => {
          try {
            await sleep(10_000);
          } catch {
            throw interrupt;
          }
        });
        await sleep(0);
        assert.equal(task.cancel(), true);
        assert.equal(task.done(), false);
        try {
          await sleep(10_000); // the interrupt ends the run first; run() then cancels main
          mainEnd = "slept";
        } catch (e) {
          mainEnd = (e as Error).name;
        }
      }),
    );
    assert.equal(error, interrupt);
    assert.equal(mainEnd, "CancelledError");
    assert.equal(task?.done(), true);
    assert.equal(task?.cancelled(), false);
    assert.equal(task?.exception(), interrupt);
  });

  test("cancelling outer() cancels the Future inner() awaits; each level sees the CancelledError and outer() ends normally (test_yield_future_passes_cancel)", async () => {
    await runVirtual(async () => {
      let proof = 0;
      const waiter = new Future<void>();
      async function inner() {
        try {
          await waiter;
        } catch (e) {
          proof += 1;
          throw e;
        }
        assert.fail("got past the wait in inner()");
      }
      const outer = createTask(async () => {
        try {
          await inner();
          proof += 10;
        } catch (e) {
          assert.ok(e instanceof CancelledError);
          proof += 100;
        }
      });
      await sleep(0);
      assert.equal(outer.cancel(), true);
      await outer;
      assert.equal(proof, 101);
      assert.equal(waiter.cancelled(), true);
      assert.equal(outer.cancelled(), false);
    });
  });

  test("sleep(0, value) resumes after a callback scheduled before it, and gives the value (SleepTests.test_sleep_zero)", async () => {
    await runVirtual(async () => {
      let result = 0;
      getRunningLoop().callSoon(() => {
        result += 1;
      });
      assert.equal(result, 0);
      const value = await sleep(0, 10);
      assert.equal(result, 1);
      assert.equal(result + value, 11);
      assert.equal(now(), 0);
    });
  });
});

describe("conformance gap: gather (test_tasks GatherTests)", () => {
  for (const options of [undefined, { returnExceptions: false }, { returnExceptions: true }]) {
    test(`a gather of three Futures completes, and calls its done callback, only once the last one is done (test_success, options ${JSON.stringify(options)})`, async () => {
      await runVirtual(async () => {
        const [a, b, c] = [new Future<number>(), new Future<number>(), new Future<number>()];
        const fut = gather([a, b, c], options);
        const calls: unknown[] = [];
        fut.addDoneCallback((f) => calls.push(f));
        b.setResult(1);
        a.setResult(2);
        await settle();
        assert.deepEqual(calls, []);
        assert.equal(fut.done(), false);
        c.setResult(3);
        await settle();
        assert.equal(calls.length, 1);
        assert.equal(calls[0], fut);
        assert.deepEqual(fut.result(), [2, 1, 3]);
      });
    });
  }

  test("the first error fails the gather at once; what the other Futures do afterwards changes nothing and is not reported (test_one_exception)", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      const [a, b, c, d, e] = Array.from({ length: 5 }, () => new Future<number>());
      const fut = gather([a, b, c, d, e] as Future<number>[]);
      const calls: unknown[] = [];
      fut.addDoneCallback((f) => calls.push(f));
      const exc = new RangeError("division by zero");
      a.setResult(1);
      b.setException(exc);
      await settle();
      assert.equal(fut.done(), true);
      assert.deepEqual(calls, [fut]);
      assert.equal(fut.exception(), exc);
      c.setResult(3);
      d.cancel();
      e.setException(new TypeError("later"));
      e.exception();
      await settle();
      assert.deepEqual(calls, [fut]);
      assert.equal(fut.exception(), exc);
    });
    assert.deepEqual(contexts, []);
  });

  test("cancelling the task awaiting a gather cancels both children and what they wait on; the gather then refuses cancel() (test_cancellation_broadcast)", async () => {
    await runVirtual(async () => {
      let proof = 0;
      const waiter = new Future<void>();
      const inner = async () => {
        await waiter;
        proof += 1;
      };
      const child1 = createTask(inner);
      const child2 = createTask(inner);
      let gatherer: Future<unknown> | undefined;
      const outer = createTask(async () => {
        gatherer = gather([child1, child2]);
        await gatherer;
        proof += 100;
      });
      await sleep(0);
      assert.equal(outer.cancel(), true);
      assert.ok((await errorOf(outer)) instanceof CancelledError);
      assert.equal(outer.cancelled(), true);
      assert.equal(gatherer?.cancel(), false);
      assert.equal(waiter.cancelled(), true);
      assert.equal(child1.cancelled(), true);
      assert.equal(child2.cancelled(), true);
      await sleep(0);
      assert.equal(proof, 0);
    });
  });

  for (const [label, msg, expected] of [
    ["without a message", undefined, ""],
    ["with a message", "my message", "my message"],
  ] as const) {
    test(`a task looping over gathers with returnExceptions, cancelled ${label}: awaiting it throws that CancelledError, not a result (test_cancel_gather_2)`, async () => {
      await runVirtual(async () => {
        const looper = createTask(async () => {
          let time = 0;
          for (;;) {
            time += 50;
            await gather([() => sleep(50)], { returnExceptions: true });
            if (time > 1000) return "looped to the end";
          }
        });
        await sleep(200);
        if (msg === undefined) looper.cancel();
        else looper.cancel(msg);
        const error = await errorOf(looper);
        assert.ok(error instanceof CancelledError);
        assert.equal(error.cancelMessage ?? "", expected);
        assert.equal(looper.cancelled(), true);
        assert.equal(now(), 200);
      });
    });
  }
});

describe("conformance gap: shield and wait (test_tasks)", () => {
  test("two shields of one Future, both cancelled, then the Future fails: its error is reported once (test_shield_duplicate_log_once)", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      const inner = new Future<number>();
      const first = shield(inner);
      await sleep(0);
      first.cancel();
      await sleep(0);
      const second = shield(inner);
      await sleep(0);
      second.cancel();
      await sleep(0);
      const error = new Error("foo");
      inner.setException(error);
      await settle();
      assert.equal(first.cancelled(), true);
      assert.equal(second.cancelled(), true);
    });
    assert.deepEqual(
      contexts.map((c) => [c.message, (c.exception as Error).message]),
      [["Future exception was never retrieved", "foo"]],
    );
  });

  test("wait() on two sleepers returns both at the later deadline; waiting again on the finished tasks takes no time (test_wait)", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(100));
      const b = createTask(() => sleep(150));
      for (let round = 0; round < 2; round++) {
        const { done, pending } = await wait([b, a]);
        assert.deepEqual(done, new Set([a, b]));
        assert.equal(pending.size, 0);
        assert.equal(now(), 150);
      }
    });
  });
});

describe("conformance gap: wait() racing its timeout (test_tasks)", () => {
  test("a task due at the same time as the timeout, whose timer was set first, is in done; the later one pending (test_wait_concurrent_complete)", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(100));
      const b = createTask(() => sleep(150));
      await sleep(0); // both start, and set their timers, before wait() sets its own
      const { done, pending } = await wait([b, a], { timeout: 100 });
      assert.deepEqual(done, new Set([a]));
      assert.deepEqual(pending, new Set([b]));
      assert.equal(now(), 100);
      await wait([a, b]);
    });
  });
});

describe("conformance gap: waitFor and shield (test_waitfor WaitForShieldTests)", () => {
  test("waitFor(shield(task), 0): TimeoutError at once, the shield is cancelled, the task goes on to its result (test_zero_timeout)", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        await sleep(10);
        return "done";
      });
      const shielded = shield(task);
      assert.ok((await errorOf(waitFor(shielded, 0))) instanceof TimeoutError);
      assert.equal(task.done(), false);
      assert.equal(task.cancelled(), false);
      assert.equal(shielded.cancelled(), true);
      await sleep(100);
      assert.equal(task.done(), true);
      assert.equal(task.result(), "done");
    });
  });

  test("waitFor(shield(task), null) waits for the task to finish (test_none_timeout)", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        await sleep(100);
        return "done";
      });
      assert.equal(await waitFor(shield(task), null), "done");
      assert.equal(task.done(), true);
      assert.equal(now(), 100);
    });
  });

  test("waitFor(shield(task), 10) of a 100 ms task: TimeoutError at 10 while the task goes on, not cancelled (test_shielded_timeout)", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        await sleep(100);
        return "done";
      });
      assert.ok((await errorOf(waitFor(shield(task), 10))) instanceof TimeoutError);
      assert.equal(now(), 10);
      assert.equal(task.done(), false);
      assert.equal(task.cancelled(), false);
      assert.equal(await task, "done");
      assert.equal(now(), 100);
    });
  });
});

describe("conformance gap: inspect strings (test_futures, test_tasks)", () => {
  test("a Future shows pending, cancelled, its result, or its error as asyncio's repr does, RuntimeError() for an error without a message (test_future_repr)", async () => {
    await runVirtual(() => {
      const pending = new Future<number>();
      assert.equal(inspect(pending), "<Future pending>");
      const cancelled = new Future<number>();
      cancelled.cancel();
      assert.equal(inspect(cancelled), "<Future cancelled>");
      const finished = new Future<number>();
      finished.setResult(4);
      assert.equal(inspect(finished), "<Future finished result=4>");
      assert.equal(finished.result(), 4);
      const exc = new RuntimeError();
      const failed = new Future<number>();
      failed.setException(exc);
      assert.equal(inspect(failed), "<Future finished exception=RuntimeError()>");
      assert.equal(failed.exception(), exc);
      const withMessage = new Future<number>();
      withMessage.setException(new RuntimeError("boom"));
      assert.equal(String(withMessage), '<Future finished exception=RuntimeError("boom")>');
      withMessage.exception();
    });
  });

  test("a Task shows pending, cancelling once asked to cancel, then cancelled; or finished with its result or error (test_task_repr)", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => "abc", { name: "TestTask" });
      assert.equal(String(task), "<Task pending name='TestTask'>");
      task.cancel(); // does not take effect at once
      assert.equal(String(task), "<Task cancelling name='TestTask'>");
      await wait([task]);
      assert.equal(String(task), "<Task cancelled name='TestTask'>");
      const finished = createTask(async () => "abc", { name: "TestTask" });
      await finished;
      assert.equal(String(finished), "<Task finished name='TestTask' result='abc'>");
      const failed = createTask(
        async () => {
          throw new RuntimeError();
        },
        { name: "TestTask" },
      );
      await wait([failed]);
      assert.equal(String(failed), "<Task finished name='TestTask' exception=RuntimeError()>");
      failed.exception();
    });
  });
});

describe("conformance gap: the exception handler's context (test_futures2)", () => {
  test("a failing loop callback is reported in the callback's own AsyncLocalStorage context (test_handle_exc_handler_correct_context)", async () => {
    const name = new AsyncLocalStorage<string>();
    const seen: Array<string | undefined> = [];
    await runVirtual(async () => {
      const loop = getRunningLoop();
      loop.setExceptionHandler(() => {
        seen.push(name.getStore());
      });
      name.run("foo", () => {
        loop.callSoon(() => {
          name.enterWith("bar");
          throw new RangeError("division by zero");
        });
      });
      await sleep(0);
      assert.deepEqual(seen, ["bar"]);
    });
  });
});

describe("conformance gap: nested timeouts on a busy loop (test_timeouts)", () => {
  test("both deadlines pass while the loop is busy: the outer timeout raises TimeoutError, the code after the inner one never runs (test_nested_timeouts_loop_busy)", async () => {
    const clock = new VirtualClock();
    const events: string[] = [];
    await runVirtual(
      async () => {
        const error = await errorOf(
          timeout(100, async () => {
            try {
              await timeout(10, async () => {
                clock.advance(100); // the loop is busy for 100 ms (CPython: time.sleep)
                await sleep(1000);
              });
            } catch (e) {
              events.push(`inner scope: ${(e as Error).name}`);
              throw e;
            }
            events.push("after the inner scope");
            await sleep(10_000); // the outer deadline has passed too
          }),
        );
        assert.ok(error instanceof TimeoutError);
        assert.ok(error.cause instanceof CancelledError);
        assert.equal(now(), 100);
        assert.equal(currentTask()?.cancelling(), 0);
      },
      { clock },
    );
    // Both scopes expired in one iteration (two cancel requests); the inner one only withdraws
    // its own request, so the cancellation goes on to the outer scope, which converts it.
    assert.deepEqual(events, ["inner scope: CancelledError"]);
  });

  test("the outer deadline passes while the loop is busy, the inner one not: only the outer scope raises TimeoutError (test_nested_timeouts_concurrent)", async () => {
    const clock = new VirtualClock();
    const events: string[] = [];
    await runVirtual(
      async () => {
        const error = await errorOf(
          timeout(2, async () => {
            try {
              await timeout(100, async () => {
                clock.advance(10); // crunching numbers for 10 ms
                await sleep(1000);
              });
            } catch (e) {
              events.push(`inner scope: ${(e as Error).name}`);
              throw e;
            }
          }),
        );
        assert.ok(error instanceof TimeoutError);
        assert.equal(now(), 10);
      },
      { clock },
    );
    assert.deepEqual(events, ["inner scope: CancelledError"]);
  });
});

describe("conformance gap: run() shutdown (test_runners RunTests)", () => {
  test("main fails while a leftover task iterates an async generator: at shutdown the task is cancelled inside the generator, which ends, and its error is reported (test_asyncio_run_closes_gens_after_hanging_tasks_errors)", async () => {
    class FancyExit extends Error {
      override name = "FancyExit";
    }
    const { contexts, handler } = collectExceptions();
    let spinner: AsyncGenerator<number> | undefined;
    let lazyboy: Task<void> | undefined;
    async function* fidget(): AsyncGenerator<number> {
      for (;;) {
        yield 1;
        await sleep(1000);
      }
    }
    const error = await errorOf(
      runVirtual(async () => {
        getRunningLoop().setExceptionHandler(handler);
        lazyboy = createTask(async () => {
          spinner = fidget();
          try {
            for await (const _ of spinner) {
              // spin
            }
          } catch {
            throw new ZeroDivisionError("division by zero");
          }
        });
        await sleep(0);
        throw new FancyExit();
      }),
    );
    assert.ok(error instanceof FancyExit);
    assert.equal(lazyboy?.done(), true);
    assert.deepEqual(await spinner?.next(), { value: undefined, done: true });
    assert.deepEqual(
      contexts.map((c) => (c.exception as Error).name),
      ["ZeroDivisionError"],
    );
  });
});

describe("conformance gap: what a run does with main's result (test_runners)", () => {
  for (const debug of [false, true]) {
    test(`Runner.run() and run() hand back main's result without formatting it${debug ? " (debug mode)" : ""} (gh-112559, test_no_repr_is_call_on_the_task_result)`, async () => {
      class MyResult {
        reprCount = 0;
        [inspect.custom](): string {
          this.reprCount += 1;
          return "<MyResult>";
        }
        toString(): string {
          this.reprCount += 1;
          return "<MyResult>";
        }
      }
      const runner = new Runner({ clock: "virtual", debug });
      let fromRunner: MyResult;
      try {
        fromRunner = await runner.run(async () => new MyResult());
      } finally {
        await runner.close();
      }
      const fromRun = await runVirtual(async () => new MyResult(), { debug });
      assert.ok(fromRunner instanceof MyResult && fromRun instanceof MyResult);
      assert.equal(fromRunner.reprCount, 0);
      assert.equal(fromRun.reprCount, 0);
    });
  }
});

// process.emit("SIGINT") calls the listeners the Runner installed, as a real Ctrl-C would,
// without sending a signal. If the test process had its own SIGINT listener, the Runner would
// leave SIGINT to it (and emitting would reach that listener), so the scenario would not apply.
const sigintTaken = (): boolean => process.listenerCount("SIGINT") > 0;
const interrupt = (): void => {
  process.emit("SIGINT", "SIGINT");
};

describe("conformance gap: Runner and SIGINT (test_runners RunnerTests)", () => {
  test("SIGINT while main spins on sleep(0): main sees CancelledError, raises a new one, and run() rejects with KeyboardInterrupt (test_interrupt_call_soon)", async (t) => {
    if (sigintTaken()) {
      t.skip("the test process has its own SIGINT listener");
      return;
    }
    const runner = new Runner({ clock: "virtual" });
    const events: string[] = [];
    try {
      const error = await errorOf(
        runner.run(async () => {
          createTask(async () => {
            for (let i = 0; i < 5; i++) await sleep(0);
            interrupt();
          });
          try {
            for (;;) await sleep(0);
          } catch (e) {
            events.push((e as Error).name);
          }
          throw new CancelledError();
        }),
      );
      assert.ok(error instanceof KeyboardInterrupt);
    } finally {
      await runner.close();
    }
    assert.deepEqual(events, ["CancelledError"]);
  });

  test("SIGINT while main waits on a Future: the Future is cancelled too, and run() rejects with KeyboardInterrupt (test_interrupt_wait)", async (t) => {
    if (sigintTaken()) {
      t.skip("the test process has its own SIGINT listener");
      return;
    }
    const runner = new Runner({ clock: "virtual" });
    const fut = new Future<void>();
    try {
      const error = await errorOf(
        runner.run(async () => {
          getRunningLoop().callLater(100, interrupt);
          await assert.rejects(
            (async () => {
              await fut;
            })(),
            CancelledError,
          );
          throw new CancelledError();
        }),
      );
      assert.ok(error instanceof KeyboardInterrupt);
      assert.equal(fut.cancelled(), true);
    } finally {
      await runner.close();
    }
  });

  test("a SIGINT after main was already cancelled by a task: run() rejects with CancelledError, not KeyboardInterrupt (test_interrupt_cancelled_task)", async (t) => {
    if (sigintTaken()) {
      t.skip("the test process has its own SIGINT listener");
      return;
    }
    const runner = new Runner({ clock: "virtual" });
    try {
      const error = await errorOf(
        runner.run(async () => {
          const main = currentTask() as Task<unknown>;
          createTask(async () => {
            await sleep(0);
            main.cancel();
            interrupt();
          });
          await sleep(10_000);
        }),
      );
      assert.ok(error instanceof CancelledError);
      assert.equal(error instanceof KeyboardInterrupt, false);
    } finally {
      await runner.close();
    }
  });
});

class MyExc extends Error {
  override name = "MyExc";
}
class ZeroDivisionError extends Error {
  override name = "ZeroDivisionError";
}
class ValueError extends Error {
  override name = "ValueError";
}

/** The names of the error types in an ExceptionGroup (CPython's get_error_types). */
function errorTypes(eg: unknown): string[] {
  assert.ok(eg instanceof ExceptionGroup, `expected an ExceptionGroup, got ${String(eg)}`);
  return [...new Set(eg.exceptions.map((e) => (e as Error).name))].sort();
}

const crashAfter = async (ms: number, error: () => Error): Promise<never> => {
  await sleep(ms);
  throw error();
};

for (const [mode, factory] of [
  ["default task factory", null],
  ["eagerTaskFactory", eagerTaskFactory],
] as const satisfies ReadonlyArray<readonly [string, TaskFactory | null]>) {
  /** Runs `main` on a virtual-time loop whose tasks are all made by `factory`. */
  const runTg = (main: () => Promise<void>): Promise<void> =>
    runVirtual(async () => {
      getRunningLoop().setTaskFactory(factory);
      await main();
    });

  describe(`conformance gap: taskGroup with the ${mode} (test_taskgroups)`, () => {
    test("a child created after the body waited is waited for too (test_taskgroup_02)", async () => {
      await runTg(async () => {
        const tasks: Task<number>[] = [];
        await taskGroup(async (tg) => {
          tasks.push(tg.createTask(() => sleep(100, 42)));
          await sleep(150);
          tasks.push(tg.createTask(() => sleep(200, 11)));
        });
        assert.deepEqual(
          tasks.map((t) => t.result()),
          [42, 11],
        );
        assert.equal(now(), 350);
      });
    });

    for (const bodyWaits of [false, true]) {
      test(`an outside cancel reaches all five children${bodyWaits ? " and the waiting body" : ""}; the CancelledError propagates (${bodyWaits ? "test_taskgroup_07" : "test_cancellation"})`, async () => {
        await runTg(async () => {
          let num = 0;
          const foo = async () => {
            try {
              await sleep(5000);
            } catch (e) {
              num += 1;
              throw e;
            }
          };
          const runner = createTask(() =>
            taskGroup(async (tg) => {
              for (let i = 0; i < 5; i++) tg.createTask(foo);
              if (!bodyWaits) return;
              try {
                await sleep(10_000);
              } catch (e) {
                num += 10;
                throw e;
              }
            }),
          );
          await sleep(100);
          assert.equal(runner.done(), false);
          runner.cancel();
          assert.ok((await errorOf(runner)) instanceof CancelledError);
          assert.equal(num, bodyWaits ? 15 : 5);
          assert.equal(now(), 100);
        });
      });
    }

    for (const bodyWaits of [true, false]) {
      test(`a body that fails ${bodyWaits ? "after a wait" : "before any wait"} cancels both children: ExceptionGroup of its error (${bodyWaits ? "test_taskgroup_09" : "test_taskgroup_10"})`, async () => {
        await runTg(async () => {
          let t1: Task<number> | undefined;
          let t2: Task<number> | undefined;
          const error = await errorOf(
            taskGroup(async (tg) => {
              t1 = tg.createTask(() => sleep(1000, 42));
              t2 = tg.createTask(() => sleep(2000, 11));
              if (bodyWaits) await sleep(100);
              throw new ZeroDivisionError("division by zero");
            }),
          );
          assert.deepEqual(errorTypes(error), ["ZeroDivisionError"]);
          assert.equal(t1?.cancelled(), true);
          assert.equal(t2?.cancelled(), true);
        });
      });
    }

    test("an outer child fails first while an inner group waits on a long child: one flat ExceptionGroup of its error (test_taskgroup_13)", async () => {
      await runTg(async () => {
        const error = await errorOf(
          createTask(() =>
            taskGroup(async (g1) => {
              g1.createTask(() => crashAfter(100, () => new ValueError("0.1")));
              await taskGroup(async (g2) => {
                g2.createTask(() => crashAfter(10_000, () => new ValueError("10")));
              });
            }),
          ),
        );
        assert.deepEqual(errorTypes(error), ["ValueError"]);
        assert.equal(((error as ExceptionGroup).exceptions[0] as Error).message, "0.1");
        assert.equal(now(), 100);
      });
    });

    test("an inner group's child fails first: the outer ExceptionGroup holds the inner one (test_taskgroup_14)", async () => {
      await runTg(async () => {
        const error = await errorOf(
          createTask(() =>
            taskGroup(async (g1) => {
              g1.createTask(() => crashAfter(10_000, () => new ValueError("10")));
              await taskGroup(async (g2) => {
                g2.createTask(() => crashAfter(100, () => new ValueError("0.1")));
              });
            }),
          ),
        );
        assert.deepEqual(errorTypes(error), ["ExceptionGroup"]);
        assert.deepEqual(errorTypes((error as ExceptionGroup).exceptions[0]), ["ValueError"]);
        assert.equal(now(), 100);
      });
    });

    test("an outside cancel of a task that awaits the group's task, then a child failing during the body's slow cleanup: ExceptionGroup (test_taskgroup_16)", async () => {
      await runTg(async () => {
        const nested = () =>
          taskGroup(async (g1) => {
            g1.createTask(() => crashAfter(300, () => new ZeroDivisionError("division by zero")));
            try {
              await sleep(10_000);
            } catch (e) {
              await sleep(500);
              throw e;
            }
          });
        const runner = createTask(async () => {
          await createTask(nested);
        });
        await sleep(100);
        assert.equal(runner.done(), false);
        runner.cancel();
        const error = await errorOf(runner);
        assert.deepEqual(errorTypes(error), ["ZeroDivisionError"]);
      });
    });

    for (const turnInto of ["nothing", "an error"] as const) {
      test(`an empty group whose waiting body is cancelled from outside and turns that into ${turnInto}: ${turnInto === "nothing" ? "CancelledError (test_taskgroup_17)" : "ExceptionGroup of the error (test_taskgroup_18)"}`, async () => {
        await runTg(async () => {
          let num = 0;
          const runner = createTask(() =>
            taskGroup(async () => {
              try {
                await sleep(10_000);
              } catch (e) {
                num += 10;
                if (turnInto === "an error") throw new MyExc();
                throw e;
              }
            }),
          );
          await sleep(100);
          assert.equal(runner.done(), false);
          runner.cancel();
          const error = await errorOf(runner);
          if (turnInto === "nothing") assert.ok(error instanceof CancelledError);
          else assert.deepEqual(errorTypes(error), ["MyExc"]);
          assert.equal(num, 10);
        });
      });
    }

    test("a child fails while the body waits in a function whose finally throws: ExceptionGroup of both errors (test_taskgroup_19)", async () => {
      await runTg(async () => {
        const nested = async () => {
          try {
            await sleep(10_000);
          } finally {
            // biome-ignore lint/correctness/noUnsafeFinally: the scenario replaces the CancelledError
            throw new MyExc();
          }
        };
        const error = await errorOf(
          createTask(() =>
            taskGroup(async (tg) => {
              tg.createTask(() => crashAfter(100, () => new ZeroDivisionError("division by zero")));
              await nested();
            }),
          ),
        );
        assert.deepEqual(errorTypes(error), ["MyExc", "ZeroDivisionError"]);
      });
    });

    test("the same with a KeyboardInterrupt thrown from that finally: it escapes unwrapped (test_taskgroup_20)", async () => {
      await runTg(async () => {
        const nested = async () => {
          try {
            await sleep(10_000);
          } finally {
            // biome-ignore lint/correctness/noUnsafeFinally: the scenario replaces the CancelledError
            throw new KeyboardInterrupt();
          }
        };
        // The child's error, which the KeyboardInterrupt overrides, goes to the handler here
        // (taskgroups.test.ts pins that report); keep it off the console.
        getRunningLoop().setExceptionHandler(collectExceptions().handler);
        const error = await errorOf(
          taskGroup(async (tg) => {
            tg.createTask(() => crashAfter(100, () => new ZeroDivisionError("division by zero")));
            await nested();
          }),
        );
        assert.ok(error instanceof KeyboardInterrupt);
      });
    });

    test("an outside cancel while two children sleep and the body has returned: CancelledError (test_taskgroup_22)", async () => {
      await runTg(async () => {
        const children: Task<number>[] = [];
        const runner = createTask(() =>
          taskGroup((tg) => {
            children.push(tg.createTask(() => sleep(1000, 42)));
            children.push(tg.createTask(() => sleep(2000, 11)));
          }),
        );
        await sleep(50);
        runner.cancel();
        assert.ok((await errorOf(runner)) instanceof CancelledError);
        assert.deepEqual(
          children.map((t) => t.cancelled()),
          [true, true],
        );
        assert.equal(now(), 50);
      });
    });

    test("children that each start two more stop when a sibling fails: ExceptionGroup of its error (test_taskgroup_25)", async () => {
      await runTg(async () => {
        let hydras = 0;
        const hydra = async (g: TaskGroup): Promise<void> => {
          hydras += 1;
          await sleep(10);
          g.createTask(() => hydra(g));
          g.createTask(() => hydra(g));
        };
        const hercules = async () => {
          while (hydras < 10) await sleep(15);
          throw new ZeroDivisionError("division by zero");
        };
        const error = await errorOf(
          taskGroup((g) => {
            g.createTask(() => hydra(g));
            g.createTask(hercules);
          }),
        );
        assert.deepEqual(errorTypes(error), ["ZeroDivisionError"]);
        assert.ok(hydras >= 10, `${hydras} hydras`);
      });
    });

    test("a child cancelled because a sibling failed cannot create a new child: RuntimeError (test_taskgroup_no_create_task_after_failure)", async () => {
      await runTg(async () => {
        let refused: unknown;
        let started = false;
        const coro1 = async () => {
          await sleep(1);
          throw new ZeroDivisionError("division by zero");
        };
        const error = await errorOf(
          taskGroup((g) => {
            g.createTask(coro1);
            g.createTask(async () => {
              try {
                await sleep(1000);
              } catch {
                try {
                  g.createTask(() => {
                    started = true;
                  });
                } catch (e) {
                  refused = e;
                }
              }
            });
          }),
        );
        assert.deepEqual(errorTypes(error), ["ZeroDivisionError"]);
        assert.ok(refused instanceof RuntimeError);
        assert.equal(started, false);
      });
    });

    test("a context in the body that throws when it closes, while a child fails: both errors in the group, cancelling() is 0 (gh-95289, test_taskgroup_context_manager_exit_raises)", async () => {
      class CustomException extends Error {
        override name = "CustomException";
      }
      await runTg(async () => {
        await createTask(async () => {
          const task = currentTask() as Task<unknown>;
          const error = await errorOf(
            taskGroup(async (tg) => {
              try {
                tg.createTask(() => {
                  throw new CustomException("child");
                });
                await sleep(1000);
              } finally {
                // biome-ignore lint/correctness/noUnsafeFinally: the "database" context's exit fails
                throw new CustomException("context exit");
              }
            }),
          );
          assert.deepEqual(errorTypes(error), ["CustomException"]);
          assert.equal((error as ExceptionGroup).exceptions.length, 2);
          assert.equal(task.cancelling(), 0);
        });
      });
    });

    test("a failed group that was handled leaves cancelling() at 0, also when an outer group's child failed at the same time (test_cancelling_level_preserved, test_nested_groups_both_cancelled)", async () => {
      await runTg(async () => {
        const me = currentTask() as Task<unknown>;
        const raiseAfter = async (ms: number, error: () => Error) => {
          await sleep(ms);
          throw error();
        };
        const single = await errorOf(
          taskGroup((tg) => {
            tg.createTask(() => raiseAfter(0, () => new RuntimeError("child")));
          }),
        );
        assert.deepEqual(errorTypes(single), ["RuntimeError"]);
        assert.equal(me.cancelling(), 0);

        let insideOuter = -1;
        const outer = await errorOf(
          taskGroup(async (outerTg) => {
            const inner = await errorOf(
              taskGroup((innerTg) => {
                innerTg.createTask(() => raiseAfter(0, () => new RuntimeError("inner")));
                outerTg.createTask(() => raiseAfter(0, () => new ValueError("outer")));
              }),
            );
            assert.deepEqual(errorTypes(inner), ["RuntimeError"]);
            insideOuter = me.cancelling();
          }),
        );
        assert.deepEqual(errorTypes(outer), ["ValueError"]);
        assert.equal(insideOuter, 1);
        assert.equal(me.cancelling(), 0);
      });
    });

    test("a child created by a child while the group is being created is cancelled when its creator's sibling fails; the creator sees CancelledError (gh-128550, test_cancels_task_if_created_during_creation)", async () => {
      await runTg(async () => {
        let ran = false;
        const error = await errorOf(
          taskGroup((tg) => {
            const third = async () => {
              throw new MyExc("third task failed");
            };
            tg.createTask(async () => {
              tg.createTask(third);
              await assert.rejects(
                (async () => {
                  await sleep(0); // eager tasks are cancelled here
                  await sleep(0); // lazy ones here
                })(),
                CancelledError,
              );
              ran = true;
            });
          }),
        );
        assert.equal(ran, true);
        assert.deepEqual(errorTypes(error), ["MyExc"]);
        assert.equal((error as ExceptionGroup).exceptions[0] instanceof MyExc, true);
      });
    });

    test("a group that failed and was handled lets the task go on: its next wait is not cancelled (test_cancellation_does_not_leak_out_of_tg)", async () => {
      await runTg(async () => {
        const error = await errorOf(
          taskGroup((tg) => {
            tg.createTask(() => {
              throw new MyExc();
            });
          }),
        );
        assert.deepEqual(errorTypes(error), ["MyExc"]);
        await sleep(0);
        await sleep(10);
        assert.equal(currentTask()?.cancelling(), 0);
        assert.equal(now(), 10);
      });
    });

    test("createTask refused on a group not entered or finished never calls the function (test_taskgroup_not_entered, test_coro_closed_when_tg_closed)", async () => {
      await runTg(async () => {
        let calls = 0;
        const fn = () => {
          calls += 1;
        };
        const unentered = new TaskGroup();
        assert.throws(() => unentered.createTask(fn), RuntimeError);
        assert.throws(() => unentered.createTask(fn), /has not been entered/);
        let finished: TaskGroup | undefined;
        await taskGroup((tg) => {
          finished = tg;
        });
        assert.throws(() => finished?.createTask(fn), /is finished/);
        await settle();
        assert.equal(calls, 0);
      });
    });
  });
}

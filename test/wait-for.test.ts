/**
 * waitFor(): CPython's test_waitfor scenarios (3.12+ semantics: built on timeout(), waits for
 * the cancelled task to finish) in our own words, on the virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CancelledError,
  createTask,
  type Future,
  getRunningLoop,
  sleep,
  TimeoutError,
  wait,
  waitFor,
} from "../src/index.ts";
import { now, runVirtual } from "./helpers.ts";

/** A job that runs for `ms` of loop time whatever cancellations it receives. */
function stubbornJob(ms: number) {
  const state = { exited: false };
  const run = async () => {
    const end = now() + ms;
    while (now() < end) {
      try {
        await sleep(end - now());
      } catch {
        // Ignores cancellation on purpose: the scenario is a task that will not stop.
      }
    }
    state.exited = true;
    return "stubborn";
  };
  return { state, run };
}

describe("waitFor: timing out", () => {
  test("a function runs at once in waitFor, as a coroutine in the caller's task: cancelling the caller right away still lets it run and clean up (test_asyncio_wait_for_cancelled)", async () => {
    await runVirtual(async () => {
      const log: string[] = [];
      const caller = createTask(() =>
        waitFor(async () => {
          log.push("started");
          try {
            await sleep(10);
          } finally {
            log.push("exited");
          }
        }, 1000),
      );
      await sleep(0);
      caller.cancel();
      await assert.rejects(async () => await caller, CancelledError);
      assert.deepEqual(log, ["started", "exited"]);
    });
  });

  test("on expiry the task is cancelled, its finally runs, and TimeoutError is raised at the deadline", async () => {
    await runVirtual(async () => {
      let running: boolean | undefined;
      const task = createTask(async () => {
        running = true;
        try {
          await sleep(10_000);
        } finally {
          running = false;
        }
        return "done";
      });
      await assert.rejects(waitFor(task, 100), TimeoutError);
      assert.equal(now(), 100);
      assert.equal(task.cancelled(), true);
      assert.equal(running, false);
    });
  });

  test("waitFor waits for the cancelled task to finish its cleanup before raising", async () => {
    await runVirtual(async () => {
      let cleaned = false;
      const inner = createTask(async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          await sleep(50); // slow cleanup
          throw e;
        } finally {
          cleaned = true;
        }
      });
      const error = await waitFor(inner, 10).then(
        () => assert.fail("no timeout"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof TimeoutError);
      assert.ok(error.cause instanceof CancelledError);
      assert.equal(cleaned, true);
      assert.equal(now(), 60);
    });
  });

  test("a task that ignores the cancellation and returns a value: waitFor returns the value", async () => {
    await runVirtual(async () => {
      const job = stubbornJob(200);
      const value = await waitFor(job.run, 100);
      assert.equal(value, "stubborn");
      assert.equal(job.state.exited, true);
      assert.equal(now(), 200);
    });
  });

  test("a task that catches the cancellation and returns 42: waitFor returns 42 (gh-84849)", async () => {
    await runVirtual(async () => {
      const value = await waitFor(async () => {
        try {
          await sleep(10_000);
        } catch {
          return 42; // swallows the cancellation: the scenario under test
        }
        return 0;
      }, 100);
      assert.equal(value, 42);
    });
  });

  test("an error thrown while cancelling replaces the TimeoutError", async () => {
    await runVirtual(async () => {
      class CleanupError extends Error {}
      const inner = createTask(async () => {
        try {
          await sleep(200);
        } finally {
          // biome-ignore lint/correctness/noUnsafeFinally: the scenario under test.
          throw new CleanupError("cleanup failed");
        }
      });
      await assert.rejects(waitFor(inner, 1), CleanupError);
    });
  });

  test("the awaited task's CancelledError says a timeout cancelled it", async () => {
    await runVirtual(async () => {
      const inner = createTask(() => sleep(10_000));
      await assert.rejects(waitFor(inner, 25), TimeoutError);
      const error = inner.exception.bind(inner);
      assert.throws(error, (e: unknown) => {
        assert.ok(e instanceof CancelledError);
        assert.equal(e.origin?.kind, "timeout");
        assert.equal(e.origin?.deadline, 25);
        return true;
      });
    });
  });

  test("a plain promise that is too slow times out (the wrapper is cancelled, not the promise)", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      let resolved = false;
      const slow = new Promise<string>((resolve) =>
        loop.callLater(1000, () => {
          resolved = true;
          resolve("late");
        }),
      );
      await assert.rejects(waitFor(slow, 100), TimeoutError);
      assert.equal(now(), 100);
      assert.equal(resolved, false);
      assert.equal(await slow, "late");
    });
  });
});

describe("waitFor: zero and negative timeouts", () => {
  test("with a timeout of 0 a Future that is already done gives its result at once", async () => {
    await runVirtual(async () => {
      const fut = getRunningLoop().createFuture<string>();
      fut.setResult("done");
      assert.equal(await waitFor(fut, 0), "done");
      assert.equal(now(), 0);
    });
  });

  test("with a timeout of 0 a function is never started", async () => {
    await runVirtual(async () => {
      let started = false;
      await assert.rejects(
        waitFor(async () => {
          started = true;
        }, 0),
        TimeoutError,
      );
      assert.equal(started, false);
      assert.equal(now(), 0);
    });
  });

  for (const t of [0, -1]) {
    test(`with a timeout of ${t} a running task is cancelled and its cleanup runs`, async () => {
      await runVirtual(async () => {
        let running: boolean | undefined;
        const started: Future<void> = getRunningLoop().createFuture();
        const task = createTask(async () => {
          running = true;
          started.setResult();
          try {
            await sleep(10_000);
          } finally {
            running = false;
          }
        });
        await started;
        await assert.rejects(waitFor(task, t), TimeoutError);
        assert.equal(task.cancelled(), true);
        assert.equal(running, false);
        assert.equal(now(), 0);
      });
    });
  }

  test("with a timeout of 0 waitFor still waits for the task's slow cleanup", async () => {
    await runVirtual(async () => {
      let done = false;
      const inner = createTask(async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          await sleep(5);
          throw e;
        } finally {
          done = true;
        }
      });
      await sleep(1);
      const error = await waitFor(inner, 0).then(
        () => assert.fail("no timeout"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof TimeoutError);
      assert.ok(error.cause instanceof CancelledError);
      assert.equal(done, true);
      assert.equal(now(), 6);
    });
  });
});

describe("waitFor: no timeout and races", () => {
  test("a null timeout waits as long as it takes", async () => {
    await runVirtual(async () => {
      assert.equal(await waitFor(() => sleep(100_000, "done"), null), "done");
      assert.equal(now(), 100_000);
    });
  });

  test("a Future resolved before the deadline gives its value", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const fut = loop.createFuture<string>();
      loop.callLater(100, () => fut.setResult("ok"));
      assert.equal(await waitFor(fut, 200), "ok");
      assert.equal(now(), 100);
    });
  });

  test("a body that catches the timeout's cancellation and returns 1 makes waitFor return 1", async () => {
    await runVirtual(async () => {
      const value = await waitFor(async () => {
        await assert.rejects(sleep(1000), CancelledError);
        return 1;
      }, 10);
      assert.equal(value, 1);
    });
  });
});

describe("waitFor: cancelling the waiter", () => {
  for (const t of [null, 60_000]) {
    test(`cancelling a waitFor (timeout ${t}) cancels the awaited task too`, async () => {
      await runVirtual(async () => {
        const loop = getRunningLoop();
        const task = createTask(async () => {
          await loop.createFuture(); // never resolved
        });
        const waiter = createTask(() => waitFor(task, t));
        await sleep(1); // both tasks are running and waiting
        waiter.cancel();
        await assert.rejects(async () => await waiter, CancelledError);
        assert.equal(task.cancelled(), true);
      });
    });
  }

  test("cancelling waitFor waits for a stubborn task to exit", async () => {
    await runVirtual(async () => {
      const job = stubbornJob(200);
      const waiter = createTask(() => waitFor(job.run, 400));
      await sleep(1); // the job's task has started
      waiter.cancel();
      await wait([waiter]);
      assert.equal(job.state.exited, true);
    });
  });

  test("waitFor stays cancellable while the inner task holds up several cancellations", async () => {
    await runVirtual(async () => {
      const inner = createTask(async () => {
        try {
          await sleep(300);
        } catch {
          try {
            await sleep(300);
          } catch {
            await sleep(300);
          }
        }
        return 42;
      });
      const waiter = createTask(() => waitFor(inner, 100));
      waiter.cancel();
      await assert.rejects(async () => await waiter, CancelledError);
      assert.equal(await inner, 42);
    });
  });

  test("a cancel after a quick waitFor is delivered at the next wait (gh-86296)", async () => {
    await runVirtual(async () => {
      let reachedEnd = false;
      const task = createTask(async () => {
        await waitFor(async () => {}, 100);
        await sleep(1000);
        reachedEnd = true;
      });
      await sleep(0);
      assert.equal(task.done(), false);
      task.cancel();
      await assert.rejects(async () => await task, CancelledError);
      assert.equal(reachedEnd, false);
    });
  });
});

describe("waitFor: bad input", () => {
  test("a value that is not awaitable is a TypeError; a NaN timeout a RangeError", async () => {
    await runVirtual(async () => {
      await assert.rejects(waitFor(5 as unknown as Promise<number>, 100), {
        name: "TypeError",
        message: /Expected `aw` to be a Future, a promise or a function/,
      });
      await assert.rejects(
        waitFor(() => sleep(1), Number.NaN),
        RangeError,
      );
      await assert.rejects(
        waitFor(() => sleep(1), "1" as unknown as number),
        TypeError,
      );
    });
  });

  test("called outside a task with a timeout, waitFor rejects with RuntimeError and starts nothing", async () => {
    await runVirtual(async () => {
      let started = false;
      let call: Promise<unknown> | undefined;
      getRunningLoop().callSoon(() => {
        call = waitFor(async () => {
          started = true;
        }, 100);
      });
      await sleep(0);
      await assert.rejects(call!, {
        name: "RuntimeError",
        message: /waitFor\(\) must be used inside a task/,
      });
      await sleep(1);
      assert.equal(started, false);
    });
  });

  test("a bad timeout starts nothing", async () => {
    await runVirtual(async () => {
      let started = false;
      await assert.rejects(
        waitFor(async () => {
          started = true;
        }, Number.NaN),
        RangeError,
      );
      await sleep(1);
      assert.equal(started, false);
    });
  });
});

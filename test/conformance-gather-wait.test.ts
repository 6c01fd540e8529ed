/**
 * Conformance: gather, wait, waitFor, asCompleted and shield scenarios from CPython's
 * test_tasks and test_waitfor that the main files do not pin. Virtual clock throughout.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  asCompleted,
  CancelledError,
  createTask,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  gather,
  getRunningLoop,
  shield,
  sleep,
  type Task,
  TimeoutError,
  wait,
  waitFor,
} from "../src/index.ts";
import { collectExceptions, errorOf, now, runVirtual } from "./helpers.ts";

describe("conformance: waitFor", () => {
  for (const limit of [0, -1]) {
    test(`waitFor(runningTask, ${limit}) cancels the task, waits for its finally and times out at once`, async () => {
      await runVirtual(async () => {
        let running: boolean | null = null;
        const started = new Future<void>();
        const task = createTask(async () => {
          running = true;
          started.setResult();
          try {
            await sleep(10_000);
          } finally {
            running = false;
          }
          return "done";
        });
        await started;
        const error = await errorOf(waitFor(task, limit));
        assert.ok(error instanceof TimeoutError);
        assert.equal(task.cancelled(), true);
        assert.equal(running, false);
        assert.equal(now(), 0);
      });
    });
  }

  test("waitFor(task, 100) of a 10 s task: TimeoutError at 100, the task cancelled and its finally run (test_wait_for)", async () => {
    await runVirtual(async () => {
      let running: boolean | null = null;
      const task = createTask(async () => {
        running = true;
        try {
          await sleep(10_000);
        } finally {
          running = false;
        }
        return "done";
      });
      const error = await errorOf(waitFor(task, 100));
      assert.ok(error instanceof TimeoutError);
      assert.equal(task.cancelled(), true);
      assert.equal(running, false);
      assert.equal(now(), 100);
    });
  });

  test("a task slow to handle its cancellation: waitFor waits for it, then TimeoutError caused by CancelledError", async () => {
    await runVirtual(async () => {
      let taskDone = false;
      const inner = createTask(async () => {
        try {
          await sleep(10_000);
        } catch (e) {
          await sleep(5);
          throw e;
        } finally {
          taskDone = true;
        }
      });
      const error = await errorOf(waitFor(inner, 1));
      assert.ok(error instanceof TimeoutError);
      assert.ok((error as TimeoutError).cause instanceof CancelledError);
      assert.equal(taskDone, true);
      assert.equal(now(), 6);
    });
  });

  for (const limit of [null, 60_000]) {
    test(`cancelling the task awaiting waitFor(task, ${limit}) cancels the task too (bpo-23219)`, async () => {
      await runVirtual(async () => {
        const blocking = createTask(async () => {
          await new Future<void>();
        });
        const waiter = createTask(() => waitFor(blocking, limit));
        getRunningLoop().callSoon(() => waiter.cancel());
        assert.ok((await errorOf(waiter)) instanceof CancelledError);
        assert.equal(blocking.cancelled(), true);
      });
    });
  }

  test("an error of the awaited task before the deadline comes out as is", async () => {
    await runVirtual(async () => {
      const error = await errorOf(
        waitFor(async () => {
          await sleep(10);
          throw new RangeError("inner");
        }, 1000),
      );
      assert.ok(error instanceof RangeError);
      assert.equal(now(), 10);
    });
  });

  test("a function with no timeout runs to completion (test_wait_for_blocking)", async () => {
    await runVirtual(async () => {
      assert.equal(await waitFor(async () => "done", null), "done");
    });
  });
});

describe("conformance: gather", () => {
  test("one child cancelled among five Futures: the gather's exception is a CancelledError, it is not cancelled, its callback runs once (test_one_cancellation)", async () => {
    await runVirtual(async () => {
      const [a, b, c, d, e] = [0, 1, 2, 3, 4].map(() => new Future<number>()) as [
        Future<number>,
        Future<number>,
        Future<number>,
        Future<number>,
        Future<number>,
      ];
      const fut = gather([a, b, c, d, e]);
      let calls = 0;
      fut.addDoneCallback((f) => {
        assert.equal(f, fut);
        calls++;
      });
      a.setResult(1);
      b.cancel();
      await sleep(0);
      await sleep(0);
      assert.equal(fut.done(), true);
      assert.equal(fut.cancelled(), false);
      assert.ok(fut.exception() instanceof CancelledError);
      c.setResult(3);
      d.cancel();
      e.setException(new RangeError("later"));
      e.exception();
      await sleep(0);
      assert.equal(calls, 1);
    });
  });

  test("returnExceptions with errors and cancellations mixed: each in its place (test_result_exception_one_cancellation)", async () => {
    await runVirtual(async () => {
      const fs = [0, 1, 2, 3, 4, 5].map(() => new Future<number>());
      const fut = gather(fs, { returnExceptions: true });
      const zde = new RangeError("zero");
      const rte = new Error("runtime");
      fs[0]!.setResult(1);
      fs[1]!.setException(zde);
      fs[2]!.cancel();
      await sleep(0);
      assert.equal(fut.done(), false);
      fs[3]!.setResult(3);
      fs[4]!.cancel();
      fs[5]!.setException(rte);
      const res = (await fut) as unknown[];
      assert.ok(res[2] instanceof CancelledError);
      assert.ok(res[4] instanceof CancelledError);
      assert.deepEqual([res[0], res[1], res[3], res[5]], [1, zde, 3, rte]);
    });
  });

  test("a child that fails later than the gather's first error is not reported as never retrieved (test_exception_marking)", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      const a = new Future<void>();
      const b = new Future<void>();
      const inner = (f: Future<void>) => async () => {
        await f;
        throw new Error("should not be ignored");
      };
      const outer = createTask(() => gather([inner(a), inner(b)]));
      await sleep(0);
      a.setResult();
      await sleep(0);
      b.setResult();
      await sleep(0);
      await sleep(0);
      assert.ok(outer.exception() instanceof Error);
    });
    assert.equal(contexts.length, 0);
  });

  test("a gather cancelled while some children are done: cancel() is true and the gather fails with the child's CancelledError", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(10, "a"));
      const b = createTask(() => sleep(10_000, "b"));
      const g = gather([a, b]);
      await sleep(20);
      assert.equal(a.done(), true);
      assert.equal(g.cancel("stop"), true);
      const error = await errorOf(g);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "stop");
      // As asyncio's _GatheringFuture: it ends with a CancelledError *exception*, not cancelled.
      assert.equal(g.cancelled(), false);
      assert.ok(g.exception() instanceof CancelledError);
      assert.equal(b.cancelled(), true);
      assert.equal(a.result(), "a");
    });
  });
});

describe("conformance: wait", () => {
  test("FIRST_COMPLETED: tasks done by the time the waiter resumes are all in done (test_wait_really_done)", async () => {
    await runVirtual(async () => {
      const a = createTask(async () => {
        await sleep(0);
      });
      const b = createTask(async () => {
        await sleep(0);
        await sleep(0);
      });
      const waiter = createTask(() => wait([b, a], { returnWhen: FIRST_COMPLETED }));
      const { done, pending } = await waiter;
      assert.deepEqual(done, new Set([a, b]));
      assert.equal(pending.size, 0);
    });
  });

  test("FIRST_EXCEPTION with no exception waits for everything", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(100));
      const b = createTask(() => sleep(200));
      const { done, pending } = await wait([a, b], { returnWhen: FIRST_EXCEPTION });
      assert.deepEqual(done, new Set([a, b]));
      assert.equal(pending.size, 0);
      assert.equal(now(), 200);
    });
  });

  test("FIRST_COMPLETED with one already done returns it without waiting for the other", async () => {
    await runVirtual(async () => {
      const a = new Future<number>();
      a.setResult(1);
      const b = createTask(() => sleep(10_000));
      const { done, pending } = await wait([a, b], { returnWhen: FIRST_COMPLETED });
      assert.deepEqual(done, new Set([a]));
      assert.deepEqual(pending, new Set([b]));
      assert.equal(now(), 0);
      b.cancel();
    });
  });

  test("a timeout of 0 returns at once with what is already done", async () => {
    await runVirtual(async () => {
      const a = new Future<number>();
      a.setResult(1);
      const b = createTask(() => sleep(10_000));
      const { done, pending } = await wait([a, b], { timeout: 0 });
      assert.deepEqual(done, new Set([a]));
      assert.deepEqual(pending, new Set([b]));
      assert.equal(b.cancelled(), false);
      assert.equal(now(), 0);
      b.cancel();
    });
  });
});

describe("conformance: asCompleted", () => {
  test("a timeout between two completions: the first in time, then TimeoutError at the deadline (test_as_completed_with_timeout)", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(100, "a"));
      const b = createTask(() => sleep(150, "b"));
      const got: string[] = [];
      let error: unknown;
      try {
        for await (const t of asCompleted([a, b], { timeout: 120 })) got.push(t.result());
      } catch (e) {
        error = e;
      }
      assert.deepEqual(got, ["a"]);
      assert.ok(error instanceof TimeoutError);
      assert.equal(now(), 120);
      assert.equal(b.cancelled(), false);
      assert.equal(await b, "b");
    });
  });

  test("two asCompleted iterations over the same tasks run side by side (test_as_completed_concurrent)", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(50, "a"));
      const b = createTask(() => sleep(100, "b"));
      const collect = async () => {
        const out: string[] = [];
        for await (const t of asCompleted([b, a])) out.push(t.result());
        return out;
      };
      const [x, y] = await gather([collect, collect]);
      assert.deepEqual(x, ["a", "b"]);
      assert.deepEqual(y, ["a", "b"]);
      assert.equal(now(), 100);
    });
  });

  test("yielded tasks carry their errors; iteration goes on past a failure", async () => {
    await runVirtual(async () => {
      const a = createTask(async () => {
        await sleep(10);
        throw new RangeError("a failed");
      });
      const b = createTask(() => sleep(20, "b"));
      const seen: unknown[] = [];
      for await (const t of asCompleted<Task<unknown>>([a, b])) seen.push(t);
      assert.deepEqual(seen, [a, b]);
      assert.ok(a.exception() instanceof RangeError);
    });
  });
});

describe("conformance: shield", () => {
  test("shielding an already failed Future gives that error at once", async () => {
    await runVirtual(async () => {
      const inner = new Future<number>();
      inner.setException(new RangeError("inner"));
      const error = await errorOf(shield(inner));
      assert.ok(error instanceof RangeError);
    });
  });

  test("a shield inside gather: cancelling the gather leaves the shielded task running to its result (test_gather_shield)", async () => {
    await runVirtual(async () => {
      const child1 = createTask(() => sleep(100, "one"));
      const child2 = createTask(() => sleep(200, "two"));
      const g = gather([shield(child1), shield(child2)]);
      await sleep(0);
      assert.equal(g.cancel(), true);
      assert.ok((await errorOf(g)) instanceof CancelledError);
      assert.equal(await child1, "one");
      assert.equal(await child2, "two");
      assert.equal(now(), 200);
    });
  });

  test("awaiting shield of a task: cancelling the outer task three times still leaves the inner alone", async () => {
    await runVirtual(async () => {
      const inner = createTask(() => sleep(100, 7));
      const outer = createTask(async () => {
        for (;;) {
          try {
            return await shield(inner);
          } catch (e) {
            if (!(e instanceof CancelledError)) throw e;
          }
        }
      });
      await sleep(10);
      for (let i = 0; i < 3; i++) {
        outer.cancel();
        await sleep(10);
      }
      assert.equal(await outer, 7);
      assert.equal(inner.cancelled(), false);
      assert.equal(now(), 100);
    });
  });
});

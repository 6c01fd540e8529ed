/**
 * Conformance: Lock, Event, Condition, Semaphore and Barrier scenarios from CPython's
 * test_locks that the main files do not pin: races between cancel() and release()/notify(),
 * FIFO order of semaphore waiters, and the identity of a re-raised CancelledError.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Barrier,
  BrokenBarrierError,
  CancelledError,
  Condition,
  createTask,
  Event,
  Future,
  gather,
  getRunningLoop,
  Lock,
  Semaphore,
  sleep,
  TimeoutError,
  timeout,
  waitFor,
} from "../src/index.ts";
import { errorOf, runVirtual } from "./helpers.ts";

describe("conformance: Lock", () => {
  test("a holder releasing while the first waiter is cancelled wakes the second waiter (test_cancel_race)", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      const order: string[] = [];
      const lockit = (name: string, blocker: Future<void> | null) => async () => {
        await lock.acquire();
        order.push(name);
        try {
          if (blocker !== null) await blocker;
        } finally {
          lock.release();
        }
      };
      const fa = new Future<void>();
      const ta = createTask(lockit("A", fa));
      await sleep(0);
      assert.equal(lock.locked(), true);
      const tb = createTask(lockit("B", null));
      await sleep(0);
      assert.equal(lock.statistics().waiters, 1);
      const tc = createTask(lockit("C", null));
      await sleep(0);
      assert.equal(lock.statistics().waiters, 2);
      fa.setResult();
      tb.cancel();
      await sleep(0);
      assert.equal(ta.done(), true);
      assert.equal(tb.cancelled(), true);
      await tc;
      assert.deepEqual(order, ["A", "C"]);
      assert.equal(lock.locked(), false);
    });
  });

  test("a waiter woken by release() and cancelled before it ran: the next waiter gets the lock (test_finished_waiter_cancelled)", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      await lock.acquire();
      const tb = createTask(() => lock.acquire());
      await sleep(0);
      assert.equal(lock.statistics().waiters, 1);
      const tc = createTask(() => lock.acquire());
      tb.cancel();
      lock.release();
      await sleep(0);
      assert.equal(lock.locked(), true);
      assert.equal(tb.cancelled(), true);
      await tc;
      assert.equal(lock.locked(), true);
      lock.release();
      assert.equal(lock.locked(), false);
    });
  });
});

describe("conformance: Event", () => {
  test("set() with several waiters wakes them all with true, in order", async () => {
    await runVirtual(async () => {
      const ev = new Event();
      const result: number[] = [];
      const tasks = [1, 2, 3].map((i) =>
        createTask(async () => {
          assert.equal(await ev.wait(), true);
          result.push(i);
        }),
      );
      await sleep(0);
      assert.deepEqual(result, []);
      ev.set();
      await gather(tasks);
      assert.deepEqual(result, [1, 2, 3]);
      assert.equal(ev.statistics().waiters, 0);
    });
  });

  test("set, clear, set again before the waiter runs: it is woken exactly once (test_clear_with_waiters)", async () => {
    await runVirtual(async () => {
      const ev = new Event();
      let wakes = 0;
      const t = createTask(async () => {
        if (await ev.wait()) wakes++;
        return true;
      });
      await sleep(0);
      ev.set();
      ev.clear();
      assert.equal(ev.isSet(), false);
      ev.set();
      ev.set();
      await sleep(0);
      assert.equal(wakes, 1);
      assert.equal(ev.statistics().waiters, 0);
      assert.equal(t.done(), true);
      assert.equal(t.result(), true);
    });
  });
});

describe("conformance: Condition", () => {
  test("a task cancelled in waitFor re-raises the very CancelledError the caller then sees (test_cancelled_error_wakeup)", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      let raised: unknown;
      const task = createTask(async () => {
        await cond.acquire();
        try {
          try {
            await cond.waitFor(() => false);
          } catch (e) {
            raised = e;
          }
          throw raised;
        } finally {
          cond.release();
        }
      });
      await sleep(0);
      task.cancel("foo");
      const error = await errorOf(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "foo");
      assert.equal(error, raised);
    });
  });

  test("cancelled while re-acquiring the lock after notify: the same CancelledError comes out (test_cancelled_error_re_aquire)", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      let wake = false;
      let raised: unknown;
      const task = createTask(async () => {
        await cond.acquire();
        try {
          try {
            await cond.waitFor(() => wake);
          } catch (e) {
            raised = e;
          }
          assert.equal(cond.locked(), true);
          throw raised;
        } finally {
          cond.release();
        }
      });
      await sleep(0);
      await cond.acquire();
      wake = true;
      cond.notify();
      await sleep(0);
      task.cancel("foo");
      cond.release();
      const error = await errorOf(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "foo");
      assert.equal(error, raised);
    });
  });

  test("a consumer notified and cancelled at the same moment does not lose the wake-up (gh-112202)", async () => {
    await runVirtual(async () => {
      const condition = new Condition();
      let state = 0;
      const consumer = async () => {
        await condition.acquire();
        try {
          for (;;) {
            await condition.waitFor(() => state !== 0);
            if (state < 0) return;
            state -= 1;
          }
        } finally {
          condition.release();
        }
      };
      const c = [createTask(consumer), createTask(consumer)];
      await sleep(0);
      await condition.acquire();
      try {
        state += 1;
        condition.notify(1);
        c[0]!.cancel();
        try {
          await timeout(10, () => condition.waitFor(() => state === 0));
        } catch (e) {
          if (!(e instanceof TimeoutError)) throw e;
        }
        assert.equal(state, 0);
        state = -1;
        condition.notifyAll();
      } finally {
        condition.release();
      }
      await c[1];
      assert.equal(c[0]!.cancelled(), true);
    });
  });

  test("the same race while the notified consumer waits to re-acquire the lock (test_cancelled_wakeup_relock)", async () => {
    await runVirtual(async () => {
      const condition = new Condition();
      let state = 0;
      const consumer = async () => {
        await condition.acquire();
        try {
          for (;;) {
            await condition.waitFor(() => state !== 0);
            if (state < 0) return;
            state -= 1;
          }
        } finally {
          condition.release();
        }
      };
      const c = [createTask(consumer), createTask(consumer)];
      await sleep(0);
      await condition.acquire();
      try {
        state += 1;
        condition.notify(1);
        // Let the notified consumer reach the lock re-acquisition, then cancel it there.
        await sleep(0);
        c[0]!.cancel();
        try {
          await timeout(10, () => condition.waitFor(() => state === 0));
        } catch (e) {
          if (!(e instanceof TimeoutError)) throw e;
        }
        assert.equal(state, 0);
        state = -1;
        condition.notifyAll();
      } finally {
        condition.release();
      }
      await c[1];
    });
  });

  test("a waitFor(cond.wait(), 500) inside the lock times out and the lock is held again (test_timeout_in_block)", async () => {
    await runVirtual(async () => {
      const condition = new Condition();
      await condition.acquire();
      try {
        const error = await errorOf(waitFor(condition.wait(), 500));
        assert.ok(error instanceof TimeoutError);
        assert.equal(condition.locked(), true);
      } finally {
        condition.release();
      }
      assert.equal(condition.locked(), false);
      assert.equal(getRunningLoop().time(), 500);
    });
  });
});

describe("conformance: Semaphore", () => {
  test("two releases with three waiters, one of which re-acquires: FIFO order (test_acquire_fifo_order_2)", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(1);
      const result: number[] = [];
      const t1 = createTask(async () => {
        await sem.acquire();
        result.push(1);
        return true;
      });
      const t2 = createTask(async () => {
        await sem.acquire();
        result.push(2);
        sem.release();
        await sem.acquire();
        result.push(4);
        return true;
      });
      const t3 = createTask(async () => {
        await sem.acquire();
        result.push(3);
        return true;
      });
      await sleep(0);
      sem.release();
      sem.release();
      await gather([t1, t2, t3]);
      assert.deepEqual(result, [1, 2, 3, 4]);
    });
  });

  test("a cancelled first waiter is skipped by later releases (test_acquire_fifo_order_3)", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(0);
      const result: number[] = [];
      const tasks = [1, 2, 3].map((i) =>
        createTask(async () => {
          await sem.acquire();
          result.push(i);
          return true;
        }),
      );
      await sleep(0);
      tasks[0]!.cancel();
      await sleep(0);
      sem.release();
      sem.release();
      await gather(tasks, { returnExceptions: true });
      assert.deepEqual(result, [2, 3]);
    });
  });

  test("cancel two of four waiters then release once: exactly the third gets the permit (test_acquire_cancel_before_awoken)", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(0);
      const [t1, t2, t3, t4] = [0, 1, 2, 3].map(() => createTask(() => sem.acquire()));
      await sleep(0);
      t1!.cancel();
      t2!.cancel();
      sem.release();
      await sleep(0);
      await sleep(0);
      assert.equal(t3!.done(), true);
      assert.equal(t4!.done(), false);
      t4!.cancel();
      await sleep(0);
      assert.equal(t4!.cancelled(), true);
    });
  });

  test("several waiters, cancels mixed with releases: no permit lost, none created (test_mixed_cancel_release_acquire)", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(0);
      const acquired: number[] = [];
      const tasks = [0, 1, 2, 3, 4, 5].map((i) =>
        createTask(async () => {
          await sem.acquire();
          acquired.push(i);
        }),
      );
      await sleep(0);
      // Cancel three, release three, in an interleaved order, all in one step.
      tasks[1]!.cancel();
      sem.release();
      tasks[3]!.cancel();
      sem.release();
      tasks[0]!.cancel();
      sem.release();
      await gather(tasks, { returnExceptions: true }).then(
        () => undefined,
        () => undefined,
      );
      assert.deepEqual(
        tasks.map((t) => t.cancelled()),
        [true, true, false, true, false, false],
      );
      assert.deepEqual(acquired, [2, 4, 5]);
      // Every release went to a live waiter: nothing is left over.
      assert.equal(sem.locked(), true);
    });
  });
});

describe("conformance: Barrier", () => {
  test("a party cancelled while waiting leaves the count; a later party completes the round", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(2);
      const t1 = createTask(() => barrier.wait());
      await sleep(0);
      assert.equal(barrier.nWaiting, 1);
      t1.cancel();
      await sleep(0);
      assert.equal(t1.cancelled(), true);
      assert.equal(barrier.nWaiting, 0);
      const [a, b] = await gather([() => barrier.wait(), () => barrier.wait()]);
      assert.deepEqual(new Set([a, b]), new Set([0, 1]));
      assert.equal(barrier.broken, false);
    });
  });

  test("abort() while parties wait: each gets BrokenBarrierError, and later waits fail at once until reset()", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(3);
      const waiting = [createTask(() => barrier.wait()), createTask(() => barrier.wait())];
      await sleep(0);
      await barrier.abort();
      for (const t of waiting) assert.ok((await errorOf(t)) instanceof BrokenBarrierError);
      assert.equal(barrier.broken, true);
      assert.ok((await errorOf(barrier.wait())) instanceof BrokenBarrierError);
      await barrier.reset();
      assert.equal(barrier.broken, false);
      const results = await gather([
        () => barrier.wait(),
        () => barrier.wait(),
        () => barrier.wait(),
      ]);
      assert.deepEqual([...results].sort(), [0, 1, 2]);
    });
  });
});

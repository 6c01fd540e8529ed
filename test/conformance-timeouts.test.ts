/**
 * Conformance: timeout()/timeoutAt() scenarios from CPython's test_timeouts (3.13) that the main
 * file does not pin, and timeouts expiring while the body waits on each primitive: nothing is
 * leaked or lost, and the task's cancelling() count is back to where it was. Virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CancelledError,
  Condition,
  createTask,
  currentTask,
  Event,
  ExceptionGroup,
  Lock,
  Queue,
  Semaphore,
  sleep,
  type Timeout,
  TimeoutError,
  taskGroup,
  timeout,
  timeoutAt,
} from "../src/index.ts";
import { errorOf, now, runVirtual } from "./helpers.ts";

describe("conformance: timeout and TaskGroup (3.13)", () => {
  test("a body error replaced by the timeout's cancellation in a finally, a child failing on cancel: ExceptionGroup of the child error (test_timeout_taskgroup)", async () => {
    await runVirtual(async () => {
      const error = await errorOf(
        timeout(10, () =>
          taskGroup(async (tg) => {
            tg.createTask(async () => {
              try {
                await sleep(2000);
              } finally {
                // biome-ignore lint/correctness/noUnsafeFinally: the scenario under test
                throw new RangeError("division by zero");
              }
            });
            try {
              throw new TypeError("value");
            } finally {
              // The cancellation thrown here replaces the TypeError, as in Python.
              await sleep(1000);
            }
          }),
        ),
      );
      assert.ok(error instanceof ExceptionGroup);
      assert.deepEqual(
        error.exceptions.map((e) => (e as Error).name),
        ["RangeError"],
      );
      assert.equal(currentTask()!.cancelling(), 0);
      assert.equal(now(), 10);
      // No cancellation leaks out.
      await sleep(5);
      assert.equal(now(), 15);
    });
  });

  test("a timeout inside a group's child only times out that child's work; the group goes on", async () => {
    await runVirtual(async () => {
      const log: string[] = [];
      await taskGroup(async (tg) => {
        tg.createTask(async () => {
          try {
            await timeout(50, () => sleep(1000));
          } catch (e) {
            assert.ok(e instanceof TimeoutError);
            log.push("child timed out");
          }
          await sleep(50);
          log.push("child done");
        });
        tg.createTask(async () => {
          await sleep(200);
          log.push("sibling done");
        });
      });
      assert.deepEqual(log, ["child timed out", "child done", "sibling done"]);
      assert.equal(now(), 200);
    });
  });

  test("an eager child running a timeout: the timeout belongs to the child, and expires there", async () => {
    await runVirtual(async () => {
      let seen: unknown;
      await taskGroup(async (tg) => {
        tg.createTask(
          async () => {
            try {
              await timeout(30, () => sleep(1000));
            } catch (e) {
              seen = e;
            }
          },
          { eagerStart: true },
        );
      });
      assert.ok(seen instanceof TimeoutError);
      assert.equal(currentTask()!.cancelling(), 0);
      assert.equal(now(), 30);
    });
  });
});

describe("conformance: timeout while waiting on a primitive", () => {
  test("Lock.acquire() timed out: the waiter is gone and the lock goes to the next acquirer", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      await lock.acquire();
      assert.ok((await errorOf(timeout(10, () => lock.acquire()))) instanceof TimeoutError);
      assert.equal(lock.statistics().waiters, 0);
      const next = createTask(() => lock.acquire());
      await sleep(0);
      lock.release();
      await next;
      assert.equal(lock.locked(), true);
    });
  });

  test("Semaphore.acquire() timed out: no permit lost or created", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(0);
      assert.ok((await errorOf(timeout(10, () => sem.acquire()))) instanceof TimeoutError);
      assert.equal(sem.locked(), true);
      sem.release();
      assert.equal(sem.locked(), false);
      await sem.acquire();
      assert.equal(sem.locked(), true);
    });
  });

  test("Queue.get() timed out: a later item goes to the next getter", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      assert.ok((await errorOf(timeout(10, () => q.get()))) instanceof TimeoutError);
      assert.equal(q.statistics().getters, 0);
      const getter = createTask(() => q.get());
      await sleep(0);
      q.putNowait(7);
      assert.equal(await getter, 7);
    });
  });

  test("Queue.put() on a full queue timed out: its item never goes in", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(1);
      q.putNowait(1);
      assert.ok((await errorOf(timeout(10, () => q.put(2)))) instanceof TimeoutError);
      assert.equal(q.getNowait(), 1);
      assert.equal(q.qsize(), 0);
    });
  });

  test("Event.wait() timed out: no waiter left; a later set() wakes only the new waiter", async () => {
    await runVirtual(async () => {
      const ev = new Event();
      assert.ok((await errorOf(timeout(10, () => ev.wait()))) instanceof TimeoutError);
      assert.equal(ev.statistics().waiters, 0);
      const waiter = createTask(() => ev.wait());
      await sleep(0);
      ev.set();
      assert.equal(await waiter, true);
    });
  });

  test("Condition.wait() timed out: the lock is held again when TimeoutError arrives", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      await cond.acquire();
      try {
        const error = await errorOf(timeout(10, () => cond.wait()));
        assert.ok(error instanceof TimeoutError);
        assert.equal(cond.locked(), true);
      } finally {
        cond.release();
      }
      assert.equal(cond.locked(), false);
    });
  });

  test("Condition.wait() timed out while another task holds the lock: TimeoutError only once the lock is re-acquired", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      let lockedWhenCaught: boolean | undefined;
      let caughtAt = -1;
      const waiter = createTask(async () => {
        await cond.acquire();
        try {
          await timeout(10, () => cond.wait());
        } catch (e) {
          assert.ok(e instanceof TimeoutError);
          lockedWhenCaught = cond.locked();
          caughtAt = now();
        } finally {
          cond.release();
        }
      });
      await sleep(0);
      await cond.acquire();
      await sleep(50); // hold the lock past the deadline
      cond.release();
      await waiter;
      assert.equal(lockedWhenCaught, true);
      assert.equal(caughtAt, 50);
    });
  });
});

describe("conformance: timeoutAt and state", () => {
  test("timeoutAt(now) expires at the next iteration even if the body only yields once", async () => {
    await runVirtual(async () => {
      const error = await errorOf(timeoutAt(now(), () => sleep(0)));
      assert.ok(error instanceof TimeoutError);
      assert.equal(now(), 0);
    });
  });

  test("an outside cancel() in the same iteration as the deadline wins: CancelledError, the timeout still counts as expired", async () => {
    await runVirtual(async () => {
      let scope: Timeout | undefined;
      const task = createTask(() =>
        timeout(10, (cm) => {
          scope = cm;
          return sleep(1000);
        }),
      );
      await sleep(10); // the deadline comes due in this iteration too
      task.cancel();
      const error = await errorOf(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(task.cancelled(), true);
      assert.equal(scope!.expired(), true);
      // The timeout withdrew its own request only: the outside one is still counted.
      assert.equal(task.cancelling(), 1);
    });
  });
});

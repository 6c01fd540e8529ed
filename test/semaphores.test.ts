/**
 * Semaphore and BoundedSemaphore (src/sync/semaphores.ts). Scenarios follow CPython's
 * test_locks.py SemaphoreTests (3.13 semantics: FIFO, `locked()` true while anyone waits),
 * rewritten for the virtual clock, plus guards, statistics and bad input.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import {
  BoundedSemaphore,
  CancelledError,
  createTask,
  getRunningLoop,
  Semaphore,
  sleep,
  type Task,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

async function settle(iterations = 3): Promise<void> {
  for (let i = 0; i < iterations; i++) await sleep(0);
}

describe("Semaphore", () => {
  test("a semaphore with value 0 is locked", () => {
    assert.equal(new Semaphore(0).locked(), true);
    assert.equal(new Semaphore().locked(), false);
  });

  test("its inspect string shows the state, the value and the waiters", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore();
      assert.equal(String(sem), "<Semaphore [unlocked, value:1]>");
      await sem.acquire();
      assert.equal(inspect(sem), "<Semaphore [locked]>");
      const waiters = [createTask(() => sem.acquire()), createTask(() => sem.acquire())];
      await settle();
      assert.equal(String(sem), "<Semaphore [locked, waiters:2]>");
      assert.deepEqual(sem.statistics(), { value: 0, locked: true, waiters: 2 });
      for (const w of waiters) w.cancel();
      await settle();
      assert.equal(String(new BoundedSemaphore(3)), "<BoundedSemaphore [unlocked, value:3]>");
    });
  });

  test("bad initial values are rejected with the argument named", () => {
    assert.throws(() => new Semaphore(-1), {
      name: "RangeError",
      message: "Expected `value` to be an integer from 0 and up (or Infinity), got `-1` (number)",
    });
    assert.throws(() => new Semaphore(1.5), { name: "RangeError" });
    assert.throws(() => new Semaphore(Number.NaN), { name: "RangeError" });
    assert.throws(() => new Semaphore("2" as never), {
      name: "TypeError",
      message: 'Expected `value` to be an integer from 0 and up (or Infinity), got `"2"` (string)',
    });
    assert.throws(() => new BoundedSemaphore(Number.POSITIVE_INFINITY), {
      name: "RangeError",
      message: "Expected `value` to be an integer from 0 and up, got `Infinity` (number)",
    });
    assert.throws(() => new BoundedSemaphore(-2), { name: "RangeError" });
    assert.equal(new Semaphore(Number.POSITIVE_INFINITY).locked(), false);
  });

  test("acquire() takes free permits at once and queues the rest in order", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(3);
      const result: number[] = [];
      await sem.acquire();
      await sem.acquire();
      assert.equal(sem.locked(), false);
      const c = (n: number) => async () => {
        await sem.acquire();
        result.push(n);
        return true;
      };
      const t1 = createTask(c(1));
      const t2 = createTask(c(2));
      const t3 = createTask(c(3));
      await settle();
      assert.deepEqual(result, [1]);
      assert.equal(sem.locked(), true);
      assert.deepEqual(sem.statistics(), { value: 0, locked: true, waiters: 2 });

      const t4 = createTask(c(4));
      sem.release();
      sem.release();
      assert.equal(sem.statistics().value, 0, "permits are handed to waiters at release");
      await settle();
      assert.equal(result.length, 3);
      assert.deepEqual(result, [1, 2, 3], "FIFO: the two waiters, not the newcomer");
      assert.deepEqual(sem.statistics(), { value: 0, locked: true, waiters: 1 });
      assert.equal(await t1, true);
      sem.release();
      for (const t of [t2, t3, t4]) assert.equal(await t, true);
    });
  });

  test("a cancelled acquire() leaves no waiter and no permit behind", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore();
      await sem.acquire();
      const acquire = createTask(() => sem.acquire());
      getRunningLoop().callSoon(() => acquire.cancel());
      await assert.rejects(async () => await acquire, CancelledError);
      assert.deepEqual(sem.statistics(), { value: 0, locked: true, waiters: 0 });
    });
  });

  test("waiters cancelled before a release do not consume it: the next live waiter gets it", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(0);
      const ts = [1, 2, 3, 4].map(() => createTask(() => sem.acquire()));
      await settle();
      ts[0].cancel();
      ts[1].cancel();
      sem.release();
      await settle();
      assert.equal(ts[2].done(), true);
      assert.equal(ts[3].done(), false);
      assert.deepEqual(sem.statistics(), { value: 0, locked: true, waiters: 1 });
      ts[3].cancel();
      await settle();
      assert.deepEqual(sem.statistics(), { value: 0, locked: true, waiters: 0 });
    });
  });

  test("a release after a waiter was cancelled does not hang the next waiter", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(0);
      const t1 = createTask(() => sem.acquire());
      const t2 = createTask(() => sem.acquire());
      await settle();
      t1.cancel();
      sem.release();
      await settle();
      assert.equal(sem.locked(), true);
      assert.equal(t2.done(), true);
      assert.equal(t1.cancelled(), true);
    });
  });

  test("a holder cancelling a waiter on its way out does not hang later acquires", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(1);
      let t2!: Task<void>;
      const t1 = createTask(async () => {
        await sem.hold(() => sleep(0));
        t2.cancel();
      });
      t2 = createTask(async () => {
        await sem.hold(() => assert.fail("t2 must not get the permit"));
      });
      await t1;
      await assert.rejects(async () => await t2, CancelledError);
      await sem.acquire();
      assert.deepEqual(sem.statistics(), { value: 0, locked: true, waiters: 0 });
    });
  });

  test("a waiter woken and then cancelled before it resumed returns its permit to the next waiter", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(0);
      const a = createTask(() => sem.acquire());
      const b = createTask(() => sem.acquire());
      await settle();
      sem.release(); // the permit goes to a...
      assert.equal(sem.statistics().value, 0);
      a.cancel(); // ...which is cancelled before it runs
      await assert.rejects(async () => await a, CancelledError);
      await b;
      assert.deepEqual(sem.statistics(), { value: 0, locked: true, waiters: 0 });
    });
  });

  test("a woken waiter cancelled before it resumed gives its permit back to the counter", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(0);
      const a = createTask(() => sem.acquire());
      await settle();
      sem.release();
      a.cancel();
      await assert.rejects(async () => await a, CancelledError);
      assert.deepEqual(sem.statistics(), { value: 1, locked: false, waiters: 0 });
    });
  });

  test("locked() stays true while a woken waiter has not resumed, so newcomers queue (3.13)", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(0);
      const order: string[] = [];
      const first = createTask(async () => {
        await sem.acquire();
        order.push("first");
      });
      await settle();
      sem.release(); // handed to `first`
      sem.release(); // a free permit, but `first` has not resumed yet
      assert.deepEqual(sem.statistics(), { value: 1, locked: true, waiters: 1 });
      const newcomer = sem.acquire().then(() => order.push("newcomer"));
      assert.equal(sem.statistics().waiters, 2, "the newcomer waits in line");
      await first;
      await newcomer;
      assert.deepEqual(order, ["first", "newcomer"]);
      assert.deepEqual(sem.statistics(), { value: 0, locked: true, waiters: 0 });
    });
  });

  test("a BoundedSemaphore refuses to be released above its initial value and stays usable", async () => {
    await runVirtual(async () => {
      const sem = new BoundedSemaphore();
      assert.throws(() => sem.release(), {
        name: "RangeError",
        message: "BoundedSemaphore released too many times",
      });
      assert.equal(sem.statistics().value, 1);
      const guard = await sem.acquire();
      guard.release();
      assert.throws(() => sem.release(), RangeError);
      await sem.hold(() => {});
      assert.deepEqual(sem.statistics(), { value: 1, locked: false, waiters: 0 });
    });
  });

  test("release() without waiters raises the value and unlocks", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore();
      await sem.acquire();
      assert.equal(sem.locked(), true);
      sem.release();
      assert.equal(sem.locked(), false);
      sem.release();
      assert.equal(sem.statistics().value, 2, "an unbounded Semaphore may exceed its start value");
    });
  });

  test("an uncontended acquire() and release() cost at most two promise turns", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(2);
      let turns = 0;
      let counting = true;
      const counter = (async () => {
        while (counting) {
          await null;
          turns++;
        }
      })();
      await null; // let the counter start
      const before = turns;
      const guard = await sem.acquire();
      guard.release();
      await sem.acquire();
      sem.release();
      const cost = turns - before;
      counting = false;
      await counter;
      assert.ok(cost <= 4, `two acquisitions took ${cost} promise turns`);
    });
  });

  test("tasks that acquire twice in turn are served in FIFO order", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(1);
      const result: string[] = [];
      const coro = async (tag: string) => {
        for (const round of [1, 2]) {
          await sem.acquire();
          result.push(`${tag}_${round}`);
          await sleep(10);
          sem.release();
        }
      };
      await Promise.all(["c1", "c2", "c3"].map((tag) => createTask(() => coro(tag))));
      assert.deepEqual(result, ["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]);
    });
  });

  test("a task re-acquiring queues behind those already waiting", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(1);
      const result: number[] = [];
      const t1 = createTask(async () => {
        await sem.acquire();
        result.push(1);
      });
      const t2 = createTask(async () => {
        await sem.acquire();
        result.push(2);
        sem.release();
        await sem.acquire();
        result.push(4);
      });
      const t3 = createTask(async () => {
        await sem.acquire();
        result.push(3);
      });
      await settle();
      sem.release();
      sem.release();
      await Promise.all([t1, t2, t3]);
      assert.deepEqual(result, [1, 2, 3, 4]);
    });
  });

  test("a waiter cancelled before any release is skipped", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(0);
      const result: number[] = [];
      const c = (n: number) => async () => {
        await sem.acquire();
        result.push(n);
      };
      const ts = [createTask(c(1)), createTask(c(2)), createTask(c(3))];
      await settle();
      ts[0].cancel();
      await settle();
      sem.release();
      sem.release();
      await Promise.allSettled(ts);
      assert.deepEqual(result, [2, 3]);
      assert.equal(ts[0].cancelled(), true);
    });
  });

  test("await using returns the permit at the end of the block", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(2);
      {
        await using _a = await sem.acquire();
        await using _b = await sem.acquire();
        assert.deepEqual(sem.statistics(), { value: 0, locked: true, waiters: 0 });
      }
      assert.deepEqual(sem.statistics(), { value: 2, locked: false, waiters: 0 });
      const guard = await sem.acquire();
      assert.equal(String(guard), "<ReleaseGuard held Semaphore>");
      guard.release();
      guard.release();
      assert.equal(sem.statistics().value, 2, "a guard releases once");
    });
  });

  test("hold(fn) limits concurrency to the number of permits", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(3);
      let running = 0;
      let peak = 0;
      const job = () =>
        sem.hold(async () => {
          peak = Math.max(peak, ++running);
          await sleep(100);
          running--;
          return "ok";
        });
      const t0 = getRunningLoop().time();
      const results = await Promise.all(Array.from({ length: 10 }, () => createTask(job)));
      assert.equal(peak, 3);
      assert.deepEqual(new Set(results), new Set(["ok"]));
      assert.equal(getRunningLoop().time() - t0, 400, "10 jobs, 3 at a time, 100 ms each");
      assert.deepEqual(sem.statistics(), { value: 3, locked: false, waiters: 0 });
    });
  });

  test("waiting outside a running loop is a RuntimeError; a free permit needs no loop", async () => {
    const sem = new Semaphore(1);
    const guard = await sem.acquire();
    await assert.rejects(sem.acquire(), { name: "RuntimeError", message: /no running event loop/ });
    assert.deepEqual(sem.statistics(), { value: 0, locked: true, waiters: 0 });
    guard.release();
  });
});

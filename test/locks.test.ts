/**
 * Lock, Event and Condition (src/sync/locks.ts) and the release guard (src/sync/guard.ts).
 * Scenarios follow CPython's Lib/test/test_asyncio/test_locks.py, rewritten in our words for the
 * virtual clock, plus the guards, statistics, loop binding and bad input.
 *
 * JavaScript note: a woken task continues in microtasks after the loop's batch, and each
 * `await` of a Future costs a few microtask turns, so where asyncio's tests yield once
 * (`await asyncio.sleep(0)`) these yield a few times (`settle()`).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import {
  CancelledError,
  Condition,
  createTask,
  Event,
  getRunningLoop,
  Lock,
  ReleaseGuard,
  run,
  sleep,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

/** Lets every runnable task run until it waits again (a few loop iterations). */
async function settle(iterations = 3): Promise<void> {
  for (let i = 0; i < iterations; i++) await sleep(0);
}

/** Yields until `condition()` holds (failing after 100 loop iterations). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await sleep(0);
  assert.ok(condition(), "condition not reached");
}

describe("Lock", () => {
  test("step by step as asyncio's test_acquire: each release lets exactly the next waiter run its step to the end", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      const result: number[] = [];
      await lock.acquire();
      const waiter = (n: number) => async () => {
        await lock.acquire();
        result.push(n);
        return true;
      };
      const t1 = createTask(waiter(1));
      const t2 = createTask(waiter(2));
      await sleep(0);
      assert.deepEqual(result, []);
      lock.release();
      await sleep(0);
      assert.deepEqual(result, [1]);
      assert.equal(t1.done(), true);
      assert.equal(t1.result(), true);
      await sleep(0);
      assert.deepEqual(result, [1]);
      const t3 = createTask(waiter(3));
      lock.release();
      await sleep(0);
      assert.deepEqual(result, [1, 2]);
      assert.equal(t2.done(), true);
      lock.release();
      await sleep(0);
      assert.deepEqual(result, [1, 2, 3]);
      assert.equal(t3.done(), true);
      lock.release();
      assert.equal(lock.locked(), false);
    });
  });

  test("its inspect string shows the state and the number of waiters, as asyncio's repr", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      assert.equal(String(lock), "<Lock [unlocked]>");
      assert.equal(inspect(lock), "<Lock [unlocked]>");
      await lock.acquire();
      assert.equal(String(lock), "<Lock [locked]>");
      const waiters = [createTask(() => lock.acquire()), createTask(() => lock.acquire())];
      await settle();
      assert.equal(inspect(lock), "<Lock [locked, waiters:2]>");
      for (const w of waiters) w.cancel();
      await settle();
      assert.equal(String(lock), "<Lock [locked]>");
    });
  });

  test("waiters acquire in arrival order, one per release", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      const result: number[] = [];
      await lock.acquire();
      const c = (n: number) => async () => {
        await lock.acquire();
        result.push(n);
        return true;
      };
      const t1 = createTask(c(1));
      const t2 = createTask(c(2));
      await settle();
      assert.deepEqual(result, []);

      lock.release();
      await settle();
      assert.deepEqual(result, [1]);
      await settle();
      assert.deepEqual(result, [1]);

      const t3 = createTask(c(3));
      lock.release();
      await settle();
      assert.deepEqual(result, [1, 2]);

      lock.release();
      await settle();
      assert.deepEqual(result, [1, 2, 3]);
      for (const t of [t1, t2, t3]) assert.equal(await t, true);
      assert.equal(lock.locked(), true);
    });
  });

  test("a cancelled acquire() rejects with CancelledError and leaves no waiter behind", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      await lock.acquire();
      const task = createTask(() => lock.acquire());
      getRunningLoop().callSoon(() => task.cancel());
      await assert.rejects(async () => await task, CancelledError);
      assert.equal(lock.statistics().waiters, 0);
      assert.equal(lock.locked(), true);
    });
  });

  test("a waiter cancelled while the holder releases does not block the next waiter", async () => {
    // A holds the lock; B and C wait. B is cancelled as A releases: C must get the lock.
    await runVirtual(async () => {
      const lock = new Lock();
      const lockit = async (blocker: Promise<void> | null) => {
        await lock.acquire();
        try {
          if (blocker !== null) await blocker;
        } finally {
          lock.release();
        }
      };
      let unblockA!: () => void;
      const blockA = new Promise<void>((resolve) => {
        unblockA = resolve;
      });
      const ta = createTask(() => lockit(blockA));
      await settle();
      assert.equal(lock.locked(), true);
      const tb = createTask(() => lockit(null));
      await settle();
      assert.equal(lock.statistics().waiters, 1);
      const tc = createTask(() => lockit(null));
      await settle();
      assert.equal(lock.statistics().waiters, 2);

      unblockA();
      tb.cancel();
      await settle();
      assert.equal(ta.done(), true);
      assert.equal(tb.cancelled(), true);
      await tc;
      assert.equal(lock.locked(), false);
    });
  });

  test("cancelling one waiter and releasing at once lets exactly one waiter in (bpo-32734)", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      let lockCount = 0;
      let callCount = 0;
      const lockit = async () => {
        callCount++;
        await lock.acquire();
        lockCount++;
      };
      await lock.acquire();
      const t1 = createTask(lockit);
      const t2 = createTask(lockit);
      const t3 = createTask(lockit);
      await settle();
      getRunningLoop().callSoon(() => {
        t1.cancel();
        lock.release();
      });
      await assert.rejects(async () => await t1, CancelledError);
      await settle();
      assert.equal(lockCount, 1);
      assert.equal(callCount, 3);
      assert.equal(t1.cancelled(), true);
      assert.equal(t2.done(), true);
      assert.equal(t3.done(), false);
      t3.cancel();
      await settle();
      assert.equal(t3.cancelled(), true);
    });
  });

  test("two cancel() calls before a waiter resumes deliver one CancelledError, as asyncio", async () => {
    await runVirtual(async () => {
      // asyncio's Task.__step consumes _must_cancel with the cancelled wait: CPython 3.13 prints
      // "cancelled 2" then "next wait ok".
      const lock = new Lock();
      await lock.acquire();
      const log: string[] = [];
      const waiter = createTask(async () => {
        try {
          await lock.acquire();
        } catch (e) {
          assert.ok(e instanceof CancelledError);
          log.push(`cancelled ${waiter.cancelling()}`);
        }
        await gate.wait();
        log.push("next wait ok");
      });
      const gate = new Event();
      await settle();
      waiter.cancel();
      waiter.cancel();
      await settle();
      gate.set();
      await waiter;
      assert.deepEqual(log, ["cancelled 2", "next wait ok"]);
      assert.equal(lock.locked(), true);
    });
  });

  test("a newcomer gets the lock when the only waiter was cancelled before the release", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      await lock.acquire();
      const tb = createTask(() => lock.acquire());
      await settle();
      assert.equal(lock.statistics().waiters, 1);
      const tc = createTask(() => lock.acquire());
      tb.cancel();
      lock.release();
      await settle();
      assert.equal(lock.locked(), true);
      assert.equal(tb.cancelled(), true);
      await tc;
    });
  });

  test("a waiter woken and then cancelled before it resumed hands the lock to the next waiter", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      await lock.acquire();
      const order: string[] = [];
      const waiter = (name: string) =>
        createTask(async () => {
          await lock.acquire();
          order.push(name);
          lock.release();
        });
      const b = waiter("b");
      const c = waiter("c");
      await settle();
      lock.release(); // b is woken: the lock is handed to it...
      b.cancel(); // ...but it is cancelled before it runs
      await assert.rejects(async () => await b, CancelledError);
      await c;
      assert.deepEqual(order, ["c"]);
      assert.equal(lock.locked(), false);
      assert.equal(lock.statistics().waiters, 0);
    });
  });

  test("nobody barges: a newcomer queues behind a woken waiter that has not resumed yet", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      await lock.acquire();
      const order: string[] = [];
      const first = createTask(async () => {
        await lock.acquire();
        order.push("first");
        lock.release();
      });
      await settle();
      lock.release();
      assert.equal(lock.locked(), false, "released, handed to the woken waiter");
      const newcomer = lock.acquire().then((guard) => {
        order.push("newcomer");
        guard.release();
      });
      await first;
      await newcomer;
      assert.deepEqual(order, ["first", "newcomer"]);
    });
  });

  test("an uncontended acquire() and release() cost at most two promise turns", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
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
      const guard = await lock.acquire();
      guard.release();
      const cost = turns - before;
      counting = false;
      await counter;
      assert.ok(cost <= 2, `took ${cost} promise turns`);
    });
  });

  test("releasing an unlocked lock throws RuntimeError and the lock stays usable", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      assert.throws(() => lock.release(), {
        name: "RuntimeError",
        message: "Lock is not acquired.",
      });
      await lock.acquire();
      assert.equal(lock.locked(), true);
      lock.release();
      assert.equal(lock.locked(), false);
    });
  });

  test("await using releases the lock at the end of the block, even when the block throws", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      {
        await using guard = await lock.acquire();
        assert.ok(guard instanceof ReleaseGuard);
        assert.equal(lock.locked(), true);
      }
      assert.equal(lock.locked(), false);
      await assert.rejects(async () => {
        await using _ = await lock.acquire();
        throw new Error("boom");
      }, /boom/);
      assert.equal(lock.locked(), false);
      {
        using _ = await lock.acquire();
        assert.equal(lock.locked(), true);
      }
      assert.equal(lock.locked(), false);
    });
  });

  test("a guard releases once: release() again and its disposers do nothing more", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      const guard = await lock.acquire();
      assert.equal(String(guard), "<ReleaseGuard held Lock>");
      guard.release();
      assert.equal(guard.released, true);
      assert.equal(String(guard), "<ReleaseGuard released Lock>");
      const other = await lock.acquire(); // someone else holds it now
      guard.release();
      guard[Symbol.dispose]();
      await guard[Symbol.asyncDispose]();
      assert.equal(lock.locked(), true, "the stale guard did not release the new holder's lock");
      other.release();
    });
  });

  test("hold(fn) runs fn with the lock held, returns its value and releases when it throws", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      assert.equal(await lock.hold(() => lock.locked()), true);
      assert.equal(lock.locked(), false);
      await assert.rejects(
        lock.hold(async () => {
          await sleep(5);
          throw new Error("inside");
        }),
        /inside/,
      );
      assert.equal(lock.locked(), false);
      await assert.rejects(lock.hold(42 as never), {
        name: "TypeError",
        message: "Expected `fn` to be a function, got `42` (number)",
      });
      assert.equal(lock.locked(), false);
    });
  });

  test("statistics() names the owning task and counts waiters", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      assert.deepEqual(lock.statistics(), { locked: false, owner: null, waiters: 0 });
      const holder = createTask(
        async () => {
          await lock.acquire();
          await sleep(100);
          lock.release();
        },
        { name: "holder" },
      );
      const waiter = createTask(async () => {
        await sleep(1);
        await lock.hold(() => {});
      });
      await sleep(50);
      const stats = lock.statistics();
      assert.equal(stats.locked, true);
      assert.equal(stats.owner, holder);
      assert.equal(stats.waiters, 1);
      assert.deepEqual(waiter.getStack(), ["waiting on <Lock [locked, waiters:1]>.acquire()"]);
      await waiter;
      assert.deepEqual(lock.statistics(), { locked: false, owner: null, waiters: 0 });
    });
  });

  test("a lock can be created and taken uncontended outside a loop; waiting needs a running loop", async () => {
    const lock = new Lock();
    const guard = await lock.acquire();
    await assert.rejects(lock.acquire(), {
      name: "RuntimeError",
      message: "no running event loop: start your program with run(main)",
    });
    assert.equal(lock.statistics().waiters, 0);
    guard.release();
    await runVirtual(async () => {
      await lock.hold(() => {});
    });
  });

  test("a lock bound to one running loop refuses to make a task of another loop wait", async () => {
    const lock = new Lock();
    let releaseA!: () => void;
    const holding = new Promise<void>((resolve) => {
      releaseA = resolve;
    });
    const a = runVirtual(async () => {
      await lock.acquire();
      const waiter = createTask(() => lock.acquire()); // binds the lock to loop A
      await sleep(10);
      await holding;
      lock.release();
      (await waiter).release();
    });
    const b = run(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await assert.rejects(lock.acquire(), {
          name: "RuntimeError",
          message: /^<Lock \[locked, waiters:1\]> is bound to a different event loop$/,
        });
      },
      { handleSignals: false },
    );
    await b;
    releaseA();
    await a;
    // Loop A is closed now: the lock may serve another loop.
    await runVirtual(async () => {
      await lock.acquire();
      const t = createTask(() => lock.acquire());
      await settle();
      lock.release();
      (await t).release();
    });
  });
});

describe("Event", () => {
  test("its inspect string shows set/unset and the number of waiters", async () => {
    await runVirtual(async () => {
      const ev = new Event();
      assert.equal(String(ev), "<Event [unset]>");
      const w = createTask(() => ev.wait());
      await settle();
      assert.equal(inspect(ev), "<Event [unset, waiters:1]>");
      ev.set();
      assert.equal(await w, true);
      assert.equal(String(ev), "<Event [set]>");
    });
  });

  test("set() wakes every waiter, and wait() on a set event returns at once", async () => {
    await runVirtual(async () => {
      const ev = new Event();
      assert.equal(ev.isSet(), false);
      const result: number[] = [];
      const c = (n: number) => async () => {
        if (await ev.wait()) result.push(n);
      };
      const t1 = createTask(c(1));
      const t2 = createTask(c(2));
      await settle();
      assert.deepEqual(result, []);
      const t3 = createTask(c(3)); // starts after set(): does not wait at all
      ev.set();
      await settle();
      // asyncio prints [3, 1, 2] (t3 never suspends); here the order within one loop iteration is
      // decided by microtask turns, so only the set of woken tasks is pinned.
      assert.deepEqual([...result].sort(), [1, 2, 3]);
      for (const t of [t1, t2, t3]) assert.equal(t.done(), true);
      assert.equal(await ev.wait(), true);
    });
  });

  test("a cancelled wait() leaves no waiter behind", async () => {
    await runVirtual(async () => {
      const ev = new Event();
      const wait = createTask(() => ev.wait());
      getRunningLoop().callSoon(() => wait.cancel());
      await assert.rejects(async () => await wait, CancelledError);
      assert.deepEqual(ev.statistics(), { set: false, waiters: 0 });
    });
  });

  test("clear() resets the flag", async () => {
    await runVirtual(async () => {
      const ev = new Event();
      ev.set();
      assert.equal(ev.isSet(), true);
      ev.clear();
      assert.equal(ev.isSet(), false);
    });
  });

  test("a waiter woken by set() returns even if the event is cleared before it runs", async () => {
    await runVirtual(async () => {
      const ev = new Event();
      const result: number[] = [];
      const t = createTask(async () => {
        if (await ev.wait()) result.push(1);
        return true;
      });
      await settle();
      ev.set();
      ev.clear();
      assert.equal(ev.isSet(), false);
      ev.set();
      ev.set();
      assert.equal(ev.statistics().waiters, 1, "woken, not yet resumed");
      await settle();
      assert.deepEqual(result, [1]);
      assert.equal(ev.statistics().waiters, 0);
      assert.equal(await t, true);
    });
  });

  test("waiting on an unset event outside a loop is a RuntimeError", async () => {
    const ev = new Event();
    await assert.rejects(ev.wait(), { name: "RuntimeError", message: /no running event loop/ });
    ev.set();
    assert.equal(await ev.wait(), true, "a set event needs no loop");
  });
});

describe("Condition", () => {
  test("wait() returns to notified waiters in order, each once it holds the lock again", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      const result: number[] = [];
      const c = (n: number) => async () => {
        await cond.acquire();
        if (await cond.wait()) result.push(n);
        return true;
      };
      const t1 = createTask(c(1));
      const t2 = createTask(c(2));
      const t3 = createTask(c(3));
      await until(() => cond.statistics().waiters === 3);
      assert.deepEqual(result, []);
      assert.equal(cond.locked(), false);

      await cond.acquire();
      cond.notify();
      await settle();
      assert.deepEqual(result, [], "notified, but the lock is still ours");
      assert.equal(cond.locked(), true);

      cond.release();
      await settle();
      assert.deepEqual(result, [1]);
      assert.equal(cond.locked(), true, "t1 returned holding the lock");

      cond.notify(2);
      await settle();
      assert.deepEqual(result, [1]);

      cond.release();
      await settle();
      assert.deepEqual(result, [1, 2]);
      cond.release();
      await settle();
      assert.deepEqual(result, [1, 2, 3]);
      assert.equal(cond.locked(), true);
      for (const t of [t1, t2, t3]) assert.equal(await t, true);
    });
  });

  test("a cancelled wait() re-acquires the lock before the CancelledError arrives", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      await cond.acquire();
      const wait = createTask(async () => {
        try {
          await cond.wait();
        } finally {
          assert.equal(cond.locked(), true, "the lock is held again in finally");
        }
      });
      getRunningLoop().callSoon(() => wait.cancel());
      await assert.rejects(async () => await wait, CancelledError);
      assert.equal(cond.statistics().waiters, 0);
      assert.equal(cond.locked(), true);
    });
  });

  test("a waiter notified and cancelled while the lock is contended still ends up holding it", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      await cond.acquire();
      const waitTask = createTask(() => cond.wait());
      await settle();
      assert.equal(cond.locked(), false);
      await cond.acquire();
      cond.notify();
      const loop = getRunningLoop();
      loop.callSoon(() => waitTask.cancel());
      loop.callSoon(() => cond.release());
      try {
        await waitTask;
      } catch (error) {
        assert.ok(error instanceof CancelledError);
      }
      assert.equal(cond.locked(), true);
    });
  });

  test("a waiter cancelled while re-acquiring the lock after notify ends cancelled (bpo-32841)", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      let waited = false;
      const waiter = createTask(async () => {
        await cond.hold(async () => {
          waited = true;
          await cond.wait();
        });
      });
      await settle();
      await cond.acquire();
      cond.notify();
      await settle(); // the waiter now waits to re-acquire the lock
      waiter.cancel();
      await settle();
      cond.release();
      await settle();
      assert.equal(waiter.cancelled(), true);
      assert.equal(waited, true);
      assert.equal(cond.locked(), false, "hold() released after the cancelled wait re-acquired");
    });
  });

  test("a notified waiter cancelled before it resumes passes the notification on", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      const woke: string[] = [];
      const waiter = (name: string) =>
        createTask(() =>
          cond.hold(async () => {
            await cond.wait();
            woke.push(name);
          }),
        );
      const a = waiter("a");
      const b = waiter("b");
      await settle();
      await cond.hold(() => {
        cond.notify(1);
        a.cancel();
      });
      await assert.rejects(async () => await a, CancelledError);
      await b;
      assert.deepEqual(woke, ["b"]);
    });
  });

  test("wait() without holding the lock is a RuntimeError", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      await assert.rejects(cond.wait(), {
        name: "RuntimeError",
        message: "cannot wait on un-acquired lock",
      });
      assert.equal(cond.statistics().waiters, 0);
    });
  });

  test("waitFor(predicate) waits until the predicate holds and returns its value", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      let presult = false;
      const result: number[] = [];
      const t = createTask(async () => {
        await cond.acquire();
        if (await cond.waitFor(() => presult)) {
          result.push(1);
          cond.release();
        }
        return true;
      });
      await settle();
      assert.deepEqual(result, []);
      await cond.hold(() => cond.notify());
      await settle();
      assert.deepEqual(result, [], "notified, but the predicate is still false");
      presult = true;
      await cond.hold(() => cond.notify());
      await settle();
      assert.deepEqual(result, [1]);
      assert.equal(await t, true);
    });
  });

  test("waitFor() returns a true predicate's value at once, lock or not, and needs the lock to wait", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      assert.deepEqual(await cond.waitFor(() => [1, 2, 3]), [1, 2, 3]);
      await assert.rejects(
        cond.waitFor(() => false),
        { name: "RuntimeError" },
      );
      await assert.rejects(cond.waitFor(null as never), { name: "TypeError" });
      await cond.acquire();
      await assert.rejects(
        cond.waitFor(async () => true),
        {
          name: "TypeError",
          message: /predicate.*promise/,
        },
      );
      cond.release();
    });
  });

  test("notify(n) wakes n waiters and notifyAll() wakes all", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      const result: number[] = [];
      const c = (n: number) => async () => {
        await cond.acquire();
        if (await cond.wait()) {
          result.push(n);
          cond.release();
        }
      };
      const tasks = [createTask(c(1)), createTask(c(2)), createTask(c(3))];
      await settle();
      await cond.hold(() => cond.notify(1));
      await settle();
      assert.deepEqual(result, [1]);
      await cond.hold(() => {
        cond.notify(1);
        cond.notify(2048);
      });
      await settle();
      assert.deepEqual(result, [1, 2, 3]);
      for (const t of tasks) await t;

      const more = [createTask(c(4)), createTask(c(5))];
      await settle();
      await cond.hold(() => cond.notifyAll());
      await settle();
      assert.deepEqual(result, [1, 2, 3, 4, 5]);
      for (const t of more) await t;
    });
  });

  test("notify() and notifyAll() without the lock are RuntimeErrors; a bad n is rejected", async () => {
    const cond = new Condition();
    assert.throws(() => cond.notify(), {
      name: "RuntimeError",
      message: "cannot notify on un-acquired lock",
    });
    assert.throws(() => cond.notifyAll(), { name: "RuntimeError" });
    await runVirtual(async () => {
      await cond.acquire();
      assert.throws(() => cond.notify(-1), { name: "RangeError" });
      assert.throws(() => cond.notify(1.5), { name: "RangeError" });
      assert.throws(() => cond.notify("2" as never), { name: "TypeError" });
      cond.notify(0);
      cond.notify(Number.POSITIVE_INFINITY);
      cond.release();
    });
  });

  test("its inspect string shows the lock state and the waiters", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      assert.equal(String(cond), "<Condition [unlocked]>");
      await cond.acquire();
      assert.equal(inspect(cond), "<Condition [locked]>");
      const ws = [createTask(() => cond.hold(() => cond.wait()))];
      cond.release();
      ws.push(createTask(() => cond.hold(() => cond.wait())));
      await settle();
      assert.equal(String(cond), "<Condition [unlocked, waiters:2]>");
      assert.deepEqual(cond.statistics(), {
        waiters: 2,
        lock: { locked: false, owner: null, waiters: 0 },
      });
      for (const w of ws) w.cancel();
      await settle();
    });
  });

  test("a condition can share an explicit lock, and both views agree", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      const cond = new Condition(lock);
      assert.equal(cond.locked(), false);
      await cond.hold(() => {
        assert.equal(lock.locked(), true);
        assert.equal(cond.locked(), true);
      });
      assert.equal(lock.locked(), false);
      await lock.hold(() => assert.equal(cond.locked(), true));
      assert.equal(cond.locked(), false);
      assert.throws(() => new Condition({} as never), {
        name: "TypeError",
        message: "Expected `lock` to be a Lock, got `[object Object]` (object)",
      });
    });
  });

  test("a wait() cut short by a deadline still holds the lock afterwards", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      await cond.acquire();
      const task = createTask(async () => {
        const t0 = getRunningLoop().time();
        await assert.rejects(cond.wait(), CancelledError);
        return getRunningLoop().time() - t0;
      });
      // Stands in for timeout(500, …): the deadline cancels the waiting task.
      getRunningLoop().callLater(500, () => task.cancel());
      await settle();
      assert.equal(cond.locked(), false, "released while waiting");
      assert.equal(await task, 500);
      assert.equal(cond.locked(), true);
    });
  });
});

describe("constructors that take no arguments", () => {
  test("new Lock(x) and new Event(x) are TypeErrors, as asyncio refuses Lock(loop=...) (test_lock_doesnt_accept_loop_parameter)", () => {
    const loopLike = { loop: {} };
    for (const [name, make] of [
      ["Lock", () => new (Lock as unknown as new (x: unknown) => Lock)(loopLike)],
      ["Event", () => new (Event as unknown as new (x: unknown) => Event)(loopLike)],
    ] as const) {
      assert.throws(make, {
        name: "TypeError",
        message: `${name}() takes no arguments, got 1 (it binds to the running loop on first use; there is no loop parameter)`,
      });
    }
    // Condition, Semaphore and BoundedSemaphore refuse one already: it is not a Lock, not a count.
    assert.throws(
      () => new (Condition as unknown as new (x: unknown) => Condition)(loopLike),
      TypeError,
    );
    assert.equal(new Lock().locked(), false);
    assert.equal(new Event().isSet(), false);
  });
});

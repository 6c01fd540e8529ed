/**
 * Conformance gap audit: scenarios of CPython's test_locks, test_queues, test_streams and
 * test_server that the other files leave out or pin only loosely (after several loop
 * iterations, or "eventually"), written here with CPython's own step count: where CPython checks
 * the state after one `sleep(0)`, so do these tests. The synchronisation and queue scenarios run
 * on the virtual clock; the socket ones on 127.0.0.1 with ports chosen by the OS, with hang
 * guards and no assertions on durations. Every applicable scenario of test_subprocess and
 * test_threads is already pinned by conformance-subprocess.test.ts and
 * conformance-executors.test.ts (their headers list the ones that do not apply).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Barrier,
  BrokenBarrierError,
  CancelledError,
  Condition,
  createSubprocessExec,
  createTask,
  Event,
  gather,
  getRunningLoop,
  LimitOverrunError,
  Lock,
  openConnection,
  Queue,
  QueueShutDown,
  Runner,
  RuntimeError,
  Semaphore,
  StreamReader,
  type StreamWriter,
  sleep,
  startServer,
  type Task,
  taskGroup,
} from "../src/index.ts";
import { errorOf, GUARD, quietRun, runVirtual, until } from "./helpers.ts";

describe("gap: the primitives are not awaitable themselves", () => {
  test("awaiting a Lock, Condition, Semaphore or Barrier object acquires nothing: none is a thenable (test_lock, test_semaphore, test_barrier, test_lock_by_with_statement)", async () => {
    await runVirtual(async () => {
      const lock = new Lock();
      const cond = new Condition();
      const sem = new Semaphore();
      const barrier = new Barrier(5);
      for (const primitive of [lock, cond, sem, barrier]) {
        assert.equal("then" in primitive, false, `${primitive} has no then()`);
        assert.equal(await (primitive as unknown), primitive);
      }
      assert.equal(lock.locked(), false);
      assert.equal(cond.locked(), false);
      assert.equal(sem.locked(), false);
      assert.equal(sem.statistics().value, 1);
      assert.match(String(barrier), /filling/);
    });
  });
});

describe("gap: Lock, step by step", () => {
  test("a loop callback cancels the first of three waiters and releases: exactly one task gets the lock (test_cancel_release_race, bpo-32734)", async () => {
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
      await sleep(0);
      getRunningLoop().callSoon(() => {
        t1.cancel();
        lock.release();
      });
      assert.ok((await errorOf(t1)) instanceof CancelledError);
      assert.equal(lockCount, 1);
      assert.equal(callCount, 3);
      assert.equal(t1.cancelled(), true);
      assert.equal(t2.done(), true);
      t3.cancel();
      await sleep(0);
      assert.equal(t3.cancelled(), true);
    });
  });
});

describe("gap: Event, step by step", () => {
  test("set() with two waiters and a task created just before: after one sleep(0) the order is 3, 1, 2 (test_wait)", async () => {
    await runVirtual(async () => {
      const ev = new Event();
      assert.equal(ev.isSet(), false);
      const result: number[] = [];
      const c = (n: number) => async () => {
        if (await ev.wait()) result.push(n);
      };
      const t1 = createTask(c(1));
      const t2 = createTask(c(2));
      await sleep(0);
      assert.deepEqual(result, []);
      const t3 = createTask(c(3));
      ev.set();
      await sleep(0);
      assert.deepEqual(result, [3, 1, 2]);
      for (const t of [t1, t2, t3]) {
        assert.equal(t.done(), true);
        assert.equal(t.result(), undefined);
      }
    });
  });
});

describe("gap: Condition, step by step", () => {
  test("notify() under the lock wakes nobody until release(); each release() lets one notified waiter run (test_wait)", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      const result: number[] = [];
      const c = (n: number) => async () => {
        await cond.acquire();
        if (await cond.wait()) result.push(n);
        return true;
      };
      const tasks = [createTask(c(1)), createTask(c(2)), createTask(c(3))];
      await sleep(0);
      assert.deepEqual(result, []);
      assert.equal(cond.locked(), false);

      await cond.acquire();
      cond.notify();
      await sleep(0);
      assert.deepEqual(result, []);
      assert.equal(cond.locked(), true);

      cond.release();
      await sleep(0);
      assert.deepEqual(result, [1]);
      assert.equal(cond.locked(), true);

      cond.notify(2);
      await sleep(0);
      assert.deepEqual(result, [1]);
      assert.equal(cond.locked(), true);

      cond.release();
      await sleep(0);
      assert.deepEqual(result, [1, 2]);
      assert.equal(cond.locked(), true);

      cond.release();
      await sleep(0);
      assert.deepEqual(result, [1, 2, 3]);
      assert.equal(cond.locked(), true);
      for (const t of tasks) {
        assert.equal(t.done(), true);
        assert.equal(t.result(), true);
      }
    });
  });

  test("notified, then cancelled and released from loop callbacks: the waiter ends holding the lock, without a CancelledError (test_wait_cancel_contested)", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      await cond.acquire();
      assert.equal(cond.locked(), true);
      const waitTask = createTask(() => cond.wait());
      await sleep(0);
      assert.equal(cond.locked(), false);

      await cond.acquire();
      assert.equal(cond.locked(), true);
      cond.notify();
      getRunningLoop().callSoon(() => waitTask.cancel());
      getRunningLoop().callSoon(() => cond.release());
      try {
        await waitTask;
      } catch (error) {
        // CPython allows a CancelledError here too; what matters is who holds the lock.
        assert.ok(error instanceof CancelledError);
      }
      assert.equal(cond.locked(), true);
    });
  });

  test("notified, then cancelled while it waits to re-acquire the lock: it ends cancelled after reaching its body (test_wait_cancel_after_notify, bpo-32841)", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      let waited = false;
      const waiter = createTask(async () => {
        await cond.acquire();
        try {
          waited = true;
          await cond.wait();
        } finally {
          cond.release();
        }
      });
      await sleep(0);
      await cond.acquire();
      cond.notify();
      await sleep(0);
      waiter.cancel();
      await sleep(0);
      cond.release();
      await sleep(0);
      assert.equal(waiter.cancelled(), true);
      assert.equal(waited, true);
    });
  });

  test("waitFor(predicate) goes back to waiting after a notify while the predicate is false, and returns after the next one (test_wait_for)", async () => {
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
      await sleep(0);
      assert.deepEqual(result, []);

      await cond.acquire();
      cond.notify();
      cond.release();
      await sleep(0);
      assert.deepEqual(result, []);

      presult = true;
      await cond.acquire();
      cond.notify();
      cond.release();
      await sleep(0);
      assert.deepEqual(result, [1]);
      assert.equal(t.done(), true);
      assert.equal(t.result(), true);
    });
  });

  test("notify(1) lets one waiter run; notify(1) then notify(2048) wakes the other two, each in one sleep(0) (test_notify)", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      const result: number[] = [];
      const c = (n: number) => async () => {
        await cond.acquire();
        if (await cond.wait()) {
          result.push(n);
          cond.release();
        }
        return true;
      };
      const tasks = [createTask(c(1)), createTask(c(2)), createTask(c(3))];
      await sleep(0);
      assert.deepEqual(result, []);

      await cond.acquire();
      cond.notify(1);
      cond.release();
      await sleep(0);
      assert.deepEqual(result, [1]);

      await cond.acquire();
      cond.notify(1);
      cond.notify(2048);
      cond.release();
      await sleep(0);
      assert.deepEqual(result, [1, 2, 3]);
      for (const t of tasks) assert.equal(t.result(), true);
    });
  });

  test("notifyAll() wakes both waiters, which run in one sleep(0) after the release (test_notify_all)", async () => {
    await runVirtual(async () => {
      const cond = new Condition();
      const result: number[] = [];
      const c = (n: number) => async () => {
        await cond.acquire();
        if (await cond.wait()) {
          result.push(n);
          cond.release();
        }
        return true;
      };
      const tasks = [createTask(c(1)), createTask(c(2))];
      await sleep(0);
      assert.deepEqual(result, []);
      await cond.acquire();
      cond.notifyAll();
      cond.release();
      await sleep(0);
      assert.deepEqual(result, [1, 2]);
      for (const t of tasks) assert.equal(t.result(), true);
    });
  });
});

describe("gap: a Condition and its Lock bound to another running loop", () => {
  test("Condition(lock).acquire() on a lock bound to another loop, and wait() on a condition bound to another loop, throw RuntimeError; wait() leaves the lock held (test_ambiguous_loops)", async () => {
    const lock = new Lock();
    const boundCond = new Condition();
    let bound!: () => void;
    const isBound = new Promise<void>((resolve) => {
      bound = resolve;
    });
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const loopA = runVirtual(async () => {
      // A task of loop A waits on each: both are bound to loop A while it runs.
      await lock.acquire();
      const lockWaiter = createTask(() => lock.acquire());
      await sleep(0);
      lock.release();
      (await lockWaiter).release();
      const condWaiter = createTask(async () => {
        await boundCond.acquire();
        try {
          await boundCond.wait();
        } finally {
          boundCond.release();
        }
      });
      await sleep(0);
      bound();
      await finished;
      await boundCond.acquire();
      boundCond.notifyAll();
      boundCond.release();
      await condWaiter;
    });
    await runVirtual(async () => {
      await isBound;
      // Free, so taken without waiting: no loop is involved.
      await lock.acquire();
      const cond = new Condition(lock);
      const acquireError = await errorOf(cond.acquire());
      assert.ok(acquireError instanceof RuntimeError);
      assert.match(acquireError.message, /is bound to a different event loop/);
      lock.release();

      await boundCond.acquire();
      const waitError = await errorOf(boundCond.wait());
      assert.ok(waitError instanceof RuntimeError);
      assert.match(waitError.message, /is bound to a different event loop/);
      assert.equal(boundCond.locked(), true);
      boundCond.release();
    });
    finish();
    await loopA;
  });
});

describe("gap: Semaphore, step by step", () => {
  test("three permits, two taken: after one sleep(0) one of three waiters got in; two releases serve two more in the next (test_acquire)", async () => {
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
      await sleep(0);
      assert.deepEqual(result, [1]);
      assert.equal(sem.locked(), true);
      assert.equal(sem.statistics().waiters, 2);
      assert.equal(sem.statistics().value, 0);

      const t4 = createTask(c(4));
      sem.release();
      sem.release();
      assert.equal(sem.statistics().value, 0);
      await sleep(0);
      assert.equal(sem.statistics().value, 0);
      assert.equal(result.length, 3);
      assert.equal(sem.locked(), true);
      assert.equal(sem.statistics().waiters, 1);
      assert.equal(t1.done(), true);
      assert.equal(t1.result(), true);
      const raced = [t2, t3, t4];
      assert.equal(raced.filter((t) => t.done() && t.result()).length, 2);
      sem.release();
      await gather(raced);
    });
  });

  test("the first of two waiters cancelled, then one release: the second has it two sleeps later and the semaphore is locked again (test_acquire_hang)", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(0);
      const t1 = createTask(() => sem.acquire());
      const t2 = createTask(() => sem.acquire());
      await sleep(0);
      t1.cancel();
      sem.release();
      await sleep(0);
      await sleep(0);
      assert.equal(sem.locked(), true);
      assert.equal(t2.done(), true);
    });
  });

  test("a holder that cancels the second task after releasing: that task never enters, and the permit is free (test_acquire_no_hang)", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(1);
      let entered = false;
      let t2: Task<void> | null = null;
      const t1 = createTask(async () => {
        await sem.hold(() => sleep(0));
        t2?.cancel();
      });
      t2 = createTask(async () => {
        await sem.hold(async () => {
          entered = true;
        });
      });
      const [r1, r2] = await gather([t1, t2], { returnExceptions: true });
      assert.equal(r1, undefined);
      assert.ok(r2 instanceof CancelledError);
      assert.equal(entered, false);
      await sem.acquire(); // at once: the permit came back
      assert.equal(sem.statistics().value, 0);
    });
  });

  test("three tasks that each take the permit twice, sleeping 10 ms while holding it, go in strict turn (test_acquire_fifo_order)", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(1);
      const result: string[] = [];
      const coro = (tag: string) => async () => {
        for (const round of [1, 2]) {
          await sem.acquire();
          result.push(`${tag}_${round}`);
          await sleep(10);
          sem.release();
        }
      };
      await taskGroup(async (tg) => {
        tg.createTask(coro("c1"));
        tg.createTask(coro("c2"));
        tg.createTask(coro("c3"));
      });
      assert.deepEqual(result, ["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]);
    });
  });

  test("three releases by a task while others wait: the woken hold the permits, newcomers queue behind them (test_acquire_fifo_order_4)", async () => {
    await runVirtual(async () => {
      const sem = new Semaphore(0);
      const result: number[] = [];
      const checks: string[] = [];
      let t4: Task<boolean> | null = null;
      const c4 = async () => {
        result.push(4);
        return true;
      };
      const t1 = createTask(async () => {
        checks.push(`c1 before: ${sem.statistics().value}`);
        await sem.acquire();
        checks.push(`c1 after: ${sem.statistics().value}`);
        t4 = createTask(c4); // runs after c3, not after c2
        result.push(1);
        return true;
      });
      const t2 = createTask(async () => {
        sem.release();
        sem.release();
        sem.release();
        checks.push(`c2 released: ${sem.statistics().value} ${sem.locked()}`);
        await sem.acquire();
        result.push(2);
        return true;
      });
      const t3 = createTask(async () => {
        await sem.acquire();
        checks.push(`c3 in: ${sem.locked()}`);
        result.push(3);
        return true;
      });
      await sleep(0);
      assert.equal(sem.statistics().value, 2);
      assert.equal(sem.statistics().waiters, 3);
      await sleep(0);
      await gather([t1, t2, t3]);
      assert.ok(t4 !== null);
      await t4;
      assert.deepEqual(result, [1, 2, 3, 4]);
      assert.deepEqual(checks, [
        "c1 before: 0",
        "c2 released: 2 true",
        "c1 after: 0",
        "c3 in: true",
      ]);
    });
  });
});

describe("gap: Barrier, step by step", () => {
  test("its inspect string after one sleep(0) each: filling 2/5, draining, resetting, broken (test_repr)", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(5);
      assert.match(String(barrier), /filling/);
      const waiters: Task<number>[] = [];
      const wait = () => createTask(() => barrier.wait());
      for (let i = 0; i < 2; i++) waiters.push(wait());
      await sleep(0);
      assert.match(String(barrier), /waiters:2\/5/);
      assert.match(String(barrier), /filling/);

      for (let i = barrier.nWaiting; i < barrier.parties; i++) waiters.push(wait());
      await sleep(0);
      assert.match(String(barrier), /draining/);

      for (let i = 0; i < 2; i++) waiters.push(wait());
      await sleep(0);
      await barrier.reset();
      assert.match(String(barrier), /resetting/);

      for (let i = 0; i < 2; i++) waiters.push(wait());
      await sleep(0);
      await barrier.abort();
      assert.match(String(barrier), /broken/);
      assert.equal(barrier.broken, true);
      const outcomes = await gather(waiters, { returnExceptions: true });
      assert.equal(outcomes.filter((o) => o instanceof BrokenBarrierError).length, 4);
    });
  });

  test("a barrier of one: each of two waits is done after one sleep(0) with index 0 and nobody left waiting (test_filling_one_task_twice)", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(1);
      const t1 = createTask(() => barrier.wait());
      await sleep(0);
      assert.equal(barrier.nWaiting, 0);
      const t2 = createTask(() => barrier.wait());
      await sleep(0);
      assert.equal(t1.done(), true);
      assert.equal(t2.done(), true);
      assert.equal(t1.result(), t2.result());
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
    });
  });

  test("nWaiting counts one more after each sleep(0), then the third passes them all (test_filling_task_by_task)", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(3);
      const t1 = createTask(() => barrier.wait());
      await sleep(0);
      assert.equal(barrier.nWaiting, 1);
      assert.match(String(barrier), /filling/);
      const t2 = createTask(() => barrier.wait());
      await sleep(0);
      assert.equal(barrier.nWaiting, 2);
      assert.match(String(barrier), /filling/);
      const t3 = createTask(() => barrier.wait());
      await sleep(0);
      const indexes = await gather([t1, t2, t3]);
      assert.deepEqual([...indexes].sort(), [0, 1, 2]);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
    });
  });

  test("a waiter cancelled leaves the count one sleep(0) later; two newcomers complete the round (test_filling_tasks_cancel_one)", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(3);
      const results: boolean[] = [];
      const coro = async () => {
        await barrier.wait();
        results.push(true);
      };
      const t1 = createTask(coro);
      await sleep(0);
      assert.equal(barrier.nWaiting, 1);
      const t2 = createTask(coro);
      await sleep(0);
      assert.equal(barrier.nWaiting, 2);
      t1.cancel();
      await sleep(0);
      assert.equal(barrier.nWaiting, 1);
      assert.ok((await errorOf(t1)) instanceof CancelledError);
      assert.equal(t1.cancelled(), true);
      const t3 = createTask(coro);
      await sleep(0);
      assert.equal(barrier.nWaiting, 2);
      const t4 = createTask(coro);
      await gather([t2, t3, t4]);
      assert.deepEqual(results, [true, true, true]);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
    });
  });

  test("reset() and abort() on an idle barrier of one, from a task, take effect within one sleep(0) (test_reset_barrier, test_abort_barrier)", async () => {
    await runVirtual(async () => {
      const reset = new Barrier(1);
      createTask(() => reset.reset());
      await sleep(0);
      assert.equal(reset.nWaiting, 0);
      assert.equal(reset.broken, false);

      const aborted = new Barrier(1);
      createTask(() => aborted.abort());
      await sleep(0);
      assert.equal(aborted.nWaiting, 0);
      assert.equal(aborted.broken, true);
    });
  });

  test("parties broken by a reset wait again in their finally and pass with a newcomer (test_reset_barrier_while_tasks_waiting_and_waiting_again)", async () => {
    await runVirtual(async () => {
      const n = 5;
      const barrier = new Barrier(n);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const tasks = Array.from({ length: n - 1 }, () =>
        createTask(async () => {
          try {
            await barrier.wait();
          } catch (error) {
            if (!(error instanceof BrokenBarrierError)) throw error;
            results1.push(true);
          } finally {
            await barrier.wait();
            results2.push(true);
          }
        }),
      );
      createTask(() => barrier.reset());
      await sleep(0);
      createTask(async () => {
        await barrier.wait();
        results2.push(true);
      });
      await gather(tasks);
      assert.equal(barrier.broken, false);
      assert.equal(results1.length, n - 1);
      assert.equal(results2.length, n);
      assert.equal(barrier.nWaiting, 0);
    });
  });
});

describe("gap: Queue, step by step", () => {
  test("a putter of three items into a queue of two is blocked after two sleeps; one get() lets it put the third in one sleep(0) (test_maxsize)", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(2);
      assert.equal(q.maxsize, 2);
      const haveBeenPut: number[] = [];
      const t = createTask(async () => {
        for (let i = 0; i < 3; i++) {
          await q.put(i);
          haveBeenPut.push(i);
        }
        return true;
      });
      await sleep(0);
      await sleep(0);
      assert.deepEqual(haveBeenPut, [0, 1]);
      assert.equal(await q.get(), 0);
      await sleep(0);
      assert.deepEqual(haveBeenPut, [0, 1, 2]);
      assert.equal(await q.get(), 1);
      assert.equal(await q.get(), 2);
      assert.equal(t.done(), true);
      assert.equal(t.result(), true);
    });
  });

  test("two puts started as tasks on a queue of one, not yet run: two get()s return their items in order (test_get_with_waiting_putters)", async () => {
    await runVirtual(async () => {
      const q = new Queue<string>(1);
      createTask(() => q.put("a"));
      createTask(() => q.put("b"));
      assert.equal(await q.get(), "a");
      assert.equal(await q.get(), "b");
    });
  });

  test("the first of two getters cancelled and done after one sleep(0); an item put then goes to the second (test_get_cancelled_race)", async () => {
    await runVirtual(async () => {
      const q = new Queue<string>();
      const t1 = createTask(() => q.get());
      const t2 = createTask(() => q.get());
      await sleep(0);
      t1.cancel();
      await sleep(0);
      assert.equal(t1.done(), true);
      await q.put("a");
      await sleep(0);
      assert.equal(await t2, "a");
    });
  });

  test("a blocked putter given room by getNowait() and cancelled: its item is not in, and a retried put() puts it (test_put_cancel_drop)", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(1);
      q.putNowait(1);
      let writer = createTask(() => q.put(2));
      await sleep(0);
      assert.equal(q.getNowait(), 1);
      writer.cancel();
      try {
        await writer;
      } catch (error) {
        assert.ok(error instanceof CancelledError);
        writer = createTask(() => q.put(2));
        await writer;
      }
      assert.equal(q.getNowait(), 2);
      assert.equal(q.qsize(), 0);
    });
  });

  test("shutdown() of an empty queue with a waiting getter: join() returns, the getter is done with QueueShutDown one sleep(0) later (test_shutdown_empty)", async () => {
    await runVirtual(async () => {
      const q = new Queue<string>();
      const getTask = createTask(() => q.get());
      await sleep(0);
      q.shutdown(false);
      assert.equal(q.qsize(), 0);
      await q.join();
      await sleep(0);
      assert.equal(getTask.done(), true);
      assert.ok((await errorOf(getTask)) instanceof QueueShutDown);
      assert.ok((await errorOf(q.put("data"))) instanceof QueueShutDown);
      assert.throws(() => q.putNowait("data"), QueueShutDown);
      assert.ok((await errorOf(q.get())) instanceof QueueShutDown);
      assert.throws(() => q.getNowait(), QueueShutDown);
    });
  });
});

/** The bytes still buffered in `reader`, read without waiting. */
async function buffered(reader: StreamReader): Promise<string> {
  const n = reader.statistics().buffered;
  return n === 0 ? "" : (await reader.readexactly(n)).toString();
}

describe("gap: StreamReader fed by hand", () => {
  test("made outside a loop, a reader reads what is buffered, but a read that has to wait throws RuntimeError instead of pending (test_streamreader_constructor_without_loop)", async () => {
    const reader = new StreamReader();
    reader.feedData("ab");
    assert.equal((await reader.read(1)).toString(), "a");
    assert.equal((await reader.readexactly(1)).toString(), "b");
    for (const read of [
      () => reader.read(1),
      () => reader.readline(),
      () => reader.readexactly(1),
      () => reader.readuntil("|"),
    ]) {
      await assert.rejects(read(), {
        name: "RuntimeError",
        message: "no running event loop: start your program with run(main)",
      });
      assert.equal(reader.statistics().waiting, false);
    }
    reader.feedData("cd\n");
    reader.feedEof();
    assert.equal((await reader.readline()).toString(), "cd\n");
    assert.equal(reader.atEof(), true);
  });

  test("read(5) over two chunks returns the first and leaves the second; readline then read(7) cross a line end (test_read_line_breaks, test_readline_read_byte_count)", async () => {
    await runVirtual(async () => {
      const reader = new StreamReader();
      reader.feedData("line1");
      reader.feedData("line2");
      assert.equal((await reader.read(5)).toString(), "line1");
      assert.equal(await buffered(reader), "line2");

      const lines = new StreamReader();
      lines.feedData("line1\nline2\nline3\n");
      assert.equal((await lines.readline()).toString(), "line1\n");
      assert.equal((await lines.read(7)).toString(), "line2\nl");
      assert.equal(await buffered(lines), "ine3\n");
    });
  });

  test("a readline over a limit of 3 with the line already buffered fails and leaves the next line; without a newline it consumes everything (test_readline_limit_with_existing_data)", async () => {
    await runVirtual(async () => {
      const reader = new StreamReader({ limit: 3 });
      reader.feedData("li");
      reader.feedData("ne1\nline2\n");
      assert.ok((await errorOf(reader.readline())) instanceof RangeError);
      assert.equal(await buffered(reader), "line2\n");

      const noNewline = new StreamReader({ limit: 3 });
      noNewline.feedData("li");
      noNewline.feedData("ne1");
      noNewline.feedData("li");
      assert.ok((await errorOf(noNewline.readline())) instanceof RangeError);
      assert.equal(noNewline.statistics().buffered, 0);
    });
  });

  test("readuntil with two separators takes whichever match ends first, even the longer one (test_readuntil_multi_separator)", async () => {
    await runVirtual(async () => {
      const reader = new StreamReader();
      reader.feedData("line 1\nline 2\r");
      assert.equal((await reader.readuntil(["\r", "\n"])).toString(), "line 1\n");
      assert.equal((await reader.readuntil(["\r", "\n"])).toString(), "line 2\r");
      assert.equal(reader.statistics().buffered, 0);
      reader.feedData("ABCDEFG");
      assert.equal((await reader.readuntil(["DEF", "BCDE"])).toString(), "ABCDE");
      assert.equal(await buffered(reader), "FG");
    });
  });

  test("readuntil with two separators over a limit of 3: the match starts past the limit, LimitOverrunError, the data stays (test_readuntil_multi_separator_limit)", async () => {
    await runVirtual(async () => {
      const reader = new StreamReader({ limit: 3 });
      reader.feedData("some dataA");
      const error = await errorOf(reader.readuntil(["A", "ome dataA"]));
      assert.ok(error instanceof LimitOverrunError);
      assert.match(error.message, /is found/);
      assert.equal(await buffered(reader), "some dataA");
    });
  });

  test("a buffer longer than the short separator but shorter than the long one, then chunks from loop callbacks: the short one is found (test_readuntil_multi_separator_negative_offset)", async () => {
    await runVirtual(async () => {
      const reader = new StreamReader();
      reader.feedData("data");
      const reading = createTask(() => reader.readuntil(["A", "long sep"]));
      getRunningLoop().callSoon(() => reader.feedData("Z"));
      getRunningLoop().callSoon(() => reader.feedData("Aaaa"));
      assert.equal((await reading).toString(), "dataZA");
      assert.equal(await buffered(reader), "aaa");
    });
  });

  test("readexactly, read and readline after setException() fail with that error, bytes buffered or not (test_readexactly_exception, test_read_exception, test_readline_exception)", async () => {
    await runVirtual(async () => {
      for (const read of [
        (r: StreamReader) => r.readexactly(2),
        (r: StreamReader) => r.read(2),
        (r: StreamReader) => r.readline(),
      ]) {
        const reader = new StreamReader();
        reader.feedData("line\n");
        assert.equal((await reader.readexactly(2)).toString(), "li");
        const error = new TypeError("boom");
        reader.setException(error);
        assert.equal(await errorOf(read(reader)), error);
      }
    });
  });
});

describe("gap: servers, step by step", () => {
  /** A handler that reads to EOF, then closes its side and waits for it. */
  const readThenClose = async (reader: StreamReader, writer: StreamWriter): Promise<void> => {
    try {
      await reader.read();
    } finally {
      writer.close();
      await writer.waitClosed();
    }
  };

  test(
    "an echo of one line works with an async handler and with a plain callback that starts its own task; nothing is reported (test_start_server)",
    GUARD,
    () =>
      quietRun(async () => {
        const echoLine = async (reader: StreamReader, writer: StreamWriter): Promise<void> => {
          writer.write(await reader.readline());
          await writer.drain();
          writer.close();
          await writer.waitClosed();
        };
        const started: Task<void>[] = [];
        const handlers = [
          echoLine,
          (reader: StreamReader, writer: StreamWriter): void => {
            started.push(createTask(() => echoLine(reader, writer)));
          },
        ];
        for (const handler of handlers) {
          const server = await startServer(handler, "127.0.0.1", 0);
          const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
          writer.write("hello world!\n");
          assert.equal((await reader.readline()).toString(), "hello world!\n");
          writer.close();
          await writer.waitClosed();
          server.close();
          await server.waitClosed();
        }
        assert.equal(started.length, 1);
        await started[0];
      }),
  );

  test(
    "close() then closeClients(): a pending waitClosed() is done after two sleep(0)s (test_close_clients)",
    GUARD,
    () =>
      quietRun(async () => {
        const server = await startServer(readThenClose, "127.0.0.1", 0);
        const [, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
        await until(() => String(server).includes("clients=1"));
        const waiting = createTask(() => server.waitClosed());
        await sleep(0);
        assert.equal(waiting.done(), false);
        server.close();
        server.closeClients();
        await sleep(0);
        await sleep(0);
        assert.equal(waiting.done(), true);
        writer.close();
        await writer.waitClosed();
      }),
  );

  test(
    "close() then abortClients() with the server's writes backed up: a pending waitClosed() is done after two sleep(0)s (test_abort_clients)",
    GUARD,
    () =>
      quietRun(async () => {
        const accepted = getRunningLoop().createFuture<StreamWriter>();
        const server = await startServer(
          async (_reader, writer) => {
            accepted.setResult(writer);
            await writer.waitClosed().catch(() => {});
          },
          "127.0.0.1",
          0,
        );
        const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port, {
          limit: 4096,
        });
        const serverSide = await accepted;
        const chunk = Buffer.alloc(256 * 1024, 97);
        let draining: Task<void> | null = null;
        for (let written = 0; draining === null; written += chunk.length) {
          assert.ok(written < 1024 * 1024 * 1024, "the kernel took 1 GiB");
          serverSide.write(chunk);
          const drain = createTask(() => serverSide.drain());
          await sleep(0);
          await sleep(0);
          if (!drain.done()) draining = drain;
        }
        await until(() => reader.statistics().paused);
        const waiting = createTask(() => server.waitClosed());
        await sleep(0);
        assert.equal(waiting.done(), false);
        server.close();
        server.abortClients();
        await sleep(0);
        await sleep(0);
        assert.equal(waiting.done(), true);
        await draining.then(
          () => {},
          () => {},
        );
        writer.close();
      }),
  );
});

describe("gap: waiting between a Runner's runs", () => {
  // SPEC.md: whatever has to wait needs a running loop. A Runner's loop between two runs is not
  // running: a server's or a process's wait there fails at once instead of pending unnoticed,
  // and the same wait inside the next run works.
  const NO_LOOP = { name: "RuntimeError", message: /no running event loop/ };

  test("Server.waitClosed() and serveForever() reject with RuntimeError outside a run, and work in the next one", {
    timeout: 20_000,
  }, async () => {
    const runner = new Runner({ handleSignals: false });
    try {
      const server = await runner.run(() => startServer(() => {}, "127.0.0.1", 0));
      await assert.rejects(server.waitClosed(), NO_LOOP);
      await assert.rejects(server.serveForever(), NO_LOOP);
      assert.equal(server.isServing(), true);
      await runner.run(async () => {
        const serving = createTask(() => server.serveForever());
        await sleep(0);
        serving.cancel();
        await assert.rejects(async () => serving, CancelledError);
        await server.waitClosed();
      });
      assert.equal(server.isServing(), false);
      await server.waitClosed(); // closed, nothing to wait for: no loop needed
    } finally {
      await runner.close();
    }
  });

  test("Process.wait() rejects with RuntimeError outside a run, and works in the next one", {
    timeout: 20_000,
  }, async () => {
    const runner = new Runner({ handleSignals: false });
    try {
      const proc = await runner.run(() =>
        createSubprocessExec(process.execPath, ["-e", "setTimeout(() => process.exit(3), 50)"]),
      );
      await assert.rejects(proc.wait(), NO_LOOP);
      assert.equal(await runner.run(() => proc.wait()), 3);
      assert.equal(await proc.wait(), 3); // exited: the code is known without a loop
    } finally {
      await runner.close();
    }
  });
});

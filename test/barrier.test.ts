/**
 * Barrier (src/sync/barrier.ts). Scenarios follow CPython's test_locks.py BarrierTests,
 * rewritten for the virtual clock: filling, draining, reset and abort in every phase.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import {
  Barrier,
  BrokenBarrierError,
  CancelledError,
  createTask,
  RuntimeError,
  sleep,
  type Task,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

const N = 5;

async function settle(iterations = 3): Promise<void> {
  for (let i = 0; i < iterations; i++) await sleep(0);
}

/** Yields until `condition()` holds (failing after 100 loop iterations). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await sleep(0);
  assert.ok(condition(), "condition not reached");
}

function makeTasks<T>(n: number, fn: () => Promise<T>): Task<T>[] {
  return Array.from({ length: n }, () => createTask(fn));
}

async function gatherTasks<T>(n: number, fn: () => Promise<T>): Promise<T[]> {
  return Promise.all(makeTasks(n, fn));
}

describe("Barrier", () => {
  test("its inspect string shows the state and how many of the parties wait", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(N);
      assert.equal(String(barrier), "<Barrier [filling, waiters:0/5]>");
      const waiters: Task<unknown>[] = [];
      const wait = () => createTask(() => barrier.wait());
      for (let i = 0; i < 2; i++) waiters.push(wait());
      await settle();
      assert.equal(inspect(barrier), "<Barrier [filling, waiters:2/5]>");

      for (let i = barrier.nWaiting; i < barrier.parties; i++) waiters.push(wait());
      await until(() => barrier.statistics().state === "draining");
      assert.equal(String(barrier), "<Barrier [draining, waiters:0/5]>");

      for (let i = 0; i < 2; i++) waiters.push(wait());
      await until(() => barrier.nWaiting === 2); // drained; the two newcomers are filling it
      await barrier.reset();
      assert.equal(String(barrier), "<Barrier [resetting, waiters:0/5]>");

      for (let i = 0; i < 2; i++) waiters.push(wait());
      await settle();
      await barrier.abort();
      assert.equal(String(barrier), "<Barrier [broken]>");
      assert.equal(barrier.broken, true);
      await Promise.allSettled(waiters);
    });
  });

  test("parties must be an integer from 1 and up", () => {
    assert.throws(() => new Barrier(0), {
      name: "RangeError",
      message: "Expected `parties` to be an integer from 1 and up, got `0` (number)",
    });
    assert.throws(() => new Barrier(-4), RangeError);
    assert.throws(() => new Barrier(2.5), RangeError);
    assert.throws(() => new Barrier(Number.POSITIVE_INFINITY), RangeError);
    assert.throws(() => new Barrier("3" as never), TypeError);
    assert.ok(new Barrier(N) instanceof Barrier);
  });

  test("each of the parties gets a distinct arrival index", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(3);
      const results = await gatherTasks(3, () => barrier.wait());
      assert.deepEqual([...results].sort(), [0, 1, 2]);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
      assert.deepEqual(barrier.statistics(), {
        state: "filling",
        parties: 3,
        nWaiting: 0,
        broken: false,
      });
    });
  });

  test("a barrier of one party passes every caller at once", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(1);
      assert.equal(await barrier.wait(), 0);
      const t1 = createTask(() => barrier.wait());
      await settle();
      assert.equal(barrier.nWaiting, 0);
      const t2 = createTask(() => barrier.wait());
      await settle();
      assert.equal(t1.result(), t2.result());
      assert.equal(barrier.broken, false);
    });
  });

  test("nWaiting counts the tasks as they arrive", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(3);
      const t1 = createTask(() => barrier.wait());
      await settle();
      assert.equal(barrier.nWaiting, 1);
      const t2 = createTask(() => barrier.wait());
      await settle();
      assert.equal(barrier.nWaiting, 2);
      assert.equal(barrier.statistics().state, "filling");
      const t3 = createTask(() => barrier.wait());
      await Promise.all([t1, t2, t3]);
      assert.equal(barrier.nWaiting, 0);
    });
  });

  test("the parties can pass the same barrier twice in a row", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(N);
      const results: boolean[] = [];
      const indexes = await gatherTasks(N, async () => {
        await barrier.wait();
        results.push(true);
        const i = await barrier.wait();
        results.push(false);
        return i;
      });
      assert.equal(results.length, N * 2);
      assert.equal(results.filter((r) => r).length, N);
      assert.deepEqual([...indexes].sort(), [0, 1, 2, 3, 4]);
      assert.equal(barrier.nWaiting, 0);
    });
  });

  test("the barrier drains until the last released task has left", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(N);
      const seen: boolean[] = [];
      await gatherTasks(N, async () => {
        await barrier.wait();
        seen.push(String(barrier).includes("draining"));
      });
      assert.equal(seen.length, N);
      assert.equal(seen.filter((d) => d).length, N - 1);
      assert.equal(seen[N - 1], false, "the last task out finds it filling again");
    });
  });

  test("tasks that come back while it drains wait for the next round", async () => {
    await runVirtual(async () => {
      const rewait = 2;
      const barrier = new Barrier(N);
      const others = new Barrier(N - rewait);
      let rewaitLeft = rewait;
      await gatherTasks(N, async () => {
        await barrier.wait();
        if (rewaitLeft > 0) {
          rewaitLeft--;
          await barrier.wait();
        } else {
          await others.wait();
          await barrier.wait();
        }
      });
      assert.equal(barrier.nWaiting, 0);
    });
  });

  test("a cancelled waiter leaves the barrier and the others keep waiting for a full count", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(3);
      const results: boolean[] = [];
      const coro = async () => {
        await barrier.wait();
        results.push(true);
      };
      const t1 = createTask(coro);
      await settle();
      assert.equal(barrier.nWaiting, 1);
      const t2 = createTask(coro);
      await settle();
      assert.equal(barrier.nWaiting, 2);
      t1.cancel();
      await settle();
      assert.equal(barrier.nWaiting, 1);
      await assert.rejects(async () => await t1, CancelledError);
      const t3 = createTask(coro);
      await settle();
      assert.equal(barrier.nWaiting, 2);
      const t4 = createTask(coro);
      await Promise.all([t2, t3, t4]);
      assert.equal(results.length, 3);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
    });
  });

  test("the tasks a tripped barrier releases all resume in the same loop iteration", async () => {
    await runVirtual(async () => {
      // CPython 3.13 (notify_all wakes every waiter at once): [2, 0, 1] after two iterations.
      const barrier = new Barrier(3);
      const order: number[] = [];
      for (let i = 0; i < 3; i++) {
        createTask(async () => {
          await barrier.wait();
          order.push(i);
        });
      }
      await sleep(0);
      await sleep(0);
      assert.deepEqual(order, [2, 0, 1]);
    });
  });

  test("a waiter cancelled in wait() passes a wake-up to the first parked task, as asyncio's Condition", async () => {
    await runVirtual(async () => {
      // The sequence CPython 3.13 gives: w2's cancellation wakes the first parked task
      // spuriously, which waits again at the back of the line: w1's second round is one
      // iteration earlier than without it.
      const barrier = new Barrier(3);
      const log: string[] = [];
      const tasks = [0, 1, 2, 3].map((i) =>
        createTask(async () => {
          for (let round = 0; round < 2; round++) {
            try {
              log.push(`w${i}:${await barrier.wait()}`);
            } catch (e) {
              assert.ok(e instanceof CancelledError);
              log.push(`w${i}:cancelled`);
              return;
            }
          }
        }),
      );
      await sleep(0);
      tasks[2].cancel();
      await settle(2);
      assert.deepEqual(log, ["w2:2", "w0:0", "w1:1", "w2:cancelled", "w0:2", "w1:0"]);
      await settle(5);
      assert.deepEqual(log.slice(6), ["w3:1"]);
      assert.equal(barrier.nWaiting, 1);
      for (const t of tasks) t.cancel();
    });
  });

  test("reset() on an idle barrier leaves it filling", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(1);
      createTask(() => barrier.reset());
      await settle();
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
      assert.equal(barrier.statistics().state, "filling");
    });
  });

  test("reset() breaks the wait of the tasks already waiting", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(N);
      const results: boolean[] = [];
      const tasks = makeTasks(N - 1, async () => {
        try {
          await barrier.wait();
        } catch (error) {
          if (!(error instanceof BrokenBarrierError)) throw error;
          results.push(true);
        }
      });
      await settle();
      createTask(() => barrier.reset());
      await Promise.all(tasks);
      assert.equal(results.length, N - 1);
      assert.equal(barrier.nWaiting, 0);
      assert.doesNotMatch(String(barrier), /resetting/);
      assert.equal(barrier.broken, false);
    });
  });

  test("a reset while half the tasks drained breaks only those still inside", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(N);
      const broken: boolean[] = [];
      const rest = Math.floor(N / 2);
      let passed = 0;
      await gatherTasks(N, async () => {
        try {
          await barrier.wait();
        } catch (error) {
          if (!(error instanceof BrokenBarrierError)) throw error;
          broken.push(true);
          return;
        }
        passed++;
        if (passed === N - rest) {
          // The others have been released but are still on their way out: reset now.
          await barrier.reset();
        }
      });
      assert.deepEqual(broken, Array(rest).fill(true), "the tasks still inside were broken");
      assert.equal(barrier.nWaiting, 0);
      assert.doesNotMatch(String(barrier), /resetting/);
      assert.equal(barrier.broken, false);
    });
  });

  test("a reset while some tasks drain and others block: the blocked ones wait for the next round", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const blocking = Math.floor(N / 2);
      let count = 0;
      await gatherTasks(N, async () => {
        try {
          await barrier.wait();
        } catch (error) {
          if (!(error instanceof BrokenBarrierError)) throw error;
          results1.push(true);
          await barrier.wait();
          return;
        }
        count++;
        if (count > blocking) {
          await barrier.reset();
          await barrier.wait();
        } else {
          try {
            await barrier.wait();
          } catch (error) {
            if (!(error instanceof BrokenBarrierError)) throw error;
            results2.push(true);
          }
        }
      });
      assert.deepEqual(results1, Array(blocking).fill(true));
      assert.deepEqual(results2, []);
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, false);
    });
  });

  test("tasks broken by a reset can wait again and pass with a newcomer", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const tasks = makeTasks(N - 1, async () => {
        try {
          await barrier.wait();
        } catch (error) {
          if (!(error instanceof BrokenBarrierError)) throw error;
          results1.push(true);
        } finally {
          await barrier.wait();
          results2.push(true);
        }
      });
      createTask(() => barrier.reset());
      await settle();
      createTask(async () => {
        await barrier.wait();
        results2.push(true);
      });
      await Promise.all(tasks);
      await settle();
      assert.equal(barrier.broken, false);
      assert.equal(results1.length, N - 1);
      assert.equal(results2.length, N);
      assert.equal(barrier.nWaiting, 0);
    });
  });

  test("a reset by the last task to drain does not break the next round", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const results3: boolean[] = [];
      let count = 0;
      await gatherTasks(N, async () => {
        await barrier.wait();
        count++;
        if (count === N) {
          await barrier.reset();
          await barrier.wait();
        } else {
          try {
            await barrier.wait();
            results1.push(true);
          } catch {
            // Counted: this must not happen.
            results2.push(true);
          }
        }
        await barrier.wait();
        results3.push(true);
      });
      assert.equal(barrier.broken, false);
      assert.equal(results1.length, N - 1);
      assert.equal(results2.length, 0);
      assert.equal(results3.length, N);
      assert.equal(barrier.nWaiting, 0);
    });
  });

  test("abort() breaks the barrier", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(1);
      createTask(() => barrier.abort());
      await settle();
      assert.equal(barrier.nWaiting, 0);
      assert.equal(barrier.broken, true);
      await assert.rejects(barrier.wait(), {
        name: "BrokenBarrierError",
        message: "Barrier aborted",
      });
      await barrier.reset();
      assert.equal(barrier.broken, false);
      assert.equal(await barrier.wait(), 0, "usable again after reset()");
    });
  });

  test("an abort while some tasks drain and others block breaks every wait", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const blocking = Math.floor(N / 2);
      let count = 0;
      await gatherTasks(N, async () => {
        try {
          await barrier.wait();
        } catch (error) {
          if (!(error instanceof BrokenBarrierError)) throw error;
          results1.push(true);
          return;
        }
        count++;
        if (count > blocking) await barrier.abort();
        else {
          try {
            await barrier.wait();
          } catch (error) {
            if (!(error instanceof BrokenBarrierError)) throw error;
            results2.push(true);
          }
        }
      });
      assert.equal(barrier.broken, true);
      assert.deepEqual(results1, Array(blocking).fill(true), "released, still inside: broken");
      assert.deepEqual(results2, Array(N - blocking - 1).fill(true), "blocked while draining");
      assert.equal(barrier.nWaiting, 0);
      assert.doesNotMatch(String(barrier), /resetting/);
    });
  });

  test("one party failing and aborting releases every other party with BrokenBarrierError", async () => {
    await runVirtual(async () => {
      const barrier = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      await gatherTasks(N, async () => {
        try {
          const i = await barrier.wait();
          if (i === Math.floor(N / 2)) throw new RuntimeError("failed");
          await barrier.wait();
          results1.push(true);
        } catch (error) {
          if (error instanceof BrokenBarrierError) results2.push(true);
          else if (error instanceof RuntimeError) await barrier.abort();
          else throw error;
        }
      });
      assert.equal(barrier.broken, true);
      assert.equal(results1.length, 0);
      assert.equal(results2.length, N - 1);
      assert.equal(barrier.nWaiting, 0);
    });
  });

  test("an aborted barrier reset between two synchronising rounds works again", async () => {
    await runVirtual(async () => {
      const barrier1 = new Barrier(N);
      const barrier2 = new Barrier(N);
      const results1: boolean[] = [];
      const results2: boolean[] = [];
      const results3: boolean[] = [];
      await gatherTasks(N, async () => {
        try {
          const i = await barrier1.wait();
          if (i === Math.floor(N / 2)) throw new RuntimeError("failed");
          await barrier1.wait();
          results1.push(true);
        } catch (error) {
          if (error instanceof BrokenBarrierError) results2.push(true);
          else if (error instanceof RuntimeError) await barrier1.abort();
          else throw error;
        }
        const i = await barrier2.wait();
        if (i === Math.floor(N / 2)) await barrier1.reset();
        await barrier2.wait();
        await barrier1.wait();
        results3.push(true);
      });
      assert.equal(barrier1.broken, false);
      assert.equal(results1.length, 0);
      assert.equal(results2.length, N - 1);
      assert.equal(results3.length, N);
      assert.equal(barrier1.nWaiting, 0);
    });
  });
});

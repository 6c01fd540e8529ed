/**
 * Conformance: Queue, LifoQueue and PriorityQueue scenarios from CPython's test_queues that the
 * main file does not pin (producer/consumer hand-offs, put/get races, 3.13 shutdown), run for
 * each queue class where the order does not matter. Virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CancelledError,
  createTask,
  Event,
  getRunningLoop,
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueFull,
  QueueShutDown,
  sleep,
  TimeoutError,
  taskGroup,
  waitFor,
} from "../src/index.ts";
import { errorOf, runVirtual, syncErrorOf } from "./helpers.ts";

const classes = [
  ["Queue", (maxsize?: number) => new Queue<string | number>(maxsize)],
  ["LifoQueue", (maxsize?: number) => new LifoQueue<string | number>(maxsize)],
  ["PriorityQueue", (maxsize?: number) => new PriorityQueue<string | number>(maxsize)],
] as const;

describe("conformance: Queue hand-offs", () => {
  test("a producer and a consumer of five items on a queue of one both finish (test_why_are_getters_waiting)", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(1);
      const got: number[] = [];
      await taskGroup(async (tg) => {
        tg.createTask(async () => {
          for (let i = 0; i < 5; i++) await q.put(i);
        });
        tg.createTask(async () => {
          for (let i = 0; i < 5; i++) got.push(await q.get());
        });
      });
      assert.deepEqual(got, [0, 1, 2, 3, 4]);
      assert.equal(q.qsize(), 0);
    });
  });

  test("blocked putters all get in once a getter drains with getNowait() (test_why_are_putters_waiting)", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(2);
      await taskGroup(async (tg) => {
        tg.createTask(async () => {
          await sleep(0);
          const n = q.qsize();
          for (let i = 0; i < n; i++) q.getNowait();
        });
        for (const item of [0, 1, 2, 3]) tg.createTask(() => q.put(item));
      });
      assert.equal(q.qsize(), 2);
      assert.deepEqual([q.getNowait(), q.getNowait()], [2, 3]);
    });
  });

  test("a third putter cancelled while the second waits: the second's item goes in, the third's never (test_put_cancelled_race)", async () => {
    await runVirtual(async () => {
      const q = new Queue<string>(1);
      const putA = createTask(() => q.put("a"));
      const putB = createTask(() => q.put("b"));
      const putC = createTask(() => q.put("X"));
      await sleep(0);
      assert.equal(putA.done(), true);
      assert.equal(putB.done(), false);
      putC.cancel();
      await sleep(0);
      assert.equal(putC.done(), true);
      assert.equal(q.getNowait(), "a");
      await sleep(0);
      assert.equal(q.getNowait(), "b");
      await putB;
      assert.equal(q.qsize(), 0);
    });
  });

  test("a get() under waitFor gets an item put before the deadline (test_get_cancelled)", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      const getTask = createTask(() => waitFor(q.get(), 51));
      await sleep(10);
      q.putNowait(1);
      assert.equal(await getTask, 1);
    });
  });

  test("a get() timed out by waitFor leaves no getter behind (test_cancelled_getters_not_being_held_in_self_getters)", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(5);
      assert.ok((await errorOf(waitFor(q.get(), 100))) instanceof TimeoutError);
      assert.equal(q.statistics().getters, 0);
      q.putNowait(1);
      assert.equal(q.getNowait(), 1);
    });
  });

  test("a putter blocked on its second put is released by a getNowait() from a timer (test_blocking_put_wait)", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(1);
      const started = new Event();
      let finished = false;
      getRunningLoop().callLater(10, () => q.getNowait());
      const putter = createTask(async () => {
        started.set();
        await q.put(1);
        await q.put(2);
        finished = true;
      });
      await started.wait();
      assert.equal(finished, false);
      await putter;
      assert.equal(finished, true);
      assert.equal(getRunningLoop().time(), 10);
    });
  });

  test("a reader woken for the first of two items and cancelled: a retried get() gets the first item (test_get_cancel_drop_one_pending_reader)", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      let reader = createTask(() => q.get());
      await sleep(0);
      q.putNowait(1);
      q.putNowait(2);
      reader.cancel();
      try {
        await reader;
      } catch (e) {
        assert.ok(e instanceof CancelledError);
        reader = createTask(() => q.get());
        await reader;
      }
      // Getting 2 would mean that 1 was dropped.
      assert.equal(reader.result(), 1);
    });
  });

  test("three readers, two items, the first reader cancelled: the other two get both items (test_get_cancel_drop_many_pending_readers)", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      await taskGroup(async (tg) => {
        const reader1 = tg.createTask(() => q.get());
        const reader2 = tg.createTask(() => q.get());
        const reader3 = tg.createTask(() => q.get());
        await sleep(0);
        q.putNowait(1);
        q.putNowait(2);
        reader1.cancel();
        assert.ok((await errorOf(reader1)) instanceof CancelledError);
        await reader3;
        assert.deepEqual(new Set([reader2.result(), reader3.result()]), new Set([1, 2]));
      });
    });
  });

  test("a fractional maxsize of 1.3 holds two items, by putNowait() or put() (test_float_maxsize)", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(1.3);
      q.putNowait(1);
      q.putNowait(2);
      assert.equal(q.full(), true);
      assert.ok(syncErrorOf(() => q.putNowait(3)) instanceof QueueFull);
      const q2 = new Queue<number>(1.3);
      await q2.put(1);
      await q2.put(2);
      assert.equal(q2.full(), true);
      const blocked = createTask(() => q2.put(3));
      await sleep(0);
      assert.equal(blocked.done(), false);
      assert.equal(q2.getNowait(), 1);
      await blocked;
      assert.equal(q2.qsize(), 2);
    });
  });

  test("a zero maxsize means unbounded and is reported as given", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(0);
      for (let i = 0; i < 50; i++) await q.put(i);
      assert.equal(q.full(), false);
      assert.equal(q.qsize(), 50);
      assert.equal(q.maxsize, 0);
    });
  });

  test("two workers calling taskDone(): join() returns once all 100 items were processed (test_task_done)", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      for (let i = 0; i < 100; i++) q.putNowait(i);
      let accumulator = 0;
      let running = true;
      await taskGroup(async (tg) => {
        const workers = [0, 1].map(() =>
          tg.createTask(async () => {
            while (running) {
              accumulator += await q.get();
              q.taskDone();
            }
          }),
        );
        await q.join();
        assert.equal(accumulator, 4950);
        running = false;
        for (let i = 0; i < workers.length; i++) q.putNowait(0);
      });
    });
  });
});

for (const [name, make] of classes) {
  describe(`conformance: ${name}.shutdown() (3.13)`, () => {
    test("shutdown() of a full queue: the blocked put fails, the item left can be got, join() waits for its taskDone() (test_shutdown_nonempty)", async () => {
      await runVirtual(async () => {
        const q = make(1);
        q.putNowait("data");
        const joinTask = createTask(() => q.join());
        const putTask = createTask(() => q.put("data2"));
        await sleep(0);
        assert.equal(putTask.done(), false);
        q.shutdown();
        assert.equal(q.qsize(), 1);
        await sleep(0);
        assert.equal(putTask.done(), true);
        assert.ok((await errorOf(putTask)) instanceof QueueShutDown);
        assert.equal(await q.get(), "data");
        await sleep(0);
        assert.equal(joinTask.done(), false);
        assert.ok((await errorOf(q.put("data"))) instanceof QueueShutDown);
        assert.ok(syncErrorOf(() => q.putNowait("data")) instanceof QueueShutDown);
        assert.ok((await errorOf(q.get())) instanceof QueueShutDown);
        assert.ok(syncErrorOf(() => q.getNowait()) instanceof QueueShutDown);
        q.taskDone();
        await sleep(0);
        assert.equal(joinTask.done(), true);
        await joinTask;
      });
    });

    test("shutdown(true) drops the items and releases join(); a further taskDone() is a RangeError (test_shutdown_immediate)", async () => {
      await runVirtual(async () => {
        const q = make();
        q.putNowait("data");
        const joinTask = createTask(() => q.join());
        q.shutdown(true);
        assert.equal(q.qsize(), 0);
        await sleep(0);
        assert.equal(joinTask.done(), true);
        await joinTask;
        assert.ok((await errorOf(q.get())) instanceof QueueShutDown);
        assert.ok(syncErrorOf(() => q.getNowait()) instanceof QueueShutDown);
        assert.ok(syncErrorOf(() => q.taskDone()) instanceof RangeError);
      });
    });

    test("shutdown(true) with an item already taken: join() waits for that item's taskDone() (test_shutdown_immediate_with_unfinished)", async () => {
      await runVirtual(async () => {
        const q = make();
        q.putNowait("data");
        q.putNowait("data");
        const joinTask = createTask(() => q.join());
        assert.equal(await q.get(), "data");
        q.shutdown(true);
        assert.equal(q.qsize(), 0);
        await sleep(0);
        assert.equal(joinTask.done(), false);
        q.taskDone();
        await sleep(0);
        assert.equal(joinTask.done(), true);
        await joinTask;
      });
    });

    test("shutdown() of an empty queue wakes every blocked getter with QueueShutDown", async () => {
      await runVirtual(async () => {
        const q = make();
        const getters = [0, 1, 2].map(() => createTask(() => q.get()));
        await sleep(0);
        q.shutdown();
        for (const g of getters) assert.ok((await errorOf(g)) instanceof QueueShutDown);
      });
    });

    test("a getter cancelled before shutdown() ends cancelled, not with QueueShutDown", async () => {
      await runVirtual(async () => {
        const q = make();
        const getter = createTask(() => q.get());
        await sleep(0);
        getter.cancel();
        q.shutdown();
        assert.ok((await errorOf(getter)) instanceof CancelledError);
        assert.equal(getter.cancelled(), true);
      });
    });
  });
}

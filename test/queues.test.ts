/**
 * Queue, LifoQueue and PriorityQueue (src/sync/queues.ts, src/sync/heap.ts). Scenarios follow
 * CPython's Lib/test/test_asyncio/test_queues.py (3.13, with shutdown), rewritten for the virtual
 * clock, plus fairness, the default priority ordering, async iteration and bad input.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import {
  CancelledError,
  createTask,
  getRunningLoop,
  LifoQueue,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  sleep,
  type Task,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

async function settle(iterations = 3): Promise<void> {
  for (let i = 0; i < iterations; i++) await sleep(0);
}

const KINDS = [
  ["Queue", Queue],
  ["LifoQueue", LifoQueue],
  ["PriorityQueue", PriorityQueue],
] as const;

describe("Queue basics", () => {
  test("its inspect string follows asyncio's format: maxsize, items, waiters, tasks, shutdown", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      assert.equal(String(q), "<Queue maxsize=0>");
      const getter = createTask(() => q.get());
      await settle();
      assert.equal(inspect(q), "<Queue maxsize=0 _getters[1]>");
      q.putNowait(0);
      assert.equal(await getter, 0);

      const bounded = new Queue<number>(1);
      bounded.putNowait(1);
      const putter = createTask(() => bounded.put(2));
      await settle();
      assert.equal(String(bounded), "<Queue maxsize=1 _queue=[1] _putters[1] tasks=1>");
      bounded.getNowait();
      await putter;
      assert.equal(String(bounded), "<Queue maxsize=1 _queue=[2] tasks=2>");

      const strings = new Queue<string>();
      strings.putNowait("a");
      assert.equal(String(strings), "<Queue maxsize=0 _queue=['a'] tasks=1>");
      strings.shutdown();
      assert.equal(String(strings), "<Queue maxsize=0 _queue=['a'] tasks=1 shutdown>");

      const many = new Queue<number>();
      for (let i = 0; i < 25; i++) many.putNowait(i);
      assert.equal(
        String(many),
        "<Queue maxsize=0 _queue=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … 15 more] tasks=25>",
      );
    });
  });

  test("empty(), full() and FIFO order", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      assert.equal(q.empty(), true);
      await q.put(1);
      assert.equal(q.empty(), false);
      assert.equal(await q.get(), 1);
      assert.equal(q.empty(), true);
      assert.equal(q.full(), false, "an unbounded queue is never full");

      const one = new Queue<number>(1);
      await one.put(1);
      assert.equal(one.full(), true);

      for (const i of [1, 3, 2]) await q.put(i);
      assert.deepEqual([await q.get(), await q.get(), await q.get()], [1, 3, 2]);
    });
  });

  test("a loop callback (no task) can wait in get() and put(), and is described in the queue", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(1);
      const loop = getRunningLoop();
      const events: string[] = [];
      loop.callSoon(() => {
        q.get().then((v) => events.push(`got ${v}`));
      });
      await settle();
      assert.equal(inspect(q), "<Queue maxsize=1 _getters[1]>");
      await q.put(1);
      await settle();
      assert.deepEqual(events, ["got 1"]);
      q.putNowait(2);
      loop.callSoon(() => {
        q.put(3).then(() => events.push("put 3"));
      });
      await settle();
      assert.equal(inspect(q), "<Queue maxsize=1 _queue=[2] _putters[1] tasks=2>");
      assert.equal(await q.get(), 2);
      await settle();
      assert.deepEqual(events, ["got 1", "put 3"]);
      assert.equal(q.getNowait(), 3);
    });
  });

  test("put() waits while the queue holds maxsize items (backpressure)", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(2);
      assert.equal(q.maxsize, 2);
      const havePut: number[] = [];
      const t = createTask(async () => {
        for (let i = 0; i < 3; i++) {
          await q.put(i);
          havePut.push(i);
        }
        return true;
      });
      await settle();
      assert.deepEqual(havePut, [0, 1], "blocked after two items");
      assert.equal(await q.get(), 0);
      await settle();
      assert.deepEqual(havePut, [0, 1, 2]);
      assert.equal(await q.get(), 1);
      assert.equal(await q.get(), 2);
      assert.equal(await t, true);
    });
  });

  test("maxsize: 0 is unbounded, a fraction is full at its ceiling, a negative or NaN is refused", () => {
    assert.throws(() => new Queue(Number.NaN), {
      name: "RangeError",
      message: "Expected `maxsize` to be a number from 0 and up (0: unbounded), got `NaN` (number)",
    });
    assert.throws(() => new Queue(-1.5), {
      name: "RangeError",
      message:
        "Expected `maxsize` to be a number from 0 and up (0: unbounded), got `-1.5` (number)",
    });
    assert.throws(() => new Queue(-1), { name: "RangeError" });
    assert.throws(() => new Queue("3" as never), { name: "TypeError" });
    assert.throws(() => new LifoQueue(null as never), { name: "TypeError" });
    assert.throws(() => new PriorityQueue(Number.NaN), { name: "RangeError" });
    assert.equal(new Queue(Number.POSITIVE_INFINITY).full(), false);
    assert.equal(new Queue().maxsize, 0);
    const q = new Queue<number>(1.5);
    q.putNowait(1);
    assert.equal(q.full(), false);
    q.putNowait(2);
    assert.equal(q.full(), true);
    assert.throws(() => q.putNowait(3), { name: "QueueFull" });
  });

  test("statistics() counts items, waiters on both sides and unfinished tasks", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(1);
      assert.deepEqual(q.statistics(), {
        qsize: 0,
        maxsize: 1,
        getters: 0,
        putters: 0,
        unfinishedTasks: 0,
        shutdown: false,
      });
      const getters = [createTask(() => q.get()), createTask(() => q.get())];
      await settle();
      assert.equal(q.statistics().getters, 2);
      await q.put(1);
      await q.put(2);
      await Promise.all(getters);
      q.putNowait(3);
      const putter = createTask(() => q.put(4));
      await settle();
      assert.deepEqual(q.statistics(), {
        qsize: 1,
        maxsize: 1,
        getters: 0,
        putters: 1,
        unfinishedTasks: 3,
        shutdown: false,
      });
      assert.deepEqual(putter.getStack(), [
        "waiting on <Queue maxsize=1 _queue=[3] _putters[1] tasks=3>.put()",
      ]);
      putter.cancel();
      await settle();
      assert.equal(q.statistics().putters, 0);
    });
  });
});

describe("Queue get", () => {
  test("get() returns an item that is already there", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      q.putNowait(1);
      assert.equal(await q.get(), 1);
    });
  });

  test("get() on a full queue lets a waiting putter in", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(1);
      await q.put(1);
      const putter = createTask(() => q.put(2));
      await settle();
      assert.equal(await q.get(), 1);
      await putter;
      assert.equal(q.getNowait(), 2);
    });
  });

  test("get() waits for an item that arrives later", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const q = new Queue<number>();
      let finished = false;
      const t = createTask(async () => {
        const res = await q.get();
        finished = true;
        return res;
      });
      await settle();
      assert.equal(finished, false);
      const t0 = loop.time();
      loop.callLater(10, () => q.putNowait(1));
      assert.equal(await t, 1);
      assert.equal(finished, true);
      assert.equal(loop.time() - t0, 10);
    });
  });

  test("getNowait() returns an item or throws QueueEmpty", () => {
    const q = new Queue<number>();
    q.putNowait(1);
    assert.equal(q.getNowait(), 1);
    assert.throws(() => q.getNowait(), QueueEmpty);
    q.putNowait(2);
    assert.equal(q.getNowait(), 2, "still usable");
  });

  test("an item put after a getter was cancelled goes to the next getter", async () => {
    await runVirtual(async () => {
      const q = new Queue<string>();
      const t1 = createTask(() => q.get());
      const t2 = createTask(() => q.get());
      await settle();
      t1.cancel();
      await settle();
      assert.equal(t1.done(), true);
      await q.put("a");
      assert.equal(await t2, "a");
    });
  });

  test("getters receive the items of waiting putters in order", async () => {
    await runVirtual(async () => {
      const q = new Queue<string>(1);
      createTask(() => q.put("a"));
      createTask(() => q.put("b"));
      assert.equal(await q.get(), "a");
      assert.equal(await q.get(), "b");
    });
  });

  test("a producer and a consumer on a queue of one pass every item", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(1);
      const got: number[] = [];
      await Promise.all([
        createTask(async () => {
          for (let i = 0; i < 5; i++) await q.put(i);
        }),
        createTask(async () => {
          for (let i = 0; i < 5; i++) got.push(await q.get());
        }),
      ]);
      assert.deepEqual(got, [0, 1, 2, 3, 4]);
    });
  });

  test("a get() cancelled by a deadline leaves no getter behind", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(5);
      const t = createTask(() => q.get());
      getRunningLoop().callLater(100, () => t.cancel());
      await assert.rejects(async () => await t, CancelledError);
      assert.equal(q.statistics().getters, 0);
    });
  });

  test("a getter woken for an item but cancelled before it runs loses nothing", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      let reader: Task<number> = createTask(() => q.get());
      await settle();
      q.putNowait(1);
      q.putNowait(2);
      reader.cancel();
      try {
        await reader;
      } catch (error) {
        assert.ok(error instanceof CancelledError);
        reader = createTask(() => q.get());
        await reader;
      }
      assert.equal(reader.result(), 1, "if we got 2, item 1 was dropped");
    });
  });

  test("a woken getter cancelled before it runs passes its item to the next getter", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      const readers = [
        createTask(() => q.get()),
        createTask(() => q.get()),
        createTask(() => q.get()),
      ];
      await settle();
      q.putNowait(1);
      q.putNowait(2);
      readers[0].cancel();
      await assert.rejects(async () => await readers[0], CancelledError);
      await readers[2];
      assert.deepEqual(new Set([readers[1].result(), readers[2].result()]), new Set([1, 2]));
      assert.equal(q.qsize(), 0);
    });
  });

  test("nobody barges: a newcomer's get() does not take the item a woken getter was woken for", async () => {
    await runVirtual(async () => {
      const q = new Queue<string>();
      const first = createTask(() => q.get());
      await settle();
      q.putNowait("for first");
      const second = q.get(); // arrives before `first` has run again
      q.putNowait("for second");
      assert.equal(await first, "for first");
      assert.equal(await second, "for second");
    });
  });

  test("a woken getter whose item was taken by getNowait() waits again at the front", async () => {
    await runVirtual(async () => {
      const q = new Queue<string>();
      const first = createTask(() => q.get());
      await settle();
      const second = createTask(() => q.get());
      await settle();
      q.putNowait("x");
      assert.equal(q.getNowait(), "x", "getNowait takes what is there");
      await settle();
      assert.equal(first.done(), false);
      assert.equal(q.statistics().getters, 2);
      q.putNowait("y");
      q.putNowait("z");
      assert.equal(await first, "y", "first kept its place in line");
      assert.equal(await second, "z");
    });
  });

  test("a Task put in a queue comes out of getNowait() as is, and out of get() unwrapped", async () => {
    await runVirtual(async () => {
      const q = new Queue<unknown>();
      const task = createTask(async () => "the result");
      q.putNowait(task);
      assert.equal(q.getNowait(), task);
      q.putNowait(task);
      assert.equal(await q.get(), "the result", "await unwraps a thenable item");
      q.putNowait({ task });
      const { task: same } = (await q.get()) as { task: Task<string> };
      assert.equal(same, task, "wrap thenables to pass them through get()");
    });
  });

  test("a pending Future taken by get() is what the getter's task waits on: cancelling the task cancels it", async () => {
    await runVirtual(async () => {
      const q = new Queue<unknown>();
      const fut = getRunningLoop().createFuture<string>();
      q.putNowait(fut);
      const getter = createTask(async () => await q.get());
      await sleep(0);
      assert.match(getter.getStack()[0] ?? "", /waiting on <Future pending>/);
      getter.cancel();
      await assert.rejects(async () => await getter, CancelledError);
      assert.equal(fut.cancelled(), true, "the task's cancellation reached the Future");
    });
  });
});

describe("Queue put", () => {
  test("put() on an unbounded queue never waits", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      await q.put(1);
      assert.equal(await q.get(), 1);
    });
  });

  test("put() waits for room that a later get makes", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(1);
      let finished = false;
      getRunningLoop().callLater(10, () => q.getNowait());
      const t = createTask(async () => {
        await q.put(1);
        await q.put(2);
        finished = true;
      });
      await settle();
      assert.equal(finished, false);
      await t;
      assert.equal(finished, true);
      assert.equal(getRunningLoop().time(), 10);
    });
  });

  test("putNowait() on a full queue throws QueueFull and the queue stays usable", () => {
    const q = new Queue<number>(1);
    q.putNowait(1);
    assert.throws(() => q.putNowait(2), QueueFull);
    assert.equal(q.qsize(), 1);
    assert.equal(q.getNowait(), 1);
    q.putNowait(3);
    assert.equal(q.getNowait(), 3);
  });

  test("a putter woken for a slot but cancelled before it runs inserts nothing", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(1);
      q.putNowait(1);
      let writer: Task<void> = createTask(() => q.put(2));
      await settle();
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

  test("put() on a queue with room completes at once", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      const t = createTask(async () => {
        await q.put(1);
        return true;
      });
      assert.equal(await q.get(), 1);
      assert.equal(await t, true);
    });
  });

  test("a putter cancelled while others wait does not take their slot", async () => {
    await runVirtual(async () => {
      const q = new Queue<string>(1);
      const putA = createTask(() => q.put("a"));
      const putB = createTask(() => q.put("b"));
      const putX = createTask(() => q.put("X"));
      await settle();
      assert.equal(putA.done(), true);
      assert.equal(putB.done(), false);
      putX.cancel();
      await settle();
      assert.equal(putX.cancelled(), true);
      assert.equal(q.getNowait(), "a");
      await settle();
      assert.equal(q.getNowait(), "b");
      await putB;
      assert.equal(q.qsize(), 0);
    });
  });

  test("put() hands the item to a waiting getter", async () => {
    await runVirtual(async () => {
      const q = new Queue<string>();
      const t = createTask(() => q.get());
      await settle();
      await q.put("a");
      assert.equal(await t, "a");
    });
  });

  test("putters blocked on a full queue all get in as a consumer drains it", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(2);
      const drained: number[] = [];
      const getter = createTask(async () => {
        await sleep(0);
        for (let i = q.qsize(); i > 0; i--) drained.push(q.getNowait());
      });
      const putters = [0, 1, 2, 3].map((i) => createTask(() => q.put(i)));
      await Promise.all([getter, ...putters]);
      assert.deepEqual([...drained, ...[q.getNowait(), q.getNowait()]], [0, 1, 2, 3]);
    });
  });

  test("a cancelled put() leaves no putter behind", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(1);
      q.putNowait(1);
      const putTask = createTask(() => q.put(1));
      await settle();
      assert.equal(q.statistics().putters, 1);
      putTask.cancel();
      await assert.rejects(async () => await putTask, CancelledError);
      assert.equal(q.statistics().putters, 0);
      assert.equal(q.qsize(), 1);
    });
  });

  test("a putter woken by getNowait() and then cancelled just raises CancelledError", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(1);
      q.putNowait(1);
      const putTask = createTask(() => q.put(2));
      const next = createTask(async () => {
        await sleep(0);
        await q.put(3);
      });
      await settle(1);
      q.getNowait(); // wakes putTask...
      putTask.cancel(); // ...which is cancelled before it runs: the slot passes to `next`
      await assert.rejects(async () => await putTask, CancelledError);
      await next;
      assert.deepEqual(q.statistics().putters, 0);
      assert.equal(q.getNowait(), 3);
    });
  });
});

describe("LifoQueue and PriorityQueue", () => {
  test("a LifoQueue hands out the newest item first", async () => {
    await runVirtual(async () => {
      const q = new LifoQueue<number>();
      for (const i of [1, 3, 2]) await q.put(i);
      assert.deepEqual([await q.get(), await q.get(), await q.get()], [2, 3, 1]);
      assert.equal(String(q), "<LifoQueue maxsize=0 tasks=3>");
    });
  });

  test("a PriorityQueue hands out the smallest item first", async () => {
    await runVirtual(async () => {
      const q = new PriorityQueue<number>();
      for (const i of [1, 3, 2]) await q.put(i);
      assert.deepEqual([await q.get(), await q.get(), await q.get()], [1, 2, 3]);
    });
  });

  test("the default ordering compares arrays element by element, like Python's tuples", () => {
    const q = new PriorityQueue<[number, string]>();
    const entries: [number, string][] = [
      [2, "b"],
      [1, "z"],
      [2, "a"],
      [1, "y"],
      [0, "only"],
    ];
    for (const e of entries) q.putNowait(e);
    const out = [];
    while (!q.empty()) out.push(q.getNowait());
    assert.deepEqual(out, [
      [0, "only"],
      [1, "y"],
      [1, "z"],
      [2, "a"],
      [2, "b"],
    ]);
  });

  test("the default ordering knows strings, bigints, mixed numbers, booleans, Dates and prefixes", () => {
    const order = <T>(items: T[]): T[] => {
      const q = new PriorityQueue<T>();
      for (const item of items) q.putNowait(item);
      const out: T[] = [];
      while (!q.empty()) out.push(q.getNowait());
      return out;
    };
    assert.deepEqual(order(["pear", "apple", "fig"]), ["apple", "fig", "pear"]);
    assert.deepEqual(order([3n, 1, 2n, 1.5]), [1, 1.5, 2n, 3n]);
    assert.deepEqual(order([true, false]), [false, true]);
    assert.deepEqual(order([new Date(2000, 1), new Date(1999, 1)]), [
      new Date(1999, 1),
      new Date(2000, 1),
    ]);
    assert.deepEqual(order([[1, 2], [1], [1, 1, 5]]), [[1], [1, 1, 5], [1, 2]]);
    for (let i = 0; i < 5; i++) {
      const xs = Array.from({ length: 50 }, () => Math.floor(Math.random() * 20));
      assert.deepEqual(
        order(xs),
        [...xs].sort((a, b) => a - b),
      );
    }
  });

  test("values the default ordering cannot compare are a TypeError and leave the queue unchanged", () => {
    const q = new PriorityQueue<unknown>();
    q.putNowait([1, { a: 1 }]);
    assert.throws(() => q.putNowait([1, { b: 2 }]), {
      name: "TypeError",
      message:
        /^PriorityQueue cannot order `\[object Object\]` \(object\) and `\[object Object\]` \(object\)/,
    });
    assert.throws(() => q.putNowait("a string"), TypeError);
    assert.equal(q.qsize(), 1);
    assert.equal(q.statistics().unfinishedTasks, 1);
    for (let i = 5; i > 1; i--) q.putNowait([i, "x"]);
    assert.throws(() => q.putNowait([1, "clash"]), TypeError, "clashes with [1, {a: 1}]");
    assert.equal(q.qsize(), 5);
    assert.deepEqual(q.getNowait(), [1, { a: 1 }]);
    assert.deepEqual(
      [q.getNowait(), q.getNowait(), q.getNowait(), q.getNowait()],
      [
        [2, "x"],
        [3, "x"],
        [4, "x"],
        [5, "x"],
      ],
    );
  });

  test("a custom comparator orders the items; a throwing one leaves the heap intact", () => {
    const byLength = new PriorityQueue<string>(0, { comparator: (a, b) => a.length - b.length });
    for (const s of ["ccc", "a", "bb"]) byLength.putNowait(s);
    assert.deepEqual(
      [byLength.getNowait(), byLength.getNowait(), byLength.getNowait()],
      ["a", "bb", "ccc"],
    );

    let armed = false;
    const q = new PriorityQueue<number>(0, {
      comparator: (a, b) => {
        if (armed) throw new Error("comparator failed");
        return a - b;
      },
    });
    for (const n of [5, 3, 8, 1, 9, 2, 7]) q.putNowait(n);
    armed = true;
    assert.throws(() => q.putNowait(0), /comparator failed/);
    assert.throws(() => q.getNowait(), /comparator failed/);
    armed = false;
    assert.equal(q.qsize(), 7);
    const out = [];
    while (!q.empty()) out.push(q.getNowait());
    assert.deepEqual(out, [1, 2, 3, 5, 7, 8, 9]);

    assert.throws(() => new PriorityQueue(0, { comparator: 1 as never }), {
      name: "TypeError",
      message: "Expected `options.comparator` to be a function, got `1` (number)",
    });
    assert.throws(() => new PriorityQueue(0, 5 as never), TypeError);
  });
});

for (const [name, Kind] of KINDS) {
  describe(`${name} join and taskDone`, () => {
    test("taskDone() more often than items were put is a RangeError", () => {
      const q = new Kind<number>();
      assert.throws(() => q.taskDone(), {
        name: "RangeError",
        message: "taskDone() called too many times",
      });
      q.putNowait(1);
      q.getNowait();
      q.taskDone();
      assert.throws(() => q.taskDone(), RangeError);
    });

    test("join() returns once every item has been marked done", async () => {
      await runVirtual(async () => {
        const q = new Kind<number>();
        for (let i = 0; i < 100; i++) q.putNowait(i);
        let accumulator = 0;
        let running = true;
        const worker = async () => {
          while (running) {
            const item = await q.get();
            accumulator += item;
            q.taskDone();
          }
        };
        const workers = [createTask(worker), createTask(worker)];
        await q.join();
        assert.equal(accumulator, 4950);
        running = false;
        for (let i = 0; i < workers.length; i++) q.putNowait(0);
        await Promise.all(workers);
      });
    });

    test("join() on a queue with nothing unfinished returns at once, again and again", async () => {
      await runVirtual(async () => {
        const q = new Kind<number>();
        await q.join();
        await q.join();
        assert.equal(getRunningLoop().time(), 0);
      });
    });

    test("its inspect string counts unfinished tasks", () => {
      const q = new Kind<number>();
      assert.equal(String(q), `<${name} maxsize=0>`);
      q.putNowait(1);
      q.putNowait(2);
      q.getNowait();
      q.getNowait();
      assert.equal(String(q), `<${name} maxsize=0 tasks=2>`);
    });
  });

  describe(`${name} shutdown`, () => {
    test("shutdown() of an empty queue wakes getters with QueueShutDown; puts and gets fail", async () => {
      await runVirtual(async () => {
        const q = new Kind<string>();
        assert.equal(q.statistics().shutdown, false);
        const getTask = createTask(() => q.get());
        await settle();
        q.shutdown();
        assert.equal(String(q), `<${name} maxsize=0 shutdown>`);
        assert.equal(q.qsize(), 0);
        await q.join();
        await assert.rejects(async () => await getTask, QueueShutDown);
        await assert.rejects(q.put("data"), QueueShutDown);
        assert.throws(() => q.putNowait("data"), QueueShutDown);
        await assert.rejects(q.get(), QueueShutDown);
        assert.throws(() => q.getNowait(), QueueShutDown);
        assert.equal(q.statistics().shutdown, true);
      });
    });

    test("after shutdown() the items left can still be taken; join() waits for them", async () => {
      await runVirtual(async () => {
        const q = new Kind<string>(1);
        q.putNowait("data");
        const joinTask = createTask(() => q.join());
        const putTask = createTask(() => q.put("data2"));
        await settle();
        assert.equal(putTask.done(), false);
        q.shutdown();
        assert.equal(q.qsize(), 1);
        await settle();
        await assert.rejects(async () => await putTask, QueueShutDown);
        assert.equal(await q.get(), "data");
        await settle();
        assert.equal(joinTask.done(), false);
        await assert.rejects(q.put("data"), QueueShutDown);
        assert.throws(() => q.putNowait("data"), QueueShutDown);
        await assert.rejects(q.get(), QueueShutDown);
        assert.throws(() => q.getNowait(), QueueShutDown);
        q.taskDone();
        await joinTask;
        assert.throws(() => q.taskDone(), RangeError);
      });
    });

    test("shutdown(true) drops the items, counts them done and releases join()", async () => {
      await runVirtual(async () => {
        const q = new Kind<string>();
        q.putNowait("data");
        const joinTask = createTask(() => q.join());
        q.shutdown(true);
        assert.equal(q.qsize(), 0);
        await joinTask;
        await assert.rejects(q.put("data"), QueueShutDown);
        await assert.rejects(q.get(), QueueShutDown);
        assert.throws(() => q.getNowait(), QueueShutDown);
        assert.throws(() => q.taskDone(), RangeError);
      });
    });

    test("shutdown(true) leaves the items already taken unfinished until taskDone()", async () => {
      await runVirtual(async () => {
        const q = new Kind<string>();
        q.putNowait("data");
        q.putNowait("data");
        const joinTask = createTask(() => q.join());
        assert.equal(await q.get(), "data");
        q.shutdown(true);
        assert.equal(q.qsize(), 0);
        await settle();
        assert.equal(joinTask.done(), false);
        await assert.rejects(q.put("data"), QueueShutDown);
        assert.throws(() => q.getNowait(), QueueShutDown);
        q.taskDone();
        assert.throws(() => q.taskDone(), RangeError);
        await joinTask;
      });
    });

    test("shutdown() wakes every blocked putter with QueueShutDown and inserts nothing", async () => {
      await runVirtual(async () => {
        const q = new Kind<number>(1);
        q.putNowait(0);
        const putters = [1, 2, 3].map((i) => createTask(() => q.put(i)));
        await settle();
        q.shutdown();
        for (const p of putters) await assert.rejects(async () => await p, QueueShutDown);
        assert.equal(q.qsize(), 1);
        assert.equal(q.statistics().putters, 0);
      });
    });

    test("shutdown()'s argument must be a boolean", () => {
      const q = new Kind<number>();
      assert.throws(() => q.shutdown("yes" as never), {
        name: "TypeError",
        message: 'Expected `immediate` to be a boolean, got `"yes"` (string)',
      });
      assert.equal(q.statistics().shutdown, false);
    });
  });
}

describe("Queue async iteration", () => {
  test("for await gets items until the queue is shut down and drained, without taskDone()", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>(2);
      const consumer = createTask(async () => {
        const got: number[] = [];
        for await (const n of q) {
          got.push(n);
          await sleep(10);
        }
        return got;
      });
      for (let i = 0; i < 5; i++) await q.put(i);
      q.shutdown();
      assert.deepEqual(await consumer, [0, 1, 2, 3, 4]);
      assert.equal(q.statistics().unfinishedTasks, 5, "the loop does not call taskDone()");
    });
  });

  test("for await ends at once after shutdown(true)", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      for (let i = 0; i < 5; i++) q.putNowait(i);
      q.shutdown(true);
      const got: number[] = [];
      for await (const n of q) got.push(n);
      assert.deepEqual(got, []);
    });
  });

  test("cancelling a task waiting in for await ends it without taking an item", async () => {
    await runVirtual(async () => {
      const q = new Queue<number>();
      const consumer = createTask(async () => {
        for await (const _ of q) assert.fail("no item was put");
      });
      await settle();
      consumer.cancel();
      await assert.rejects(async () => await consumer, CancelledError);
      q.putNowait(1);
      assert.equal(q.getNowait(), 1);
    });
  });
});

describe("Queue outside a loop", () => {
  test("a queue works without a loop until something has to wait", async () => {
    const q = new Queue<number>(1);
    await q.put(1);
    await assert.rejects(q.put(2), {
      name: "RuntimeError",
      message: "no running event loop: start your program with run(main)",
    });
    assert.equal(await q.get(), 1);
    await assert.rejects(q.get(), { name: "RuntimeError" });
    q.putNowait(5);
    await assert.rejects(q.join(), { name: "RuntimeError" });
    assert.deepEqual(q.statistics().getters + q.statistics().putters, 0);
    q.shutdown();
    await assert.rejects(q.put(3), QueueShutDown, "shut down needs no loop either");
  });
});

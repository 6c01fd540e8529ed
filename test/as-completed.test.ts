/**
 * asCompleted(): CPython 3.13's as_completed tests in our own words, on the virtual clock, plus
 * the JavaScript-specific point that the yielded Tasks are not unwrapped into their results.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  asCompleted,
  CancelledError,
  createTask,
  EventLoop,
  Future,
  getRunningLoop,
  sleep,
  Task,
  TimeoutError,
} from "../src/index.ts";
import { now, runVirtual } from "./helpers.ts";

describe("asCompleted: async iteration", () => {
  test("yields the original tasks, in completion order, each already done", async () => {
    await runVirtual(async () => {
      const tasks = [300, 100, 200].map((ms) => createTask(() => sleep(ms, ms)));
      const order: number[] = [];
      for await (const t of asCompleted(tasks)) {
        assert.ok(t instanceof Task, "a Task, not its result");
        assert.ok(tasks.some((x) => x === t));
        assert.equal(t.done(), true);
        order.push(t.result());
        assert.equal(now(), t.result());
      }
      assert.deepEqual(order, [100, 200, 300]);
    });
  });

  test("the same task twice is yielded once", async () => {
    await runVirtual(async () => {
      const ham = createTask(async () => "ham");
      const seen: string[] = [];
      for await (const t of asCompleted([ham, ham, createTask(async () => "spam")])) {
        seen.push(t.result());
      }
      assert.deepEqual(seen.sort(), ["ham", "spam"]);
    });
  });

  test("functions are yielded as the tasks made for them, promises as Futures", async () => {
    await runVirtual(async () => {
      const out: unknown[] = [];
      for await (const f of asCompleted([() => sleep(2, "fn"), sleep(1, "promise")])) {
        assert.ok(f instanceof Future);
        out.push(f.result());
      }
      assert.deepEqual(out, ["promise", "fn"]);
      const yielded: unknown[] = [];
      for await (const f of asCompleted([async () => 1])) yielded.push(f);
      assert.ok(yielded[0] instanceof Task);
    });
  });

  test("a failed task is yielded like any other; its error is read from it", async () => {
    await runVirtual(async () => {
      const bad = createTask(async () => {
        await sleep(5);
        throw new RangeError("bad");
      });
      const good = createTask(() => sleep(10, "good"));
      const seen: string[] = [];
      for await (const t of asCompleted<Task<string>>([bad, good])) {
        seen.push(t.exception() === null ? t.result() : (t.exception() as Error).message);
      }
      assert.deepEqual(seen, ["bad", "good"]);
    });
  });

  test("an empty iterable ends at once", async () => {
    await runVirtual(async () => {
      let steps = 0;
      for await (const _ of asCompleted([])) steps++;
      assert.equal(steps, 0);
    });
  });

  test("a timeout yields what finished in time, then throws TimeoutError; nothing is cancelled", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(100, "a"));
      const b = createTask(() => sleep(150, "b"));
      const values: Array<[number, unknown]> = [];
      try {
        for await (const f of asCompleted([a, b], { timeout: 120 })) values.push([1, f.result()]);
      } catch (e) {
        values.push([2, e]);
      }
      assert.equal(values.length, 2);
      assert.deepEqual(values[0], [1, "a"]);
      assert.ok(values[1][1] instanceof TimeoutError);
      assert.match((values[1][1] as Error).message, /asCompleted\(\) timed out after 120 ms/);
      assert.equal(now(), 120);
      assert.equal(b.cancelled(), false);
      assert.equal(await b, "b");
    });
  });

  test("each step left after a timeout throws TimeoutError, then the iterator is done", async () => {
    await runVirtual(async () => {
      const it = asCompleted([() => sleep(100), () => sleep(200)], { timeout: 10 });
      await assert.rejects(it.next(), TimeoutError);
      await assert.rejects(it.next(), TimeoutError);
      assert.deepEqual(await it.next(), { done: true, value: undefined });
    });
  });

  test("a timeout that is not reached changes nothing", async () => {
    await runVirtual(async () => {
      const out: unknown[] = [];
      for await (const f of asCompleted([() => sleep(10, "a")], { timeout: 1000 })) {
        out.push(f.result());
      }
      assert.deepEqual(out, ["a"]);
      assert.equal(now(), 10);
    });
  });

  test("the iterator can be left and resumed later", async () => {
    await runVirtual(async () => {
      const it = asCompleted([0, 1, 2, 3].map((i) => async () => i));
      const collected: number[] = [];
      for await (const f of it) {
        collected.push(f.result() as number);
        if (collected.length === 2) break;
      }
      assert.equal(collected.length, 2);
      for await (const f of it) collected.push(f.result() as number);
      assert.deepEqual(collected.sort(), [0, 1, 2, 3]);
    });
  });

  test("cancelling the iterating task loses nothing: a later next() gets the item", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(100, "a"));
      const it = asCompleted([a]);
      const consumer = createTask(() => it.next());
      await sleep(10);
      consumer.cancel();
      await assert.rejects(async () => await consumer, CancelledError);
      const step = await it.next();
      assert.equal(step.done, false);
      assert.equal(step.value, a);
      assert.deepEqual(await it.next(), { done: true, value: undefined });
    });
  });

  test("a consumer cancelled right after being woken passes the wake-up on", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const f1 = loop.createFuture<string>();
      const f2 = loop.createFuture<string>();
      const it = asCompleted([f1, f2]);
      const first = createTask(() => it.next());
      const second = createTask(() => it.next());
      await sleep(1);
      // Completing f1 wakes `first` (the earliest waiter); it is cancelled before it resumes.
      f1.setResult("x");
      loop.callSoon(() => first.cancel());
      await assert.rejects(async () => await first, CancelledError);
      const step = await second;
      assert.equal(step.value, f1);
      f2.setResult("y");
      assert.equal((await it.next()).value, f2);
      assert.equal((await it.next()).done, true);
    });
  });

  test("the for-await variable is typed as the Task (minus then), not as its result", async () => {
    await runVirtual(async () => {
      const tasks: Task<number>[] = [createTask(() => sleep(1, 1))];
      for await (const t of asCompleted(tasks)) {
        const value: number = t.result();
        const name: string = t.name;
        assert.equal(value, 1);
        assert.equal(name, tasks[0].name);
        assert.ok(t === tasks[0]);
      }
    });
  });
});

describe("asCompleted: bad input", () => {
  test("a single Future or promise is refused with a TypeError", async () => {
    await runVirtual(async () => {
      const fut = getRunningLoop().createFuture<number>();
      assert.throws(() => asCompleted(fut as unknown as Future<number>[]), {
        name: "TypeError",
        message: /got a single Future/,
      });
      assert.throws(() => asCompleted(Promise.resolve(1) as unknown as Promise<number>[]), {
        name: "TypeError",
        message: /got a single promise/,
      });
    });
  });

  test("non-iterables and non-awaitable elements are TypeErrors; a NaN timeout a RangeError", async () => {
    await runVirtual(async () => {
      assert.throws(() => asCompleted(42 as unknown as Future<number>[]), TypeError);
      assert.throws(() => asCompleted([1] as unknown as Future<number>[]), /aws\[0\]/);
      assert.throws(() => asCompleted([], { timeout: Number.NaN }), RangeError);
    });
  });

  test("a function or promise next to a Future of another loop is a RangeError, and the function never starts", async () => {
    await runVirtual(async () => {
      const other = new EventLoop();
      const theirs = new Future<number>({ loop: other });
      let started = false;
      const work = async () => {
        started = true;
      };
      assert.throws(() => asCompleted([work, theirs]), {
        name: "RangeError",
        message: /different event loops/,
      });
      assert.throws(() => asCompleted([theirs, Promise.resolve(1)]), RangeError);
      await sleep(1);
      assert.equal(started, false);
      other.close();
    });
  });

  test("outside a running loop asCompleted() is a RuntimeError", () => {
    assert.throws(() => asCompleted([Promise.resolve(1)]), {
      name: "RuntimeError",
      message: /no running event loop/,
    });
  });
});

/**
 * wait(): CPython's wait tests (test_tasks) in our own words, on the virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ALL_COMPLETED,
  CancelledError,
  createTask,
  EventLoop,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  getRunningLoop,
  type ReturnWhen,
  sleep,
  wait,
} from "../src/index.ts";
import { collectExceptions, now, runVirtual } from "./helpers.ts";

describe("wait: ALL_COMPLETED", () => {
  test("waits for every awaitable and reports them all as done", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(100));
      const b = createTask(() => sleep(150));
      const { done, pending } = await wait([b, a]);
      assert.deepEqual(done, new Set([a, b]));
      assert.deepEqual(pending, new Set());
      assert.equal(now(), 150);
      // Again, with everything done: no time passes.
      const again = await wait([b, a]);
      assert.equal(again.done.size, 2);
      assert.equal(now(), 150);
    });
  });

  test("errors are not raised: the failed task is simply in done", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(100));
      const b = createTask(async () => {
        await sleep(150);
        throw new RangeError("really");
      });
      const { done, pending } = await wait([b, a], { returnWhen: ALL_COMPLETED });
      assert.equal(done.size, 2);
      assert.equal(pending.size, 0);
      const failed = [...done].filter((f) => f.exception() !== null);
      assert.deepEqual(failed, [b]);
      assert.equal(now(), 150);
    });
  });

  test("duplicates count once", async () => {
    await runVirtual(async () => {
      const c = createTask(async () => "test");
      const { done, pending } = await wait([c, c, createTask(async () => "spam")]);
      assert.equal(pending.size, 0);
      assert.deepEqual(new Set([...done].map((f) => f.result())), new Set(["test", "spam"]));
    });
  });

  test("any iterable works: a Set, an iterator, a generator", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(100));
      const b = createTask(() => sleep(150));
      assert.equal((await wait(new Set([a, b]))).done.size, 2);
      assert.equal((await wait([b, a][Symbol.iterator]())).done.size, 2);
      function* tasks() {
        for (let i = 0; i < 10; i++) yield createTask(async () => i);
      }
      const { done, pending } = await wait(tasks());
      assert.equal(done.size, 10);
      assert.equal(pending.size, 0);
    });
  });

  test("functions become tasks and promises become Futures, which the Sets contain", async () => {
    await runVirtual(async () => {
      const { done } = await wait([() => sleep(5, "fn"), sleep(3, "promise")]);
      assert.deepEqual(new Set([...done].map((f) => f.result())), new Set(["fn", "promise"]));
    });
  });
});

describe("wait: FIRST_COMPLETED and FIRST_EXCEPTION", () => {
  test("FIRST_COMPLETED returns as soon as one is done", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(10_000));
      const b = createTask(() => sleep(100));
      const { done, pending } = await wait([b, a], { returnWhen: FIRST_COMPLETED });
      assert.deepEqual(done, new Set([b]));
      assert.deepEqual(pending, new Set([a]));
      assert.equal(a.done(), false);
      assert.equal(now(), 100);
      a.cancel();
    });
  });

  test("FIRST_COMPLETED reports every Future done by the time the caller resumes", async () => {
    await runVirtual(async () => {
      const a = createTask(async () => {
        await sleep(0);
      });
      const b = createTask(async () => {
        await sleep(0);
        await sleep(0);
      });
      const { done } = await wait([b, a], { returnWhen: FIRST_COMPLETED });
      assert.deepEqual(done, new Set([a, b]));
    });
  });

  test("FIRST_EXCEPTION returns at once when a task has already failed", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(10_000));
      const b = createTask(async () => {
        throw new RangeError("err");
      });
      const { done, pending } = await wait([b, a], { returnWhen: FIRST_EXCEPTION });
      assert.deepEqual(done, new Set([b]));
      assert.deepEqual(pending, new Set([a]));
      assert.equal(now(), 0);
      a.cancel();
    });
  });

  test("FIRST_EXCEPTION returns when a task fails during the wait", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(10_000));
      const b = createTask(async () => {
        await sleep(10);
        throw new RangeError("err");
      });
      const { done, pending } = await wait([b, a], { returnWhen: FIRST_EXCEPTION });
      assert.deepEqual(done, new Set([b]));
      assert.deepEqual(pending, new Set([a]));
      assert.equal(now(), 10);
      a.cancel();
    });
  });

  test("FIRST_EXCEPTION does not count a cancellation as an exception", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(100));
      const b = createTask(() => sleep(10_000));
      const c = createTask(() => sleep(50));
      setTimeoutInLoop(10, () => b.cancel());
      const { done, pending } = await wait([a, b, c], { returnWhen: FIRST_EXCEPTION });
      assert.equal(done.size, 3);
      assert.equal(pending.size, 0);
      assert.equal(now(), 100);
    });
  });

  test("FIRST_EXCEPTION marks the error it saw as retrieved", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      const b = createTask(async () => {
        throw new RangeError("seen by wait");
      });
      const { done } = await wait([b], { returnWhen: FIRST_EXCEPTION });
      assert.ok(done.has(b));
    });
    assert.deepEqual(contexts, []);
  });
});

describe("wait: timeout and cancellation", () => {
  test("a timeout returns what is done so far, without raising or cancelling", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(100));
      const b = createTask(() => sleep(150));
      const { done, pending } = await wait([b, a], { timeout: 110 });
      assert.deepEqual(done, new Set([a]));
      assert.deepEqual(pending, new Set([b]));
      assert.equal(now(), 110);
      assert.equal(b.cancelled(), false);
      await b;
    });
  });

  test("a timeout due at the same time as a completion, but set first, wins: as in asyncio, the waiter resumes before the task's last step", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(100));
      const b = createTask(() => sleep(150));
      // wait() sets its 100 ms timer now, before `a` starts and sets its own: at t=100 the
      // timeout fires first, so the waiter resumes before `a` completes.
      const { done, pending } = await wait([b, a], { timeout: 100 });
      assert.deepEqual(done, new Set());
      assert.deepEqual(pending, new Set([a, b]));
      assert.equal(now(), 100);
      await a;
      b.cancel();
    });
  });

  test("a completion due before the timeout is reported as done", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(100));
      const b = createTask(() => sleep(150));
      const { done, pending } = await wait([b, a], { timeout: 110 });
      assert.deepEqual(done, new Set([a]));
      assert.deepEqual(pending, new Set([b]));
      assert.equal(now(), 110);
      b.cancel();
    });
  });

  test("cancelling the waiting task cancels none of the awaited tasks", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const waiter = loop.createFuture<void>();
      let proof = 0;
      const inner = createTask(async () => {
        await waiter;
        proof += 1;
      });
      const outer = createTask(async () => {
        await wait([inner]);
        proof += 100;
      });
      await sleep(0);
      outer.cancel();
      await assert.rejects(async () => await outer, CancelledError);
      waiter.setResult();
      await inner;
      assert.equal(proof, 1);
    });
  });

  test("a finished, timed-out or cancelled wait leaves no callback on the Futures", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const f: Future<number> = loop.createFuture();
      await wait([f], { timeout: 10 });
      assert.equal(f._callbacks, null);
      const waiter = createTask(() => wait([f]));
      await sleep(1);
      waiter.cancel();
      await assert.rejects(async () => await waiter, CancelledError);
      assert.equal(f._callbacks, null);
    });
  });
});

describe("wait: bad input", () => {
  test("an empty collection is a RangeError (asyncio's ValueError)", async () => {
    await runVirtual(async () => {
      await assert.rejects(wait([]), {
        name: "RangeError",
        message: /at least one awaitable/,
      });
      await assert.rejects(wait(new Set<Promise<void>>()), RangeError);
    });
  });

  test("a returnWhen that is not one of the three constants is a RangeError", async () => {
    await runVirtual(async () => {
      const t = createTask(() => sleep(10));
      await assert.rejects(wait([t], { returnWhen: -1 as unknown as ReturnWhen }), {
        name: "RangeError",
        message: /options\.returnWhen/,
      });
      await t;
    });
  });

  test("a single Future or a non-iterable is a TypeError", async () => {
    await runVirtual(async () => {
      const fut = getRunningLoop().createFuture<number>();
      await assert.rejects(wait(fut as unknown as Future<number>[]), {
        name: "TypeError",
        message: /got a single Future/,
      });
      await assert.rejects(wait(42 as unknown as Future<number>[]), TypeError);
      await assert.rejects(wait([42] as unknown as Future<number>[]), {
        name: "TypeError",
        message: /aws\[0\]/,
      });
    });
  });

  test("a NaN timeout is a RangeError", async () => {
    await runVirtual(async () => {
      const t = createTask(() => sleep(10));
      await assert.rejects(wait([t], { timeout: Number.NaN }), RangeError);
      await t;
    });
  });

  test("a function next to a Future of another loop is a RangeError, and the function never starts", async () => {
    await runVirtual(async () => {
      const other = new EventLoop();
      const theirs = new Future<number>({ loop: other });
      let started = false;
      await assert.rejects(
        wait([
          async () => {
            started = true;
          },
          theirs,
        ]),
        { name: "RangeError", message: /different event loops/ },
      );
      await sleep(1);
      assert.equal(started, false);
      other.close();
    });
  });

  test("wait() outside a running loop rejects with RuntimeError", async () => {
    await assert.rejects(wait([Promise.resolve(1)]), {
      name: "RuntimeError",
      message: /no running event loop/,
    });
  });
});

function setTimeoutInLoop(ms: number, fn: () => void): void {
  getRunningLoop().callLater(ms, fn);
}

/**
 * gather(): CPython's gather tests (test_tasks GatherTests, cancellation propagation) in our own
 * words, plus tuple typing, provenance and bad input. Virtual clock throughout.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CancelledError,
  createTask,
  EventLoop,
  ensureFuture,
  Future,
  gather,
  getRunningLoop,
  shield,
  sleep,
  type Task,
  TimeoutError,
  timeout,
} from "../src/index.ts";
import { collectExceptions, runVirtual } from "./helpers.ts";

/** Runs the loop for a few iterations so that done callbacks have run. */
async function settle(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await sleep(0);
}

describe("gather: results", () => {
  test("results come in the order given, not the order of completion", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const [a, b, c] = [0, 1, 2].map(() => loop.createFuture<number>());
      const outer = gather([a, b, c]);
      let calls = 0;
      outer.addDoneCallback(() => calls++);
      b.setResult(1);
      a.setResult(2);
      await settle();
      assert.equal(outer.done(), false);
      assert.equal(calls, 0);
      c.setResult(3);
      await settle();
      assert.equal(calls, 1);
      assert.deepEqual(outer.result(), [2, 1, 3]);
    });
  });

  test("the result is typed as a tuple of the awaited types", async () => {
    await runVirtual(async () => {
      const a: Task<number> = createTask(() => sleep(2, 1));
      const b: Task<string> = createTask(() => sleep(1, "two"));
      const outer: Future<[number, string, boolean]> = gather([a, b, () => sleep(3, true)]);
      const [x, y, z] = await outer;
      const check: [number, string, boolean] = [x, y, z];
      assert.deepEqual(check, [1, "two", true]);
    });
  });

  test("functions are started as tasks and promises are accepted", async () => {
    await runVirtual(async () => {
      const results = await gather([
        async () => {
          await sleep(10);
          return "fn";
        },
        Promise.resolve("promise"),
        sleep(5, "sleep"),
      ]);
      assert.deepEqual(results, ["fn", "promise", "sleep"]);
    });
  });

  test("an empty array gives a Future already resolved to []", async () => {
    await runVirtual(async () => {
      const outer = gather([]);
      assert.ok(outer instanceof Future);
      assert.equal(outer.done(), true);
      assert.deepEqual(await outer, []);
    });
  });

  test("the same awaitable twice runs once and its result appears twice", async () => {
    await runVirtual(async () => {
      let runs = 0;
      const fn = async () => {
        runs++;
        return "abc";
      };
      const results = await gather([fn, fn, async () => "def", fn]);
      assert.deepEqual(results, ["abc", "abc", "def", "abc"]);
      assert.equal(runs, 1);
      const t = createTask(() => sleep(1, 7));
      assert.deepEqual(await gather([t, t]), [7, 7]);
    });
  });

  test("returnExceptions with every child succeeding gives plain results", async () => {
    await runVirtual(async () => {
      const results = await gather([() => sleep(2, "a"), () => sleep(1, "b")], {
        returnExceptions: true,
      });
      assert.deepEqual(results, ["a", "b"]);
    });
  });
});

describe("gather: errors", () => {
  test("the first error fails the gather at once and the other children keep running", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const [a, b, c, d, e] = [0, 1, 2, 3, 4].map(() => loop.createFuture<number>());
      const outer = gather([a, b, c, d, e]);
      const boom = new RangeError("boom");
      a.setResult(1);
      b.setException(boom);
      await settle();
      assert.equal(outer.done(), true);
      assert.equal(outer.exception(), boom);
      // The others are untouched and their outcomes are ignored.
      assert.equal(c.done() || d.done() || e.done(), false);
      c.setResult(3);
      d.cancel();
      e.setException(new Error("later"));
      e.exception();
      await settle();
      assert.equal(outer.exception(), boom);
    });
  });

  test("a failing task does not cancel its sibling tasks", async () => {
    await runVirtual(async () => {
      const slow = createTask(() => sleep(100, "slow"));
      const failing = async (): Promise<string> => {
        await sleep(10);
        throw new Error("fail");
      };
      await assert.rejects(async () => await gather([slow, failing]), { message: "fail" });
      assert.equal(slow.done(), false);
      assert.equal(await slow, "slow");
    });
  });

  test("returnExceptions puts errors in the results and waits for every child", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const [a, b, c, d] = [0, 1, 2, 3].map(() => loop.createFuture<number>());
      const outer = gather([a, b, c, d], { returnExceptions: true });
      const e1 = new TypeError("one");
      const e2 = new RangeError("two");
      b.setResult(1);
      c.setException(e1);
      a.setResult(3);
      await settle();
      assert.equal(outer.done(), false);
      d.setException(e2);
      assert.deepEqual(await outer, [3, 1, e1, e2]);
    });
  });

  test("errors of children after the gather failed are not reported as never retrieved", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      const loop = getRunningLoop();
      const a = loop.createFuture<void>();
      const b = loop.createFuture<void>();
      const outer = createTask(() =>
        gather([
          async () => {
            await a;
            throw new Error("first");
          },
          async () => {
            await b;
            throw new Error("should not be ignored");
          },
        ]),
      );
      await settle();
      a.setResult();
      await settle();
      b.setResult();
      await settle();
      assert.equal(outer.done(), true);
      assert.equal((outer.exception() as Error).message, "first");
    });
    assert.deepEqual(contexts, []);
  });
});

describe("gather: cancellation", () => {
  test("a child cancelled by someone else fails the gather with CancelledError; the gather is not cancelled", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const [a, b, c] = [0, 1, 2].map(() => loop.createFuture<number>());
      const outer = gather([a, b, c]);
      a.setResult(1);
      b.cancel("child");
      await settle();
      assert.equal(outer.done(), true);
      assert.equal(outer.cancelled(), false);
      const error = outer.exception();
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "child");
      c.cancel();
    });
  });

  test("with returnExceptions a cancelled child appears as a CancelledError in the results", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const fs = [0, 1, 2, 3, 4, 5].map(() => loop.createFuture<number>());
      const outer = gather(fs, { returnExceptions: true });
      const zde = new RangeError("zde");
      const rte = new TypeError("rte");
      fs[0].setResult(1);
      fs[1].setException(zde);
      fs[2].cancel();
      await settle();
      assert.equal(outer.done(), false);
      fs[3].setResult(3);
      fs[4].cancel();
      fs[5].setException(rte);
      const res = (await outer) as unknown[];
      assert.ok(res[2] instanceof CancelledError);
      assert.ok(res[4] instanceof CancelledError);
      assert.deepEqual([res[0], res[1], res[3], res[5]], [1, zde, 3, rte]);
    });
  });

  test("cancelling the task that awaits the gather cancels every child", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const waiter = loop.createFuture<void>();
      let proof = 0;
      const inner = async () => {
        await waiter;
        proof += 1;
      };
      const child1 = createTask(inner);
      const child2 = createTask(inner);
      let gathering: Future<unknown> | undefined;
      const outer = createTask(async () => {
        gathering = gather([child1, child2]);
        await gathering;
        proof += 100;
      });
      await settle();
      assert.equal(outer.cancel(), true);
      await assert.rejects(async () => await outer, CancelledError);
      assert.equal(gathering!.cancel(), false);
      assert.equal(waiter.cancelled(), true);
      assert.equal(child1.cancelled(), true);
      assert.equal(child2.cancelled(), true);
      await settle();
      assert.equal(proof, 0);
    });
  });

  test("cancel(msg) on the gather reaches the children and the gather's CancelledError", async () => {
    await runVirtual(async () => {
      const t1 = createTask(() => sleep(100));
      const t2 = createTask(() => sleep(100));
      const outer = gather([t1, t2]);
      await sleep(1);
      assert.equal(outer.cancel("stop it"), true);
      const error = await outer.then(
        () => assert.fail("not cancelled"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "stop it");
      assert.throws(() => t1.result(), { name: "CancelledError", message: "stop it" });
    });
  });

  test("a cancelled gather ends with CancelledError even with returnExceptions", async () => {
    await runVirtual(async () => {
      const t = createTask(() => sleep(100));
      const outer = gather([t, () => sleep(1, "quick")], { returnExceptions: true });
      await sleep(5);
      outer.cancel();
      await assert.rejects(async () => await outer, CancelledError);
    });
  });

  test("a cancelled gather ends with CancelledError even if a child swallows its cancellation", async () => {
    await runVirtual(async () => {
      const stubborn = createTask(async () => {
        try {
          await sleep(100);
        } catch {
          return "swallowed"; // on purpose
        }
        return "slept";
      });
      const outer = gather([stubborn]);
      await sleep(1);
      assert.equal(outer.cancel(), true);
      await assert.rejects(async () => await outer, CancelledError);
      assert.equal(await stubborn, "swallowed");
    });
  });

  test("a gather whose children are all done refuses to be cancelled (bpo-26923)", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const fut = loop.createFuture<number>();
      const outer = gather([fut]);
      let cancelResult: boolean | undefined;
      fut.addDoneCallback(() => {
        cancelResult = outer.cancel();
      });
      fut.setResult(42);
      assert.deepEqual(await outer, [42]);
      assert.equal(cancelResult, false);
      assert.equal(outer.cancelled(), false);
    });
  });

  test("cancelling the awaiting task with a message: the CancelledError keeps it", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        for (;;) await gather([() => sleep(50)], { returnExceptions: true });
      });
      await sleep(200);
      task.cancel("my message");
      const error = await task.then(
        () => assert.fail("not cancelled"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "my message");
    });
  });

  test("a timeout around a gather cancels the children, whose CancelledError names the timeout", async () => {
    await runVirtual(async () => {
      const child = createTask(() => sleep(1000));
      await assert.rejects(
        timeout(30, () => gather([child, () => sleep(2000)])),
        TimeoutError,
      );
      assert.equal(child.cancelled(), true);
      assert.throws(
        () => child.result(),
        (e: unknown) => e instanceof CancelledError && e.origin?.kind === "timeout",
      );
    });
  });

  test("gathering shields and cancelling the gather cancels the shields, not the work", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const child1 = loop.createFuture<number>();
      const child2 = loop.createFuture<number>();
      const inner1 = shield(child1);
      const inner2 = shield(child2);
      const parent = gather([inner1, inner2]);
      await settle();
      parent.cancel();
      await settle();
      assert.ok(parent.exception() instanceof CancelledError);
      assert.equal(inner1.cancelled(), true);
      assert.equal(inner2.cancelled(), true);
      assert.equal(child1.done() || child2.done(), false);
      child1.setResult(1);
      child2.setResult(2);
    });
  });

  test("the inspect string shows how many children are done", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const a = loop.createFuture<number>();
      const b = loop.createFuture<number>();
      const outer = gather([a, b]);
      a.setResult(1);
      assert.equal(String(outer), "<GatheringFuture pending children=2 done=1>");
      b.setResult(2);
      await outer;
      assert.equal(String(outer), "<GatheringFuture finished result=[ 1, 2 ] children=2 done=2>");
    });
  });
});

describe("gather: bad input", () => {
  test("a non-array is a TypeError, even a single Task", async () => {
    await runVirtual(async () => {
      const t = createTask(() => sleep(1));
      assert.throws(() => gather(t as unknown as unknown[]), {
        name: "TypeError",
        message: /Expected `aws` to be an array of awaitables/,
      });
      assert.throws(() => gather("ab" as unknown as unknown[]), TypeError);
      await t;
    });
  });

  test("an element that is not awaitable is a TypeError naming it, and nothing is started", async () => {
    await runVirtual(async () => {
      let started = false;
      const before = getRunningLoop()._tasks.size;
      assert.throws(
        () =>
          gather([
            async () => {
              started = true;
            },
            {},
          ]),
        {
          name: "TypeError",
          message: /Expected `aws\[1\]` to be a Future, a promise or a function/,
        },
      );
      assert.equal(getRunningLoop()._tasks.size, before);
      await settle();
      assert.equal(started, false);
    });
  });

  test("bad options are TypeErrors", async () => {
    await runVirtual(async () => {
      assert.throws(() => gather([], "yes" as never), TypeError);
      assert.throws(() => gather([], { returnExceptions: "yes" as unknown as boolean }), {
        name: "TypeError",
        message: /options\.returnExceptions/,
      });
    });
  });

  test("Futures of different loops are a RangeError (asyncio's ValueError)", async () => {
    await runVirtual(async () => {
      const other = new EventLoop();
      const mine = getRunningLoop().createFuture<number>();
      const theirs = new Future<number>({ loop: other });
      assert.throws(() => gather([mine, theirs]), RangeError);
      other.close();
    });
  });

  test("a thenable whose then() throws fails like a rejected child (ensureFuture gives a failed Future); nothing reaches the exception handler", async () => {
    const reported = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(reported.handler);
      const broken = {
        // biome-ignore lint/suspicious/noThenProperty: a misbehaving thenable on purpose.
        then() {
          throw new RangeError("then threw");
        },
      } as unknown as PromiseLike<number>;
      const fut = ensureFuture(broken);
      assert.equal(fut.done(), true);
      assert.equal((fut.exception() as Error).message, "then threw");
      let ran = false;
      const g = gather([
        async () => {
          ran = true;
        },
        broken,
      ]);
      await assert.rejects(async () => await g, { name: "RangeError", message: "then threw" });
      await settle();
      assert.equal(ran, true, "the other child runs on, as with any failed child");
    });
    assert.deepEqual(reported.contexts, []);
  });

  test("a function next to a Future of another loop is a RangeError, and the function never starts", async () => {
    const reported = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(reported.handler);
      const other = new EventLoop();
      const theirs = new Future<number>({ loop: other });
      let started = false;
      const work = async () => {
        started = true;
      };
      assert.throws(() => gather([work, theirs]), {
        name: "RangeError",
        message: /different event loops/,
      });
      assert.throws(() => gather([theirs, Promise.resolve(1)]), RangeError);
      await settle();
      assert.equal(started, false);
      other.close();
    });
    assert.deepEqual(reported.contexts, []);
  });
});

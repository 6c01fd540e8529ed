/**
 * shield(): CPython's shield tests in our own words, on the virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CancelledError,
  createTask,
  Future,
  gather,
  getRunningLoop,
  shield,
  sleep,
} from "../src/index.ts";
import { collectExceptions, runVirtual } from "./helpers.ts";

async function settle(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await sleep(0);
}

describe("shield: following the inner awaitable", () => {
  test("the outer Future gets the inner result", async () => {
    await runVirtual(async () => {
      const inner = getRunningLoop().createFuture<number>();
      const outer = shield(inner);
      inner.setResult(42);
      assert.equal(await outer, 42);
    });
  });

  test("the outer Future gets the inner exception", async () => {
    await runVirtual(async () => {
      const inner = getRunningLoop().createFuture<number>();
      const outer = shield(inner);
      await settle();
      const error = new RangeError("expected");
      inner.setException(error);
      await settle();
      assert.equal(outer.exception(), error);
    });
  });

  test("cancelling the inner Future cancels the outer one", async () => {
    await runVirtual(async () => {
      const inner = getRunningLoop().createFuture<number>();
      const outer = shield(inner);
      await settle();
      inner.cancel("inner gone");
      await settle();
      assert.equal(outer.cancelled(), true);
      assert.throws(() => outer.result(), { name: "CancelledError", message: "inner gone" });
    });
  });

  test("an inner Future that is already done is returned as is", async () => {
    await runVirtual(async () => {
      const fut = getRunningLoop().createFuture<number>();
      fut.setResult(42);
      assert.equal(shield(fut), fut);
      assert.equal(await shield(fut), 42);
    });
  });

  test("a function is started as a task and shielded", async () => {
    await runVirtual(async () => {
      const outer = shield(() => sleep(5, "from a task"));
      assert.ok(outer instanceof Future);
      assert.equal(await outer, "from a task");
    });
  });
});

describe("shield: cancelling the outer side", () => {
  test("cancelling the outer Future leaves the inner one running and detaches from it", async () => {
    await runVirtual(async () => {
      const inner = getRunningLoop().createFuture<number>();
      const outer = shield(inner);
      await settle();
      outer.cancel();
      await settle();
      assert.equal(outer.cancelled(), true);
      assert.equal(inner.done(), false);
      assert.equal(inner._callbacks, null, "no callback is left on the inner Future");
      inner.setResult(1);
    });
  });

  test("an inner result after the outer was cancelled is not reported", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      const inner = getRunningLoop().createFuture<number>();
      const outer = shield(inner);
      await settle();
      outer.cancel();
      await settle();
      inner.setResult(1);
      await settle();
    });
    assert.deepEqual(contexts, []);
  });

  test("an inner error after the outer was cancelled is reported once, as never retrieved", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      const inner = getRunningLoop().createFuture<number>();
      const outer = shield(inner);
      await settle();
      outer.cancel();
      await settle();
      const second = shield(inner);
      await settle();
      second.cancel();
      await settle();
      inner.setException(new Error("foo"));
      await settle();
    });
    assert.equal(contexts.length, 1);
    assert.equal((contexts[0].exception as Error).message, "foo");
  });

  test("cancelling the awaiting task does not cancel the shielded work", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const waiter = loop.createFuture<void>();
      let proof = 0;
      const outer = createTask(async () => {
        await shield(async () => {
          await waiter;
          proof += 1;
        });
        proof += 100;
      });
      await settle();
      outer.cancel();
      await assert.rejects(async () => await outer, CancelledError);
      waiter.setResult();
      await settle();
      assert.equal(proof, 1);
    });
  });

  test("the awaiting task gets CancelledError at once, while the work finishes later", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const work = createTask(() => sleep(100, "saved"));
      const waiter = createTask(() => shield(work));
      await sleep(10);
      waiter.cancel();
      await assert.rejects(async () => await waiter, CancelledError);
      assert.equal(loop.time(), 10);
      assert.equal(await work, "saved");
      assert.equal(loop.time(), 100);
    });
  });

  test("cancelling a shield around a gather does not cancel the gather", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const child1 = loop.createFuture<number>();
      const child2 = loop.createFuture<number>();
      const parent = gather([child1, child2]);
      const outer = shield(parent);
      await settle();
      outer.cancel();
      await settle();
      assert.equal(outer.cancelled(), true);
      child1.setResult(1);
      child2.setResult(2);
      await settle();
      assert.deepEqual(parent.result(), [1, 2]);
    });
  });
});

describe("shield: bad input", () => {
  test("a value that is not awaitable is a TypeError", async () => {
    await runVirtual(async () => {
      assert.throws(() => shield(42 as unknown as Promise<number>), {
        name: "TypeError",
        message: /Expected `aw` to be a Future, a promise or a function/,
      });
    });
  });
});

/**
 * Executors: toThread and loop.runInExecutor on worker threads (piscina), with job modules in
 * test/fixtures/io/jobs.mjs. Cancellation while queued and while running is observed through
 * SharedArrayBuffer cells the jobs write, never through timing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  createTask,
  getRunningLoop,
  IncompleteReadError,
  RuntimeError,
  run,
  sleep,
  ThreadPoolExecutor,
  TimeoutError,
  toThread,
} from "../src/index.ts";

const GUARD = { timeout: 30_000 };
const JOBS = new URL("./fixtures/io/jobs.mjs", import.meta.url);
const realRun = <T>(main: () => Promise<T>) => run(main, { handleSignals: false });

function settled<T>(task: PromiseLike<T>): Promise<T> {
  return (async () => await task)();
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(1);
}

describe("toThread and runInExecutor", () => {
  it("toThread runs a sync or async export on a thread and returns its result", GUARD, () =>
    realRun(async () => {
      assert.equal(await toThread<number>(JOBS, "add", 2, 3), 5);
      assert.equal(await toThread<number>(JOBS.href, "addLater", 4, 5), 9);
      assert.equal(await toThread<number>(JOBS.pathname, "add", 1, 1), 2);
    }),
  );

  it("errors come back with their class, message, fields, cause and worker stack", GUARD, () =>
    realRun(async () => {
      await assert.rejects(settled(toThread(JOBS, "fail", "boom")), (e: unknown) => {
        assert.ok(e instanceof RangeError);
        assert.equal(e.message, "boom");
        assert.equal((e as NodeJS.ErrnoException).code, "E_JOB");
        assert.match(String(e.stack), /jobs\.mjs/);
        return true;
      });
      await assert.rejects(settled(toThread(JOBS, "failLater", "later")), (e: unknown) => {
        assert.ok(e instanceof Error);
        assert.equal(e.message, "later");
        assert.ok(e.cause instanceof TypeError);
        return true;
      });
    }),
  );

  it(
    "asyncio-ts's error classes and AggregateError come back as those classes; thrown values as they are",
    GUARD,
    () =>
      realRun(async () => {
        await assert.rejects(settled(toThread(JOBS, "throwsNamed", "timeout")), (e: unknown) => {
          assert.ok(e instanceof TimeoutError);
          assert.equal(e.message, "too slow");
          return true;
        });
        await assert.rejects(settled(toThread(JOBS, "throwsNamed", "aggregate")), (e: unknown) => {
          assert.ok(e instanceof AggregateError);
          assert.equal(e.message, "both failed");
          assert.ok(e.errors[0] instanceof TypeError);
          assert.ok(e.errors[1] instanceof RangeError);
          assert.equal(e.errors[1].message, "second");
          return true;
        });
        await assert.rejects(settled(toThread(JOBS, "throwsWithErrorsField")), (e: unknown) => {
          assert.ok(e instanceof Error && !(e instanceof AggregateError));
          assert.equal(e.name, "ValidationError");
          assert.deepEqual((e as Error & { errors: unknown }).errors, ["name is required"]);
          return true;
        });
        await assert.rejects(settled(toThread(JOBS, "throwsWithBuffer")), (e: unknown) => {
          assert.ok(e instanceof IncompleteReadError);
          assert.ok(Buffer.isBuffer(e.partial));
          assert.equal(Buffer.from(e.partial).toString(), "abc");
          assert.equal(e.expected, 10);
          return true;
        });
        await assert.rejects(settled(toThread(JOBS, "throwsValue")), (e: unknown) => {
          assert.deepEqual(e, { code: 7 });
          return true;
        });
      }),
  );

  it(
    "a result that cannot be copied back fails with a TypeError naming the export; the pool goes on",
    GUARD,
    () =>
      realRun(async () => {
        await assert.rejects(settled(toThread(JOBS, "returnsFunction")), (e: unknown) => {
          assert.ok(e instanceof TypeError);
          assert.match(e.message, /result of `returnsFunction` could not be copied back/);
          return true;
        });
        assert.equal(await toThread<number>(JOBS, "add", 20, 22), 42);
      }),
  );

  it("a missing export, a non-function export or a missing module fail clearly", GUARD, () =>
    realRun(async () => {
      await assert.rejects(settled(toThread(JOBS, "nope")), /no exported function `nope`/);
      await assert.rejects(settled(toThread(JOBS, "notAFunction")), TypeError);
      const missing = new URL("./fixtures/io/missing.mjs", import.meta.url);
      await assert.rejects(settled(toThread(missing, "add")), /missing\.mjs|Cannot find/);
    }),
  );

  it("rejects bad arguments with TypeError or RangeError", GUARD, () =>
    realRun(async () => {
      assert.throws(() => toThread("./relative.mjs", "add"), RangeError);
      assert.throws(() => toThread(42 as unknown as string, "add"), TypeError);
      assert.throws(() => toThread(JOBS, ""), TypeError);
      assert.throws(() => getRunningLoop().runInExecutor({} as never, JOBS, "add"), TypeError);
      assert.throws(() => new ThreadPoolExecutor({ maxWorkers: 0 }), RangeError);
      // A wrong type is a TypeError, a wrong value a RangeError (SPEC.md).
      assert.throws(() => new ThreadPoolExecutor({ maxWorkers: "2" as never }), TypeError);
      assert.throws(() => new ThreadPoolExecutor({ minWorkers: "0" as never }), TypeError);
      assert.throws(() => new ThreadPoolExecutor({ idleTimeout: "1" as never }), TypeError);
      assert.throws(() => new ThreadPoolExecutor({ shutdownTimeout: -1 }), RangeError);
      assert.throws(() => new ThreadPoolExecutor({ maxWorkers: 2, minWorkers: 3 }), RangeError);
      // Arguments are copied to the thread: a function cannot be.
      await assert.rejects(settled(toThread(JOBS, "add", () => 1, 2)), /could not be cloned/);
      assert.equal(await toThread<number>(JOBS, "add", 1, 2), 3);
    }),
  );

  it("toThread outside a running loop throws RuntimeError", () => {
    assert.throws(() => toThread(JOBS, "add", 1, 2), RuntimeError);
  });

  it("loop.runInExecutor uses the given executor or, with null, the default one", GUARD, () =>
    realRun(async () => {
      const loop = getRunningLoop();
      await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
      const results = await Promise.all([
        loop.runInExecutor<number>(pool, JOBS, "add", 1, 2),
        loop.runInExecutor<number>(pool, JOBS, "addLater", 3, 4),
        loop.runInExecutor<number>(null, JOBS, "add", 5, 6),
      ]);
      assert.deepEqual(results, [3, 7, 11]);
      const stats = pool.statistics();
      assert.equal(stats.completed, 2);
      assert.equal(stats.pending, 0);
      assert.equal(stats.maxWorkers, 2);
      assert.match(String(pool), /^<ThreadPoolExecutor running workers=\d\/2 pending=0>$/);
    }),
  );

  it("a job cancelled while queued never runs", GUARD, () =>
    realRun(async () => {
      await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
      const shared = new SharedArrayBuffer(16);
      const cells = new Int32Array(shared);
      const blocker = pool.submit<string>(JOBS, "block", shared);
      await until(() => Atomics.load(cells, 0) === 1);
      const queued = pool.submit<number>(JOBS, "bump", shared);
      queued.cancel();
      assert.equal(queued.cancelled(), true);
      Atomics.store(cells, 1, 1);
      Atomics.notify(cells, 1);
      assert.equal(await blocker, "released");
      assert.equal(await pool.submit<number>(JOBS, "add", 1, 1), 2);
      assert.equal(Atomics.load(cells, 2), 0, "the cancelled job ran");
    }),
  );

  it("cancelling the task awaiting a running job terminates its thread", GUARD, () =>
    realRun(async () => {
      await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
      const shared = new SharedArrayBuffer(16);
      const cells = new Int32Array(shared);
      const task = createTask(() => pool.submit(JOBS, "spin", shared));
      await until(() => Atomics.load(cells, 0) === 1);
      task.cancel();
      await assert.rejects(settled(task), CancelledError);
      // With one thread, a new job can only run if the spinning one was stopped.
      assert.equal(await pool.submit<number>(JOBS, "add", 2, 2), 4);
      assert.equal(pool.statistics().cancelled >= 1, true);
    }),
  );

  it("after shutdown() a pool takes no new jobs", GUARD, () =>
    realRun(async () => {
      const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
      assert.equal(await pool.submit<number>(JOBS, "add", 1, 2), 3);
      await pool.shutdown();
      assert.throws(() => pool.submit(JOBS, "add", 1, 2), RuntimeError);
      assert.equal(pool.statistics().shutdown, true);
    }),
  );

  it("shutdown({ cancelFutures: true }) cancels the jobs not started", GUARD, () =>
    realRun(async () => {
      const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
      const shared = new SharedArrayBuffer(16);
      const cells = new Int32Array(shared);
      const blocker = pool.submit<string>(JOBS, "block", shared);
      await until(() => Atomics.load(cells, 0) === 1);
      const queued = pool.submit<number>(JOBS, "bump", shared);
      await sleep(0);
      const closing = pool.shutdown({ cancelFutures: true });
      Atomics.store(cells, 1, 1);
      Atomics.notify(cells, 1);
      await closing;
      assert.equal(await blocker, "released");
      await assert.rejects(settled(queued), CancelledError);
      assert.equal(Atomics.load(cells, 2), 0);
    }),
  );

  it("the loop stays responsive while a thread computes", GUARD, () =>
    realRun(async () => {
      const shared = new SharedArrayBuffer(16);
      const cells = new Int32Array(shared);
      const job = toThread<string>(JOBS, "block", shared);
      await until(() => Atomics.load(cells, 0) === 1);
      let ticks = 0;
      for (let i = 0; i < 5; i++) {
        await sleep(1);
        ticks++;
      }
      assert.equal(job.done(), false);
      Atomics.store(cells, 1, 1);
      Atomics.notify(cells, 1);
      assert.equal(await job, "released");
      assert.equal(ticks, 5);
    }),
  );
});

describe("the loop's default executor", () => {
  it(
    "a failed runInExecutor() Future nobody retrieved is reported as a Future (its public class)",
    GUARD,
    async () => {
      const messages: string[] = [];
      await run(async () => {
        const loop = getRunningLoop();
        loop.setExceptionHandler((_loop, context) => messages.push(context.message));
        const job = loop.runInExecutor(null, JOBS, "fail", "nobody looks");
        await until(() => job.done());
      });
      assert.deepEqual(messages, ["Future exception was never retrieved"]);
    },
  );

  it("setDefaultExecutor makes runInExecutor(null) and toThread use the given pool", GUARD, () =>
    realRun(async () => {
      const loop = getRunningLoop();
      const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
      loop.setDefaultExecutor(pool);
      assert.equal(await loop.runInExecutor<number>(null, JOBS, "add", 1, 2), 3);
      assert.equal(await toThread<number>(JOBS, "add", 3, 4), 7);
      // Both jobs ran on the pool that was set.
      assert.equal(pool.statistics().completed, 2);
      assert.throws(() => loop.setDefaultExecutor({} as never), {
        name: "TypeError",
        message: /`executor`.*ThreadPoolExecutor/,
      });
      // The bad call left the default as it was.
      await toThread(JOBS, "add", 0, 0);
      assert.equal(pool.statistics().completed, 3);
    }),
  );

  it(
    "shutdownDefaultExecutor waits for the jobs, then the default executor is refused",
    GUARD,
    () =>
      realRun(async () => {
        const loop = getRunningLoop();
        const shared = new SharedArrayBuffer(64);
        const job = loop.runInExecutor<number>(null, JOBS, "markAfter", shared, 0, 50);
        await loop.shutdownDefaultExecutor();
        // The job submitted before had finished by then.
        assert.equal(job.done(), true);
        assert.equal(new Int32Array(shared)[0], 1);
        assert.throws(() => loop.runInExecutor(null, JOBS, "add", 1, 1), {
          name: "RuntimeError",
          message: /Executor shutdown has been called/,
        });
        assert.throws(() => toThread(JOBS, "add", 1, 1), RuntimeError);
        // An explicit executor still works, and a second call does nothing more.
        const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
        assert.equal(await loop.runInExecutor<number>(pool, JOBS, "add", 2, 2), 4);
        await pool.shutdown();
        await loop.shutdownDefaultExecutor();
      }),
  );
});

/**
 * Conformance: the scenarios of CPython's test_threads (asyncio.to_thread) and the executor
 * parts of test_base_events / test_events (run_in_executor, shutdown_default_executor) that
 * executors.test.ts does not pin. Jobs live in test/fixtures/io/jobs.mjs; what a job did is read
 * from SharedArrayBuffer cells it writes, never guessed from timing. Real threads, real time; no
 * assertion on durations (the timeouts are hang guards).
 *
 * Covered elsewhere (test/executors.test.ts): a result coming back (test_to_thread), the default
 * executor against an explicit one (test_run_once_in_executor_plain), loop.setDefaultExecutor
 * making runInExecutor(null) and toThread use the given pool (test_set_default_executor), a bad
 * executor (test_set_default_executor_error's TypeError), cancellation of queued and running
 * jobs, and shutdown({ cancelFutures: true }).
 *
 * Do not apply to asyncio-ts, by design:
 * - test_to_thread_args_kwargs: JavaScript has no keyword arguments; an options object is just
 *   one more argument, copied like the others (pinned below).
 * - test_to_thread_contextvars: the caller's context is not visible in the thread. A context
 *   variable's value may be any object (a closure, a Task), which the structured clone cannot
 *   copy, and a worker thread has no loop or task to restore it into: toThread's TSDoc says so.
 * - shutdown_default_executor(timeout): run() waits up to the pool's shutdownTimeout (30 s), then
 *   terminates the threads still running, where asyncio can only warn and leave them running.
 * - "Executor shutdown has been called" (asyncio's error for run_in_executor(None, …) during
 *   shutdown_default_executor): run() shuts the default executor down after every task has
 *   ended, so only code outside any task could still ask; on a closed loop the error is "Event
 *   loop is closed", as asyncio's check of a closed loop comes first (pinned below).
 */
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { describe, it } from "node:test";
import {
  CancelledError,
  gather,
  getRunningLoop,
  Runner,
  RuntimeError,
  run,
  ThreadPoolExecutor,
  toThread,
} from "../src/index.ts";
import { collectExceptions, GUARD, realRun, settled, until } from "./helpers.ts";

const JOBS = new URL("./fixtures/io/jobs.mjs", import.meta.url);

/** Int32 cells the jobs share (jobs.mjs: 0 started, 1 release, 2 runs, 3 spins). */
function cells(): { shared: SharedArrayBuffer; cells: Int32Array } {
  const shared = new SharedArrayBuffer(64);
  return { shared, cells: new Int32Array(shared) };
}

function release(view: Int32Array): void {
  Atomics.store(view, 1, 1);
  Atomics.notify(view, 1);
}

describe("conformance: toThread (test_threads)", () => {
  it(
    "a RuntimeError thrown in the thread rejects the awaiting task as asyncio-ts's RuntimeError with its message (test_to_thread_exception)",
    GUARD,
    () =>
      realRun(async () => {
        await assert.rejects(settled(toThread(JOBS, "throwsNamed", "runtime")), (e: unknown) => {
          assert.ok(e instanceof RuntimeError);
          assert.equal(e.message, "test");
          return true;
        });
      }),
  );

  it("each call runs the export exactly once (test_to_thread_once)", GUARD, () =>
    realRun(async () => {
      const { shared, cells: view } = cells();
      assert.equal(await toThread<number>(JOBS, "bump", shared), 1);
      assert.equal(Atomics.load(view, 2), 1);
      assert.equal(await toThread<number>(JOBS, "bump", shared), 2);
      assert.equal(Atomics.load(view, 2), 2);
    }),
  );

  it(
    "ten calls at once all run and gather returns each result (test_to_thread_concurrent)",
    GUARD,
    () =>
      realRun(async () => {
        const { shared, cells: view } = cells();
        const results = await gather(
          Array.from({ length: 10 }, () => toThread<number>(JOBS, "bump", shared)),
        );
        assert.equal(Atomics.load(view, 2), 10);
        // Every call got its own count back: none ran twice, none was lost.
        assert.deepEqual(
          [...results].sort((a, b) => a - b),
          Array.from({ length: 10 }, (_, i) => i + 1),
        );
      }),
  );

  it(
    "arguments, an options object among them, arrive as copies: their types survive and the thread's changes stay in the thread (test_to_thread_args_kwargs)",
    GUARD,
    () =>
      realRun(async () => {
        const options = { something: true, list: ["from the caller"] };
        const when = new Date(0);
        const [back, text, big, bytes, map, date] = await toThread<
          [
            typeof options & { changed?: boolean },
            string,
            bigint,
            Uint8Array,
            Map<string, number>,
            Date,
          ]
        >(
          JOBS,
          "changeAndEcho",
          options,
          "test",
          2n ** 70n,
          new Uint8Array([1, 2]),
          new Map([["a", 1]]),
          when,
        );
        assert.deepEqual(back, {
          something: true,
          list: ["from the caller", "from the thread"],
          changed: true,
        });
        assert.deepEqual(options, { something: true, list: ["from the caller"] });
        assert.equal(text, "test");
        assert.equal(big, 2n ** 70n);
        assert.ok(bytes instanceof Uint8Array);
        assert.deepEqual([...bytes], [1, 2]);
        assert.ok(map instanceof Map && map.get("a") === 1);
        assert.ok(date instanceof Date && date.getTime() === 0 && date !== when);
      }),
  );
});

describe("conformance: loop.runInExecutor (test_base_events, test_events)", () => {
  it(
    "runs the job on a worker thread, with the default executor or a given one (test_run_in_executor)",
    GUARD,
    () =>
      realRun(async () => {
        const loop = getRunningLoop();
        await using pool = new ThreadPoolExecutor({ maxWorkers: 1 });
        type Where = { isMainThread: boolean; threadId: number; arg: string };
        for (const executor of [null, pool]) {
          const where = await loop.runInExecutor<Where>(executor, JOBS, "whereAmI", "yo");
          assert.equal(where.arg, "yo");
          assert.equal(where.isMainThread, false);
          assert.notEqual(where.threadId, 0); // the main thread's id
        }
      }),
  );

  it(
    "a Future cancelled at once never runs its job, and run()'s shutdown of the default executor reports nothing (test_run_in_executor_cancel)",
    GUARD,
    async () => {
      const { shared, cells: view } = cells();
      const { contexts, handler } = collectExceptions();
      let cancelled = false;
      await run(
        async () => {
          const loop = getRunningLoop();
          loop.setExceptionHandler(handler);
          const fut = loop.runInExecutor(null, JOBS, "bump", shared);
          fut.cancel();
          cancelled = fut.cancelled();
          await assert.rejects(settled(fut), CancelledError);
          // A job after it proves the default executor's pool started and ran jobs.
          assert.equal(await loop.runInExecutor<number>(null, JOBS, "add", 1, 2), 3);
        },
        { handleSignals: false },
      );
      assert.equal(cancelled, true);
      assert.equal(Atomics.load(view, 2), 0, "the cancelled job ran");
      assert.deepEqual(contexts, []);
    },
  );

  it(
    "run() waits for the default executor's jobs that nobody awaited, the queued ones too, before it returns (asyncio.run's shutdown_default_executor)",
    GUARD,
    async () => {
      const { shared, cells: view } = cells();
      // More jobs than the default pool has threads: some are still queued when main returns.
      const jobs = availableParallelism() + 2;
      await run(
        async () => {
          for (let i = 0; i < jobs; i++) toThread(JOBS, "markAfter", shared, 2, 50);
        },
        { handleSignals: false },
      );
      assert.equal(Atomics.load(view, 2), jobs);
    },
  );

  it(
    "runInExecutor on a closed loop throws RuntimeError 'Event loop is closed', whatever the executor (run_in_executor's closed-loop check)",
    GUARD,
    async () => {
      const runner = new Runner({ handleSignals: false });
      const loop = await runner.run(async () => {
        assert.equal(await toThread<number>(JOBS, "add", 1, 1), 2);
        return getRunningLoop();
      });
      await runner.close();
      const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
      try {
        for (const executor of [null, pool]) {
          assert.throws(
            () => loop.runInExecutor(executor, JOBS, "add", 1, 2),
            (e: unknown) => e instanceof RuntimeError && e.message === "Event loop is closed",
          );
        }
        assert.equal(pool.statistics().pending, 0);
      } finally {
        await pool.shutdown();
      }
    },
  );
});

describe("conformance: ThreadPoolExecutor.shutdown (concurrent.futures semantics)", () => {
  it("shutdown() lets the queued jobs run, then resolves (shutdown(wait=True))", GUARD, () =>
    realRun(async () => {
      const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
      const { shared, cells: view } = cells();
      const blocker = pool.submit<string>(JOBS, "block", shared);
      await until(() => Atomics.load(view, 0) === 1);
      const queued = pool.submit<number>(JOBS, "bump", shared);
      const closing = pool.shutdown();
      release(view);
      await closing;
      assert.equal(Atomics.load(view, 2), 1, "the queued job was dropped");
      assert.equal(await blocker, "released");
      assert.equal(await queued, 1);
      assert.equal(pool.statistics().pending, 0);
      // A second call waits for the same shutdown and resolves.
      await pool.shutdown();
    }),
  );

  it(
    "shutdown({ wait: false }) returns at once; the jobs submitted still run (shutdown(wait=False))",
    GUARD,
    () =>
      realRun(async () => {
        const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
        const { shared, cells: view } = cells();
        const blocker = pool.submit<string>(JOBS, "block", shared);
        await until(() => Atomics.load(view, 0) === 1);
        const queued = pool.submit<number>(JOBS, "bump", shared);
        await pool.shutdown({ wait: false });
        assert.equal(blocker.done(), false);
        assert.throws(() => pool.submit(JOBS, "add", 1, 2), RuntimeError);
        release(view);
        assert.equal(await blocker, "released");
        assert.equal(await queued, 1);
        await pool.shutdown();
      }),
  );

  it(
    "after shutdownTimeout, shutdown() terminates the job still running and drops the queued one",
    GUARD,
    () =>
      realRun(async () => {
        const pool = new ThreadPoolExecutor({ maxWorkers: 1, shutdownTimeout: 20 });
        const { shared, cells: view } = cells();
        const spinning = pool.submit(JOBS, "spin", shared);
        await until(() => Atomics.load(view, 0) === 1);
        const queued = pool.submit<number>(JOBS, "bump", shared);
        // The spinning job never ends: only the timeout can end this shutdown.
        await pool.shutdown();
        await assert.rejects(settled(spinning));
        await assert.rejects(settled(queued));
        assert.equal(Atomics.load(view, 2), 0);
      }),
  );
});

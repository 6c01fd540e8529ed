/**
 * `run()` and `Runner`: the entry points that create a loop, run a main function as a task, and
 * clean everything up afterwards (asyncio's `runners` module).
 *
 * Shutdown, as asyncio's `Runner.close()`: cancel every task still alive and wait for them (their
 * `finally` blocks run), report the errors they ended with and the task errors nobody retrieved
 * to the exception handler, shut down the default executor, close the loop. Nothing is left that
 * keeps the process alive.
 *
 * SIGINT, as asyncio: while `run()` runs, the first Ctrl-C cancels the main task and `run()`
 * then rejects with `KeyboardInterrupt`; a second one exits the process at once (code 130). The
 * handler is only installed when nobody else listens to SIGINT.
 *
 * @module
 */
import { inspect } from "node:util";
import { KeyboardInterrupt, RuntimeError } from "../exceptions.ts";
import type { Future } from "../futures/future.ts";
import { Task } from "../futures/task.ts";
import { als } from "../internal/context.ts";
import { checkFunction, checkOptions, typeError } from "../internal/validate.ts";
import type { Clock } from "../loop/clock.ts";
import { EventLoop } from "../loop/event-loop.ts";

/** Options of {@link run} and {@link Runner}. */
export interface RunOptions {
  /** Debug mode (see `EventLoop.setDebug`). Default: false. */
  debug?: boolean;
  /** `"real"` (default), `"virtual"` (time jumps to the next deadline when idle), or a Clock. */
  clock?: "real" | "virtual" | Clock;
  /** Turn the first SIGINT into cancelling the main task. Default: true. */
  handleSignals?: boolean;
}

type RunnerState = "initialized" | "running" | "closing" | "closed";

/** How many rounds of "cancel what is left" shutdown makes before giving up. */
const SHUTDOWN_ROUNDS = 16;

function checkNotInLoop(what: string): void {
  const store = als.getStore();
  if (store === undefined) return;
  const loop = "_isTask" in store ? store._loop : store;
  if (loop.isRunning()) {
    throw new RuntimeError(
      `${what} cannot be called from a running event loop: await the function directly instead`,
    );
  }
}

/**
 * Runs several functions on one loop, one after another (asyncio 3.11 `Runner`). Tasks started by
 * one `run()` that are still alive keep their state for the next, but only make progress while a
 * `run()` is in progress.
 *
 * **Cancellation:** SIGINT cancels the running main task, as {@link run}.
 *
 * @example
 * ```ts
 * import { Runner, sleep } from "asyncio-ts";
 * await using runner = new Runner({ clock: "virtual" });
 * console.log(await runner.run(async () => { await sleep(1000); return 1; })); // 1
 * console.log(await runner.run(() => 2)); // 2
 * ```
 */
export class Runner {
  readonly #options: RunOptions;
  #loop: EventLoop | null = null;
  #state: RunnerState = "initialized";
  #interrupts = 0;
  #mainTask: Task<unknown> | null = null;

  constructor(options: RunOptions = {}) {
    checkRunOptions(options);
    this.#options = { ...options };
  }

  /** The loop (created on first use). @throws {RuntimeError} once closed. */
  getLoop(): EventLoop {
    if (this.#state === "closed") throw new RuntimeError("Runner is closed");
    if (this.#loop === null) {
      this.#loop = new EventLoop({ clock: this.#options.clock, debug: this.#options.debug });
    }
    return this.#loop;
  }

  /**
   * Runs `fn` as the main task on this runner's loop and returns its result.
   *
   * @throws {RuntimeError} (as a rejection) inside a running loop, while another `run()` of this
   * runner is in progress, or once closed. {@link KeyboardInterrupt} after a SIGINT.
   */
  async run<T>(fn: () => T | PromiseLike<T>, options?: { name?: string }): Promise<T> {
    checkFunction("fn", fn, " (run takes the main function, e.g. run(main), not run(main()))");
    checkOptions("options", options);
    checkNotInLoop("Runner.run()");
    if (this.#state === "running") throw new RuntimeError("Runner.run() is already running");
    if (this.#state !== "initialized") throw new RuntimeError("Runner is closed");
    const loop = this.getLoop();
    const task = new Task(fn, { loop, name: options?.name });
    this.#mainTask = task as Task<unknown>;
    this.#interrupts = 0;
    this.#state = "running";
    const removeSignalHandler = this.#installSignalHandler();
    try {
      await this.#drive(loop, [task as Task<unknown>]);
    } finally {
      loop._stop();
      removeSignalHandler();
      this.#mainTask = null;
      this.#state = "initialized";
    }
    if (task.cancelled() && this.#interrupts > 0 && task.uncancel() === 0) {
      throw new KeyboardInterrupt();
    }
    return task.result();
  }

  /**
   * Cancels the tasks still alive and waits for them, reports their errors, shuts down the
   * default executor and closes the loop. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#state === "closed" || this.#state === "closing") return;
    if (this.#state === "running") throw new RuntimeError("Runner.close() called while running");
    const loop = this.#loop;
    this.#state = "closing";
    try {
      if (loop !== null && !loop.isClosed()) await this.#shutdown(loop);
    } finally {
      this.#state = "closed";
      if (loop !== null && !loop.isClosed()) {
        loop._stop();
        loop.close();
      }
    }
  }

  /** `await using runner = new Runner()` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(loop: EventLoop): Promise<void> {
    loop._start();
    try {
      for (let round = 0; round < SHUTDOWN_ROUNDS && loop._tasks.size > 0; round++) {
        const leftovers = [...loop._tasks];
        for (const t of leftovers) {
          t._requestCancel(undefined, {
            kind: "shutdown",
            requester: null,
            description: "cancelled because run() is shutting down",
          });
        }
        await this.#drive(loop, leftovers);
        for (const t of leftovers) {
          if (t.cancelled() || !t._hasException) continue;
          t._markRetrieved();
          loop.callExceptionHandler({
            message: "unhandled exception during run() shutdown",
            exception: t._exception,
            task: t,
          });
        }
      }
      for (const fut of loop._unretrieved) {
        const isTask = fut instanceof Task;
        loop.callExceptionHandler({
          message: `${isTask ? "Task" : "Future"} exception was never retrieved`,
          exception: fut._exception,
          ...(isTask ? { task: fut as Task<unknown> } : { future: fut as Future<unknown> }),
        });
      }
      loop._unretrieved.clear();
      const executor = loop._defaultExecutor;
      if (executor !== null) {
        loop._defaultExecutor = null;
        await executor.shutdown();
      }
    } finally {
      loop._stop();
    }
  }

  /** Runs the loop until every task in `tasks` is done. */
  #drive(loop: EventLoop, tasks: Task<unknown>[]): Promise<void> {
    return new Promise<void>((resolve) => {
      let remaining = tasks.length;
      if (remaining === 0) {
        resolve();
        return;
      }
      const onDone = () => {
        if (--remaining === 0) resolve();
      };
      for (const t of tasks) t.addDoneCallback(onDone);
      if (!loop.isRunning()) loop._start();
    });
  }

  #installSignalHandler(): () => void {
    if (this.#options.handleSignals === false || process.listenerCount("SIGINT") > 0) {
      return () => {};
    }
    const handler = () => {
      this.#interrupts++;
      const main = this.#mainTask;
      if (this.#interrupts === 1 && main !== null && !main.done()) {
        main._requestCancel(undefined, {
          kind: "signal",
          requester: null,
          description: "cancelled by SIGINT (Ctrl-C)",
        });
        return;
      }
      // Second Ctrl-C (or nothing left to cancel): stop now, as the shell expects.
      process.exit(130);
    };
    process.on("SIGINT", handler);
    return () => process.off("SIGINT", handler);
  }

  toString(): string {
    return `<Runner ${this.#state}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function checkRunOptions(options: unknown): void {
  checkOptions("options", options);
  if (options === undefined) return;
  const o = options as RunOptions;
  if (o.debug !== undefined && typeof o.debug !== "boolean") {
    throw typeError("options.debug", "a boolean", o.debug);
  }
  if (o.handleSignals !== undefined && typeof o.handleSignals !== "boolean") {
    throw typeError("options.handleSignals", "a boolean", o.handleSignals);
  }
  const c = o.clock;
  if (
    c !== undefined &&
    c !== "real" &&
    c !== "virtual" &&
    (c === null || typeof c !== "object" || typeof (c as Clock).now !== "function")
  ) {
    throw typeError("options.clock", '"real", "virtual" or a Clock object', c);
  }
}

/**
 * Runs `main` as the root task of a new event loop and returns its result: asyncio's `run()`.
 *
 * Afterwards it cancels every task still alive and waits for them (their `finally` blocks run),
 * reports their errors, shuts down the default executor and closes the loop, leaving nothing
 * that keeps the process alive.
 *
 * **Cancellation:** the first SIGINT (Ctrl-C) cancels `main`; `run` then rejects with
 * `KeyboardInterrupt`. A second SIGINT exits at once. `{ handleSignals: false }` disables this.
 *
 * @throws {RuntimeError} (as a rejection) when called from inside a running loop.
 *
 * @example
 * ```ts
 * import { run, sleep } from "asyncio-ts";
 * const answer = await run(async () => {
 *   await sleep(100);
 *   return 42;
 * });
 * console.log(answer); // 42
 * ```
 */
export async function run<T>(main: () => T | PromiseLike<T>, options?: RunOptions): Promise<T> {
  checkFunction("main", main, " (write run(main), not run(main()))");
  checkNotInLoop("run()");
  const runner = new Runner(options);
  try {
    return await runner.run(main);
  } finally {
    await runner.close();
  }
}

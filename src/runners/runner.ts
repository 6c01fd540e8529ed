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
import { makeTask, Task } from "../futures/task.ts";
import { als } from "../internal/context.ts";
import { checkFunction, checkOptions, typeError } from "../internal/validate.ts";
import type { Clock } from "../loop/clock.ts";
import { EventLoop } from "../loop/event-loop.ts";
import { foreignListenerCount } from "../loop/signals.ts";

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

function noop(): void {}

function checkNotInLoop(what: string): void {
  const store = als.getOwnStore();
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
 * **Differences from asyncio:** asyncio runs every `run()` in the runner's one `contextvars`
 * context, so a variable set by one run is seen by the next. `AsyncLocalStorage` has no such
 * shared, mutable context: each `run()` starts from its caller's values, and a value set inside
 * a run (`enterWith`) stays in that run. Keep state that must outlive a run in an object the
 * runs share.
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
  /** The first KeyboardInterrupt that escaped the loop (a task or callback raised it). */
  #escaped: KeyboardInterrupt | null = null;
  /** Ends the drive in progress early (a KeyboardInterrupt escaped during a run). */
  #endDrive: (() => void) | null = null;
  /** The shutdown under way or done, which every `close()` call waits for. */
  #closing: Promise<void> | null = null;

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
   * runner is in progress, once closed, or when the program deadlocks (see {@link run}).
   * {@link KeyboardInterrupt} after a SIGINT, or the one a task or callback threw (it escapes
   * the loop).
   */
  async run<T>(fn: () => T | PromiseLike<T>, options?: { name?: string }): Promise<T> {
    checkFunction("fn", fn, " (run takes the main function, e.g. run(main), not run(main()))");
    checkOptions("options", options);
    checkNotInLoop("Runner.run()");
    if (this.#state === "running") throw new RuntimeError("Runner.run() is already running");
    if (this.#state !== "initialized") throw new RuntimeError("Runner is closed");
    const loop = this.getLoop();
    const task = makeTask(
      loop,
      fn,
      options?.name === undefined ? undefined : { name: options.name },
    );
    this.#mainTask = task as Task<unknown>;
    this.#interrupts = 0;
    this.#state = "running";
    const removeSignalHandler = this.#installSignalHandler();
    let deadlock: RuntimeError | null = null;
    // A KeyboardInterrupt raised by a task or a callback ends the run at once, as it escapes
    // asyncio's run_until_complete: the loop stops in the middle of its iteration (the rest of
    // it runs first in the next run, or in close(), which cancels main if it is still pending).
    this.#escaped = null;
    loop._onEscape = (error) => {
      if (this.#escaped === null) {
        this.#escaped = error;
        loop._stop();
      }
      this.#endDrive?.();
    };
    try {
      if ((await this.#drive(loop, [task as Task<unknown>])).length > 0 && this.#escaped === null) {
        // Node has nothing left to run, yet main waits: nothing can ever wake it. asyncio would
        // hang; here the process would exit silently with code 13. Say what waits on what,
        // then cancel main so that its cleanup runs.
        deadlock = new RuntimeError(
          "run() deadlocked: the main task waits, and no callback, timer or I/O is pending " +
            `that could wake it. Tasks still waiting:\n${describeWaiting(loop)}`,
        );
        task._requestCancel(undefined, {
          kind: "shutdown",
          requester: null,
          description: "cancelled because the program deadlocked",
        });
        await this.#drive(loop, [task as Task<unknown>]);
      }
    } finally {
      // As asyncio's run_until_complete: the iteration in which main's end was seen runs to its
      // end (the steps already scheduled in it belong to this run), then the loop stops.
      await loop._stopAfterIteration();
      loop._onEscape = null;
      removeSignalHandler();
      this.#mainTask = null;
      this.#state = "initialized";
    }
    this.#rethrowEscaped();
    if (deadlock !== null && !(task.done() && !task.cancelled())) throw deadlock;
    if (task.cancelled() && this.#interrupts > 0 && task.uncancel() === 0) {
      throw new KeyboardInterrupt();
    }
    return task.result();
  }

  /**
   * Cancels the tasks still alive and waits for them, reports their errors, shuts down the
   * default executor and closes the loop. Safe to call twice: a second call, even one made
   * while the first is still shutting down, resolves once the runner is closed.
   */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    if (this.#state === "running") {
      return Promise.reject(new RuntimeError("Runner.close() called while running"));
    }
    const closing = this.#close();
    // A later close() waits for this one and then resolves, even when this one rejects (with a
    // KeyboardInterrupt raised during the shutdown, which only this caller gets), as a second
    // close() of asyncio's Runner returns quietly.
    this.#closing = closing.then(noop, noop);
    return closing;
  }

  async #close(): Promise<void> {
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
    this.#rethrowEscaped();
  }

  /** Throws the KeyboardInterrupt that escaped the loop, if one did, and forgets it. */
  #rethrowEscaped(): void {
    const escaped = this.#escaped;
    if (escaped === null) return;
    this.#escaped = null;
    throw escaped;
  }

  /** `await using runner = new Runner()` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(loop: EventLoop): Promise<void> {
    loop._start();
    // A KeyboardInterrupt raised during the cleanup escapes close() once the shutdown is over
    // (asyncio's close() raises it from its run_until_complete).
    loop._onEscape = (error) => {
      this.#escaped ??= error;
    };
    try {
      let stuckReported = false;
      for (let round = 0; round < SHUTDOWN_ROUNDS && loop._tasks.size > 0; round++) {
        const leftovers = [...loop._tasks];
        for (const t of leftovers) {
          t._requestCancel(undefined, {
            kind: "shutdown",
            requester: null,
            description: "cancelled because run() is shutting down",
          });
        }
        const stuck = await this.#drive(loop, leftovers);
        if (stuck.length > 0) {
          // They wait on something that nothing pending can complete (a plain promise that
          // never settles): cancellation cannot reach them. Report them and stop waiting.
          loop.callExceptionHandler({
            message:
              "run() shutdown: tasks did not finish after being cancelled (each waits on " +
              `something that can never complete):\n${describeWaiting(loop)}`,
          });
          stuckReported = true;
          break;
        }
        for (const t of leftovers) {
          if (t.cancelled() || !t._hasException) continue;
          t._markRetrieved();
          if (t._exception instanceof KeyboardInterrupt) continue; // it escapes close()
          loop.callExceptionHandler({
            message: "unhandled exception during run() shutdown",
            exception: t._exception,
            task: t,
          });
        }
      }
      if (!stuckReported) {
        // Every round's cancelled tasks started new ones, and the rounds ran out: the loop
        // closes with these pending, as asyncio's does when its one round of cancellations
        // started tasks; asyncio reports each when it is collected, with this message.
        for (const t of loop._tasks) {
          loop.callExceptionHandler({ message: "Task was destroyed but it is pending!", task: t });
        }
      }
      for (const fut of loop._unretrieved) {
        // As asyncio's Future.__del__: the message names the class (a subclass's own name; an
        // internal subclass gives its public name), and the context's `future` is the Future or
        // Task; a task is also given as `task`.
        const isTask = fut instanceof Task;
        const ctor = fut.constructor as { _displayName?: string; name: string };
        const kind = ctor._displayName ?? (ctor.name || (isTask ? "Task" : "Future"));
        loop.callExceptionHandler({
          message: `${kind} exception was never retrieved`,
          exception: fut._exception,
          future: fut as Future<unknown>,
          ...(isTask ? { task: fut as Task<unknown> } : {}),
        });
      }
      loop._unretrieved.clear();
      const executor = loop._defaultExecutor;
      if (executor !== null) {
        loop._defaultExecutor = null;
        await executor.shutdown();
      }
    } finally {
      loop._onEscape = null;
      loop._stop();
    }
  }

  /**
   * Runs the loop until every task in `tasks` is done, or until Node's own event loop has nothing
   * left to do ('beforeExit'): then no callback, timer or I/O can ever wake the tasks still
   * pending, which it returns.
   */
  #drive(loop: EventLoop, tasks: Task<unknown>[]): Promise<Task<unknown>[]> {
    return new Promise<Task<unknown>[]>((resolve) => {
      let remaining = tasks.length;
      if (remaining === 0) {
        resolve([]);
        return;
      }
      let ended = false;
      const onIdle = () => {
        if (ended) return;
        ended = true;
        process.off("beforeExit", onIdle);
        if (this.#endDrive === onIdle) this.#endDrive = null;
        resolve(tasks.filter((t) => !t.done()));
      };
      const onDone = () => {
        if (--remaining === 0 && !ended) {
          ended = true;
          process.off("beforeExit", onIdle);
          if (this.#endDrive === onIdle) this.#endDrive = null;
          resolve([]);
        }
      };
      this.#endDrive = onIdle;
      for (const t of tasks) t._addDoneCallback(onDone);
      process.on("beforeExit", onIdle);
      // Called from a 'beforeExit' (a deadlock found, or a shutdown after one) with nothing
      // scheduled, Node would exit at once (code 13 under a top-level await) without another
      // 'beforeExit': one more turn makes sure this drive ends.
      setImmediate(noop);
      if (!loop.isRunning()) loop._start();
    });
  }

  #installSignalHandler(): () => void {
    // Someone else's SIGINT listener means the program handles Ctrl-C itself (asyncio checks
    // for the default handler); a loop's signal handler takes over only while it is installed.
    if (this.#options.handleSignals === false || foreignListenerCount("SIGINT") > 0) {
      return () => {};
    }
    const handler = () => {
      // The program's own SIGINT handler (loop.addSignalHandler) takes over, as in asyncio.
      if (this.#loop?._hasSignalHandler("SIGINT") === true) return;
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

/** One line per live task, with what it waits on. */
function describeWaiting(loop: EventLoop): string {
  const lines: string[] = [];
  for (const t of loop._tasks) {
    const stack = t.getStack();
    lines.push(`  ${t.toString()}${stack.length > 0 ? "" : " (awaiting a plain promise)"}`);
  }
  return lines.join("\n");
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
 * If `main` waits on something nothing can complete any more (no callback, timer or I/O is left
 * that could wake it), `run` cancels `main`, lets its cleanup run and rejects with a
 * `RuntimeError` whose message starts with `run() deadlocked` and lists what each task waits on.
 *
 * **Cancellation:** the first SIGINT (Ctrl-C) cancels `main`; `run` then rejects with
 * `KeyboardInterrupt`. A second SIGINT exits at once. `{ handleSignals: false }` disables this.
 *
 * @throws {RuntimeError} (as a rejection) when called from inside a running loop, or when the
 * program deadlocks. {@link KeyboardInterrupt} after a SIGINT, or the one a task or callback
 * threw (it escapes the loop).
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

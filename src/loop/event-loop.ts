/**
 * The event loop: a FIFO ready queue of callbacks and a heap of timers, driven by one host
 * `setImmediate` (when callbacks are ready) or one host `setTimeout` (for the earliest deadline).
 *
 * One iteration, as asyncio's `_run_once`: move the timers that are due to the ready queue, run
 * the callbacks that were ready when the iteration began (callbacks they schedule wait for the
 * next iteration), then give the host a turn for I/O. A task looping on `sleep(0)` therefore
 * never starves sockets or timers.
 *
 * Invariants:
 * - At most one host immediate and one host timer are pending per loop, and none once the loop
 *   is stopped or closed, so a finished `run()` leaves nothing that keeps the process alive.
 * - Entries scheduled for the same iteration run in the order they were scheduled; timers with
 *   equal deadlines run in the order they were created.
 * - Under a virtual clock, time only moves when no callback is ready and the host has had a full
 *   turn without progress; it then jumps straight to the earliest deadline.
 *
 * @module
 */
import { AsyncResource } from "node:async_hooks";
import { inspect } from "node:util";
import { KeyboardInterrupt, RuntimeError } from "../exceptions.ts";
import type { Future } from "../futures/future.ts";
import type { Task, TaskFactory, TaskOptions } from "../futures/task.ts";
import { als, noteLoopRunning, type TaskStore, untagged } from "../internal/context.ts";
import { creationStackOf, recordCreation } from "../internal/debug-stacks.ts";
import type { Implements } from "../internal/implements.ts";
import { registry } from "../internal/registry.ts";
import { IntrusiveList } from "../internal/task-list.ts";
import { checkDelay, checkFunction, checkOptions, typeError } from "../internal/validate.ts";
import type { Waitable } from "../internal/waitable.ts";
import { type Clock, RealClock, VirtualClock } from "./clock.ts";
import { type Callback, Handle, type HandleOwner, TimerHandle } from "./handles.ts";
import { checkSignalName, SignalHandlers } from "./signals.ts";
import { type TimerEntry, TimerHeap } from "./timer-heap.ts";

/**
 * Returned by a ready entry whose run resumed and started nothing (a timer that fired and
 * queued its wake-up, a wait cancelled meanwhile): the loop runs the next entry at once, with
 * no microtask turn to wait for. @internal
 */
export const NO_STEP: unique symbol = Symbol("asyncio-ts.noStep");

/** Something the loop can run from its ready queue. @internal */
export interface ReadyEntry {
  /**
   * Runs the entry. Returns the task whose step it started or resumed; nothing (or `null`) when
   * it resumed no task but what it ran may go on in microtasks (a callback); {@link NO_STEP}
   * when it started nothing at all.
   */
  _run(): TaskStore | null | typeof NO_STEP | undefined | void;
}

/**
 * What the exception handler receives, as asyncio's context dict: always a `message`, and where
 * relevant the `exception`, the `task`, the `future` or the `handle` involved.
 */
export interface ExceptionContext {
  message: string;
  exception?: unknown;
  task?: Task<unknown>;
  future?: Future<unknown>;
  handle?: Handle;
  /**
   * Debug mode: where the `task`, `future` or `handle` was created, as `at …` lines, innermost
   * first (asyncio's `source_traceback`). Filled in by `callExceptionHandler`.
   */
  sourceTraceback?: string;
  [key: string]: unknown;
}

/** Called as `handler(loop, context)`, asyncio's signature. */
export type ExceptionHandler = (loop: EventLoop, context: ExceptionContext) => void;

/** Options for a new {@link EventLoop}. */
export interface EventLoopOptions {
  /** `"real"` (default), `"virtual"`, or a {@link Clock} object. */
  clock?: "real" | "virtual" | Clock;
  /** Debug mode (see {@link EventLoop.setDebug}). Default: false. */
  debug?: boolean;
}

/**
 * What `runInExecutor` accepts as an executor and `run()` shuts down at the end: in practice a
 * `ThreadPoolExecutor`.
 */
export interface ClosableExecutor {
  /** Stops accepting jobs and resolves once the executor's threads have exited. */
  shutdown(): Promise<void>;
}

/**
 * A loop callback must be a plain function: as asyncio refuses coroutines in `call_soon()`, an
 * async function is refused, since nothing would supervise the promise it returns.
 */
function checkCallback(callback: unknown): void {
  checkFunction("callback", callback);
  const tag = (callback as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  if (tag === "AsyncFunction" || tag === "AsyncGeneratorFunction") {
    throw new TypeError(
      "Expected `callback` to be a plain function, got an async function: loop callbacks are " +
        "not awaited (asyncio refuses coroutines there too); run it as a task with createTask(fn)",
    );
  }
}

function applyCallback(callback: Callback, args: unknown[]): unknown {
  return (callback as (...a: unknown[]) => unknown)(...args);
}

const SETTLED: Promise<void> = Promise.resolve();

/** The longest delay Node's `setTimeout` accepts (2^31 - 1 ms). */
const MAX_HOST_DELAY = 2_147_483_647;

/** Host turns without progress before virtual time jumps. */
const IDLE_TURNS = 2;

/**
 * The event loop of one `run()` (or one {@link Runner}).
 *
 * You rarely build one yourself: `run(main)` creates it and `getRunningLoop()` returns it. It
 * schedules callbacks (`callSoon`, `callLater`, `callAt`), owns the clock (`time()`), the set of
 * live tasks, the exception handler and the debug flag.
 *
 * **Differences from asyncio:** times are in milliseconds; the loop is driven by Node's own event
 * loop, so there is no `run_forever`/`run_until_complete` (use `run()` or `Runner`).
 *
 * @example
 * ```ts
 * import { run, getRunningLoop, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const loop = getRunningLoop();
 *   loop.callLater(500, (who: string) => console.log(`hello ${who}`), "world");
 *   await sleep(600);
 * });
 * ```
 */
export class EventLoop {
  readonly #clock: Clock;
  readonly #virtual: boolean;
  #ready: ReadyEntry[] = [];
  #spare: ReadyEntry[] = [];
  /** The batch being run (entries run one at a time, see #runBatch), and the next entry. */
  #batch: ReadyEntry[] | null = null;
  #batchAt = 0;
  /** Debug mode: when the entry being run started (0: none). */
  #stepStart = 0;
  /** The task whose step the entry just run started or resumed, and its wait right after. */
  #stepTask: TaskStore | null = null;
  #stepWait: Waitable | null = null;
  /** See {@link _stepGoesOn}. */
  #stepGoesOn = false;
  /** Set by {@link _stopAfterIteration}: called once the current batch has run. */
  #onStopped: (() => void) | null = null;
  readonly #timers = new TimerHeap();
  #immediate: NodeJS.Immediate | null = null;
  #hostTimer: NodeJS.Timeout | null = null;
  #hostTimerWhen = Number.POSITIVE_INFINITY;
  #idleTurns = 0;
  #running = false;
  #closed = false;
  #debug = false;
  #handler: ExceptionHandler | null = null;
  #signals: SignalHandlers | null = null;
  /**
   * The async context loop turns run in: the loop's creator's. Without it a turn would run in
   * the context of whatever code happened to arm the host's immediate or timer (a callback
   * scheduled inside some `AsyncLocalStorage.run`), and pass it on to entries that carry none.
   */
  readonly #hostContext = new AsyncResource("asyncio-ts.EventLoop");

  /** In debug mode, callbacks slower than this (ms) are reported. asyncio's `slow_callback_duration`. */
  slowCallbackDuration = 100;

  /** Every task of this loop that is not done: the loop's strong references. @internal */
  readonly _tasks: IntrusiveList<Task<unknown>> = new IntrusiveList();
  /** Failed futures whose error nobody retrieved yet. @internal */
  readonly _unretrieved: Set<Future<unknown>> = new Set();
  /**
   * Set by the Runner while it drives this loop: takes a `KeyboardInterrupt` that a task or a
   * callback raised, which escapes the loop as in asyncio (`run_until_complete` raises it),
   * instead of going to the exception handler. @internal
   */
  _onEscape: ((error: KeyboardInterrupt) => void) | null = null;
  /** The executor `runInExecutor(null, …)` uses, once created. @internal */
  _defaultExecutor: ClosableExecutor | null = null;
  /** What makes this loop's tasks, or null for `new Task`. @internal */
  _taskFactory: TaskFactory | null = null;

  constructor(options: EventLoopOptions = {}) {
    checkOptions("options", options);
    const clock = options.clock ?? "real";
    if (clock === "real") this.#clock = new RealClock();
    else if (clock === "virtual") this.#clock = new VirtualClock();
    else if (clock !== null && typeof clock === "object" && typeof clock.now === "function") {
      this.#clock = clock;
    } else {
      throw typeError("options.clock", '"real", "virtual" or a Clock object', clock);
    }
    this.#virtual = typeof this.#clock.advanceTo === "function";
    if (options.debug !== undefined) this.setDebug(options.debug);
  }

  /** The loop's current time in milliseconds, from its monotonic (or virtual) clock. */
  time(): number {
    return this.#clock.now();
  }

  /** Whether the loop runs on virtual time. */
  get virtualTime(): boolean {
    return this.#virtual;
  }

  /**
   * Schedules `callback(...args)` to run on the next loop iteration, after the callbacks already
   * scheduled. A callback that throws is reported to the exception handler; the loop goes on.
   */
  callSoon<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): Handle {
    checkCallback(callback);
    this.#checkOpen();
    const handle = new Handle(callback as (...a: never[]) => unknown, args, this);
    if (this.#debug) recordCreation(handle);
    this._pushReady(handle);
    return handle;
  }

  /**
   * Runs `callback(...args)` as a loop callback each time the process receives `signal`
   * (`"SIGTERM"`, `"SIGHUP"`, …), as asyncio's `loop.add_signal_handler()`: one handler per
   * signal (a new one replaces the old), removed by {@link removeSignalHandler} or when the loop
   * closes. While a handler is installed the process stays alive waiting for the signal.
   * A handler for `"SIGINT"` takes over from `run()`'s own (Ctrl-C then calls it instead of
   * cancelling main).
   *
   * @throws {TypeError} for a `signal` that is not a string or a `callback` that is not a plain
   * function. @throws {RangeError} for an unknown signal name. @throws {RuntimeError} for
   * `SIGKILL`/`SIGSTOP`, which cannot be caught, or a closed loop.
   */
  addSignalHandler<A extends unknown[]>(
    signal: NodeJS.Signals,
    callback: (...args: A) => unknown,
    ...args: A
  ): void {
    const name = checkSignalName("signal", signal);
    checkCallback(callback);
    this.#checkOpen();
    this.#signals ??= new SignalHandlers(this);
    this.#signals.add(name, callback as (...a: never[]) => unknown, args);
  }

  /**
   * Removes the handler of `signal` added with {@link addSignalHandler}; returns whether there
   * was one, as asyncio's `loop.remove_signal_handler()`.
   *
   * @throws {TypeError}/{RangeError} for a `signal` that is not a signal name.
   */
  removeSignalHandler(signal: NodeJS.Signals): boolean {
    const name = checkSignalName("signal", signal);
    return this.#signals?.remove(name) ?? false;
  }

  /**
   * The step being run started work that goes on in microtasks of its own (an eager task not
   * yet suspended): the loop waits for the microtask queue to empty before the next entry,
   * whatever the step's own task does. @internal
   */
  _stepGoesOn(): void {
    this.#stepGoesOn = true;
  }

  /** Whether `addSignalHandler` installed a handler for `signal`. @internal */
  _hasSignalHandler(signal: NodeJS.Signals): boolean {
    return this.#signals?.has(signal) ?? false;
  }

  /**
   * Schedules `callback(...args)` to run after `delay` milliseconds. A negative delay keeps its
   * past deadline (it fires in deadline order, as in asyncio); `Infinity` never fires.
   */
  callLater<A extends unknown[]>(
    delay: number,
    callback: (...args: A) => unknown,
    ...args: A
  ): TimerHandle {
    checkDelay("delay", delay);
    checkCallback(callback);
    return this.#scheduleAt(this.#clock.now() + delay, callback, args);
  }

  /** Schedules `callback(...args)` at loop time `when` (ms, as returned by {@link time}). */
  callAt<A extends unknown[]>(
    when: number,
    callback: (...args: A) => unknown,
    ...args: A
  ): TimerHandle {
    checkDelay("when", when);
    checkCallback(callback);
    return this.#scheduleAt(when, callback, args);
  }

  #scheduleAt(when: number, callback: unknown, args: unknown[]): TimerHandle {
    this.#checkOpen();
    const handle = new TimerHandle(when, callback as (...a: never[]) => unknown, args, this);
    if (this.#debug) recordCreation(handle);
    this._pushTimer(handle);
    return handle;
  }

  /** Creates a pending Future bound to this loop. */
  createFuture<T = unknown>(): Future<T> {
    return registry.createFuture<T>(this);
  }

  /**
   * Creates a Task running `fn` on this loop (see the top-level `createTask`, which uses the
   * running loop).
   */
  createTask<T>(fn: () => T | PromiseLike<T>, options?: TaskOptions): Task<T> {
    return registry.createTask(this, fn, options);
  }

  /**
   * Runs `exportName` of the module at `moduleUrl` with `args` on a worker thread of `executor`
   * (a `ThreadPoolExecutor`, or `null` for the loop's default one, created on first use and shut
   * down by `run()`), and returns a Future of the result: asyncio's `run_in_executor`. A closure
   * cannot cross to a thread, so the job is named by module URL and export; see `toThread`.
   *
   * **Cancellation:** cancelling the Future drops a queued job, and terminates the thread of a
   * running one.
   */
  runInExecutor<T = unknown>(
    executor: ClosableExecutor | null,
    moduleUrl: string | URL,
    exportName: string,
    ...args: unknown[]
  ): Future<T> {
    return registry.runInExecutor<T>(this, executor, moduleUrl, exportName, args);
  }

  /**
   * Sets the function that makes this loop's tasks, or `null` for the default (`new Task`):
   * asyncio's `set_task_factory`. `createTask`, `loop.createTask`, `TaskGroup.createTask`,
   * the functions given to `gather`/`wait`/`ensureFuture`, and `Runner.run`'s main task all go
   * through it; `new Task(…)` does not. The factory is called as `factory(loop, fn, options)` and
   * must return a `Task` on this loop; {@link eagerTaskFactory} makes every task eager.
   * @throws {TypeError} if `factory` is neither a function nor `null`.
   */
  setTaskFactory(factory: TaskFactory | null): void {
    if (factory !== null) {
      checkFunction("factory", factory, " or null");
      registry.taskFactorySet = true;
    }
    this._taskFactory = factory;
  }

  /** The task factory set with {@link setTaskFactory}, or `null`. */
  getTaskFactory(): TaskFactory | null {
    return this._taskFactory;
  }

  /**
   * Makes `executor` (a `ThreadPoolExecutor`) the one `runInExecutor(null, …)` and `toThread`
   * use on this loop: asyncio's `set_default_executor`. The executor it replaces is not shut
   * down; `run()` shuts down the one set last.
   * @throws {TypeError} if `executor` is not a `ThreadPoolExecutor`.
   */
  setDefaultExecutor(executor: ClosableExecutor): void {
    registry.setDefaultExecutor(this, executor);
  }

  /**
   * Shuts the default executor down and waits until its jobs have finished and its threads have
   * exited (bounded by the executor's `shutdownTimeout`): asyncio's `shutdown_default_executor`.
   * Afterwards `runInExecutor(null, …)` and `toThread` throw `RuntimeError`. `run()` does this
   * itself at the end; call it to release the threads earlier.
   */
  shutdownDefaultExecutor(): Promise<void> {
    return registry.shutdownDefaultExecutor(this);
  }

  /**
   * Sets the function called for errors nobody else handles (a callback that threw, a task error
   * never retrieved, an error during shutdown); `null` restores the default, which logs to
   * `console.error`.
   */
  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null && typeof handler !== "function") {
      throw typeError("handler", "a function or null", handler);
    }
    this.#handler = handler;
  }

  /** The current exception handler, or `null` for the default one. */
  getExceptionHandler(): ExceptionHandler | null {
    return this.#handler;
  }

  /**
   * Passes `context` to the exception handler. If the handler itself throws, both errors are
   * logged by the default handler.
   */
  callExceptionHandler(context: ExceptionContext): void {
    if (context === null || typeof context !== "object" || typeof context.message !== "string") {
      throw typeError("context", "an object with a string `message`", context);
    }
    if (this.#debug && context.sourceTraceback === undefined) {
      // As asyncio's `source_traceback`: where the Future, Task or Handle was made.
      const source = context.task ?? context.future ?? context.handle;
      const stack = source === undefined ? undefined : creationStackOf(source);
      if (stack !== undefined) context = { ...context, sourceTraceback: stack };
    }
    const handler = this.#handler;
    if (handler === null) {
      try {
        this.defaultExceptionHandler(context);
      } catch (error) {
        if (this._escape(error)) return; // a KeyboardInterrupt escapes, as asyncio re-raises it
        // As asyncio: a broken default handler (replaced on the loop) must not break the loop.
        console.error("Exception in default exception handler", error, context);
      }
      return;
    }
    try {
      handler(this, context);
    } catch (error) {
      if (this._escape(error)) return; // a KeyboardInterrupt escapes, as asyncio re-raises it
      try {
        this.defaultExceptionHandler({
          message: "Unhandled error in exception handler",
          exception: error,
          context,
        });
      } catch (again) {
        console.error(
          "Exception in default exception handler while handling an unexpected error in " +
            "custom exception handler",
          again,
          error,
        );
      }
    }
  }

  /**
   * The default handler: logs the message (asyncio's `Unhandled exception in event loop` when it
   * is empty), the other context fields in the order of their keys, as asyncio sorts them, then
   * where the object was created and the error's stack.
   */
  defaultExceptionHandler(context: ExceptionContext): void {
    const lines = [context.message || "Unhandled exception in event loop"];
    const entries = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [key, value] of entries) {
      if (key === "message" || key === "exception" || key === "sourceTraceback") continue;
      // A task's report gives it as both `future` (asyncio's key) and `task`: print it once.
      if (key === "future" && value === context.task) continue;
      lines.push(`${key}: ${inspect(value, { depth: 1 })}`);
    }
    if (typeof context.sourceTraceback === "string") {
      lines.push("Object created at (innermost frame first):");
      for (const frame of context.sourceTraceback.split("\n")) lines.push(`  ${frame}`);
    }
    if ("exception" in context) {
      const e = context.exception;
      lines.push(e instanceof Error && e.stack ? e.stack : inspect(e));
    }
    console.error(lines.join("\n"));
  }

  /** Whether debug mode is on. */
  getDebug(): boolean {
    return this.#debug;
  }

  /**
   * Turns debug mode on or off. In debug mode the loop reports callbacks slower than
   * {@link slowCallbackDuration} and tasks record where they were created and where they wait
   * (see `Task.getStack()`).
   */
  setDebug(enabled: boolean): void {
    if (typeof enabled !== "boolean") throw typeError("enabled", "a boolean", enabled);
    this.#debug = enabled;
  }

  /** Whether the loop is running (inside `run()` or `Runner.run()`). */
  isRunning(): boolean {
    return this.#running;
  }

  /** Whether the loop has been closed. */
  isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Closes the loop: drops pending callbacks and timers. It must not be running. `run()` and
   * `Runner` close their loop themselves.
   */
  close(): void {
    if (this.#running) throw new RuntimeError("Cannot close a running event loop");
    if (this.#closed) return;
    this.#closed = true;
    this.#signals?.clear();
    this.#ready = [];
    this.#spare = [];
    this.#timers.clear();
    this.#cancelHostWork();
  }

  // ---- internal scheduling API used by futures, tasks and timers ----

  /** Appends an entry to the ready queue. @internal */
  _pushReady(entry: ReadyEntry): void {
    this.#ready.push(entry);
    if (this.#immediate === null && this.#running) {
      this.#immediate = setImmediate(this.#onImmediate);
    }
  }

  /** Inserts a timer entry. @internal */
  _pushTimer(entry: TimerEntry): void {
    this.#timers.push(entry);
    if (this.#running && this.#immediate === null && entry._when < this.#hostTimerWhen) {
      this.#armHostTimer();
    }
  }

  /** A timer entry still in the heap was cancelled. @internal */
  _timerCancelled(_entry?: TimerEntry): void {
    this.#timers.noteCancelled();
  }

  /** @internal */
  _callInLoop(context: AsyncResource, callback: Callback, args: unknown[]): unknown {
    return als.runInResource(context, this, applyCallback, callback, args);
  }

  /**
   * A `KeyboardInterrupt` raised by a task or a callback escapes to whoever runs the loop, if
   * anyone does (see {@link _onEscape}); returns whether it did. @internal
   */
  _escape(error: unknown): boolean {
    const taker = this._onEscape;
    if (taker === null || !(error instanceof KeyboardInterrupt)) return false;
    taker(error);
    return true;
  }

  /** @internal */
  _reportCallbackError(handle: Handle, error: unknown): void {
    if (this._escape(error)) return;
    this.callExceptionHandler({
      message: `Exception in callback ${handle._describe()}`,
      exception: error,
      handle,
    });
  }

  /** Marks the loop running and schedules pending work. @internal */
  _start(): void {
    this.#checkOpen();
    if (this.#running) throw new RuntimeError("This event loop is already running");
    this.#running = true;
    noteLoopRunning(this, true);
    this.#scheduleNext();
  }

  /** Stops processing; pending work waits for the next `_start`. @internal */
  _stop(): void {
    this.#running = false;
    noteLoopRunning(this, false);
    this.#cancelHostWork();
    const stopped = this.#onStopped;
    if (stopped !== null) {
      this.#onStopped = null;
      stopped();
    }
  }

  /**
   * Stops the loop once the iteration under way has run every entry that was ready when it
   * began, and resolves then: asyncio's `stop()`, which `run_until_complete` calls from the main
   * task's done callback, lets `_run_once` finish, so the task steps and callbacks of that last
   * iteration still run in the same `run()`. Stops at once between iterations. @internal
   */
  _stopAfterIteration(): Promise<void> {
    if (this.#batch === null || !this.#running) {
      this._stop();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#onStopped = resolve;
    });
  }

  #checkOpen(): void {
    if (this.#closed) throw new RuntimeError("Event loop is closed");
  }

  #cancelHostWork(): void {
    if (this.#immediate !== null) {
      clearImmediate(this.#immediate);
      this.#immediate = null;
    }
    if (this.#hostTimer !== null) {
      clearTimeout(this.#hostTimer);
      this.#hostTimer = null;
      this.#hostTimerWhen = Number.POSITIVE_INFINITY;
    }
  }

  readonly #onImmediate = (): void => {
    this.#immediate = null;
    als.runInResource(this.#hostContext, this, this.#turn);
  };

  readonly #onHostTimer = (): void => {
    this.#hostTimer = null;
    this.#hostTimerWhen = Number.POSITIVE_INFINITY;
    if (this.#immediate === null) als.runInResource(this.#hostContext, this, this.#turn);
  };

  /** One loop turn, in the loop's context with the loop as the current store. */
  readonly #turn = (): void => {
    if (!this.#running) return;
    if (this.#virtual && this.#ready.length === 0) {
      const top = this.#timers.peek();
      if (top !== undefined && top._when > this.#clock.now()) {
        if (top._when === Number.POSITIVE_INFINITY) return;
        // Nothing is ready: let the host run I/O for a few turns before jumping in time.
        if (++this.#idleTurns < IDLE_TURNS) {
          this.#immediate = setImmediate(this.#onImmediate);
          return;
        }
        this.#idleTurns = 0;
        this.#clock.advanceTo!(top._when);
      }
    }
    this.#iterate();
  };

  readonly #iterate = (): void => {
    const timers = this.#timers;
    if (timers.size > 0) {
      const now = this.#clock.now();
      let due = timers.popDue(now);
      while (due !== undefined) {
        this.#ready.push(due);
        due = timers.popDue(now);
      }
    }
    const batch = this.#ready;
    const n = batch.length;
    if (n > 0) {
      this.#idleTurns = 0;
      this.#ready = this.#spare;
      this.#batch = batch;
      this.#batchAt = 0;
      this.#runBatch();
      return;
    }
    this.#scheduleNext();
  };

  /**
   * Runs the current batch's entries in order, each to the end of what it starts. An entry
   * usually resumes a task, whose step then runs in the microtasks that follow; asyncio runs a
   * task's step to its next suspension before the next callback, so the next entry waits until
   * those microtasks have all run: a reaction queues a `process.nextTick`, and Node runs that
   * tick only once the microtask queue is empty. In debug mode this also times each step.
   */
  readonly #runBatch = (): void => {
    const batch = this.#batch!;
    const n = batch.length;
    if (this.#stepStart !== 0) {
      this.#checkSlow(batch[this.#batchAt - 1], this.#stepStart);
      this.#stepStart = 0;
    }
    while (this.#batchAt < n) {
      const entry = batch[this.#batchAt++];
      const t0 = this.#debug ? performance.now() : 0;
      this.#stepGoesOn = false;
      let ran: ReturnType<ReadyEntry["_run"]>;
      try {
        ran = entry._run();
      } catch (error) {
        ran = undefined;
        this.#reportEntryError(entry, error);
      }
      if (!this.#running) {
        // Stopped by the entry (a KeyboardInterrupt escaped, see _escape): as asyncio's _ready
        // keeps what _run_once had not reached, the rest runs first when the loop runs again.
        this.#keepRest(batch);
        return;
      }
      if (ran === NO_STEP) {
        if (t0 !== 0) this.#checkSlow(entry, t0);
        continue;
      }
      const task = ran ?? null;
      const firstTurn = task === (entry as unknown);
      if (firstTurn && !this.#stepGoesOn && task!._suspendedSince(null)) {
        // A task's first turn runs its code inside `_run`; it is suspended again on a wait of
        // asyncio-ts (or done), so its step is over.
        if (t0 !== 0) this.#checkSlow(entry, t0);
        continue;
      }
      // The last entry's step needs no wait, unless the loop is to stop after this iteration:
      // that step is then let finish first (see _stopAfterIteration).
      if (this.#batchAt < n || t0 !== 0 || this.#onStopped !== null) {
        this.#stepStart = t0;
        this.#stepTask = task;
        // A resumption has just ended the wait the task was suspended on.
        this.#stepWait = task === null || firstTurn ? null : task._waiter;
        untagged.next = true;
        SETTLED.then(this.#afterMicrotasks);
        untagged.next = false;
        return;
      }
    }
    batch.length = 0;
    this.#spare = batch;
    this.#batch = null;
    if (this.#onStopped !== null) this._stop();
    else this.#scheduleNext();
  };

  /**
   * The loop stopped in the middle of `batch`: the entries it had not reached go back to the
   * front of the ready queue. During a batch the ready queue is the spare array (see #iterate),
   * so the queue gets a new array and the spare becomes the emptied batch: left aliased, the
   * next batch would find the same entries in the queue a second time.
   */
  #keepRest(batch: ReadyEntry[]): void {
    this.#batch = null;
    this.#stepStart = 0;
    if (this.#closed) return;
    this.#ready = batch.slice(this.#batchAt).concat(this.#ready);
    batch.length = 0;
    this.#spare = batch;
  }

  readonly #afterMicrotasks = (): void => {
    this.#checkStep(true);
  };

  readonly #lookAgain = (): void => {
    this.#checkStep(false);
  };

  #checkStep(mayLookAgain: boolean): void {
    // The microtasks queued before this one have run, the resumed step's first among them. If
    // that step is suspended again on a wait of asyncio-ts (or finished), it queued nothing more
    // of its own and the next entry can run now; otherwise wait for the whole microtask queue.
    const task = this.#stepTask;
    if (task !== null) {
      if (!this.#stepGoesOn && task._suspendedSince(this.#stepWait)) {
        this.#stepTask = null;
        this.#stepWait = null;
        this.#resumeBatch();
        return;
      }
      if (mayLookAgain && !this.#stepGoesOn) {
        // A step that returned is done one microtask later, when its promise's reaction
        // finishes the task: look once more then, which costs less than a tick.
        untagged.next = true;
        SETTLED.then(this.#lookAgain);
        untagged.next = false;
        return;
      }
      this.#stepTask = null;
      this.#stepWait = null;
    }
    process.nextTick(this.#resumeBatch);
  }

  readonly #resumeBatch = (): void => {
    const batch = this.#batch;
    if (batch === null) return;
    if (!this.#running || this.#closed) {
      // Stopped in the middle of a batch: what is left runs first when the loop runs again.
      this.#keepRest(batch);
      return;
    }
    // The tick usually runs in the loop's context already (carried from the batch through the
    // microtask that queued it, except with promise hooks): entering it again would cost a new
    // context frame per entry on Node 24.
    if (als.getOwnStore() === this) this.#runBatch();
    else als.run(this, this.#runBatch);
  };

  /** Debug mode: reports a callback or task step that ran `slowCallbackDuration` or longer. */
  #checkSlow(entry: ReadyEntry, t0: number): void {
    const took = performance.now() - t0;
    if (took < this.slowCallbackDuration) return;
    const task = (entry as { _task?: unknown })._task ?? ("_isTask" in entry ? entry : null);
    const what = task ? `a step of ${String(task)}` : inspect(entry);
    console.warn(`asyncio-ts: executing ${what} took ${took.toFixed(1)} ms`);
  }

  #reportEntryError(entry: ReadyEntry, error: unknown): void {
    // A KeyboardInterrupt escapes instead (_reportCallbackError checks for a Handle's).
    if (entry instanceof Handle) this._reportCallbackError(entry, error);
    else if (!this._escape(error)) {
      this.callExceptionHandler({ message: "Exception in event loop step", exception: error });
    }
  }

  #scheduleNext(): void {
    if (!this.#running) return;
    if (this.#ready.length > 0) {
      if (this.#immediate === null) this.#immediate = setImmediate(this.#onImmediate);
      return;
    }
    this.#armHostTimer();
  }

  #armHostTimer(): void {
    const top = this.#timers.peek();
    if (top === undefined) {
      if (this.#hostTimer !== null) {
        clearTimeout(this.#hostTimer);
        this.#hostTimer = null;
        this.#hostTimerWhen = Number.POSITIVE_INFINITY;
      }
      return;
    }
    // A timer at Infinity never fires: nothing to wait for, in real or virtual time.
    if (top._when === Number.POSITIVE_INFINITY) return;
    const delay = top._when - this.#clock.now();
    if (this.#virtual || delay <= 0) {
      if (this.#immediate === null) this.#immediate = setImmediate(this.#onImmediate);
      return;
    }
    if (this.#hostTimer !== null) {
      if (this.#hostTimerWhen <= top._when) return;
      clearTimeout(this.#hostTimer);
    }
    this.#hostTimerWhen = top._when;
    // Node turns a delay above 2^31-1 ms (24.8 days) into 1 ms; wait the maximum and re-arm.
    this.#hostTimer = setTimeout(this.#onHostTimer, Math.min(Math.ceil(delay), MAX_HOST_DELAY));
  }

  toString(): string {
    const state = this.#closed ? "closed" : this.#running ? "running" : "idle";
    return `<EventLoop ${state} debug=${this.#debug} tasks=${this._tasks.size}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

// The internal contracts EventLoop fills (see Implements).
type _EventLoopContracts = Implements<EventLoop, HandleOwner>;

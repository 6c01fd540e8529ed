/**
 * `Task`: a function running concurrently on the loop, in its own async context, that can be
 * cancelled and cleans up. asyncio's `Task`, on native async functions.
 *
 * How it works: the task's function runs inside `als.run(task, …)`, so the whole call tree sees
 * the task as its store. Whatever the task waits on (a Future via `then`, a `sleep`) registers
 * itself with `_addWaiter`; `cancel()` cancels those waits, which throws `CancelledError` at the
 * `await`. When nothing is registered (the task runs, or awaits a plain promise), the request is
 * kept in `_mustCancel` and delivered at the next wait, as asyncio's `_must_cancel`. The task's
 * `AbortSignal` is created on first use and aborted on cancel, so signal-aware APIs stop too.
 *
 * Lifecycle: created → (started) → finished | cancelled. A lazily started task begins on a later
 * loop iteration; with `eagerStart` its function runs synchronously up to its first wait.
 *
 * Invariants:
 * - A pending task is in `loop._tasks` (the loop's strong reference) and leaves it when done.
 * - `_mustCancel` implies a cancellation was requested (`cancelling() > 0`) and not delivered.
 * - The task's signal is aborted iff `cancelling() > 0` when it is created or a cancel arrives;
 *   `uncancel()` back to 0 gives the task a fresh signal.
 *
 * @module
 */
import { AsyncResource } from "node:async_hooks";
import { inspect } from "node:util";
import {
  type CancellationOrigin,
  CancelledError,
  isCancelledError,
  KeyboardInterrupt,
  RuntimeError,
} from "../exceptions.ts";
import { makeCancelledError } from "../internal/cancelled.ts";
import { als, NO_LOOP_MESSAGE, type TaskStore } from "../internal/context.ts";
import { createdAt } from "../internal/debug-stacks.ts";
import type { Implements } from "../internal/implements.ts";
import { instrument } from "../internal/instrument.ts";
import { registry } from "../internal/registry.ts";
import type { ListNode } from "../internal/task-list.ts";
import {
  checkFunction,
  checkOptionalString,
  checkOptions,
  isThenable,
  typeError,
} from "../internal/validate.ts";
import type { Waitable } from "../internal/waitable.ts";
import { EventLoop, type ReadyEntry } from "../loop/event-loop.ts";
import {
  CANCELLED,
  cancelInfoFor,
  describeError,
  FAILED,
  FINISHED,
  Future,
  forgetCancelInfoOf,
  guardRepr,
  PENDING,
} from "./future.ts";

/** Options for `createTask`. */
export interface TaskOptions {
  /** The task's name (default `Task-N`). */
  name?: string;
  /**
   * Run the function synchronously, inside `createTask`, up to its first wait (asyncio 3.12
   * eager tasks). Default: false, the task starts on a later loop iteration. On a loop that is
   * not running (a `Runner`'s loop between runs) the task starts lazily, as asyncio does.
   */
  eagerStart?: boolean;
}

let taskCounter = 0;

// Starting a task costs no closure and no async frame. `createTask` captures the creator's async
// context in an AsyncResource made inside `als.run(task, …)`: the task inherits the creator's
// AsyncLocalStorage values (as asyncio copies the contextvars) and sees itself as the current
// task. A lazily started task is a ready-queue entry; its turn runs `startTask` in that resource's
// scope, at its place in the queue, as asyncio runs a new task's first step. (A per-task promise
// chained on a start gate cost 60% more memory and time, and started tasks after the callbacks
// of their iteration. Entering the task's store only when it starts, with `runInResource`, saves
// Node 24 a context frame per task, but the tasks of W1 then took 10–15 % more CPU time in
// interleaved runs: the frame made at creation is kept.)
//
// The resource also holds the task's function until it starts: the task needs one field for
// both, and nothing keeps the function alive once the task has started.
class TaskStart<T = unknown> extends AsyncResource {
  readonly fn: () => T | PromiseLike<T>;
  constructor(fn: () => T | PromiseLike<T>) {
    super("asyncio-ts.Task", TASK_RESOURCE_OPTIONS);
    this.fn = fn;
  }
}
function captureContext<T>(fn: () => T | PromiseLike<T>): TaskStart<T> {
  return new TaskStart(fn);
}
const TASK_RESOURCE_OPTIONS = { requireManualDestroy: true };

// With AsyncLocalStorage as the carrier, the resource made inside `als.run(task, …)` carries the
// task too; with promise hooks, the task is made current when the resource's scope is entered.
const RESOURCE_CARRIES_TASK = als.kind === "als";
function startInStore(task: Task<unknown>, fn: () => unknown): void {
  als.run(task, startTask, task, fn);
}

function onTaskFulfilled(value: unknown): void {
  (als.getStore() as Task<unknown>)._finish(true, value);
}
function onTaskRejected(error: unknown): void {
  (als.getStore() as Task<unknown>)._finish(false, error);
}

function startTask(task: Task<unknown>, fn: () => unknown): void {
  if (task._mustCancel) {
    // Cancelled before it started: the function never runs, as in asyncio.
    task._finish(false, task._takeCancellation());
    return;
  }
  if (instrument.active) instrument.emit("started", task);
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    task._finish(false, error);
    return;
  }
  if (result instanceof Promise) result.then(onTaskFulfilled, onTaskRejected);
  else if (isThenable(result)) {
    // A Future or other thenable: adopt it in this context, so the task registers the wait.
    Promise.resolve(result).then(onTaskFulfilled, onTaskRejected);
  } else task._finish(true, result);
}

/** A task's rarely used state, kept out of the Task object to keep every task small. */
interface TaskExtras {
  /** The controller of `task.signal`, made on first use. */
  controller: AbortController | null;
  /** Waits beyond the first (a task mostly waits on one thing at a time). */
  waiters: Set<Waitable> | null;
  /** Debug mode: where its current wait began. */
  waitStack: string | undefined;
}

// Origins are read-only records: one task cancelling many (a loop over tasks, a shutdown) shares
// one, rebuilt when the requester or its name changes, instead of a record and a string each.
let lastTaskOrigin: CancellationOrigin | null = null;
let lastTaskName = "";
const CALLBACK_ORIGIN: CancellationOrigin = Object.freeze({
  kind: "callback",
  requester: null,
  description: "cancelled from outside any task",
});

function originOfCancel(): CancellationOrigin {
  const store = als.getStore();
  if (store === undefined || !("_isTask" in store)) return CALLBACK_ORIGIN;
  const requester = store as unknown as Task<unknown>;
  const name = requester.name;
  if (lastTaskOrigin === null || lastTaskOrigin.requester !== requester || lastTaskName !== name) {
    lastTaskOrigin = Object.freeze({
      kind: "task",
      requester,
      description: `cancelled by task '${name}'`,
    });
    lastTaskName = name;
  }
  return lastTaskOrigin;
}

/**
 * A function running concurrently on the event loop: asyncio's `Task`. Create one with
 * {@link createTask}; await it for its result.
 *
 * **Cancellation:** `task.cancel()` throws `CancelledError` into the task where it waits, and
 * aborts `task.signal`. The task may clean up (`finally`) and should let the error propagate;
 * it then ends cancelled. Awaiting a task from another task and cancelling the awaiter cancels
 * the awaited task too (use `shield()` to prevent that).
 *
 * **Differences from asyncio:** durations in ms; the task also has an `AbortSignal`
 * (`task.signal`). A task that never waits completes on the next microtask turn even with
 * `eagerStart`, because JavaScript cannot observe an async function's completion synchronously.
 *
 * @example
 * ```ts
 * import { run, createTask, sleep, CancelledError } from "asyncio-ts";
 * await run(async () => {
 *   const task = createTask(async () => {
 *     try {
 *       await sleep(10_000);
 *     } finally {
 *       console.log("cleaned up");
 *     }
 *   }, { name: "worker" });
 *   await sleep(10);
 *   task.cancel();
 *   try {
 *     await task;
 *   } catch (e) {
 *     console.log(e instanceof CancelledError); // true
 *   }
 * });
 * ```
 */
export class Task<T = unknown> extends Future<T> {
  declare readonly _isTask: true;
  declare _loop: EventLoop;
  /** The name, or the task's number until the name is first read (`Task-N`). @internal */
  _name: string | number;
  /** @internal */ _mustCancel = false;
  /** @internal */ _numCancelsRequested = 0;
  /** @internal */ _waiter: Waitable | null = null;
  /** @internal */ _zeroSleeper: unknown = null;
  /** The signal's controller, extra waits, debug stacks: allocated on first use. @internal */
  _extras: TaskExtras | null = null;
  /** A lazily started task's function and its creator's async context, until it starts. @internal */
  _start: TaskStart | null = null;
  /** @internal */ _prev: ListNode | null = null;
  /** @internal */ _next: ListNode | null = null;

  /**
   * Prefer {@link createTask}. Creates a task running `fn` on `options.loop` or the running loop.
   * @throws {TypeError} if `fn` is not a function. @throws {RuntimeError} without a loop.
   */
  constructor(fn: () => T | PromiseLike<T>, options?: TaskOptions & { loop?: EventLoop }) {
    checkTaskArgs(fn, options);
    let loop = options?.loop;
    if (loop === undefined) {
      const store = als.getStore();
      if (store === undefined) throw new RuntimeError(NO_LOOP_MESSAGE);
      loop = "_isTask" in store ? store._loop : store;
    } else if (!(loop instanceof EventLoop)) {
      throw typeError("options.loop", "an EventLoop", loop);
    }
    if (loop.isClosed()) throw new RuntimeError("Event loop is closed");
    super({ loop });
    this._name = options?.name ?? ++taskCounter;
    loop._tasks.add(this as Task<unknown>);
    if (instrument.active) instrument.emit("created", this);
    // As asyncio: an eager start needs a running loop (one created on a `Runner`'s idle loop
    // would run with no loop to wake it); otherwise the task starts lazily.
    if (options?.eagerStart === true && loop.isRunning()) {
      // In a scope of its own, as a lazy start: the task's AsyncLocalStorage changes
      // (`enterWith`) stay in the task, as asyncio runs an eager step in the task's context copy.
      const context = RESOURCE_CARRIES_TASK
        ? als.run(this as Task<unknown>, captureContext, fn)
        : captureContext(fn);
      context.runInAsyncScope(
        RESOURCE_CARRIES_TASK ? startTask : startInStore,
        null,
        this as Task<unknown>,
        fn,
      );
      // As asyncio's eager start (its step re-raises a KeyboardInterrupt): one thrown before
      // the first wait is thrown by createTask too, besides escaping the loop.
      if (this._state === FAILED && this._exception instanceof KeyboardInterrupt) {
        throw this._exception;
      }
      // Its first step goes on in microtasks (an await that did not suspend): part of the step
      // that created it, which the loop must then let finish whole.
      if (!this._suspendedSince(null)) loop._stepGoesOn();
    } else {
      this._start = (
        RESOURCE_CARRIES_TASK
          ? als.run(this as Task<unknown>, captureContext, fn)
          : captureContext(fn)
      ) as TaskStart;
      loop._pushReady(this);
    }
  }

  /** The task's name; `Task-N` unless given. Settable. */
  get name(): string {
    if (typeof this._name === "number") this._name = `Task-${this._name}`;
    return this._name;
  }

  set name(value: string) {
    if (typeof value !== "string") throw typeError("name", "a string", value);
    this._name = value;
  }

  /** asyncio's `get_name()`. */
  getName(): string {
    return this.name;
  }

  /** asyncio's `set_name()`. */
  setName(value: string): void {
    this.name = value;
  }

  /** The loop running this task. */
  override getLoop(): EventLoop {
    return this._loop;
  }

  /**
   * An `AbortSignal` aborted when this task is asked to cancel (reason: the `CancelledError`).
   * Pass it to `fetch`, `fs/promises`, `timers/promises`, `events.once`, `child_process`… so
   * that they stop too; an `AbortError` caused by it counts as a cancellation.
   */
  get signal(): AbortSignal {
    const extras = extrasOf(this);
    let controller = extras.controller;
    if (controller === null) {
      controller = extras.controller = new AbortController();
      if (this._numCancelsRequested > 0) controller.abort(this._makeCancelledError());
    }
    return controller.signal;
  }

  /**
   * Requests cancellation: throws `CancelledError(msg)` into the task where it waits (or at its
   * next wait), and aborts its signal. Returns false if the task is already done (a failed task
   * is then no longer reported as "exception was never retrieved", as in asyncio). Each call
   * counts one request (see {@link cancelling}).
   */
  override cancel(msg?: string | null): boolean {
    // `null` is "no message", as asyncio's `cancel(None)`.
    if (msg === null) msg = undefined;
    checkOptionalString("msg", msg);
    // As asyncio's Task.cancel(): a failed task asked to cancel is not reported as never retrieved.
    this._markRetrieved();
    return this._requestCancel(msg, originOfCancel());
  }

  /** @internal */
  override _cancel(msg: string | undefined, origin: CancellationOrigin | undefined): boolean {
    return this._requestCancel(msg, origin ?? originOfCancel());
  }

  /** Cancellation with a known origin; used by timeouts and task groups. @internal */
  _requestCancel(msg: string | undefined, origin: CancellationOrigin | undefined): boolean {
    if (this._state !== PENDING) return false;
    this._numCancelsRequested++;
    this._cancelInfo = cancelInfoFor(msg, origin);
    if (instrument.active) instrument.emit("cancel-requested", this, origin);
    const extras = this._extras;
    const controller = extras === null ? null : extras.controller;
    if (controller !== null && !controller.signal.aborted) {
      controller.abort(this._makeCancelledError());
    }
    let delivered = false;
    const waiter = this._waiter;
    if (waiter !== null) delivered = waiter._cancel(msg, origin);
    const extra = this._extras?.waiters ?? null;
    if (extra !== null && extra.size > 0) {
      for (const w of [...extra]) if (w._cancel(msg, origin)) delivered = true;
    }
    if (!delivered) this._mustCancel = true;
    return true;
  }

  /** How many cancellation requests are pending (asyncio 3.11 `cancelling()`). */
  cancelling(): number {
    return this._numCancelsRequested;
  }

  /**
   * Withdraws one cancellation request; returns the remaining count. At 0 a request not yet
   * delivered is dropped and the task gets a fresh, un-aborted signal. Used by `timeout()` and
   * TaskGroup to tell their own cancellations from outside ones.
   */
  uncancel(): number {
    if (this._numCancelsRequested > 0) {
      this._numCancelsRequested--;
      if (this._numCancelsRequested === 0) {
        this._mustCancel = false;
        const extras = this._extras;
        if (extras?.controller?.signal.aborted) extras.controller = null;
      }
    }
    return this._numCancelsRequested;
  }

  /** Not allowed on a Task. @throws {RuntimeError} */
  override setResult(_value: T): never {
    throw new RuntimeError("Task does not support setResult(); return a value from its function");
  }

  /** Not allowed on a Task. @throws {RuntimeError} */
  override setException(_error: unknown): never {
    throw new RuntimeError("Task does not support setException(); throw from its function");
  }

  /**
   * Where the task is waiting: a line per thing it waits on, then (in debug mode) the stack
   * captured when the wait began. Empty when the task is not waiting on a Future or sleep.
   */
  getStack(): string[] {
    const lines: string[] = [];
    if (this._waiter !== null) lines.push(`waiting on ${this._waiter._describeWait()}`);
    const extras = this._extras;
    if (extras?.waiters) {
      for (const w of extras.waiters) lines.push(`waiting on ${w._describeWait()}`);
    }
    const wait = extras?.waitStack;
    if (lines.length > 0 && wait !== undefined) {
      for (const line of wait.split("\n").slice(1)) lines.push(line.trim());
    }
    return lines;
  }

  // ---- TaskStore: used by what the task waits on ----

  /** @internal */
  _addWaiter(waitable: Waitable): void {
    if (this._waiter === null) this._waiter = waitable;
    else {
      const extras = extrasOf(this);
      if (extras.waiters === null) extras.waiters = new Set();
      extras.waiters.add(waitable);
    }
    if (this._loop.getDebug()) extrasOf(this).waitStack = new Error().stack;
    // Every wait (Future, sleep, primitive, I/O) registers here: the one place to report it.
    if (instrument.active) instrument.emit("waiting", this, waitable);
  }

  /** @internal */
  _removeWaiter(waitable: Waitable): void {
    if (this._waiter === waitable) this._waiter = null;
    else if (this._extras?.waiters?.delete(waitable) !== true) return;
    if (instrument.active) instrument.emit("woken", this, waitable);
  }

  /** @internal */
  _suspendedSince(previous: Waitable | null): boolean {
    if (this._state !== PENDING) return true;
    const waiter = this._waiter;
    const others = this._extras?.waiters;
    return waiter !== null && waiter !== previous && (others == null || others.size === 0);
  }

  /** @internal */
  _takeCancellation(): CancelledError {
    this._mustCancel = false;
    return this._makeCancelledError();
  }

  /** @internal */
  _makeCancelledError(): CancelledError {
    return makeCancelledError(this._cancelMessage, this._cancelOrigin, this._loop.getDebug());
  }

  /** Ready-queue entry: a lazily started task's first turn. @internal */
  _run(): TaskStore {
    const start = this._start!;
    this._start = null;
    start.runInAsyncScope(
      RESOURCE_CARRIES_TASK ? startTask : startInStore,
      null,
      this as Task<unknown>,
      start.fn,
    );
    return this;
  }

  /** The task's function returned (`ok`) or threw. @internal */
  _finish(ok: boolean, value: unknown): void {
    if (this._state !== PENDING) return;
    if (ok) {
      if (this._mustCancel) setCancelled(this, this._takeCancellation());
      else {
        this._result = value as T;
        this._state = FINISHED;
      }
    } else if (isCancelledError(value)) {
      setCancelled(
        this,
        value instanceof CancelledError
          ? value
          : makeCancelledError(this._cancelMessage, this._cancelOrigin, true, value),
      );
    } else {
      this._exception = value;
      this._state = FAILED;
      // A KeyboardInterrupt escapes the loop (asyncio's step re-raises it): whoever runs the
      // loop receives it, so it is not reported as never retrieved.
      if (!this._loop._escape(value)) this._loop._unretrieved.add(this as Task<unknown>);
    }
    this._mustCancel = false;
    this._waiter = null;
    // The spare sleep(0) waiter would keep its last promise alive as long as the task is kept.
    this._zeroSleeper = null;
    if (this._extras !== null) this._extras.waiters = null;
    this._loop._tasks.delete(this as Task<unknown>);
    // The shared origin record must not keep a finished requester (and its result) alive.
    if (lastTaskOrigin !== null && lastTaskOrigin.requester === this) lastTaskOrigin = null;
    forgetCancelInfoOf(this);
    if (instrument.active) instrument.emit("done", this);
    this._scheduleCallbacks();
  }

  /** @internal */
  override _describeWait(): string {
    return `<Task ${stateName(this)} name='${this.name}'>`;
  }

  override toString(): string {
    return guardRepr(this, () => describeTask(this));
  }
}

Object.defineProperty(Task.prototype, "_isTask", { value: true });

function describeTask(task: Task<unknown>): string {
  // As asyncio's repr: a pending task asked to cancel shows `cancelling` as its state.
  const state =
    task._state === PENDING && task._numCancelsRequested > 0 ? "cancelling" : stateName(task);
  let text = `<Task ${state} name='${task.name}'`;
  if (task._state === PENDING) {
    if (task._waiter !== null) text += ` waiting on ${task._waiter._describeWait()}`;
  } else if (task._state === FINISHED || task._state === FAILED) {
    text += task._hasException
      ? ` exception=${describeError(task._exception)}`
      : ` result=${inspect(task._result, { depth: 0, breakLength: Number.POSITIVE_INFINITY })}`;
  }
  return `${text}${createdAt(task)}>`;
}

// The helpers below are functions rather than private methods: a class with private methods
// gives each instance a hidden brand slot (8 bytes per task).

function extrasOf(task: Task<unknown>): TaskExtras {
  if (task._extras === null) {
    task._extras = {
      controller: null,
      waiters: null,
      waitStack: undefined,
    };
  }
  return task._extras;
}

function stateName(task: Task<unknown>): string {
  return task._state === PENDING ? "pending" : task._state === CANCELLED ? "cancelled" : "finished";
}

function setCancelled(task: Task<unknown>, error: CancelledError): void {
  task._state = CANCELLED;
  const info = task._cancelInfo;
  // Mostly the error delivers the last request, whose record stays.
  if (info === null || info.message !== error.cancelMessage || info.origin !== error.origin) {
    task._cancelInfo = cancelInfoFor(error.cancelMessage, error.origin);
  }
  task._result = error as never;
}

function checkTaskArgs(fn: unknown, options: unknown): void {
  if (typeof fn !== "function") {
    if (isThenable(fn)) {
      throw new TypeError(
        "Expected `fn` to be a function, got a promise: a promise is already running and cannot " +
          "be made a task; pass the function instead, e.g. createTask(() => work()) rather than " +
          "createTask(work())",
      );
    }
    checkFunction("fn", fn);
  }
  checkOptions("options", options);
  if (options !== undefined) {
    const o = options as TaskOptions;
    checkOptionalString("options.name", o.name);
    if (o.eagerStart !== undefined && typeof o.eagerStart !== "boolean") {
      throw typeError("options.eagerStart", "a boolean", o.eagerStart);
    }
  }
}

/**
 * What makes a loop's tasks (see `loop.setTaskFactory`): asyncio's task factory, called as
 * `factory(loop, fn, options)` with the options given to `createTask` (a copy, never
 * `undefined`). It must return a `Task` running `fn` on `loop`, typically
 * `new Task(fn, { ...options, loop })` or an instance of a subclass.
 */
export type TaskFactory = <T>(
  loop: EventLoop,
  fn: () => T | PromiseLike<T>,
  options: TaskOptions,
) => Task<T>;

/**
 * Makes a task of `loop`: through the loop's task factory if it has one, else `new Task`.
 * @internal
 */
export function makeTask<T>(
  loop: EventLoop,
  fn: () => T | PromiseLike<T>,
  options: TaskOptions | undefined,
): Task<T> {
  const factory = loop._taskFactory;
  if (factory === null)
    return new Task(fn, options === undefined ? { loop } : { ...options, loop });
  checkTaskArgs(fn, options);
  const task = factory(loop, fn, options === undefined ? {} : { ...options });
  if (!(task instanceof Task)) throw typeError("the task factory's result", "a Task", task);
  return task;
}

/**
 * A task factory that starts every task eagerly, as if each `createTask` had
 * `eagerStart: true` (unless it says `eagerStart: false`): asyncio 3.12's `eager_task_factory`.
 * A task that finishes without waiting then costs no loop iteration at all.
 *
 * @example
 * ```ts
 * import { createTask, eagerTaskFactory, getRunningLoop, run } from "asyncio-ts";
 * await run(async () => {
 *   getRunningLoop().setTaskFactory(eagerTaskFactory);
 *   const order: string[] = [];
 *   const task = createTask(async () => {
 *     order.push("task runs");
 *   });
 *   order.push("createTask returned");
 *   await task;
 *   console.log(order); // [ 'task runs', 'createTask returned' ]
 * });
 * ```
 */
export const eagerTaskFactory: TaskFactory = createEagerTaskFactory(Task);

/**
 * A task factory that makes eager tasks of a class of your own (a subclass of `Task` taking the
 * same arguments): asyncio 3.12's `create_eager_task_factory`.
 * @throws {TypeError} if `taskClass` is not `Task` or a subclass of it.
 */
export function createEagerTaskFactory(
  taskClass: new <T>(
    fn: () => T | PromiseLike<T>,
    options: TaskOptions & { loop: EventLoop },
  ) => Task<T>,
): TaskFactory {
  if (taskClass !== Task && !((taskClass as { prototype?: unknown })?.prototype instanceof Task)) {
    throw typeError("taskClass", "Task or a subclass of it", taskClass);
  }
  return (loop, fn, options) =>
    new taskClass(fn, { ...options, eagerStart: options.eagerStart ?? true, loop });
}

registry.createTask = <T>(
  loop: EventLoop,
  fn: () => T | PromiseLike<T>,
  options?: TaskOptions,
): Task<T> => makeTask(loop, fn, options);
registry.createFuture = <T>(loop: EventLoop): Future<T> => new Future<T>({ loop });

// The internal contracts Task fills (see Implements).
type _TaskContracts = Implements<Task, TaskStore & ListNode & ReadyEntry & Waitable>;

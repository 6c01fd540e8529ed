/**
 * `Future`: a result that will exist later, and the one waiting mechanism of the runtime.
 *
 * States: pending → finished (with a result or an exception) or pending → cancelled; a done
 * Future never changes again. As in asyncio, done callbacks are not called synchronously: each
 * is scheduled on the loop when the Future completes, in the order they were added.
 *
 * A Future is a thenable, so `await fut` works. When a Task awaits it, V8 calls `then` in the
 * task's async context; the Future registers itself as what the task waits on, so
 * `task.cancel()` can cancel it (asyncio's `_fut_waiter`). The task is woken through the loop's
 * ready queue, which is where a cancellation that arrived after completion is delivered instead
 * of the result.
 *
 * Invariants:
 * - A Future never rejects a native promise by itself: nothing becomes an unhandled rejection
 *   unless a `then` chain the user built leaves an error unhandled.
 * - Each waiter is woken exactly once.
 *
 * @module
 */
import { AsyncResource } from "node:async_hooks";
import { inspect } from "node:util";
import {
  type CancellationOrigin,
  CancelledError,
  InvalidStateError,
  RuntimeError,
} from "../exceptions.ts";
import { makeCancelledError } from "../internal/cancelled.ts";
import { als, NO_LOOP_MESSAGE, type TaskStore } from "../internal/context.ts";
import { createdAt, creationStackOf, recordCreation } from "../internal/debug-stacks.ts";
import type { Implements } from "../internal/implements.ts";
import {
  checkFunction,
  checkOptionalString,
  checkOptions,
  isThenable,
  typeError,
} from "../internal/validate.ts";
import type { Waitable } from "../internal/waitable.ts";
import { EventLoop, type ReadyEntry } from "../loop/event-loop.ts";
import { type Callback, Handle } from "../loop/handles.ts";
import { sleep } from "./sleep.ts";

/** The three states of a Future, shown in its inspect string. */
export type FutureState = "pending" | "cancelled" | "finished";

/** @internal */ export const PENDING = 0;
/** @internal */ export const CANCELLED = 1;
/** Finished with a result. @internal */ export const FINISHED = 2;
/** Finished with an exception (a state of its own, so a Future needs no flag for it). @internal */
export const FAILED = 3;
const STATE_NAMES: readonly FutureState[] = ["pending", "cancelled", "finished", "finished"];

/** A done callback: called with the Future once it is done. */
export type DoneCallback<T> = (future: Future<T>) => void;

type Settle = ((value: unknown) => unknown) | null | undefined;

/**
 * One `then` registration. It is also what `then` returns: a lazy thenable that only builds a
 * native promise if someone chains on it, because `await` never does (this keeps `await fut`
 * down to one small object).
 *
 * @internal
 */
export class FutureWaiter implements ReadyEntry, PromiseLike<unknown> {
  readonly _future: Future<unknown>;
  _task: TaskStore | null = null;
  /** The fulfilment handler; once settled with success and not chained, the outcome value. */
  #onFulfilled: Settle | unknown;
  #onRejected: Settle;
  /**
   * What chaining on this waiter sees: `undefined` while pending and not chained; a `Chain`
   * while pending and chained; `SETTLED_OK` once settled with success and not chained (the
   * value then sits in `#onFulfilled`); otherwise a native promise of the outcome.
   */
  #outcome: Chain | Promise<unknown> | typeof SETTLED_OK | undefined = undefined;

  constructor(future: Future<unknown>, onFulfilled: Settle, onRejected: Settle) {
    this._future = future;
    this.#onFulfilled = onFulfilled;
    this.#onRejected = onRejected;
  }

  /**
   * Wakes the awaiter: delivers the Future's outcome, or a pending cancellation instead.
   * Returns the task that resumes, if any (for the loop, see ReadyEntry).
   */
  _run(): TaskStore | null {
    const fut = this._future;
    const task = this._task;
    if (task !== null) {
      task._removeWaiter(fut);
      if (task._mustCancel) {
        // As asyncio's Task.__wakeup/__step: a cancel that arrived after the Future completed but
        // before the task resumed is delivered at the resumption, replacing the outcome. The
        // outcome still counts as retrieved (asyncio calls result() first), so a replaced error
        // is not reported as "never retrieved". A Future that was cancelled itself (by this
        // task's first cancel, or by its owner) keeps its own CancelledError: asyncio replaces
        // only an outcome that is not a CancelledError, and one error delivers both requests.
        if (fut._hasException) fut._markRetrieved();
        // (A Future that failed with a CancelledError, as a gather does, keeps it too.)
        const own =
          fut._state === CANCELLED
            ? fut._getCancelledError()
            : fut._state === FAILED && fut._exception instanceof CancelledError
              ? fut._exception
              : null;
        if (own !== null) task._mustCancel = false;
        FutureWaiter.#settle(this, false, own ?? task._takeCancellation());
        return task;
      }
    }
    if (fut._state === FAILED) {
      fut._markRetrieved();
      FutureWaiter.#settle(this, false, fut._exception);
    } else if (fut._state === FINISHED) {
      if (task !== null && isThenable(fut._result)) {
        // A thenable result is adopted next; see resolveFor.
        als.run(task, settleWith, this, fut._result);
      } else FutureWaiter.#settle(this, true, fut._result);
    } else FutureWaiter.#settle(this, false, fut._getCancelledError());
    return task;
  }

  /** @internal */
  _settleOk(value: unknown): void {
    FutureWaiter.#settle(this, true, value);
  }

  // Static, not an instance method: a private instance method gives every instance a hidden
  // brand slot (8 bytes per `await` of a Future).
  static #settle(waiter: FutureWaiter, ok: boolean, value: unknown): void {
    const handler = ok ? waiter.#onFulfilled : waiter.#onRejected;
    waiter.#onFulfilled = waiter.#onRejected = null;
    if (typeof handler === "function") {
      try {
        value = handler(value);
        ok = true;
      } catch (error) {
        value = error;
        ok = false;
      }
    }
    const outcome = waiter.#outcome;
    if (outcome instanceof Chain) {
      if (ok) outcome.resolve(value);
      else outcome.reject(value);
      waiter.#outcome = outcome.promise;
    } else if (!ok) {
      // Nobody chained yet: reject a real promise so an unhandled error surfaces as natively.
      waiter.#outcome = Promise.reject(value);
    } else {
      waiter.#onFulfilled = value;
      waiter.#outcome = SETTLED_OK;
    }
  }

  // biome-ignore lint/suspicious/noThenProperty: a waiter is a thenable on purpose.
  then<R1 = unknown, R2 = never>(
    onFulfilled?: ((value: unknown) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    let outcome = this.#outcome;
    if (outcome === undefined) outcome = this.#outcome = new Chain();
    else if (outcome === SETTLED_OK) {
      outcome = this.#outcome = Promise.resolve(this.#onFulfilled);
      this.#onFulfilled = null;
    }
    const promise = outcome instanceof Chain ? outcome.promise : outcome;
    return promise.then(onFulfilled, onRejected);
  }
}

/** Whether `value` is `Error` or a class derived from it. */
function isErrorClass(value: unknown): value is new () => Error {
  return typeof value === "function" && (value === Error || value.prototype instanceof Error);
}

function settleWith(waiter: FutureWaiter, value: unknown): void {
  waiter._settleOk(value);
}

/** Marks a waiter settled with success whose value no one has chained on yet. */
const SETTLED_OK: unique symbol = Symbol("settled");

/** The native promise behind a waiter someone chained on before it settled. */
class Chain {
  readonly promise: Promise<unknown>;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;
  constructor() {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

let microtaskQueue: ReadyEntry[] | null = null;

function drainMicrotaskQueue(): void {
  const queue = microtaskQueue!;
  microtaskQueue = null;
  for (const entry of queue) entry._run();
}

// A reaction on a settled native promise is a microtask like `queueMicrotask`'s, in the same
// queue, but Node wraps each `queueMicrotask` callback in an AsyncResource and a bound function
// (about 180 B, once per `await` of a done Future when they come one at a time).
const SETTLED: Promise<void> = Promise.resolve();

/** Runs `entry` on a microtask (for Futures with no loop, and awaits of done Futures). */
function runSoonOnMicrotask(entry: ReadyEntry): void {
  if (microtaskQueue === null) {
    microtaskQueue = [entry];
    SETTLED.then(drainMicrotaskQueue);
  } else microtaskQueue.push(entry);
}

/**
 * A done callback added with the public `addDoneCallback`, with the async context it was added
 * in: as asyncio runs a done callback in the context current at `add_done_callback()`, it runs
 * with that context's `AsyncLocalStorage` values. (The runtime's own done callbacks need none.)
 *
 * It is its own ready entry: a Future completes once, so each registration is scheduled at most
 * once, and W6 adds 100 000 of them (one object per registration instead of three: a record, its
 * `AsyncResource` and, at completion, an entry).
 */
class ContextCallback extends AsyncResource implements ReadyEntry {
  readonly callback: DoneCallback<unknown>;
  readonly future: Future<unknown>;
  constructor(callback: DoneCallback<unknown>, future: Future<unknown>) {
    super("asyncio-ts.DoneCallback");
    this.callback = callback;
    this.future = future;
  }
  _run(): void {
    // In the captured context, the runtime's store is the loop's (not the adder's task).
    const loop = this.future._loop;
    if (loop === null) this.runInAsyncScope(invokeContextCallback, null, this);
    else als.runInResource(this, loop, invokeContextCallback, this);
  }
}

function invokeContextCallback(entry: ContextCallback): void {
  invokeCallback(entry.callback, entry.future);
}

/** A done callback of the runtime's own, scheduled. */
class CallbackEntry implements ReadyEntry {
  readonly #callback: DoneCallback<unknown>;
  readonly #future: Future<unknown>;
  constructor(callback: DoneCallback<unknown>, future: Future<unknown>) {
    this.#callback = callback;
    this.#future = future;
  }
  _run(): void {
    invokeCallback(this.#callback, this.#future);
  }
}

/** What a Future keeps per registration: an awaiter, or a done callback. */
type Registration = FutureWaiter | DoneCallback<unknown> | ContextCallback;

/** The ready entry that runs `registration` once its Future is done. */
function entryOf(registration: Registration, future: Future<unknown>): ReadyEntry {
  return registration instanceof FutureWaiter || registration instanceof ContextCallback
    ? registration
    : new CallbackEntry(registration, future);
}

/** Calls a done callback, reporting what it throws or rejects with. */
function invokeCallback(callback: DoneCallback<unknown>, future: Future<unknown>): void {
  try {
    const result: unknown = callback(future);
    // An async callback (asyncio would leave the coroutine unawaited): a rejection is reported
    // like a throw instead of becoming an unhandled rejection.
    if (isThenable(result)) {
      Promise.resolve(result).then(undefined, (e) => reportCallbackError(callback, future, e));
    }
  } catch (error) {
    reportCallbackError(callback, future, error);
  }
}

/**
 * Whether following the results of done Futures from `future` (a Future whose result is a
 * Future, whose result is …) comes back to one of them. Only called for a result that is a
 * thenable, which is rare.
 */
function resultsCycle(future: Future<unknown>): boolean {
  const seen = new Set<unknown>();
  let link: unknown = future;
  while (link instanceof Future && link._state === FINISHED) {
    if (seen.has(link)) return true;
    seen.add(link);
    link = link._result;
  }
  return false;
}

function reportCallbackError(
  callback: DoneCallback<unknown>,
  future: Future<unknown>,
  error: unknown,
): void {
  const loop = future._loop;
  if (loop === null) {
    // No loop, no exception handler: surface it as an uncaught error, as a throwing
    // setTimeout callback would, but on its own microtask, so that the callbacks and
    // awaiters queued after this one still run.
    queueMicrotask(() => {
      throw error;
    });
    return;
  }
  if (loop._escape(error)) return;
  // asyncio runs a done callback as a loop callback (`call_soon(callback, future)`) and reports
  // its failure as any callback's, with the handle; the handle is only made now, on failure.
  const handle = new Handle(callback as Callback, [future], loop);
  loop.callExceptionHandler({
    message: `Exception in callback ${handle._describe()}`,
    exception: error,
    handle,
  });
}

/**
 * How a Future or Task was (last) asked to cancel. Read-only, so that consecutive requests with
 * the same message and origin (a loop cancelling many tasks) share one record; the error that
 * delivers the request is kept in the cancelled Future's result slot. @internal
 */
export class CancelInfo {
  readonly message: string | undefined;
  readonly origin: CancellationOrigin | undefined;
  constructor(message: string | undefined, origin: CancellationOrigin | undefined) {
    this.message = message;
    this.origin = origin;
  }
}

const NO_CANCEL_INFO = new CancelInfo(undefined, undefined);
let lastCancelInfo = NO_CANCEL_INFO;

/** The record of a request with `message` and `origin` (the last one made, if it matches). @internal */
export function cancelInfoFor(
  message: string | undefined,
  origin: CancellationOrigin | undefined,
): CancelInfo {
  const last = lastCancelInfo;
  if (last.message === message && last.origin === origin) return last;
  return (lastCancelInfo = new CancelInfo(message, origin));
}

/** The shared record must not keep a finished requester (and its result) alive. @internal */
export function forgetCancelInfoOf(requester: object): void {
  if (lastCancelInfo.origin?.requester === requester) lastCancelInfo = NO_CANCEL_INFO;
}

/** Options for `new Future()`. */
export interface FutureOptions {
  /** The loop that schedules this Future's callbacks. Default: the running loop, if any. */
  loop?: EventLoop;
}

/**
 * A result that will be available later: asyncio's `Future`, awaitable with `await`.
 *
 * Low-level: most code awaits Tasks and the functions of this library instead. A Future is useful
 * to bridge a callback API into a task (`setResult` from the callback, `await` in the task).
 *
 * **Cancellation:** cancelling a task that awaits this Future cancels the Future (as asyncio
 * does), and the task gets a `CancelledError` at its `await`. Use `shield()` to prevent that.
 *
 * **Differences from asyncio:** a Future is a thenable, so `then` exists (it returns a promise-like
 * value), and it works without a loop, waking its awaiters on microtasks.
 *
 * @example
 * ```ts
 * import { run, getRunningLoop } from "asyncio-ts";
 * await run(async () => {
 *   const fut = getRunningLoop().createFuture<string>();
 *   setTimeout(() => fut.setResult("ready"), 10);
 *   console.log(await fut); // "ready"
 * });
 * ```
 */
export class Future<T = unknown> implements PromiseLike<T> {
  // Every field costs 8 bytes per Future and per Task (100k of them wait at once in the
  // benchmarks): what is rare (an exception, a cancellation) lives in the state or in a record.
  /** @internal */ _state = PENDING;
  /**
   * The result; the exception when `FAILED`; the CancelledError, once made, when `CANCELLED`.
   * @internal
   */
  _result: T | undefined = undefined;
  /** @internal */ _loop: EventLoop | null;
  /**
   * The awaiters and done callbacks, in registration order: one registration alone (the common
   * case: one awaiter, or one done callback), an array of two or more, or null. @internal
   */
  _callbacks: Registration | Registration[] | null = null;
  /** The last cancellation's message and origin (a shared record). @internal */
  _cancelInfo: CancelInfo | null = null;

  constructor(options?: FutureOptions) {
    if (options !== undefined) {
      checkOptions("options", options);
      if (options.loop !== undefined && !(options.loop instanceof EventLoop)) {
        throw typeError("options.loop", "an EventLoop", options.loop);
      }
    }
    const loop = (this._loop = options?.loop ?? currentLoop());
    if (loop?.getDebug()) recordCreation(this);
  }

  /**
   * Where the Future (or Task) was created, as a stack of `at …` lines, the program's innermost
   * frame first; recorded in debug mode only (asyncio's `_source_traceback`), `undefined`
   * otherwise.
   */
  getCreationStack(): string | undefined {
    return creationStackOf(this);
  }

  /** Whether it finished with an exception. @internal */
  get _hasException(): boolean {
    return this._state === FAILED;
  }
  /** @internal */
  get _cancelMessage(): string | undefined {
    return this._cancelInfo?.message;
  }
  /** @internal */
  get _cancelOrigin(): CancellationOrigin | undefined {
    return this._cancelInfo?.origin;
  }

  /** The exception (shares `_result`'s slot: a Future has one or the other). @internal */
  get _exception(): unknown {
    return this._result;
  }
  set _exception(error: unknown) {
    this._result = error as T;
  }

  /** The loop this Future belongs to. @throws {RuntimeError} if it has none and none runs. */
  getLoop(): EventLoop {
    const loop = this._loop ?? currentLoop();
    if (loop === null) throw new RuntimeError(NO_LOOP_MESSAGE);
    this._loop = loop;
    return loop;
  }

  /** Whether the Future is done: it has a result, an exception, or was cancelled. */
  done(): boolean {
    return this._state !== PENDING;
  }

  /** Whether the Future was cancelled. */
  cancelled(): boolean {
    return this._state === CANCELLED;
  }

  /**
   * The result. Throws the exception if one was set, `CancelledError` if cancelled, and
   * `InvalidStateError` if not done yet.
   */
  result(): T {
    if (this._state === CANCELLED) throw this._getCancelledError();
    if (this._state === PENDING) throw new InvalidStateError("Result is not set.");
    if (this._hasException) {
      this._markRetrieved();
      throw this._exception;
    }
    return this._result as T;
  }

  /**
   * The exception, or `null` if the Future finished with a result. Throws `CancelledError` if
   * cancelled and `InvalidStateError` if not done yet.
   */
  exception(): unknown {
    if (this._state === CANCELLED) throw this._getCancelledError();
    if (this._state === PENDING) throw new InvalidStateError("Exception is not set.");
    this._markRetrieved();
    return this._hasException ? this._exception : null;
  }

  /** Marks the Future done with `value`. @throws {InvalidStateError} if already done. */
  setResult(value: T): void {
    if (this._state !== PENDING) {
      throw new InvalidStateError(`invalid state: the Future is already ${this.state}`);
    }
    this._result = value;
    this._state = FINISHED;
    this._scheduleCallbacks();
  }

  /**
   * Marks the Future done with `error`. An error class (`Error` or a subclass) is instantiated
   * with no arguments, as asyncio instantiates an exception class:
   * `fut.setException(QueueEmpty)` stores `new QueueEmpty()`.
   * @throws {InvalidStateError} if already done (the Future is left as it was, as it is when the
   * class's constructor throws).
   */
  setException(error: unknown): void {
    if (this._state !== PENDING) {
      throw new InvalidStateError(`invalid state: the Future is already ${this.state}`);
    }
    if (isErrorClass(error)) error = new error();
    this._setExceptionUnchecked(error);
  }

  /** @internal */
  _setExceptionUnchecked(error: unknown): void {
    this._exception = error;
    this._state = FAILED;
    this._loop?._unretrieved.add(this as Future<unknown>);
    this._scheduleCallbacks();
  }

  /**
   * Cancels the Future and schedules its callbacks; awaiters get `CancelledError(msg)`.
   * Returns false if it was already done; a failed Future is then no longer reported as
   * "exception was never retrieved", as in asyncio.
   */
  cancel(msg?: string | null): boolean {
    // `null` is "no message", as asyncio's `cancel(None)`.
    if (msg === null) msg = undefined;
    checkOptionalString("msg", msg);
    // As asyncio's cancel(), which clears `_log_traceback` before it looks at the state: asking
    // to cancel a Future that already failed means nobody wants its error, so it is not reported
    // as never retrieved (test_tb_logger_not_called_after_cancel).
    this._markRetrieved();
    return this._cancel(msg, undefined);
  }

  /** @internal */
  _cancel(msg: string | undefined, origin: CancellationOrigin | undefined): boolean {
    if (this._state !== PENDING) return false;
    this._state = CANCELLED;
    this._cancelInfo = cancelInfoFor(msg, origin);
    this._scheduleCallbacks();
    return true;
  }

  /**
   * Adds `callback(future)`, run on the loop once the Future is done (scheduled at once if it
   * already is). Callbacks run in the order they were added.
   */
  addDoneCallback(callback: DoneCallback<T>): void {
    checkFunction("callback", callback);
    this._addCallback(
      new ContextCallback(callback as DoneCallback<unknown>, this as Future<unknown>),
    );
  }

  /** A done callback of the runtime's own, run without capturing the async context. @internal */
  _addDoneCallback(callback: DoneCallback<T>): void {
    this._addCallback(callback as DoneCallback<unknown>);
  }

  /** @internal */
  _addCallback(callback: DoneCallback<unknown> | ContextCallback): void {
    // A Future made outside any loop joins the loop of the code that first waits on it.
    if (this._loop === null) this._loop = currentLoop();
    if (this._state !== PENDING) {
      this._schedule(entryOf(callback, this as Future<unknown>));
      return;
    }
    this._register(callback);
  }

  /** Appends a registration. @internal */
  _register(registration: Registration): void {
    const cbs = this._callbacks;
    if (cbs === null) this._callbacks = registration;
    else if (Array.isArray(cbs)) cbs.push(registration);
    else this._callbacks = [cbs, registration];
  }

  /** The registrations, in order (a copy). @internal */
  _registrations(): Registration[] {
    const cbs = this._callbacks;
    return cbs === null ? [] : Array.isArray(cbs) ? cbs.slice() : [cbs];
  }

  /** Removes every registration of `callback`; returns how many were removed. */
  removeDoneCallback(callback: DoneCallback<T>): number {
    checkFunction("callback", callback);
    const cbs = this._registrations();
    if (cbs.length === 0) return 0;
    const kept = cbs.filter(
      (cb) =>
        cb !== (callback as DoneCallback<unknown>) &&
        !(cb instanceof ContextCallback && cb.callback === callback),
    );
    const removed = cbs.length - kept.length;
    this._callbacks = kept.length > 1 ? kept : kept.length === 1 ? kept[0] : null;
    return removed;
  }

  /**
   * Makes the Future awaitable. Inside a task this registers the wait, so cancelling the task
   * cancels this Future.
   */
  // biome-ignore lint/suspicious/noThenProperty: Futures are thenables by design (SPEC).
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): PromiseLike<R1 | R2> {
    const waiter = new FutureWaiter(this as Future<unknown>, onFulfilled as Settle, onRejected);
    if (this._state !== PENDING) {
      // asyncio does not suspend on a done Future; the nearest here is a microtask.
      if (this._state === FINISHED && isThenable(this._result)) {
        const result = this._result;
        if (resultsCycle(this as Future<unknown>)) {
          // `fut.setResult(fut)`, or Futures whose results lead back to one of them: adopting
          // the result would call `then` again, on and on, in microtasks that starve the
          // process. A promise resolved with itself rejects with a TypeError; so does this wait.
          const what =
            result === (this as unknown) ? "the Future itself" : "a Future whose result leads back";
          return Promise.reject(
            new TypeError(`Chaining cycle detected: the result of ${this} is ${what}`),
          ).then(onFulfilled, onRejected);
        }
        // The result is adopted next: from a reaction made here, in the awaiter's context
        // (see resolveFor), rather than from the shared drain.
        SETTLED.then(() => waiter._settleOk(result));
      } else runSoonOnMicrotask(waiter);
      return waiter as PromiseLike<R1 | R2>;
    }
    const store = als.getStore();
    if (store === (this as unknown)) {
      // asyncio raises "Task cannot await on itself". In JavaScript this also happens when an
      // async function of the task returns the task (a thenable is unwrapped): without this
      // check the task would wait for itself forever. As asyncio's step, the error comes on the
      // task's next turn (a zero sleep), where a pending cancellation is delivered instead.
      const error = new RuntimeError(`Task cannot await on itself: ${String(this)}`);
      return sleep(0)
        .then(() => Promise.reject(error))
        .then(onFulfilled, onRejected);
    }
    if (
      store !== undefined &&
      "_isTask" in store &&
      this._loop !== null &&
      this._loop !== store._loop &&
      !this._loop.isClosed()
    ) {
      // As asyncio's Task.__step: its wake-up would be queued on a loop that is not the task's.
      return Promise.reject(
        new RuntimeError(`Task ${String(store)} got Future ${this} attached to a different loop`),
      ).then(onFulfilled, onRejected);
    }
    // Registered before a pending cancellation may cancel this Future below, so that the
    // cancellation schedules this waiter too (otherwise the task would never wake up).
    this._register(waiter);
    if (store !== undefined) {
      if ("_isTask" in store) {
        waiter._task = store;
        if (this._loop === null) this._loop = store._loop;
        store._addWaiter(this);
        // As asyncio's Task.__step: a pending cancellation cancels what the task now awaits.
        if (store._mustCancel && this._cancel(store._cancelMessage, store._cancelOrigin)) {
          store._mustCancel = false;
        }
      } else if (this._loop === null) this._loop = store;
    }
    return waiter as PromiseLike<R1 | R2>;
  }

  /** The state: `"pending"`, `"cancelled"` or `"finished"`. */
  get state(): FutureState {
    return STATE_NAMES[this._state];
  }

  /** @internal */
  _describeWait(): string {
    return this.toString();
  }

  /** @internal */
  _markRetrieved(): void {
    this._loop?._unretrieved.delete(this as Future<unknown>);
  }

  /** The CancelledError this (cancelled) Future raises, kept in its result slot once made. @internal */
  _getCancelledError(): CancelledError {
    let error = this._result as CancelledError | undefined;
    if (error === undefined) {
      const info = this._cancelInfo;
      error = makeCancelledError(info?.message, info?.origin, this._loop?.getDebug() ?? true);
      this._result = error as T;
    }
    return error;
  }

  /** @internal */
  _scheduleCallbacks(): void {
    const cbs = this._callbacks;
    if (cbs === null) return;
    this._callbacks = null;
    if (!Array.isArray(cbs)) {
      this._schedule(entryOf(cbs, this as Future<unknown>));
      return;
    }
    for (let i = 0; i < cbs.length; i++) this._schedule(entryOf(cbs[i], this as Future<unknown>));
  }

  /** @internal */
  _schedule(entry: ReadyEntry): void {
    const loop = this._loop;
    if (loop === null || loop.isClosed()) runSoonOnMicrotask(entry);
    else loop._pushReady(entry);
  }

  /** @internal */
  _describeOutcome(): string {
    if (this._state === PENDING) return "pending";
    if (this._state === CANCELLED) return "cancelled";
    if (this._hasException) return `finished exception=${describeError(this._exception)}`;
    return `finished result=${inspect(this._result, { depth: 0, breakLength: Number.POSITIVE_INFINITY })}`;
  }

  toString(): string {
    return guardRepr(this, () => `<Future ${this._describeOutcome()}${createdAt(this)}>`);
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

/** The Futures whose inspect string is being built (see {@link guardRepr}). */
const inRepr = new Set<object>();

/**
 * Builds the inspect string of `fut` with `describe`, or returns `...` when that string is
 * already being built further up: a result that contains the Future itself (a task returning
 * `allTasks()`) would otherwise recurse without end. asyncio guards its repr the same way
 * (`reprlib.recursive_repr`, bpo-42183). @internal
 */
export function guardRepr(fut: object, describe: () => string): string {
  if (inRepr.has(fut)) return "...";
  inRepr.add(fut);
  try {
    return describe();
  } finally {
    inRepr.delete(fut);
  }
}

/**
 * Describes an error as `Name("message")`, or `Name()` without a message, as asyncio's repr shows
 * an exception (`RuntimeError()`, test_future_repr). @internal
 */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    return error.message === ""
      ? `${error.name}()`
      : `${error.name}(${JSON.stringify(error.message)})`;
  }
  return inspect(error, { depth: 0 });
}

function currentLoop(): EventLoop | null {
  const store = als.getStore();
  if (store === undefined) return null;
  return "_isTask" in store ? store._loop : store;
}

// The internal contracts Future fills (see Implements).
type _FutureContracts = Implements<Future, Waitable>;

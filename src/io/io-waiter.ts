/**
 * The one-shot wait that stream reads and drains use: a light `Waitable` resolving a native
 * promise, in the manner of `sleep`'s Sleeper, instead of a Future.
 *
 * Why not a Future: a read blocked on a socket is the hottest wait of a network server, and a
 * Future costs a waiter object, a thenable job and a trip through the ready queue. Here the task
 * registers this object as what it waits on (so `task.cancel()` reaches it, as asyncio's
 * `_fut_waiter`), and the I/O callback that brings the data resolves the promise directly: the
 * task resumes in the microtasks right after that callback.
 *
 * A waiter may carry a value: a stream read hands its bytes over through the promise itself
 * (`_complete` is overridden to take them from the buffer when the wait completes), so the
 * reading task resumes once, with its data, instead of resuming in a helper that then returns.
 *
 * Invariants:
 * - A waiter completes once: woken, failed or cancelled, whichever comes first.
 * - While its loop is not running (between two `Runner.run()` calls), a wake-up goes through the
 *   ready queue instead, so tasks only make progress while a run is in progress.
 * - A cancellation requested after the wake-up was queued but before it ran is delivered instead
 *   of the wake-up; `_complete` does not run, so a read consumes nothing and no byte is lost.
 *
 * @module
 */
import type { CancellationOrigin } from "../exceptions.ts";
import { makeCancelledError } from "../internal/cancelled.ts";
import { als, type TaskStore, untaggedPromise } from "../internal/context.ts";
import type { Waitable } from "../internal/waitable.ts";
import type { ReadyEntry } from "../loop/event-loop.ts";

let pending: IoWaiter<unknown> | null = null;
function capture(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  pending!._resolve = resolve;
  pending!._reject = reject;
}

/** The task running now, or null outside any task. @internal */
export function currentTaskStore(): TaskStore | null {
  const store = als.getStore();
  return store !== undefined && "_isTask" in store ? store : null;
}

/**
 * A one-shot wait for an I/O event, resolving to a `T`. Create with {@link newWaiter}, or
 * construct a subclass and pass it to {@link startWait}. @internal
 */
export class IoWaiter<T = void> implements Waitable, ReadyEntry {
  _resolve!: (value: T) => void;
  _reject!: (error: unknown) => void;
  /** Settled or cancelled: nothing more may happen to it. */
  _done = false;
  /** The CancelledError to deliver from the ready queue. */
  _error: unknown = undefined;
  readonly _task: TaskStore | null;
  readonly _what: string;
  promise!: Promise<T>;

  constructor(task: TaskStore | null, what: string) {
    this._task = task;
    this._what = what;
  }

  /**
   * Completes the wait (directly, or from the ready queue when deferred); returns the task that
   * resumes (for the loop, see ReadyEntry).
   */
  _run(): TaskStore | null {
    const error = this._error;
    if (error !== undefined) {
      this._error = undefined;
      // The cancellation delivers every request made so far (see Sleeper._run in sleep.ts).
      if (this._task !== null) this._task._mustCancel = false;
      this._reject(error);
    } else if (!this._done) {
      const task = this._task;
      if (task?._mustCancel) {
        this._done = true;
        task._removeWaiter(this);
        this._reject(task._takeCancellation());
      } else this._complete();
    }
    return this._task;
  }

  /** The wait completed and was not cancelled: deliver its value. Subclasses override. */
  _complete(): void {
    this._settle(undefined as T);
  }

  /** Resolves the wait with `value`. */
  _settle(value: T): void {
    this._done = true;
    this._task?._removeWaiter(this);
    this._resolve(value);
  }

  /** Wakes the waiting task. */
  wake(): void {
    if (this._done) return;
    const task = this._task;
    if (task !== null && !task._loop.isRunning() && !task._loop.isClosed()) {
      task._loop._pushReady(this);
      return;
    }
    this._run();
  }

  /** Fails the wait with `error` (a stream error). */
  fail(error: unknown): void {
    if (this._done) return;
    this._done = true;
    this._task?._removeWaiter(this);
    this._reject(error);
  }

  _cancel(message: string | undefined, origin: CancellationOrigin | undefined): boolean {
    if (this._done) return false;
    this._done = true;
    const task = this._task;
    const error = makeCancelledError(message, origin, task?._loop.getDebug() ?? false);
    if (task === null || task._loop.isClosed()) {
      this._reject(error);
      return true;
    }
    task._removeWaiter(this);
    // As asyncio wakes a cancelled task: from the ready queue.
    this._error = error;
    task._loop._pushReady(this);
    return true;
  }

  _describeWait(): string {
    return this._what;
  }
}

/**
 * Starts `waiter`'s wait in its task (if any): creates its promise and registers it with the
 * task. If the task has a cancellation pending, the wait is born cancelled (`_done` is then
 * already true) and the task receives the error from the ready queue, after the callbacks
 * already scheduled, as when asyncio's step cancels the Future a task has just awaited.
 * @internal
 */
export function startWait<T>(waiter: IoWaiter<T>): void {
  pending = waiter as IoWaiter<unknown>;
  // Untagged (Node 20's task carrier): the reactions that resume the task run as promises the
  // task made (its `await`, its `.then`), and a thenable it is resolved with (a read's
  // DeferredRead, a read that waits again) needs no task: that code names its task itself.
  waiter.promise = untaggedPromise<T>(capture as (resolve: (value: T) => void) => void);
  pending = null;
  const task = waiter._task;
  if (task !== null) {
    if (task._mustCancel) {
      waiter._done = true;
      const error = task._takeCancellation();
      if (task._loop.isClosed()) waiter._reject(error);
      else {
        waiter._error = error;
        task._loop._pushReady(waiter);
      }
    } else task._addWaiter(waiter);
  }
}

/** Starts a plain wait in the current task (if any); see {@link startWait}. @internal */
export function newWaiter(what: string): IoWaiter {
  const waiter = new IoWaiter(currentTaskStore(), what);
  startWait(waiter);
  return waiter;
}

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
 * Invariants:
 * - A waiter completes once: woken, failed or cancelled, whichever comes first.
 * - While its loop is not running (between two `Runner.run()` calls), a wake-up goes through the
 *   ready queue instead, so tasks only make progress while a run is in progress.
 * - A cancellation requested after the wake-up was queued but before it ran is delivered instead
 *   of the wake-up; the stream consumed nothing yet, so no byte is lost.
 *
 * @module
 */
import type { CancellationOrigin } from "../exceptions.ts";
import { makeCancelledError } from "../internal/cancelled.ts";
import { als, type TaskStore } from "../internal/context.ts";
import type { Waitable } from "../internal/waitable.ts";
import type { ReadyEntry } from "../loop/event-loop.ts";

let pending: IoWaiter | null = null;
function capture(resolve: () => void, reject: (error: unknown) => void): void {
  pending!._resolve = resolve;
  pending!._reject = reject;
}

/** A one-shot wait for an I/O event. Create with {@link newWaiter}. @internal */
export class IoWaiter implements Waitable, ReadyEntry {
  _resolve!: () => void;
  _reject!: (error: unknown) => void;
  /** Settled or cancelled: nothing more may happen to it. */
  _done = false;
  readonly _task: TaskStore | null;
  readonly _what: string;
  promise!: Promise<void>;

  constructor(task: TaskStore | null, what: string) {
    this._task = task;
    this._what = what;
  }

  /** Completes the wait (directly, or from the ready queue when deferred). */
  _run(): void {
    if (this._done) return;
    this._done = true;
    const task = this._task;
    if (task !== null) {
      task._removeWaiter(this);
      if (task._mustCancel) {
        this._reject(task._takeCancellation());
        return;
      }
    }
    this._resolve();
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
    task?._removeWaiter(this);
    this._reject(makeCancelledError(message, origin, task?._loop.getDebug() ?? false));
    return true;
  }

  _describeWait(): string {
    return this._what;
  }
}

/**
 * Starts a wait in the current task (if any). If the task has a cancellation pending, the wait
 * is born rejected (`_done` is then already true), as awaiting a Future would be.
 * @internal
 */
export function newWaiter(what: string): IoWaiter {
  const store = als.getStore();
  const task = store !== undefined && "_isTask" in store ? store : null;
  const waiter = new IoWaiter(task, what);
  pending = waiter;
  waiter.promise = new Promise<void>(capture);
  pending = null;
  if (task !== null) {
    if (task._mustCancel) {
      waiter._done = true;
      waiter._reject(task._takeCancellation());
    } else task._addWaiter(waiter);
  }
  return waiter;
}

/**
 * The parking lot shared by every primitive: a waiter is a Future that is also a node of an
 * intrusive doubly linked list, so a waiter joins the back of the line, leaves it from anywhere
 * (cancellation) and is woken from the front, each in O(1) and without searching an array.
 *
 * Why Futures: a task that awaits a Future registers it as what it waits on, so `task.cancel()`
 * cancels exactly that wait (asyncio's `_fut_waiter`), and `Task.getStack()` can say which
 * primitive the task is parked on. A waiter is only created when a caller really has to wait:
 * every primitive has an allocation-free fast path for the uncontended case.
 *
 * The woken-but-not-resumed window: `setResult()` on a waiter schedules the task, which resumes
 * later. A cancellation that arrives in between is delivered when the task resumes, so the
 * primitive sees "my Future has a result, yet my await threw CancelledError" and must hand the
 * turn (permit, lock, item) on to the next waiter, exactly as asyncio's locks and queues do.
 *
 * Loop binding follows asyncio's `mixins._LoopBoundMixin`: a primitive can be created anywhere
 * and binds to the running loop the first time something has to wait on it.
 *
 * @module
 */
import { RuntimeError } from "../exceptions.ts";
import { Future } from "../futures/future.ts";
import { NO_LOOP_MESSAGE } from "../internal/context.ts";
import type { EventLoop } from "../loop/event-loop.ts";
import { runningLoopOrNull } from "../loop/running.ts";

/**
 * One parked caller. Its result carries no data: the woken caller re-reads the primitive's
 * state after resuming (a queue item is never passed through a promise, because a promise
 * would unwrap a thenable item).
 */
export class Waiter extends Future<void> {
  _prev: Waiter | null = null;
  _next: Waiter | null = null;
  /** The list it is in (not yet woken, or cancelled and not yet resumed), or null. */
  _list: WaiterList | null = null;
  /** Woken by its owner (taken out of the list and counted as woken). */
  _woken = false;
  /** Woken before its task reached `await` (see `_wake`). */
  _deferred = false;
  /** The primitive waited on; its inspect string describes the wait. */
  readonly _owner: object;
  /** The method that waits, e.g. `"acquire"`. */
  readonly _what: string;

  constructor(loop: EventLoop, owner: object, what: string) {
    super({ loop });
    this._owner = owner;
    this._what = what;
  }

  /**
   * Wakes the waiter. If its task has not reached the `await` yet (the waiter was created and
   * woken in one synchronous stretch), the result is set when the task gets there: `await`
   * calls `then` on a later microtask, and a Future already done by then would resume its task
   * on that microtask, ahead of waiters woken earlier (which resume from the loop's ready
   * queue). Deferring keeps "resumed in the order woken", which a queue needs so that the
   * first getter woken takes the first item.
   */
  _wake(): void {
    this._woken = true;
    if (this._callbacks === null) this._deferred = true;
    else this.setResult(undefined);
  }

  // biome-ignore lint/suspicious/noThenProperty: a Future is a thenable; see _wake.
  override then<R1 = void, R2 = never>(
    onFulfilled?: ((value: void) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): PromiseLike<R1 | R2> {
    const registration = super.then(onFulfilled, onRejected);
    if (this._deferred) {
      this._deferred = false;
      // Not done unless a pending cancellation of the task cancelled it on registration.
      if (!this.done()) this.setResult(undefined);
    }
    return registration;
  }

  /** What `Task.getStack()` shows, e.g. `<Lock [locked, waiters:2]>.acquire()`. @internal */
  override _describeWait(): string {
    return `${String(this._owner)}.${this._what}()`;
  }
}

/** An intrusive FIFO of waiters. */
export class WaiterList {
  head: Waiter | null = null;
  tail: Waiter | null = null;
  size = 0;

  /** Appends `w` at the back. */
  push(w: Waiter): void {
    w._prev = this.tail;
    w._next = null;
    if (this.tail === null) this.head = w;
    else this.tail._next = w;
    this.tail = w;
    w._list = this;
    this.size++;
  }

  /** Puts `w` at the front (a woken waiter that lost its turn keeps its place). */
  unshift(w: Waiter): void {
    w._prev = null;
    w._next = this.head;
    if (this.head === null) this.tail = w;
    else this.head._prev = w;
    this.head = w;
    w._list = this;
    this.size++;
  }

  /** Unlinks `w` if it is in this list. */
  remove(w: Waiter): void {
    if (w._list !== this) return;
    const { _prev: prev, _next: next } = w;
    if (prev === null) this.head = next;
    else prev._next = next;
    if (next === null) this.tail = prev;
    else next._prev = prev;
    w._prev = w._next = null;
    w._list = null;
    this.size--;
  }

  /** Moves every waiter of `other` to the back of this list, in order. */
  takeAll(other: WaiterList): void {
    for (let w = other.head; w !== null; w = other.head) {
      other.remove(w);
      this.push(w);
    }
  }

  /** Whether every waiter in the list is cancelled (true when empty). */
  allCancelled(): boolean {
    for (let w = this.head; w !== null; w = w._next) if (!w.cancelled()) return false;
    return true;
  }

  /**
   * Wakes the first waiter that is not done: unlinks it, marks it woken and sets its result.
   * Cancelled waiters met on the way are unlinked and dropped (they clean up when they resume).
   * Returns the woken waiter, or null if there was none.
   */
  wakeFirst(): Waiter | null {
    let w = this.head;
    while (w !== null) {
      const next = w._next;
      this.remove(w);
      if (!w.done()) {
        w._wake();
        return w;
      }
      w = next;
    }
    return null;
  }
}

/**
 * The loop a primitive waits on: the running loop, bound on first use (asyncio's
 * `_LoopBoundMixin._get_loop`).
 *
 * @throws {RuntimeError} outside a running loop, or if `bound` is another loop that is still open.
 */
export function bindLoop(bound: EventLoop | null, owner: object): EventLoop {
  const loop = runningLoopOrNull();
  if (loop === null || loop.isClosed()) throw new RuntimeError(NO_LOOP_MESSAGE);
  if (bound !== null && bound !== loop && !bound.isClosed()) {
    throw new RuntimeError(`${String(owner)} is bound to a different event loop`);
  }
  return loop;
}

/** A resolved promise shared by fast paths that resolve to nothing. */
export const RESOLVED: Promise<void> = Promise.resolve();
/** A resolved promise shared by fast paths that resolve to `true`. */
export const RESOLVED_TRUE: Promise<true> = Promise.resolve(true);

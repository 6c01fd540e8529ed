/**
 * The parking lot shared by every primitive: a `Waiter` is one parked caller, a node of an
 * intrusive FIFO (`WaiterList`), so joining the back of the line, leaving it from anywhere
 * (cancellation) and waking the front are O(1), with no array searches.
 *
 * A waiter is what its task waits on (`Waitable`, like a Future or a sleep): the task registers
 * it, so `task.cancel()` cancels exactly this wait (asyncio's `_fut_waiter`) and
 * `Task.getStack()` names the primitive. It behaves as a Future awaited by the task would, at a
 * fraction of the cost (one object and one native promise; primitives park 100k tasks at once, so
 * each field counts: the promise is handed to the caller, not kept, the cancellation error takes
 * the payload's slot, the primitive and the method name are the line's, and the task or, for a
 * caller outside any task, the loop share one slot):
 * - a wake-up or a cancellation is delivered from the loop's ready queue, in the order they
 *   happened, as a Future's callbacks are;
 * - a cancellation that arrives after the wake-up but before delivery (the task is then not
 *   waiting on anything: `_mustCancel`) is delivered instead of the wake-up, as asyncio does.
 *   The owner is told (`_abandoned`) so it can pass the turn (lock, permit, item, slot) on.
 *
 * The owner's bookkeeping for a wake-up runs at delivery (`_resumed`, in the loop's batch) and
 * its return value resolves the caller's promise, so most waits need no async function frame.
 * An owner may answer `REPARK` to send the waiter back to the front of its line (a queue getter
 * whose item was taken meanwhile by `getNowait()`).
 *
 * Loop binding follows asyncio's `mixins._LoopBoundMixin`: a primitive can be created anywhere
 * and binds to the running loop the first time something has to wait on it.
 *
 * Invariants:
 * - A waiter is in its list (`_list`, fixed at creation) exactly while `PENDING`; `_wake` and
 *   `_cancel` take it out.
 * - `_run` is scheduled exactly once per `_wake`/`_cancel`, and settles the promise at most once.
 *
 * @module
 */
import { type CancellationOrigin, RuntimeError } from "../exceptions.ts";
import { makeCancelledError } from "../internal/cancelled.ts";
import {
  als,
  NO_LOOP_MESSAGE,
  resolveFor,
  type TaskStore,
  untaggedPromise,
} from "../internal/context.ts";
import type { Waitable } from "../internal/waitable.ts";
import { type EventLoop, NO_STEP, type ReadyEntry } from "../loop/event-loop.ts";
import { runningLoopOrNull } from "../loop/running.ts";

/** What a primitive does when one of its waiters is delivered. */
export interface WaiterOwner {
  /**
   * The waiter was woken and its task still wants it: do the bookkeeping and return the value
   * to resolve the caller's promise with (or throw to reject it, or return `REPARK`).
   */
  _resumed(waiter: Waiter): unknown;
  /**
   * The waiter was woken, but its task was cancelled before the wake-up was delivered: undo
   * what the wake-up handed over and pass it on. The caller gets `CancelledError`.
   */
  _abandoned(waiter: Waiter): void;
}

/** Returned by `WaiterOwner._resumed` to park the waiter again at the front of its list. */
export const REPARK: unique symbol = Symbol("REPARK");

const PENDING = 0;
const WOKEN = 1;
const CANCELLED = 2;
const SETTLED = 3;

let creating: Waiter | null = null;
function executor(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  creating!._resolve = resolve;
  creating!._reject = reject;
}

/** One parked caller. */
export class Waiter implements Waitable, ReadyEntry {
  _prev: Waiter | null = null;
  _next: Waiter | null = null;
  /**
   * The line it waits in, for good: it is in it exactly while `PENDING`. The line names the owner
   * and the method that waits, so that the waiter needs no field of its own for them.
   */
  readonly _list: WaiterList;
  _state = PENDING;
  /** The task that waits, or the loop when the caller is no task (a loop callback). */
  readonly _store: TaskStore | EventLoop;
  /**
   * What the caller brought (a queue putter's item); once cancelled while pending (the owner
   * never sees it again), the error to deliver.
   */
  _payload: unknown;
  _resolve!: (value: unknown) => void;
  _reject!: (error: unknown) => void;

  constructor(list: WaiterList, loop: EventLoop, payload?: unknown) {
    this._list = list;
    this._payload = payload;
    const store = als.getStore();
    if (store !== undefined && "_isTask" in store) {
      this._store = store;
      if (store._mustCancel) {
        // A cancellation requested while the task ran is delivered at its next wait: this one.
        this._state = CANCELLED;
        this._payload = store._takeCancellation();
        this._schedule();
        return;
      }
      store._addWaiter(this);
    } else this._store = loop;
  }

  /** The task that waits, or null. */
  get _task(): TaskStore | null {
    const store = this._store;
    return "_isTask" in store ? store : null;
  }

  /** The loop it waits on. */
  get _loop(): EventLoop {
    const store = this._store;
    return "_isTask" in store ? store._loop : store;
  }

  /** The primitive it waits on. */
  get _owner(): WaiterOwner {
    return this._list.owner;
  }

  /** The method that waits (`"acquire"`, `"get"`, …), for descriptions. */
  get _what(): string {
    return this._list.what;
  }

  /** Whether the waiter is still parked (not woken, not cancelled). */
  get pending(): boolean {
    return this._state === PENDING;
  }

  /** Wakes the waiter: takes it out of its list and schedules the delivery. */
  _wake(): void {
    if (this._state !== PENDING) return;
    this._list.remove(this);
    this._state = WOKEN;
    this._schedule();
  }

  /** Cancels a parked waiter (called by `task.cancel()`); false once it was woken. @internal */
  _cancel(message: string | undefined, origin: CancellationOrigin | undefined): boolean {
    if (this._state !== PENDING) return false;
    this._list.remove(this);
    this._state = CANCELLED;
    this._task?._removeWaiter(this);
    this._payload = makeCancelledError(message, origin, this._loop.getDebug());
    this._schedule();
    return true;
  }

  _schedule(): void {
    if (this._loop.isClosed()) queueMicrotask(() => this._run());
    else this._loop._pushReady(this);
  }

  /** The delivery, from the loop's ready queue; returns the task that resumes. @internal */
  _run(): TaskStore | null | typeof NO_STEP {
    if (this._state === CANCELLED) {
      this._state = SETTLED;
      // A second cancel() before this delivery found the wait already cancelled and set
      // `_mustCancel`; like asyncio's __step, one resumption delivers both requests.
      const task = this._task;
      if (task !== null) task._mustCancel = false;
      this._reject(this._payload);
      return task;
    }
    if (this._state !== WOKEN) return NO_STEP;
    const task = this._task;
    if (task !== null) {
      if (task._mustCancel) {
        // Cancelled after the wake-up, before delivery: the turn goes back to the owner.
        task._removeWaiter(this);
        this._state = SETTLED;
        const error = task._takeCancellation();
        try {
          this._owner._abandoned(this);
        } finally {
          this._reject(error);
        }
        return task;
      }
    }
    let value: unknown;
    try {
      value = this._owner._resumed(this);
    } catch (error) {
      task?._removeWaiter(this);
      this._state = SETTLED;
      this._reject(error);
      return task;
    }
    if (value === REPARK) {
      // Parked again by the owner (still registered with the task): nothing resumes.
      this._state = PENDING;
      return NO_STEP;
    }
    task?._removeWaiter(this);
    this._state = SETTLED;
    resolveFor(task, this._resolve, value);
    return task;
  }

  /** What `Task.getStack()` shows, e.g. `<Lock [locked, waiters:2]>.acquire()`. @internal */
  _describeWait(): string {
    return `${String(this._owner)}.${this._what}()`;
  }
}

/** An intrusive FIFO of parked waiters: one line of one primitive's method. */
export class WaiterList {
  head: Waiter | null = null;
  tail: Waiter | null = null;
  size = 0;
  /** The primitive whose line this is. */
  readonly owner: WaiterOwner;
  /** The method that waits in it (`"acquire"`, `"get"`, …), for descriptions. */
  readonly what: string;

  constructor(owner: WaiterOwner, what: string) {
    this.owner = owner;
    this.what = what;
  }

  /** Appends `w` at the back. */
  push(w: Waiter): void {
    w._prev = this.tail;
    w._next = null;
    if (this.tail === null) this.head = w;
    else this.tail._next = w;
    this.tail = w;
    this.size++;
  }

  /** Puts `w` at the front (a woken waiter that lost its turn keeps its place). */
  unshift(w: Waiter): void {
    w._prev = null;
    w._next = this.head;
    if (this.head === null) this.tail = w;
    else this.head._prev = w;
    this.head = w;
    this.size++;
  }

  /** Unlinks `w` if it is in this list. */
  remove(w: Waiter): void {
    const { _prev: prev, _next: next } = w;
    if (prev === null) this.head = next;
    else prev._next = next;
    if (next === null) this.tail = prev;
    else next._prev = prev;
    w._prev = w._next = null;
    this.size--;
  }

  /**
   * Parks a new waiter at the back, for the current task, and returns the promise it settles
   * (with the owner's `_resumed` value, or a rejection). A task with a pending cancellation gets
   * a waiter that is already cancelled and not parked.
   */
  park(loop: EventLoop, payload?: unknown): Promise<unknown> {
    const w = new Waiter(this, loop, payload);
    if (w._state === PENDING) this.push(w);
    // The waiter is delivered from the ready queue at the earliest, after these settlers are set.
    creating = w;
    const promise = untaggedPromise(executor);
    creating = null;
    return promise;
  }

  /** Wakes the first waiter; returns false if there is none. */
  wakeFirst(): boolean {
    const w = this.head;
    if (w === null) return false;
    w._wake();
    return true;
  }
}

/**
 * The loop a primitive waits on: the running loop, bound on first use (asyncio's
 * `_LoopBoundMixin._get_loop`). A primitive whose loop has closed may serve a new one.
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

/**
 * The loop a primitive is bound to: the first loop it waits on, as an asyncio primitive binds
 * to its loop on first use. Each primitive holds one.
 */
export class LoopBinding {
  loop: EventLoop | null = null;

  /**
   * Binds to the running loop (or checks that it is the bound one) and returns it.
   * @throws {RuntimeError} outside a running loop, or on another loop than the bound one.
   */
  bind(owner: object): EventLoop {
    this.loop = bindLoop(this.loop, owner);
    return this.loop;
  }

  /**
   * Parks a new waiter for the current task at the back of `list` and returns its promise; a
   * binding error comes back as a rejected promise, with nothing parked.
   */
  park(list: WaiterList, payload?: unknown): Promise<unknown> {
    let loop: EventLoop;
    try {
      loop = this.bind(list.owner);
    } catch (error) {
      return Promise.reject(error);
    }
    return list.park(loop, payload);
  }
}

/** A resolved promise shared by fast paths that resolve to nothing. */
export const RESOLVED: Promise<void> = Promise.resolve();
/** A resolved promise shared by fast paths that resolve to `true`. */
export const RESOLVED_TRUE: Promise<true> = Promise.resolve(true);

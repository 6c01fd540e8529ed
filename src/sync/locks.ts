/**
 * `Lock`, `Event` and `Condition`: asyncio's primitives (Lib/asyncio/locks.py, 3.13+ semantics)
 * on the runtime's waiters (src/sync/waiters.ts), which tasks wait on as on Futures.
 *
 * Fairness: waiters are served strictly in arrival order, and nobody barges: `acquire()` takes
 * the fast path only when nobody is queued and nobody has been handed the lock without having
 * resumed yet. A cancelled waiter leaves the line at once (asyncio lets a newcomer jump a line of
 * cancelled waiters, which comes to the same).
 *
 * Cancellation: a waiter cancelled at any moment leaves the line; a waiter that was woken and
 * then cancelled before it resumed passes its turn to the next waiter (asyncio's
 * `Lock._wake_up_first`), so a cancellation never strands the lock or the other waiters.
 * `Condition.wait()` re-acquires the lock even when cancelled, then re-raises.
 *
 * Invariants (Lock), after every method:
 * - `#woken <= 1`: at most one waiter has been handed the lock and not resumed, and then the
 *   lock is unlocked (it takes the lock when the wake-up is delivered).
 * - If the lock is unlocked and `#woken === 0`, nobody is queued.
 *
 * @module
 */

import { inspect } from "node:util";
import { isCancelledError, RuntimeError } from "../exceptions.ts";
import type { Task } from "../futures/task.ts";
import { resolvedWith } from "../internal/context.ts";
import { checkFunction, isThenable, typeError } from "../internal/validate.ts";
import { checkCount, checkNoArguments, currentTaskOrNull } from "./args.ts";
import { holdWhile, ReleaseGuard } from "./guard.ts";
import { LoopBinding, RESOLVED_TRUE, type Waiter, WaiterList } from "./waiters.ts";

/** What {@link Lock.statistics} returns. */
export interface LockStatistics {
  /** Whether the lock is held. */
  locked: boolean;
  /** The task that acquired the lock, while it is held by a task (`null` otherwise). */
  owner: Task<unknown> | null;
  /** How many callers wait in `acquire()`. */
  waiters: number;
}

/**
 * A mutual-exclusion lock: asyncio's `Lock`. Not owned by a task: any task may release it.
 *
 * `acquire()` waits until the lock is free, takes it, and resolves to a {@link ReleaseGuard}.
 * Waiters get the lock in strict FIFO order. `release()` frees it and lets the first waiter in.
 *
 * **Cancellation:** cancelling a task waiting in `acquire()` removes it from the line (the
 * `acquire()` rejects with `CancelledError` and the lock is not taken). If the lock had already
 * been handed to it, it passes the lock on to the next waiter.
 *
 * **Differences from asyncio:** `acquire()` resolves to a release guard instead of `True`;
 * `await using _ = await lock.acquire()` replaces `async with lock:`, and
 * `lock.hold(fn)` runs a function while holding the lock. `statistics()` is added (Trio).
 *
 * @example
 * ```ts
 * import { run, Lock, createTask, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const lock = new Lock();
 *   let inside = 0;
 *   const worker = async () => {
 *     await using _ = await lock.acquire();
 *     inside++;
 *     await sleep(10);
 *     console.log("alone:", inside === 1); // true
 *     inside--;
 *   };
 *   await Promise.all([createTask(worker), createTask(worker), createTask(worker)]);
 * });
 * ```
 */
export class Lock {
  #locked = false;
  #owner: Task<unknown> | null = null;
  readonly #waiters = new WaiterList(this, "acquire");
  /** Waiters handed the lock that have not resumed yet: 0 or 1. */
  #woken = 0;
  readonly #binding = new LoopBinding();

  /** @throws {TypeError} if given any argument (a lock binds to the loop that first uses it). */
  constructor() {
    // biome-ignore lint/complexity/noArguments: the signature takes none; count what was passed
    checkNoArguments("Lock", arguments.length);
  }

  /** Whether the lock is held. */
  locked(): boolean {
    return this.#locked;
  }

  /**
   * Waits until the lock is free, takes it, and resolves to a guard that releases it.
   * Resolves without waiting when the lock is free and nobody is queued.
   *
   * **Cancellation:** see {@link Lock}; a cancelled `acquire()` never leaves the lock taken.
   *
   * @throws {RuntimeError} (as a rejection) if it has to wait outside a running loop, or on a
   * loop other than the one the lock is bound to.
   */
  acquire(): Promise<ReleaseGuard> {
    if (!this.#locked && this.#woken === 0 && this.#waiters.size === 0) {
      this.#locked = true;
      this.#owner = currentTaskOrNull();
      return resolvedWith(new ReleaseGuard(this, "Lock"));
    }
    return this.#binding.park(this.#waiters) as Promise<ReleaseGuard>;
  }

  /** The lock was handed to `waiter` and its task resumes: it takes the lock. @internal */
  _resumed(waiter: Waiter): ReleaseGuard {
    this.#woken--;
    this.#locked = true;
    this.#owner = waiter._task as Task<unknown> | null;
    return new ReleaseGuard(this, "Lock");
  }

  /** The lock was handed to a waiter cancelled before it resumed: pass it on. @internal */
  _abandoned(_waiter: Waiter): void {
    this.#woken--;
    if (!this.#locked) this.#wakeUpFirst();
  }

  /**
   * Releases the lock and lets the first waiter (if any) take it.
   * @throws {RuntimeError} if the lock is not held.
   */
  release(): void {
    if (!this.#locked) throw new RuntimeError("Lock is not acquired.");
    this.#locked = false;
    this.#owner = null;
    this.#wakeUpFirst();
  }

  /**
   * Acquires the lock, runs `fn`, and releases the lock however `fn` ends; resolves to what `fn`
   * returns. The callback form of `async with lock:`.
   *
   * **Cancellation:** if cancelled while waiting for the lock, `fn` never runs; if cancelled
   * while `fn` runs, the lock is released as `fn`'s error propagates.
   *
   * @throws {TypeError} (as a rejection) if `fn` is not a function.
   */
  hold<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    return holdWhile(() => this.acquire(), fn);
  }

  /** Hands the lock to the first waiter, unless one already has it in hand. */
  #wakeUpFirst(): void {
    if (this.#woken === 0 && this.#waiters.wakeFirst()) this.#woken++;
  }

  /** A snapshot for debugging: whether it is held, by which task, and how many wait. */
  statistics(): LockStatistics {
    return {
      locked: this.#locked,
      owner: this.#locked ? this.#owner : null,
      waiters: this.#waiters.size + this.#woken,
    };
  }

  /** asyncio's repr: `<Lock [locked, waiters:2]>`. */
  toString(): string {
    return `<Lock [${describeState(this.#locked ? "locked" : "unlocked", this.#waiters.size + this.#woken)}]>`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

/** What {@link Event.statistics} returns. */
export interface EventStatistics {
  /** Whether the flag is set. */
  set: boolean;
  /** How many callers wait in `wait()`. */
  waiters: number;
}

/**
 * A flag that tasks can wait for: asyncio's `Event`. `set()` wakes every waiter; `wait()`
 * returns at once while the flag is set; `clear()` resets it.
 *
 * **Cancellation:** cancelling a task waiting in `wait()` just removes it from the waiters.
 *
 * **Differences from asyncio:** `statistics()` is added (Trio).
 *
 * @example
 * ```ts
 * import { run, Event, createTask, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const ready = new Event();
 *   const waiter = createTask(async () => {
 *     await ready.wait();
 *     console.log("go!");
 *   });
 *   await sleep(100);
 *   ready.set();
 *   await waiter;
 * });
 * ```
 */
export class Event {
  #value = false;
  readonly #waiters = new WaiterList(this, "wait");
  #woken = 0;
  readonly #binding = new LoopBinding();

  /** @throws {TypeError} if given any argument (an event binds to the loop that first uses it). */
  constructor() {
    // biome-ignore lint/complexity/noArguments: the signature takes none; count what was passed
    checkNoArguments("Event", arguments.length);
  }

  /** Whether the flag is set. asyncio's `is_set()`. */
  isSet(): boolean {
    return this.#value;
  }

  /** Sets the flag and wakes every waiter. Later `wait()` calls return at once. */
  set(): void {
    if (this.#value) return;
    this.#value = true;
    while (this.#waiters.wakeFirst()) this.#woken++;
  }

  /** Resets the flag: later `wait()` calls block until the next `set()`. */
  clear(): void {
    this.#value = false;
  }

  /**
   * Waits until the flag is set; resolves to `true`. Resolves at once if it is set.
   *
   * **Cancellation:** the wait ends with `CancelledError` and nothing else changes.
   *
   * @throws {RuntimeError} (as a rejection) if it has to wait outside a running loop.
   */
  wait(): Promise<true> {
    if (this.#value) return RESOLVED_TRUE;
    return this.#binding.park(this.#waiters) as Promise<true>;
  }

  /** @internal */
  _resumed(_waiter: Waiter): true {
    this.#woken--;
    return true;
  }

  /** @internal */
  _abandoned(_waiter: Waiter): void {
    this.#woken--;
  }

  /** A snapshot for debugging. */
  statistics(): EventStatistics {
    return { set: this.#value, waiters: this.#waiters.size + this.#woken };
  }

  /** asyncio's repr: `<Event [set]>`, `<Event [unset, waiters:1]>`. */
  toString(): string {
    return `<Event [${describeState(this.#value ? "set" : "unset", this.#waiters.size + this.#woken)}]>`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

/** What {@link Condition.statistics} returns. */
export interface ConditionStatistics {
  /** How many callers wait in `wait()` (notified ones count until they resume). */
  waiters: number;
  /** The underlying lock's statistics. */
  lock: LockStatistics;
}

/**
 * A condition variable: asyncio's `Condition`. Tasks holding its lock `wait()` until another
 * task `notify()`s them; `waitFor(predicate)` waits until a predicate holds.
 *
 * `wait()` releases the lock, sleeps until notified, then re-acquires the lock before
 * returning. As in asyncio, a wake-up may be spurious: re-check the state after `wait()`
 * (`waitFor` does).
 *
 * **Cancellation:** a task cancelled in `wait()` still re-acquires the lock before the
 * `CancelledError` reaches it, so the code after it (a `finally`, a `using` block) runs with the
 * lock held, as it expects. If it had been notified, the notification passes to another waiter.
 *
 * **Differences from asyncio:** `acquire()` resolves to a release guard; `hold(fn)` and
 * `statistics()` are added.
 *
 * @example
 * ```ts
 * import { run, Condition, createTask } from "asyncio-ts";
 * await run(async () => {
 *   const cond = new Condition();
 *   const items: number[] = [];
 *   const consumer = createTask(async () => {
 *     await using _ = await cond.acquire();
 *     await cond.waitFor(() => items.length > 0);
 *     console.log("got:", items.shift()); // 42
 *   });
 *   await cond.hold(async () => {
 *     items.push(42);
 *     cond.notify();
 *   });
 *   await consumer;
 * });
 * ```
 */
export class Condition {
  readonly #lock: Lock;
  readonly #waiters = new WaiterList(this, "wait");
  #woken = 0;
  readonly #binding = new LoopBinding();

  /**
   * @param lock the lock to use (default: a new {@link Lock}), asyncio's `Condition(lock)`.
   * @throws {TypeError} if `lock` is not a Lock.
   */
  constructor(lock?: Lock) {
    if (lock === undefined) lock = new Lock();
    else if (!(lock instanceof Lock)) throw typeError("lock", "a Lock", lock);
    this.#lock = lock;
  }

  /** Whether the underlying lock is held. */
  locked(): boolean {
    return this.#lock.locked();
  }

  /** Acquires the underlying lock ({@link Lock.acquire}). */
  acquire(): Promise<ReleaseGuard> {
    return this.#lock.acquire();
  }

  /** Releases the underlying lock ({@link Lock.release}). @throws {RuntimeError} if not held. */
  release(): void {
    this.#lock.release();
  }

  /** Runs `fn` while holding the underlying lock ({@link Lock.hold}). */
  hold<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    return this.#lock.hold(fn);
  }

  /**
   * Releases the lock, waits until notified, re-acquires the lock; resolves to `true`. The
   * caller must hold the lock.
   *
   * **Cancellation:** see {@link Condition}: the lock is held again when the error arrives.
   *
   * @throws {RuntimeError} (as a rejection) if the lock is not held, or outside a running loop.
   */
  async wait(): Promise<true> {
    if (!this.#lock.locked()) throw new RuntimeError("cannot wait on un-acquired lock");
    const loop = this.#binding.bind(this);
    this.#lock.release();
    let failed = false;
    let failure: unknown;
    try {
      await this.#waiters.park(loop);
    } catch (error) {
      failed = true;
      failure = error;
    }
    // The lock must be held again whatever happened, even if we are cancelled meanwhile. Only a
    // cancellation is retried (another error would make us spin); the latest one is raised.
    for (;;) {
      try {
        await this.#lock.acquire();
        break;
      } catch (error) {
        failed = true;
        failure = error;
        if (!isCancelledError(error)) break;
      }
    }
    if (failed) {
      // We may have been notified before the error: pass the notification on (a spurious
      // wake-up for someone, which the condition-variable protocol allows).
      this.#notify(1);
      throw failure;
    }
    return true;
  }

  /**
   * Waits until `predicate()` is truthy, calling `wait()` between checks; resolves to the final
   * predicate value. The caller must hold the lock (unless the predicate is already true).
   *
   * **Cancellation:** as {@link wait}.
   *
   * @throws {TypeError} (as a rejection) if `predicate` is not a function or returns a promise.
   */
  async waitFor<T>(predicate: () => T): Promise<T> {
    checkFunction("predicate", predicate);
    let result = checkPredicateResult(predicate());
    while (!result) {
      await this.wait();
      result = checkPredicateResult(predicate());
    }
    return result;
  }

  /**
   * Wakes up to `n` waiters (default 1). They return from `wait()` once they re-acquire the lock,
   * so the caller should release it. The caller must hold the lock.
   *
   * @throws {RuntimeError} if the lock is not held. @throws {TypeError}/{RangeError} for a bad `n`.
   */
  notify(n = 1): void {
    checkCount("n", n, 0, true);
    if (!this.#lock.locked()) throw new RuntimeError("cannot notify on un-acquired lock");
    this.#notify(n);
  }

  /** Wakes every waiter. The caller must hold the lock. @throws {RuntimeError} if it does not. */
  notifyAll(): void {
    if (!this.#lock.locked()) throw new RuntimeError("cannot notify on un-acquired lock");
    this.#notify(this.#waiters.size);
  }

  #notify(n: number): void {
    for (let i = 0; i < n && this.#waiters.wakeFirst(); i++) this.#woken++;
  }

  /** @internal */
  _resumed(_waiter: Waiter): void {
    this.#woken--;
  }

  /** @internal */
  _abandoned(_waiter: Waiter): void {
    this.#woken--;
  }

  /** A snapshot for debugging. */
  statistics(): ConditionStatistics {
    return { waiters: this.#waiters.size + this.#woken, lock: this.#lock.statistics() };
  }

  /** asyncio's repr: `<Condition [locked, waiters:1]>`. */
  toString(): string {
    const state = this.#lock.locked() ? "locked" : "unlocked";
    return `<Condition [${describeState(state, this.#waiters.size + this.#woken)}]>`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

function checkPredicateResult<T>(value: T): T {
  if (isThenable(value)) {
    throw new TypeError(
      "Expected `predicate` to return a value, got a promise: the predicate runs with the lock held and must be synchronous",
    );
  }
  return value;
}

/** `state` or `state, waiters:N`, asyncio's repr extras. @internal */
export function describeState(state: string, waiters: number): string {
  return waiters > 0 ? `${state}, waiters:${waiters}` : state;
}

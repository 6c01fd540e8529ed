/**
 * `Semaphore` and `BoundedSemaphore`: asyncio's counting semaphores (Lib/asyncio/locks.py,
 * 3.13+ semantics) on the runtime's waiters (src/sync/waiters.ts).
 *
 * Fairness: strict FIFO. `locked()` is true while the counter is 0 *or* anyone is queued or
 * woken and not yet resumed (asyncio 3.13), and `acquire()` only takes the fast path when
 * `locked()` is false, so a newcomer never overtakes a waiter.
 *
 * Permit accounting (asyncio's): waking a waiter hands it a permit at once (the counter drops
 * when the waiter is woken, not when it resumes). A waiter woken and then cancelled before it
 * resumed gives its permit back. Every delivered wake-up then wakes as many waiters as there are
 * free permits (asyncio's `finally` in `acquire`), so a permit never sits unused while someone
 * waits.
 *
 * Invariants:
 * - `#value >= 0`.
 * - After any method returns: `#value === 0` or nobody is queued.
 * - Woken waiters are out of `#waiters` and counted in `#woken` until their wake-up is delivered.
 *
 * @module
 */

import { inspect } from "node:util";
import { resolvedWith } from "../internal/context.ts";
import { checkCount } from "./args.ts";
import { holdWhile, ReleaseGuard } from "./guard.ts";
import { describeState } from "./locks.ts";
import { LoopBinding, type Waiter, WaiterList } from "./waiters.ts";

/** What {@link Semaphore.statistics} returns. */
export interface SemaphoreStatistics {
  /** Free permits. */
  value: number;
  /** Whether `acquire()` would wait ({@link Semaphore.locked}). */
  locked: boolean;
  /** How many callers wait in `acquire()`. */
  waiters: number;
}

/**
 * A counting semaphore: asyncio's `Semaphore`. It holds `value` permits; `acquire()` takes one
 * (waiting while there are none) and resolves to a {@link ReleaseGuard}; `release()` returns one.
 * Use it to limit concurrency: `new Semaphore(10)` lets ten tasks in at once.
 *
 * **Cancellation:** cancelling a task waiting in `acquire()` removes it from the line; a permit
 * already handed to it goes to the next waiter, or back to the counter. No permit is ever lost or
 * invented by a cancellation.
 *
 * **Differences from asyncio:** `acquire()` resolves to a release guard instead of `True`
 * (`await using _ = await sem.acquire()` replaces `async with sem:`); `hold(fn)` and
 * `statistics()` are added; a non-integer `value` is a `RangeError` (`Infinity` is allowed).
 *
 * @example
 * ```ts
 * import { run, Semaphore, createTask, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const sem = new Semaphore(2);
 *   let running = 0;
 *   let peak = 0;
 *   const job = () => sem.hold(async () => {
 *     peak = Math.max(peak, ++running);
 *     await sleep(100);
 *     running--;
 *   });
 *   await Promise.all(Array.from({ length: 6 }, () => createTask(job)));
 *   console.log("peak concurrency:", peak); // 2
 * });
 * ```
 */
export class Semaphore {
  /** @internal */ _value: number;
  readonly #waiters = new WaiterList(this, "acquire");
  #woken = 0;
  readonly #binding = new LoopBinding();

  /**
   * @param value the initial number of permits (default 1).
   * @throws {TypeError} if `value` is not a number. @throws {RangeError} if it is negative or
   * not an integer.
   */
  constructor(value = 1) {
    this._value = checkCount("value", value, 0, true);
  }

  /**
   * Whether `acquire()` would wait: no permit is free, or someone is already in line (FIFO: they
   * go first). asyncio 3.13's definition.
   */
  locked(): boolean {
    return this._value === 0 || this.#woken > 0 || this.#waiters.size > 0;
  }

  /**
   * Takes a permit, waiting in line while none is free; resolves to a guard that releases it.
   *
   * **Cancellation:** see {@link Semaphore}.
   *
   * @throws {RuntimeError} (as a rejection) if it has to wait outside a running loop, or on a
   * loop other than the one the semaphore is bound to.
   */
  acquire(): Promise<ReleaseGuard> {
    if (!this.locked()) {
      this._value--;
      return resolvedWith(new ReleaseGuard(this, this.constructor.name));
    }
    return this.#acquireSlow();
  }

  #acquireSlow(): Promise<ReleaseGuard> {
    return this.#binding.park(this.#waiters) as Promise<ReleaseGuard>;
  }

  /** A permit was handed to `waiter` and its task resumes with it. @internal */
  _resumed(_waiter: Waiter): ReleaseGuard {
    this.#woken--;
    this.#wakeWhileFree();
    return new ReleaseGuard(this, this.constructor.name);
  }

  /** A permit was handed to a waiter cancelled before it resumed: give it back. @internal */
  _abandoned(_waiter: Waiter): void {
    this.#woken--;
    this._value++;
    this.#wakeWhileFree();
  }

  /** Wakes as many waiters as there are free permits. */
  #wakeWhileFree(): void {
    while (this._value > 0 && this.#wakeUpNext()) {}
  }

  /** Returns a permit and wakes the first waiter, if any. */
  release(): void {
    this._value++;
    this.#wakeUpNext();
  }

  /**
   * Takes a permit, runs `fn`, and returns the permit however `fn` ends; resolves to what `fn`
   * returns. The callback form of `async with sem:`.
   *
   * **Cancellation:** if cancelled while waiting, `fn` never runs; if cancelled while `fn` runs,
   * the permit is returned as `fn`'s error propagates.
   *
   * @throws {TypeError} (as a rejection) if `fn` is not a function.
   */
  hold<T>(fn: () => T | PromiseLike<T>): Promise<T> {
    return holdWhile(() => this.acquire(), fn);
  }

  /** Hands a permit to the first waiter; false if nobody waits. */
  #wakeUpNext(): boolean {
    if (!this.#waiters.wakeFirst()) return false;
    this._value--;
    this.#woken++;
    return true;
  }

  /** A snapshot for debugging. */
  statistics(): SemaphoreStatistics {
    return { value: this._value, locked: this.locked(), waiters: this.#waiters.size + this.#woken };
  }

  /** asyncio's repr: `<Semaphore [unlocked, value:2]>`, `<Semaphore [locked, waiters:2]>`. */
  toString(): string {
    const state = this.locked() ? "locked" : `unlocked, value:${this._value}`;
    return `<${this.constructor.name} [${describeState(state, this.#waiters.size + this.#woken)}]>`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * A semaphore that refuses to be released more often than acquired: asyncio's
 * `BoundedSemaphore`. `release()` throws `RangeError` if it would raise the counter above the
 * initial value, which catches a double release early.
 *
 * **Cancellation:** as {@link Semaphore}.
 *
 * **Differences from asyncio:** the over-release error is a `RangeError` (asyncio's
 * `ValueError`); the initial value must be finite.
 *
 * @example
 * ```ts
 * import { run, BoundedSemaphore } from "asyncio-ts";
 * await run(async () => {
 *   const sem = new BoundedSemaphore(1);
 *   const guard = await sem.acquire();
 *   guard.release();
 *   try {
 *     sem.release();
 *   } catch (e) {
 *     console.log((e as Error).name); // "RangeError"
 *   }
 * });
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  readonly #bound: number;

  /**
   * @param value the initial and maximum number of permits (default 1).
   * @throws {TypeError} if `value` is not a number. @throws {RangeError} if it is negative, not
   * an integer, or infinite.
   */
  constructor(value = 1) {
    super(checkCount("value", value, 0, false));
    this.#bound = value;
  }

  /**
   * Returns a permit. @throws {RangeError} if that would exceed the initial value (the semaphore
   * is left unchanged).
   */
  override release(): void {
    if (this._value >= this.#bound) {
      throw new RangeError("BoundedSemaphore released too many times");
    }
    super.release();
  }
}

/**
 * `asCompleted(aws, { timeout })`: iterate over awaitables in the order they complete. asyncio's
 * `as_completed` with its 3.13 async iterator: `for await` yields the *original* Futures and
 * Tasks, already done, in completion order (so you can tell which one finished).
 *
 * Why it is written by hand rather than as an async generator: Futures and Tasks are thenables,
 * and JavaScript unwraps a thenable wherever a promise resolves to it — `yield task` in an
 * async generator, or resolving a promise with a task, would hand out the task's *result*
 * instead of the task. Here `next()` resolves to a plain `{ value, done }` object, which is not
 * a thenable, so the Task survives.
 *
 * Completed Futures go into a FIFO; `next()` takes the oldest one, waiting on an internal Future
 * when there is none. The waiting Future is only a wake-up: the item stays in the FIFO until a
 * `next()` really takes it, so a `next()` cancelled after being woken loses nothing (it passes
 * the wake-up on). On timeout the Futures not done yet are dropped and each remaining `next()`
 * throws `TimeoutError`; nothing is cancelled.
 *
 * The iterator has no `return()`: leaving a `for await` loop early does not close it, and it can
 * be resumed later, as asyncio's can.
 *
 * Not offered: asyncio's plain `for f in as_completed(aws)` (awaitables of the results). Besides
 * being the legacy style, a class that is both iterable and async-iterable trips a TypeScript
 * checker cache (seen on 5.9): once a program has used the sync form, `for await` variables of
 * the same type are typed as the awaited *results* rather than the Tasks.
 *
 * @module
 */
import { inspect } from "node:util";
import { TimeoutError } from "../exceptions.ts";
import type { AwaitableOrFunction } from "../futures/current.ts";
import type { Future } from "../futures/future.ts";
import { checkOptionalDelay, checkOptions } from "../internal/validate.ts";
import type { EventLoop } from "../loop/event-loop.ts";
import type { TimerHandle } from "../loop/handles.ts";
import { getRunningLoop } from "../loop/running.ts";
import { checkOneLoop, collectAwaitables, type FutureOf, formatTime, toFuture } from "./common.ts";

/** Options of {@link asCompleted}. */
export interface AsCompletedOptions {
  /** After this many ms, each remaining step throws `TimeoutError`. `null` (default): no limit. */
  timeout?: number | null;
}

/**
 * How {@link asCompleted} types the Futures and Tasks it yields: the Future or Task itself, minus
 * `then` in the type only. TypeScript types a `for await` variable as the *awaited* element
 * (a Task's result) whenever the element is a thenable, although the runtime hands out the
 * Task; without `then` in its type it stays the Task. Read the value with `result()`.
 */
export type CompletedFuture<F> = Omit<F, "then">;

const TIMED_OUT: unique symbol = Symbol("timed out");
type Item = Future<unknown> | typeof TIMED_OUT;

/**
 * What {@link asCompleted} returns: an async iterator of the original Futures/Tasks, in
 * completion order.
 */
export class AsCompletedIterator<F extends Future<unknown>>
  implements AsyncIterator<CompletedFuture<F>, undefined>
{
  readonly #loop: EventLoop;
  readonly #todo: Set<Future<unknown>>;
  readonly #timeout: number | null;
  #left: number;
  #queue: Item[] = [];
  #head = 0;
  #waiters: Future<void>[] = [];
  #handle: TimerHandle | null = null;

  /** @internal */
  constructor(futures: Set<Future<unknown>>, timeout: number | null, loop: EventLoop) {
    this.#loop = loop;
    this.#todo = futures;
    this.#timeout = timeout;
    this.#left = futures.size;
    for (const f of futures) f._addDoneCallback(this.#onCompletion);
    if (futures.size > 0 && timeout !== null && timeout !== Number.POSITIVE_INFINITY) {
      this.#handle = loop.callLater(timeout, this.#onTimeout);
    }
  }

  /**
   * The next Future or Task to complete (already done when you get it: read it with
   * `result()` or `await` it), or `{ done: true }` when all have been handed out.
   * @throws {TimeoutError} (as a rejection) once the timeout passed, once per remaining item.
   */
  next(): Promise<IteratorResult<CompletedFuture<F>, undefined>> {
    if (this.#left === 0) return Promise.resolve({ done: true, value: undefined });
    this.#left--;
    return this.#nextResult();
  }

  [Symbol.asyncIterator](): AsCompletedIterator<F> {
    return this;
  }

  async #nextResult(): Promise<IteratorResult<CompletedFuture<F>, undefined>> {
    let item: Item;
    try {
      ({ item } = await this.#takeOne());
    } catch (error) {
      // Cancelled while waiting: the slot is not used up, a later next() still gets the item.
      this.#left++;
      throw error;
    }
    if (item === TIMED_OUT) throw this.#timeoutError();
    return { done: false, value: item as unknown as CompletedFuture<F> };
  }

  /**
   * Takes the oldest completed item, waiting for one if needed. Boxed: resolving a promise with
   * a Future would unwrap it into its result.
   */
  async #takeOne(): Promise<{ item: Item }> {
    while (this.#head === this.#queue.length) {
      const waiter = this.#loop.createFuture<void>();
      this.#waiters.push(waiter);
      try {
        await waiter;
      } catch (error) {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        // Woken, then cancelled before resuming: hand the wake-up to the next waiter.
        if (waiter.done() && !waiter.cancelled() && this.#head < this.#queue.length) {
          this.#wakeOne();
        }
        throw error;
      }
    }
    const item = this.#queue[this.#head];
    this.#queue[this.#head++] = TIMED_OUT; // drop the reference
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    return { item };
  }

  #push(item: Item): void {
    this.#queue.push(item);
    this.#wakeOne();
  }

  #wakeOne(): void {
    while (this.#waiters.length > 0) {
      const w = this.#waiters.shift()!;
      if (!w.done()) {
        w.setResult();
        return;
      }
    }
  }

  readonly #onCompletion = (f: Future<unknown>): void => {
    if (!this.#todo.delete(f)) return; // the timeout came first
    this.#push(f);
    if (this.#todo.size === 0 && this.#handle !== null) {
      this.#handle.cancel();
      this.#handle = null;
    }
  };

  readonly #onTimeout = (): void => {
    this.#handle = null;
    for (const f of this.#todo) {
      f.removeDoneCallback(this.#onCompletion);
      this.#push(TIMED_OUT);
    }
    this.#todo.clear();
  };

  #timeoutError(): TimeoutError {
    return new TimeoutError(`asCompleted() timed out after ${formatTime(this.#timeout!)} ms`);
  }

  toString(): string {
    return `<AsCompletedIterator remaining=${this.#left} ready=${this.#queue.length - this.#head}>`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * Iterates over `aws` (an array, Set or iterable of Futures, Tasks, promises or functions, each
 * function started as a task) in the order they complete. asyncio's `as_completed` (3.13).
 *
 * `for await (const t of asCompleted(tasks))` yields the original Futures and Tasks (a promise
 * or function yields the Future or Task made for it), each already done: read it with
 * `t.result()`. Duplicates count once. The yielded values are typed {@link CompletedFuture}
 * (the Task without `then`), because TypeScript would otherwise type them as their results.
 *
 * **Cancellation:** nothing is ever cancelled: not on timeout, not when the iterating task is
 * cancelled (the pending `next()` throws `CancelledError`, and the item it would have taken
 * stays for a later `next()`). Leaving the loop early leaves the awaitables running; the
 * iterator can be resumed.
 *
 * **Differences from asyncio:** milliseconds; functions and promises are accepted; only the
 * async iteration of 3.13 exists (no plain `for` over awaitables of results). Futures and
 * Tasks are thenables, so do not `return` one from an async function or resolve a promise with
 * one if you want the Task itself: you would get its result.
 *
 * @throws {TypeError} if `aws` is not an iterable of awaitables (a single Future is refused).
 * @throws {RangeError} if `timeout` is NaN. @throws {RuntimeError} outside a running loop.
 *
 * @example
 * ```ts
 * import { run, asCompleted, createTask, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const tasks = [300, 100, 200].map((ms) => createTask(() => sleep(ms, ms)));
 *   for await (const task of asCompleted(tasks)) {
 *     console.log(task.result()); // 100, then 200, then 300
 *   }
 * });
 * ```
 */
export function asCompleted<A extends AwaitableOrFunction<unknown>>(
  aws: Iterable<A>,
  options?: AsCompletedOptions,
): AsCompletedIterator<FutureOf<A>> {
  const items = collectAwaitables(
    "aws",
    aws,
    "an iterable of awaitables (Futures, promises or functions)",
  );
  checkOptions("options", options);
  const timeout = checkOptionalDelay("options.timeout", options?.timeout);
  const loop = getRunningLoop();
  // Before anything is started, so a bad call leaves no task behind.
  checkOneLoop(items, "asCompleted()");
  const futures = new Set<Future<unknown>>();
  for (const item of new Set(items)) futures.add(toFuture(item));
  return new AsCompletedIterator<FutureOf<A>>(futures, timeout, loop);
}

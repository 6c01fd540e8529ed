/**
 * `gather(aws)`: one Future for the results of several awaitables, in order. asyncio's
 * `gather`, taking an array instead of varargs so that the result is typed as a tuple.
 *
 * The semantics are asyncio's, including its sharp edges:
 * - the first error (or child cancellation) completes the gather at once, and the other children
 *   keep running (they are *not* cancelled; use a TaskGroup for that);
 * - cancelling the gather (or the task awaiting it) cancels every child not done yet; if any was
 *   cancelled the gather ends with `CancelledError` even with `returnExceptions`;
 * - a child that is cancelled by someone else fails the gather with `CancelledError` (the gather
 *   itself is not cancelled), or appears as a `CancelledError` in the results with
 *   `returnExceptions`;
 * - the same awaitable twice is awaited once, and its result appears twice.
 *
 * Invariants:
 * - Each distinct child is handled once: by its done callback, or at once if it was done when
 *   created; the gather completes at most once.
 * - Once the gather is done, later child errors are marked retrieved (asyncio does the same), so
 *   they are not reported as "never retrieved".
 *
 * @module
 */
import { type CancellationOrigin, CancelledError } from "../exceptions.ts";
import { Future, guardRepr } from "../futures/future.ts";
import { markAwaiter } from "../internal/awaiter.ts";
import { checkBoolean, checkOptions, typeError } from "../internal/validate.ts";
import type { EventLoop } from "../loop/event-loop.ts";
import { runningLoopOrNull } from "../loop/running.ts";
import {
  type AwaitedResult,
  checkAwaitable,
  checkOneLoop,
  commonLoop,
  toFuture,
} from "./common.ts";

/** Options of {@link gather}. */
export interface GatherOptions {
  /**
   * Put errors (and `CancelledError`s of cancelled children) into the results instead of
   * failing the gather with the first one. Default: false.
   */
  returnExceptions?: boolean;
}

/** The results of `gather(aws)`: the awaited value of each element, as a tuple. */
export type GatherResults<T extends readonly unknown[]> = {
  -readonly [K in keyof T]: AwaitedResult<T[K]>;
};

/**
 * The results of `gather(aws, { returnExceptions: true })`: each element's value, or the error
 * it failed with (typed `Error`; a thrown non-Error value appears as is).
 */
export type GatherSettledResults<T extends readonly unknown[]> = {
  -readonly [K in keyof T]: AwaitedResult<T[K]> | Error;
};

/** The Future returned by gather: cancelling it cancels its children (asyncio's `_GatheringFuture`). */
class GatheringFuture<T> extends Future<T> {
  readonly #children: readonly Future<unknown>[];
  readonly #returnExceptions: boolean;
  #remaining: number;
  #cancelRequested = false;
  #requestMessage: string | undefined = undefined;
  #requestOrigin: CancellationOrigin | undefined = undefined;

  constructor(
    children: readonly Future<unknown>[],
    distinct: number,
    returnExceptions: boolean,
    loop: EventLoop | null,
  ) {
    super(loop === null ? undefined : { loop });
    this.#children = children;
    this.#remaining = distinct;
    this.#returnExceptions = returnExceptions;
  }

  /**
   * Cancels every child not done yet (asyncio's `_GatheringFuture.cancel`). The gather itself
   * ends when its children have; returns false if no child could be cancelled.
   * @internal
   */
  override _cancel(msg: string | undefined, origin: CancellationOrigin | undefined): boolean {
    if (this.done()) return false;
    let any = false;
    // Every entry, duplicates too: asyncio counts one request per entry (`cancelling()`).
    for (const child of this.#children) {
      if (child._cancel(msg, origin)) any = true;
    }
    if (any) {
      // Propagate the cancellation whatever `returnExceptions` says (bpo-32684).
      this.#cancelRequested = true;
      this.#requestMessage = msg;
      this.#requestOrigin = origin;
    }
    return any;
  }

  /** A child is done. Bound once; used as every child's done callback. @internal */
  readonly _onChildDone = (child: Future<unknown>): void => {
    this.#remaining--;
    if (this.done()) {
      // The gather already failed: mark this error retrieved, as asyncio does.
      if (!child.cancelled()) child._markRetrieved();
      return;
    }
    if (!this.#returnExceptions) {
      if (child.cancelled()) {
        this.#fail(child._getCancelledError());
        return;
      }
      if (child._hasException) {
        child._markRetrieved();
        this._setExceptionUnchecked(child._exception);
        return;
      }
    }
    if (this.#remaining > 0) return;
    const results: unknown[] = [];
    for (const c of this.#children) {
      if (c.cancelled()) results.push(c._getCancelledError());
      else if (c._hasException) {
        c._markRetrieved();
        results.push(c._exception);
      } else results.push(c._result);
    }
    if (this.#cancelRequested) {
      this.#fail(new CancelledError(this.#requestMessage, { origin: this.#requestOrigin }));
    } else this.setResult(results as T);
  };

  /**
   * Fails with a cancellation, as asyncio does (the gather is not itself cancelled). A
   * cancellation is not an error to report: if the awaiting task is itself cancelled before it
   * resumes, nobody reads it, and it must not show up as "exception was never retrieved".
   */
  #fail(error: CancelledError): void {
    this._setExceptionUnchecked(error);
    this._markRetrieved();
  }

  override toString(): string {
    const done = this.#children.length === 0 ? 0 : this.#countDone();
    return guardRepr(
      this,
      () =>
        `<GatheringFuture ${this._describeOutcome()} children=${this.#children.length} done=${done}>`,
    );
  }

  #countDone(): number {
    let n = 0;
    for (const c of this.#children) if (c.done()) n++;
    return n;
  }
}

/**
 * Runs awaitables concurrently and returns a Future of their results, in the order given.
 * `aws` is an array of Futures, Tasks, promises, or functions (each started as a task). The
 * result is typed as a tuple: `gather([a, b])` with `Task<number>` and `Task<string>` is a
 * `Future<[number, string]>`. asyncio's `gather`.
 *
 * If an awaitable fails, the gather fails with that error at once, and the others keep running
 * (they are not cancelled). With `returnExceptions: true`, errors are results like any other.
 * The same awaitable passed twice runs once; its result appears twice.
 *
 * **Cancellation:** cancelling the returned Future, or the task awaiting it, cancels every
 * child not done yet, and the gather then ends with `CancelledError` (even with
 * `returnExceptions`). A child cancelled by someone else fails the gather with
 * `CancelledError`, or puts one in the results with `returnExceptions`. For "cancel the others
 * when one fails", use {@link taskGroup}.
 *
 * **Differences from asyncio:** takes an array instead of varargs; functions are started as
 * tasks (asyncio takes coroutines). An empty array gives a Future already resolved to `[]`.
 *
 * @throws {TypeError} if `aws` is not an array, an element is not awaitable, or `options` is bad
 * (nothing is started then). @throws {RangeError} if the awaitables belong to different loops.
 *
 * @example
 * ```ts
 * import { run, gather, createTask, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const a = createTask(() => sleep(20, 1));
 *   const b = createTask(() => sleep(10, "two"));
 *   const [x, y] = await gather([a, b, () => sleep(5, true)]);
 *   console.log([x, y]); // [1, "two"]
 * });
 * ```
 */
export function gather<const T extends readonly unknown[]>(
  aws: T,
  options?: GatherOptions & { returnExceptions?: false },
): Future<GatherResults<T>>;
export function gather<const T extends readonly unknown[]>(
  aws: T,
  options: GatherOptions & { returnExceptions: true },
): Future<GatherSettledResults<T>>;
export function gather<const T extends readonly unknown[]>(
  aws: T,
  options?: GatherOptions,
): Future<GatherResults<T> | GatherSettledResults<T>>;
export function gather(aws: readonly unknown[], options?: GatherOptions): Future<unknown[]> {
  if (!Array.isArray(aws)) {
    throw typeError("aws", "an array of awaitables (Futures, promises or functions)", aws);
  }
  checkOptions("options", options);
  const returnExceptions = options?.returnExceptions ?? false;
  checkBoolean("options.returnExceptions", returnExceptions);
  for (let i = 0; i < aws.length; i++) checkAwaitable(`aws[${i}]`, aws[i]);
  if (aws.length === 0) {
    const loop = runningLoopOrNull();
    const empty = new Future<unknown[]>(loop === null ? undefined : { loop });
    empty.setResult([]);
    return empty;
  }
  // Check the loops before starting anything, so a bad call leaves no task behind.
  checkOneLoop(aws, "gather()");
  const byArg = new Map<unknown, Future<unknown>>();
  const children: Future<unknown>[] = [];
  // As asyncio 3.12+: a child that is done as soon as it exists (a done Future, an eager task
  // that finished) is handled once the gather exists, in order, so a gather of done Futures is
  // done when returned. The others get their done callback at once, child by child: one that a
  // later eager child completes is then handled through the loop, as in asyncio.
  let outer: GatheringFuture<unknown[]> | null = null;
  const onChildDone = (child: Future<unknown>): void => outer!._onChildDone(child);
  const done: Future<unknown>[] = [];
  for (const arg of aws) {
    let fut = byArg.get(arg);
    if (fut === undefined) {
      fut = toFuture<unknown>(arg);
      byArg.set(arg, fut);
      if (fut.done()) done.push(fut);
      else fut._addDoneCallback(onChildDone);
    }
    children.push(fut);
  }
  const loop = commonLoop(byArg.values(), "gather()") ?? runningLoopOrNull();
  outer = new GatheringFuture<unknown[]>(children, byArg.size, returnExceptions, loop);
  markAwaiter(onChildDone, outer);
  for (const fut of done) outer._onChildDone(fut);
  return outer;
}

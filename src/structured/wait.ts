/**
 * `wait(aws, { timeout, returnWhen })`: wait until some or all of a set of Futures are done,
 * and say which. asyncio's `wait`.
 *
 * It never raises the awaitables' errors and never cancels them, not even on timeout: it only
 * reports `{ done, pending }`. The sets are computed when the caller resumes, so a Future that
 * completed in the same loop iteration as the one that woke the caller is in `done` too.
 *
 * Invariant: every done callback added is removed before `wait` returns or throws, so a
 * cancelled or timed-out `wait` leaves nothing attached to the Futures.
 *
 * @module
 */
import type { AwaitableOrFunction } from "../futures/current.ts";
import type { Future } from "../futures/future.ts";
import { markAwaiter } from "../internal/awaiter.ts";
import { checkOptionalDelay, checkOptions, describeValue } from "../internal/validate.ts";
import type { TimerHandle } from "../loop/handles.ts";
import { getRunningLoop } from "../loop/running.ts";
import { checkOneLoop, collectAwaitables, type FutureOf, toFuture } from "./common.ts";

/** `wait` returns as soon as any awaitable is done (asyncio's `FIRST_COMPLETED`). */
export const FIRST_COMPLETED = "FIRST_COMPLETED";
/** `wait` returns when any awaitable fails, or all are done (asyncio's `FIRST_EXCEPTION`). */
export const FIRST_EXCEPTION = "FIRST_EXCEPTION";
/** `wait` returns when all awaitables are done: the default (asyncio's `ALL_COMPLETED`). */
export const ALL_COMPLETED = "ALL_COMPLETED";

/** When {@link wait} returns. */
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/** Options of {@link wait}. */
export interface WaitOptions {
  /** Return after this many ms even if the condition is not met. `null` (default): no limit. */
  timeout?: number | null;
  /** {@link FIRST_COMPLETED}, {@link FIRST_EXCEPTION} or {@link ALL_COMPLETED} (default). */
  returnWhen?: ReturnWhen;
}

/** What {@link wait} resolves to: the Futures that are done, and those still pending. */
export interface WaitResult<F> {
  done: Set<F>;
  pending: Set<F>;
}

/**
 * Waits until the awaitables in `aws` (an array, Set or other iterable of Futures, Tasks,
 * promises or functions) meet `returnWhen`, or `timeout` ms pass, and resolves to
 * `{ done, pending }`: two Sets of the Futures. asyncio's `wait`.
 *
 * Futures and Tasks appear in the Sets as given; a promise or function appears as the Future or
 * Task made for it (keep a reference to tell them apart, or pass Tasks). Duplicates count once.
 *
 * **Cancellation:** cancelling the awaiting task makes `wait` throw `CancelledError` and
 * cancels none of the awaitables. A timeout does not raise and cancels nothing: what is not done
 * is in `pending`.
 *
 * **Differences from asyncio:** milliseconds; promises and functions are accepted (asyncio
 * 3.11+ refuses bare coroutines because their Task would be hidden; here they are in the Sets).
 *
 * @throws {TypeError} (as a rejection) if `aws` is not an iterable of awaitables.
 * @throws {RangeError} (as a rejection) if `aws` is empty, `returnWhen` is not one of the three
 * constants, or `timeout` is NaN (asyncio's `ValueError`).
 *
 * @example
 * ```ts
 * import { run, wait, createTask, sleep, FIRST_COMPLETED } from "asyncio-ts";
 * await run(async () => {
 *   const fast = createTask(() => sleep(10, "fast"));
 *   const slow = createTask(() => sleep(1000, "slow"));
 *   const { done, pending } = await wait([fast, slow], { returnWhen: FIRST_COMPLETED });
 *   console.log(done.has(fast) && pending.has(slow)); // true
 *   slow.cancel();
 * });
 * ```
 */
export async function wait<A extends AwaitableOrFunction<unknown>>(
  aws: Iterable<A>,
  options?: WaitOptions,
): Promise<WaitResult<FutureOf<A>>> {
  const items = collectAwaitables(
    "aws",
    aws,
    "an iterable of awaitables (Futures, promises or functions)",
  );
  checkOptions("options", options);
  const timeout = checkOptionalDelay("options.timeout", options?.timeout);
  const returnWhen = options?.returnWhen ?? ALL_COMPLETED;
  if (
    returnWhen !== FIRST_COMPLETED &&
    returnWhen !== FIRST_EXCEPTION &&
    returnWhen !== ALL_COMPLETED
  ) {
    throw new RangeError(
      `Expected \`options.returnWhen\` to be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, got ${describeValue(returnWhen)}`,
    );
  }
  if (items.length === 0) {
    throw new RangeError("Expected `aws` to hold at least one awaitable, got an empty collection");
  }
  const loop = getRunningLoop();
  // Check the loops before starting anything, so a bad call leaves no task behind.
  checkOneLoop(items, "wait()");
  const fs = new Set<Future<unknown>>();
  for (const item of new Set(items)) fs.add(toFuture(item));

  const waiter = loop.createFuture<void>();
  let handle: TimerHandle | null = null;
  let counter = fs.size;
  const release = (): void => {
    if (!waiter.done()) waiter.setResult();
  };
  const onCompletion = (f: Future<unknown>): void => {
    counter--;
    let failed = false;
    if (returnWhen === FIRST_EXCEPTION && f._hasException) {
      // As asyncio's f.exception(): the error counts as retrieved, the caller is told via `done`.
      f._markRetrieved();
      failed = true;
    }
    if (counter <= 0 || returnWhen === FIRST_COMPLETED || failed) {
      handle?.cancel();
      release();
    }
  };
  if (timeout !== null && timeout !== Number.POSITIVE_INFINITY) {
    handle = loop.callLater(timeout, release);
  }
  markAwaiter(onCompletion, waiter);
  for (const f of fs) f._addDoneCallback(onCompletion);
  try {
    await waiter;
  } finally {
    handle?.cancel();
    for (const f of fs) f.removeDoneCallback(onCompletion);
  }
  const done = new Set<FutureOf<A>>();
  const pending = new Set<FutureOf<A>>();
  for (const f of fs) (f.done() ? done : pending).add(f as FutureOf<A>);
  return { done, pending };
}

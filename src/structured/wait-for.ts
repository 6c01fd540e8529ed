/**
 * `waitFor(aw, timeout)`: wait for one awaitable with a time limit, cancelling it on expiry.
 * asyncio's `wait_for` with its 3.12 semantics, which are those of `timeout()`: on expiry the
 * awaited task is cancelled and `waitFor` waits until it has really finished (its `finally`
 * blocks ran) before raising `TimeoutError`. If the task swallows the cancellation and returns
 * a value, that value is returned, as asyncio does.
 *
 * A timeout of 0 or less does not start a timer: the awaitable is cancelled at once (a function
 * never starts) and `waitFor` raises `TimeoutError` unless it was already done.
 *
 * @module
 */
import { type CancellationOrigin, CancelledError, TimeoutError } from "../exceptions.ts";
import type { AwaitableOrFunction } from "../futures/current.ts";
import type { Future } from "../futures/future.ts";
import { checkOptionalDelay } from "../internal/validate.ts";
import { getRunningLoop } from "../loop/running.ts";
import { type AwaitedResult, checkAwaitable, formatTime, requireTask, toFuture } from "./common.ts";
import { Timeout } from "./timeouts.ts";

/**
 * Waits for `aw` (a Future, Task, promise, or a function started as a task) to finish, for at
 * most `timeout` milliseconds, and returns its result. On expiry `aw` is cancelled, `waitFor`
 * waits for it to finish, then rejects with `TimeoutError`. `null` means no limit. asyncio's
 * `wait_for` (3.12+ semantics, built on the `timeout()` function).
 *
 * **Cancellation:** cancelling the task that awaits `waitFor` cancels `aw` too (use `shield()`
 * to keep it running). On expiry `aw` is cancelled with an origin naming the deadline; if it
 * ends cancelled, `TimeoutError` is raised with that `CancelledError` as `cause`; if it handles
 * the cancellation and returns a value or throws another error, that value or error is what
 * `waitFor` gives.
 *
 * **Differences from asyncio:** milliseconds; a function is started as a task (asyncio runs a
 * coroutine in the caller's task). A plain promise is wrapped in a Future: on expiry the wrapper
 * is cancelled but the promise's work goes on (a promise cannot be stopped).
 *
 * @throws {TypeError}/{RangeError} (as a rejection) for a bad `aw` or `timeout` (NaN).
 * @throws {TimeoutError} (as a rejection) on expiry.
 *
 * @example
 * ```ts
 * import { run, waitFor, sleep, TimeoutError } from "asyncio-ts";
 * await run(async () => {
 *   console.log(await waitFor(() => sleep(10, "fast"), 1000)); // "fast"
 *   try {
 *     await waitFor(() => sleep(10_000), 1000);
 *   } catch (e) {
 *     console.log(e instanceof TimeoutError); // true
 *   }
 * });
 * ```
 */
export async function waitFor<A extends AwaitableOrFunction<unknown>>(
  aw: A,
  timeout: number | null,
): Promise<AwaitedResult<A>> {
  checkAwaitable("aw", aw);
  const delay = checkOptionalDelay("timeout", timeout);
  const loop = getRunningLoop();
  // A positive timeout is a timeout() scope, which needs the caller's task: check that
  // before a function is started, so that a call from a loop callback starts nothing (asyncio's
  // wait_for raises there before the coroutine runs).
  if (delay !== null && delay > 0) requireTask("waitFor()");
  // asyncio awaits a coroutine inside the caller's task, so it has started by the time the
  // caller first waits: a function starts eagerly (with a timeout of 0 or less it never starts,
  // as asyncio's wraps it in a task and cancels that at once).
  const fut =
    typeof aw === "function" && (delay === null || delay > 0)
      ? loop.createTask(aw as () => AwaitedResult<A>, { eagerStart: true })
      : toFuture<AwaitedResult<A>>(aw);
  if (delay === null) return await fut;
  if (delay <= 0) {
    if (fut.done()) return fut.result();
    const deadline = loop.time() + delay;
    await cancelAndWait(fut, {
      kind: "timeout",
      requester: null,
      deadline,
      description: `timeout expired (deadline ${formatTime(deadline)} ms)`,
    });
    try {
      return fut.result();
    } catch (error) {
      if (error instanceof CancelledError) {
        throw new TimeoutError(`waitFor() timed out (timeout ${formatTime(delay)} ms)`, {
          cause: error,
        });
      }
      throw error;
    }
  }
  return await new Timeout(loop.time() + delay).run(() => fut);
}

/**
 * Cancels `fut` and waits until it is done, without awaiting `fut` itself, so that this wait
 * stays cancellable even if `fut` ignores its cancellation (asyncio's `_cancel_and_wait`).
 */
async function cancelAndWait(fut: Future<unknown>, origin: CancellationOrigin): Promise<void> {
  const waiter = getRunningLoop().createFuture<void>();
  const release = () => {
    if (!waiter.done()) waiter.setResult();
  };
  fut._addDoneCallback(release);
  try {
    fut._cancel(undefined, origin);
    await waiter;
  } finally {
    fut.removeDoneCallback(release);
  }
}

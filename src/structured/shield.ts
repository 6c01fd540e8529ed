/**
 * `shield(aw)`: await something without letting a cancellation of the awaiter reach it.
 * asyncio's `shield`.
 *
 * A new outer Future mirrors the inner one. Cancelling the awaiting task cancels only the outer
 * Future (the task gets its `CancelledError` at once); the inner work goes on. If the inner one
 * is cancelled by other means, the outer one is cancelled too.
 *
 * Invariant: once the outer Future is done, it no longer listens to the inner one, so an error
 * the inner one ends with later is nobody's: it stays unretrieved and is reported by the loop
 * (asyncio does the same; see `test_shield_cancel_outer_exception`).
 *
 * @module
 */
import type { AwaitableOrFunction } from "../futures/current.ts";
import { Future } from "../futures/future.ts";
import { markAwaiter } from "../internal/awaiter.ts";
import { type AwaitedResult, checkAwaitable, toFuture } from "./common.ts";

/**
 * Returns a Future that follows `aw` (a Future, Task, promise, or a function started as a
 * task) but shields it from cancellation: cancelling the returned Future, or the task awaiting
 * it, does not cancel `aw`. asyncio's `shield`.
 *
 * If `aw` is already done, it is returned as is (asyncio's shortcut).
 *
 * **Cancellation:** the awaiting task is still cancelled — its `await shield(x)` throws
 * `CancelledError` — but `x` keeps running; keep a reference to it to collect its result later.
 * If `aw` itself is cancelled (by someone else), the returned Future is cancelled too.
 *
 * **Differences from asyncio:** a function is started as a task (asyncio takes a coroutine).
 *
 * @throws {TypeError} if `aw` is not awaitable.
 *
 * @example
 * ```ts
 * import { run, shield, createTask, sleep, CancelledError } from "asyncio-ts";
 * await run(async () => {
 *   const save = createTask(() => sleep(100, "saved"));
 *   const waiter = createTask(() => shield(save));
 *   await sleep(10);
 *   waiter.cancel();
 *   try {
 *     await waiter;
 *   } catch (e) {
 *     // The waiter was cancelled...
 *     console.log(e instanceof CancelledError); // true
 *   }
 *   // ...but the shielded work went on.
 *   console.log(await save); // "saved"
 * });
 * ```
 */
export function shield<A extends AwaitableOrFunction<unknown>>(aw: A): Future<AwaitedResult<A>> {
  checkAwaitable("aw", aw);
  const inner = toFuture<AwaitedResult<A>>(aw);
  if (inner.done()) return inner;
  const loop = inner._loop;
  const outer = new Future<AwaitedResult<A>>(loop === null ? undefined : { loop });
  const onInnerDone = (): void => {
    if (outer.done()) {
      if (!inner.cancelled()) inner._markRetrieved();
      return;
    }
    if (inner.cancelled()) outer._cancel(inner._cancelMessage, inner._cancelOrigin);
    else if (inner._hasException) {
      inner._markRetrieved();
      outer.setException(inner._exception);
    } else outer.setResult(inner._result as AwaitedResult<A>);
  };
  const onOuterDone = (): void => {
    if (!inner.done()) inner.removeDoneCallback(onInnerDone);
  };
  inner._addDoneCallback(markAwaiter(onInnerDone, outer));
  outer._addDoneCallback(onOuterDone);
  return outer;
}

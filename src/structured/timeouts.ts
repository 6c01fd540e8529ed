/**
 * `timeout()` and `timeoutAt()`: run a body with a deadline; when the deadline passes, the
 * current task is cancelled, and the `CancelledError` that comes out of the body is turned into
 * `TimeoutError`. asyncio's `asyncio.timeout` (3.11+), as a callback instead of `async with`.
 *
 * How a timeout tells its own cancellation from anyone else's: on entry it records the task's
 * `cancelling()` count; on expiry it cancels the task (count + 1); on exit it calls
 * `uncancel()`. Only if the count is then back to what it was on entry, and the body ended with
 * a cancellation, was the cancellation this timeout's alone: it becomes `TimeoutError` with the
 * `CancelledError` as `cause`. An outer timeout or a `task.cancel()` that arrived meanwhile
 * left the count higher, so the `CancelledError` propagates untouched, and only the outermost
 * expired scope converts it.
 *
 * States, as asyncio's `Timeout` (shown in the inspect string):
 * created → active → (expiring → expired | finished). `expiring` means the deadline passed and
 * the task was cancelled but the body has not ended yet.
 *
 * Invariants:
 * - While active with a finite deadline, exactly one timer entry of this Timeout is in the
 *   loop's heap; none otherwise. A body that finishes in time costs one timer insert and one
 *   cancel: no task, no Future, no promise besides the body's and the call's own.
 * - `uncancel()` is called exactly once per expiry, on exit, whatever the body did with the
 *   cancellation (rethrew it, swallowed it, or threw something else).
 *
 * @module
 */
import { inspect } from "node:util";
import {
  type CancellationOrigin,
  CancelledError,
  isCancelledError,
  RuntimeError,
  TimeoutError,
} from "../exceptions.ts";
import type { Task } from "../futures/task.ts";
import { makeCancelledError } from "../internal/cancelled.ts";
import { checkDelay, checkFunction, checkOptionalDelay, typeError } from "../internal/validate.ts";
import type { EventLoop } from "../loop/event-loop.ts";
import { getRunningLoop } from "../loop/running.ts";
import type { TimerEntry } from "../loop/timer-heap.ts";
import { formatTime, requireTask } from "./common.ts";

/** The states of a {@link Timeout}, asyncio's names, shown in its inspect string. */
export type TimeoutState = "created" | "active" | "expiring" | "expired" | "finished";

/** A timer-heap entry for one scheduled deadline; lighter than a TimerHandle (no closure, no args). */
class DeadlineEntry implements TimerEntry {
  _when: number;
  _seq = -1;
  _cancelled = false;
  readonly #owner: Timeout;

  constructor(owner: Timeout, when: number) {
    this.#owner = owner;
    this._when = when;
  }

  _run(): void {
    if (this._cancelled) return;
    this._cancelled = true;
    this.#owner._expire(this);
  }
}

/**
 * A deadline for a block of code: what {@link timeout} and {@link timeoutAt} hand to their body.
 * asyncio's `Timeout`.
 *
 * Semantics: `when()` is the deadline in loop time (ms) or `null` for none; `reschedule(when)`
 * moves it while the body runs; `expired()` says whether the deadline passed while the body ran.
 * States: `created` → `active` → `expiring` (deadline passed, body still unwinding) →
 * `expired`, or `active` → `finished` when the body ended in time.
 *
 * **Cancellation:** on expiry the task running the body is cancelled (its `AbortSignal` aborts
 * too, so `fetch` and `fs` calls given `currentSignal()` stop). The `CancelledError` carries
 * `origin = { kind: "timeout", deadline }`. When the body ends with that cancellation and no
 * other cancellation is pending, it becomes a `TimeoutError` whose `cause` is the
 * `CancelledError`; a cancellation from elsewhere (an outer timeout, `task.cancel()`) is
 * rethrown untouched.
 *
 * **Differences from asyncio:** milliseconds; entered by calling `run(body)` (or through
 * `timeout()`/`timeoutAt()`) instead of `async with`. asyncio 3.13+ also splices a
 * `TimeoutError` into the `__context__` chain of a *different* error raised while expiring;
 * JavaScript errors have no such implicit chain, so such an error propagates unchanged.
 *
 * @example
 * ```ts
 * import { run, timeout, sleep, getRunningLoop } from "asyncio-ts";
 * await run(async () => {
 *   await timeout(1000, async (cm) => {
 *     await sleep(500);
 *     cm.reschedule(getRunningLoop().time() + 2000); // need more time
 *     await sleep(1000);
 *   });
 *   console.log("done in time");
 * });
 * ```
 */
export class Timeout {
  #state: TimeoutState = "created";
  #when: number | null;
  #entry: DeadlineEntry | null = null;
  #task: Task<unknown> | null = null;
  #loop: EventLoop | null = null;
  #cancelling = 0;

  /**
   * Creates a timeout for the loop time `when` (ms), or never for `null`. Prefer
   * {@link timeout} and {@link timeoutAt}, which create and enter it in one call.
   *
   * @throws {TypeError} if `when` is neither a number nor null. @throws {RangeError} if NaN.
   */
  constructor(when: number | null) {
    this.#when = checkWhen("when", when);
  }

  /** The deadline, in loop time (ms), or `null` when there is none. */
  when(): number | null {
    return this.#when;
  }

  /**
   * Moves the deadline to loop time `when` (ms), or removes it with `null`. A deadline already
   * past fires on the next loop iteration.
   *
   * @throws {RuntimeError} unless the timeout is active: before its body runs ("has not been
   * entered"), once expired ("Cannot change state of expiring Timeout") or after its body ended.
   * @throws {TypeError}/{RangeError} for a bad `when`.
   */
  reschedule(when: number | null): void {
    const checked = checkWhen("when", when);
    if (this.#state !== "active") {
      if (this.#state === "created") throw new RuntimeError("Timeout has not been entered");
      throw new RuntimeError(`Cannot change state of ${this.#state} Timeout`);
    }
    this.#when = checked;
    this.#schedule();
  }

  /** Whether the deadline passed while the body ran (state `expiring` or `expired`). */
  expired(): boolean {
    return this.#state === "expiring" || this.#state === "expired";
  }

  /** The state: `created`, `active`, `expiring`, `expired` or `finished`. */
  get state(): TimeoutState {
    return this.#state;
  }

  /**
   * Enters the timeout: runs `body(this)` in the current task with this deadline, and returns
   * what the body returns. See {@link timeout}.
   *
   * @throws {RuntimeError} (as a rejection) outside a task, or if already entered.
   * @throws {TimeoutError} (as a rejection) when the deadline cancelled the body.
   */
  async run<T>(body: (cm: Timeout) => T | PromiseLike<T>): Promise<T> {
    checkFunction("body", body);
    this.#enter();
    let result: T;
    try {
      result = await body(this);
    } catch (error) {
      this.#exit(true, error);
      throw error;
    }
    this.#exit(false, undefined);
    return result;
  }

  #enter(): void {
    if (this.#state !== "created") throw new RuntimeError("Timeout has already been entered");
    const task = requireTask("timeout()");
    this.#state = "active";
    this.#task = task;
    this.#loop = task.getLoop();
    this.#cancelling = task.cancelling();
    this.#schedule();
  }

  /** Ends the scope; throws the TimeoutError when the body ended with this scope's cancellation. */
  #exit(failed: boolean, error: unknown): void {
    const entry = this.#entry;
    if (entry !== null) {
      this.#entry = null;
      cancelEntry(this.#loop!, entry);
    }
    const task = this.#task!;
    this.#task = null;
    if (this.#state === "expiring") {
      this.#state = "expired";
      // Only our own cancellation is converted: uncancel() brings the count back to what it was
      // on entry unless someone else (an outer timeout, task.cancel()) asked meanwhile.
      if (task.uncancel() <= this.#cancelling && failed && isCancelledError(error)) {
        // The cause is a CancelledError even when the body ended with the AbortError of a
        // signal-aware API: one made as the task makes it when its function throws that
        // AbortError (the request's origin, the AbortError as its own cause).
        const cause =
          error instanceof CancelledError
            ? error
            : makeCancelledError(task._cancelMessage, task._cancelOrigin, true, error);
        throw new TimeoutError(`timeout expired (deadline ${formatTime(this.#when!)} ms)`, {
          cause,
        });
      }
    } else if (this.#state === "active") {
      this.#state = "finished";
    }
  }

  #schedule(): void {
    const loop = this.#loop!;
    const old = this.#entry;
    if (old !== null) {
      this.#entry = null;
      cancelEntry(loop, old);
    }
    const when = this.#when;
    if (when === null || when === Number.POSITIVE_INFINITY) return;
    const entry = new DeadlineEntry(this, when);
    this.#entry = entry;
    // As asyncio's reschedule(): a deadline already past fires on the next iteration, ahead of
    // anything scheduled after it (call_soon), so that `timeout(0, () => sleep(0))` expires.
    if (when <= loop.time()) loop._pushReady(entry);
    else loop._pushTimer(entry);
  }

  /** The deadline passed: cancel the task, with an origin that names this timeout. @internal */
  _expire(entry: DeadlineEntry): void {
    if (entry !== this.#entry || this.#state !== "active") return;
    this.#entry = null;
    this.#state = "expiring";
    const when = this.#when!;
    const origin: CancellationOrigin = {
      kind: "timeout",
      requester: null,
      deadline: when,
      description: `timeout expired (deadline ${formatTime(when)} ms)`,
    };
    this.#task!._requestCancel(undefined, origin);
  }

  toString(): string {
    if (this.#state === "active") {
      const when = this.#when === null ? "null" : formatTime(this.#when);
      return `<Timeout [active] when=${when}>`;
    }
    return `<Timeout [${this.#state}]>`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

function cancelEntry(loop: EventLoop, entry: DeadlineEntry): void {
  if (entry._cancelled) return;
  entry._cancelled = true;
  // Still in the heap: let the loop count it, so the heap compacts when many are dead.
  if (entry._seq >= 0) loop._timerCancelled(entry);
}

function checkWhen(name: string, value: unknown): number | null {
  if (value === null) return null;
  if (typeof value !== "number")
    throw typeError(name, "a loop time in milliseconds or null", value);
  return checkDelay(name, value);
}

/**
 * Runs `body` with a deadline `delay` milliseconds from now; if the deadline passes first, the
 * body is cancelled and `timeout` rejects with `TimeoutError`. `null` (or `Infinity`) means no
 * deadline; a deadline of 0 or less expires on the next loop iteration. asyncio's
 * `async with asyncio.timeout(delay)`.
 *
 * `body` receives the {@link Timeout}, to read or move the deadline (`cm.reschedule(when)`) or
 * to check `cm.expired()` afterwards. It runs in the current task: no task is created.
 *
 * **Cancellation:** on expiry the current task is cancelled where it waits (and its
 * `AbortSignal` aborts). The body may clean up in `finally`; when its `CancelledError` comes
 * out, it becomes `TimeoutError` (its `cause` is the `CancelledError`, whose `origin` names the
 * deadline). If the task is also cancelled from elsewhere, or an outer timeout expired too, the
 * `CancelledError` propagates instead, so that nested timeouts and `task.cancel()` compose: only
 * the outermost expired scope raises `TimeoutError`. A body that catches the cancellation and
 * returns normally returns normally (`cm.expired()` is then true).
 *
 * **Differences from asyncio:** a callback instead of `async with`; milliseconds. A body
 * blocked on a plain promise (not a Future, `sleep` or signal-aware API) cannot be interrupted:
 * the cancellation is delivered at its next wait.
 *
 * @throws {TypeError}/{RangeError} (as a rejection) for a bad `delay` (NaN) or `body`.
 * @throws {RuntimeError} (as a rejection) outside a task.
 * @throws {TimeoutError} (as a rejection) when the deadline cancelled the body.
 *
 * @example
 * ```ts
 * import { run, timeout, sleep, TimeoutError } from "asyncio-ts";
 * await run(async () => {
 *   try {
 *     await timeout(100, async () => {
 *       await sleep(10_000); // too slow
 *     });
 *   } catch (e) {
 *     console.log(e instanceof TimeoutError); // true
 *   }
 * });
 * ```
 */
export function timeout<T>(
  delay: number | null,
  body: (cm: Timeout) => T | PromiseLike<T>,
): Promise<T> {
  let when: number | null;
  try {
    const d = checkOptionalDelay("delay", delay);
    checkFunction("body", body);
    when = d === null ? null : getRunningLoop().time() + d;
  } catch (error) {
    return Promise.reject(error);
  }
  // Not an async function: the only promise is the one `run` returns.
  return new Timeout(when).run(body);
}

/**
 * Like {@link timeout}, with an absolute deadline: `when` is a loop time in ms (as returned by
 * `getRunningLoop().time()`), or `null` for none. asyncio's `async with asyncio.timeout_at(when)`.
 *
 * **Cancellation:** as {@link timeout}.
 *
 * **Differences from asyncio:** a callback instead of `async with`; milliseconds.
 *
 * @example
 * ```ts
 * import { run, timeoutAt, sleep, getRunningLoop } from "asyncio-ts";
 * await run(async () => {
 *   const deadline = getRunningLoop().time() + 5000;
 *   const value = await timeoutAt(deadline, async (cm) => {
 *     await sleep(10);
 *     return cm.when() === deadline;
 *   });
 *   console.log(value); // true
 * });
 * ```
 */
export function timeoutAt<T>(
  when: number | null,
  body: (cm: Timeout) => T | PromiseLike<T>,
): Promise<T> {
  let w: number | null;
  try {
    w = checkWhen("when", when === undefined ? null : when);
    checkFunction("body", body);
    getRunningLoop();
  } catch (error) {
    return Promise.reject(error);
  }
  return new Timeout(w).run(body);
}

/**
 * `sleep`: the simplest wait, and the hottest path of the runtime.
 *
 * A sleep is not a Future: it is a small waiter object that is at once the timer-heap entry
 * (or ready-queue entry for `sleep(0)`) and what the task registers as its wait, resolving a
 * native promise. Awaiting a native promise costs one microtask, where a thenable costs three.
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
import { checkDelay } from "../internal/validate.ts";
import type { Waitable } from "../internal/waitable.ts";
import { type EventLoop, NO_STEP, type ReadyEntry } from "../loop/event-loop.ts";
import type { TimerEntry } from "../loop/timer-heap.ts";

/** In the ready queue (a `sleep(0)` not yet run, or a cancellation to deliver): not reusable yet. */
const QUEUED = 1;
/** The timer fired; the task resumes when this entry next runs. */
const FIRED = 2;
/** `_value` is the CancelledError to deliver from the ready queue. */
const FAILING = 4;
/**
 * Cancelled after its timer was moved to this iteration's batch but before it ran: that place
 * in the batch is skipped and the error is delivered from the ready queue, where asyncio's
 * cancelled Future schedules the wake-up.
 */
const STALE = 8;
/**
 * The `_when` of a zero sleep, which has no deadline (a real deadline can be 0 on a clock that
 * starts below 0).
 */
const ZERO = Number.NEGATIVE_INFINITY;

// 100k sleepers wait at once in the benchmarks: the flags share one field, and the error to
// deliver takes the value's slot (a cancelled sleep never resolves).
class Sleeper implements TimerEntry, ReadyEntry, Waitable {
  /** The deadline, or {@link ZERO} for a zero sleep. */
  _when = ZERO;
  _seq = -1;
  /** True once woken or cancelled (the heap skips it). */
  _cancelled = false;
  /** QUEUED | FIRED | FAILING | STALE. */
  _flags = 0;
  readonly _loop: EventLoop;
  readonly _task: TaskStore | null;
  _value: unknown;
  _resolve!: (value: unknown) => void;
  _reject!: (error: unknown) => void;

  constructor(loop: EventLoop, task: TaskStore | null, value: unknown) {
    this._loop = loop;
    this._task = task;
    this._value = value;
  }

  _run(): TaskStore | null | typeof NO_STEP {
    const flags = this._flags;
    if ((flags & STALE) !== 0) {
      this._flags = flags & ~STALE;
      return NO_STEP;
    }
    this._flags = 0;
    if ((flags & FAILING) !== 0) {
      const error = this._value;
      this._value = undefined;
      // This CancelledError delivers every request made so far: a second `cancel()` that found
      // the sleep already cancelled (and so was kept for the next wait) is delivered with it,
      // as asyncio's step clears `_must_cancel` when it throws the error in.
      const task = this._task;
      if (task !== null) task._mustCancel = false;
      this._reject(error);
      return task;
    }
    if (this._cancelled) {
      if ((flags & FIRED) === 0) return NO_STEP;
    } else if (this._when !== ZERO) {
      // The timer fired. As in asyncio (the timer completes the sleep's future, whose callback
      // wakes the task on the next iteration), the task resumes on the next iteration; a cancel
      // arriving in between is delivered instead.
      this._cancelled = true;
      this._flags = FIRED | QUEUED;
      this._loop._pushReady(this);
      return NO_STEP;
    } else this._cancelled = true;
    const task = this._task;
    if (task !== null) {
      task._removeWaiter(this);
      if (task._mustCancel) {
        // A cancel that came after the timer fired but before the task resumed.
        this._reject(task._takeCancellation());
        return task;
      }
    }
    resolveFor(task, this._resolve, this._value);
    return task;
  }

  _cancel(message: string | undefined, origin: CancellationOrigin | undefined): boolean {
    if (this._cancelled) return false;
    const loop = this._loop;
    // A zero sleep is asyncio's bare `yield`: no Future to cancel. The task keeps the request
    // (`_mustCancel`), which its turn in the ready queue delivers, with the message current
    // then, unless `uncancel()` withdrew it meanwhile. (A closed loop dropped that turn: the
    // sleep is rejected at once, as any other.)
    if (this._when === ZERO && !loop.isClosed()) return false;
    this._cancelled = true;
    // Read before `_timerCancelled`, which may compact the heap and so mark this entry off it.
    const onHeap = this._seq >= 0;
    if (onHeap) loop._timerCancelled(this);
    this._task?._removeWaiter(this);
    const error = makeCancelledError(message, origin, loop.getDebug());
    if (loop.isClosed()) this._reject(error);
    else {
      // As asyncio wakes a cancelled task: from the ready queue. (Every path that queues a
      // sleep either cancels it first or is a zero sleep, so it is not queued yet.) A sleep off
      // the heap with a finite deadline is due, in the current batch: its place there is skipped.
      this._value = error;
      const due = !onHeap && this._when !== Number.POSITIVE_INFINITY;
      this._flags = due ? QUEUED | FAILING | STALE : QUEUED | FAILING;
      loop._pushReady(this);
    }
    return true;
  }

  _describeWait(): string {
    return this._when === ZERO ? "<sleep 0>" : `<sleep until ${this._when}>`;
  }
}

let pending: Sleeper | null = null;
function executor(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  pending!._resolve = resolve;
  pending!._reject = reject;
}

/**
 * Waits `delay` milliseconds, then resolves to `value`. `sleep(0)` (or any `delay <= 0`) yields
 * to the loop once, letting other tasks run; `sleep(Infinity)` waits until cancelled.
 *
 * **Cancellation:** cancelling the task ends the sleep with `CancelledError`, which the task
 * receives at its next turn in the loop (as asyncio wakes a task whose sleep was cancelled). A
 * `sleep(0)` is asyncio's bare yield: the request is kept and delivered at that turn, so an
 * `uncancel()` made before it withdraws it.
 *
 * @throws {RangeError} (as a rejection) if `delay` is NaN; {@link TypeError} if not a number;
 * {@link RuntimeError} outside a running loop.
 *
 * @example
 * ```ts
 * import { run, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const v = await sleep(100, "done");
 *   console.log(v); // "done"
 * });
 * ```
 */
export function sleep<T = void>(delay: number, value?: T): Promise<T> {
  try {
    checkDelay("delay", delay);
  } catch (error) {
    return Promise.reject(error);
  }
  const store = als.getStore();
  if (store === undefined) return Promise.reject(new RuntimeError(NO_LOOP_MESSAGE));
  let loop: EventLoop;
  let task: TaskStore | null;
  if ("_isTask" in store) {
    task = store;
    loop = store._loop;
  } else {
    task = null;
    loop = store;
  }
  if (loop.isClosed()) return Promise.reject(new RuntimeError("Event loop is closed"));
  let sleeper: Sleeper;
  if (task !== null && delay <= 0) {
    // A task sleeps at most once at a time: its `sleep(0)` waiter is reused once it has left
    // the ready queue (W1 does three per task).
    const spare = task._zeroSleeper as Sleeper | null;
    if (spare !== null && spare._flags === 0 && spare._cancelled) {
      sleeper = spare;
      sleeper._cancelled = false;
      sleeper._value = value;
    } else sleeper = task._zeroSleeper = new Sleeper(loop, task, value);
  } else sleeper = new Sleeper(loop, task, value);
  pending = sleeper;
  const promise = untaggedPromise<T>(executor as never);
  pending = null;
  // The deadline is set before the wait is registered, so that whoever observes the registration
  // (a tracer) sees `<sleep until …>`.
  if (delay > 0) sleeper._when = delay === Number.POSITIVE_INFINITY ? delay : loop.time() + delay;
  if (task !== null) {
    if (task._mustCancel && delay > 0) {
      // A cancellation requested while the task ran is delivered at this wait, from the ready
      // queue: asyncio's step cancels the sleep's Future (with the message known now), whose
      // wake-up comes on the next iteration, after the callbacks already scheduled. (A zero
      // sleep has no Future: it is queued as usual and its turn delivers the request, if it is
      // still pending then.)
      sleeper._cancelled = true;
      sleeper._value = task._takeCancellation();
      sleeper._flags = QUEUED | FAILING;
      loop._pushReady(sleeper);
      return promise;
    }
    task._addWaiter(sleeper);
  }
  if (delay <= 0) {
    sleeper._flags = QUEUED;
    loop._pushReady(sleeper);
  } else if (delay !== Number.POSITIVE_INFINITY) loop._pushTimer(sleeper);
  return promise;
}

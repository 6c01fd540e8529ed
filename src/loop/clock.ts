/**
 * Clocks for the event loop. Time is in milliseconds and monotonic.
 *
 * A clock with `advanceTo` is virtual: when nothing is runnable the loop calls
 * `advanceTo(nextDeadline)` instead of waiting in real time, so an hour of sleeps runs in
 * milliseconds and always in the same order.
 */
import { performance } from "node:perf_hooks";
import { rangeError, typeError } from "../internal/validate.ts";

/** A source of loop time. */
export interface Clock {
  /** The current time in milliseconds. Must never go backwards. */
  now(): number;
  /**
   * Present on virtual clocks only: moves time forward to `when` (never backwards). The loop
   * calls it when no callback is ready and the host has had a full turn without progress.
   */
  advanceTo?(when: number): void;
}

/** Wall-clock time from `performance.now()`. */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }
}

/**
 * Virtual time for tests: starts at 0 and only moves when the loop jumps to the next timer
 * deadline (or when you call {@link VirtualClock.advance}).
 *
 * @example
 * ```ts
 * import { run, sleep, getRunningLoop } from "asyncio-ts";
 * const elapsed = await run(async () => {
 *   await sleep(3_600_000); // one hour, instantly
 *   return getRunningLoop().time();
 * }, { clock: "virtual" });
 * console.log(elapsed); // 3600000
 * ```
 */
export class VirtualClock implements Clock {
  #now: number;

  constructor(start = 0) {
    if (typeof start !== "number") throw typeError("start", "a finite number", start);
    if (!Number.isFinite(start)) throw rangeError("start", "a finite number", start);
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  advanceTo(when: number): void {
    if (when > this.#now) this.#now = when;
  }

  /** Moves time forward by `ms` (a test helper; the loop notices at its next iteration). */
  advance(ms: number): void {
    // A string would pass `ms >= 0` and then turn the clock into a string with `+=`.
    if (typeof ms !== "number") throw typeError("ms", "a finite number >= 0", ms);
    if (!(ms >= 0 && ms < Number.POSITIVE_INFINITY)) {
      throw rangeError("ms", "a finite number >= 0", ms);
    }
    this.#now += ms;
  }
}

/**
 * `Barrier`: asyncio's barrier (Lib/asyncio/locks.py, 3.11+).
 *
 * asyncio writes it with a Condition, but its lock is never held across a suspension (each
 * holder releases it before it waits), so the lock only serialises code that runs without
 * interruption anyway. Here the same state machine runs without it, and the condition protocol
 * is kept: every state change wakes all parked tasks at once (`notify_all`), each re-checking its
 * predicate in wake-up order, all in the same loop iteration (the loop runs each woken task to
 * its next wait before the next one, as asyncio does). A task whose wait fails (cancelled, woken
 * or not) notifies one parked task instead, as asyncio's `Condition.wait` does on any error: a
 * spurious wake-up, after which that task parks again at the back of the line.
 *
 * State machine (`BarrierState`):
 * - `filling`: tasks arrive and wait; the `parties`-th arrival trips the barrier → `draining`.
 * - `draining`: the released tasks leave; newcomers wait until the last one has left → `filling`.
 * - `resetting`: `reset()` was called while tasks waited; they get `BrokenBarrierError` and, once
 *   the last has left, the barrier is `filling` again.
 * - `broken`: `abort()` was called; every current and future `wait()` gets `BrokenBarrierError`
 *   until `reset()`.
 *
 * Invariants: `#count` is the number of tasks inside `wait()` past the entry check; `nWaiting`
 * is `#count` while filling and 0 otherwise.
 *
 * @module
 */
import { inspect } from "node:util";
import { BrokenBarrierError } from "../exceptions.ts";
import { checkCount } from "./args.ts";
import { LoopBinding, RESOLVED, type Waiter, WaiterList } from "./waiters.ts";

/** The states of a {@link Barrier}, shown in its inspect string. */
export type BarrierState = "filling" | "draining" | "resetting" | "broken";

/** What {@link Barrier.statistics} returns. */
export interface BarrierStatistics {
  state: BarrierState;
  parties: number;
  /** Tasks waiting for the barrier to fill (0 unless filling). */
  nWaiting: number;
  broken: boolean;
}

/**
 * A barrier for a fixed number of tasks: asyncio's `Barrier`. Each task calls `wait()`; when
 * `parties` tasks are waiting, all are released together, and each gets a distinct arrival
 * index from `0` to `parties - 1`. The barrier can then be used again.
 *
 * **Cancellation:** a task cancelled while waiting leaves the barrier (one fewer is waiting);
 * the others keep waiting for a full count.
 *
 * **Differences from asyncio:** `n_waiting` is the getter `nWaiting`; `statistics()` is added.
 * `reset()` and `abort()` take effect when called and return a resolved promise, so asyncio's
 * `await barrier.reset()` reads the same.
 *
 * @example
 * ```ts
 * import { run, Barrier, createTask } from "asyncio-ts";
 * await run(async () => {
 *   const barrier = new Barrier(3);
 *   const worker = async (name: string) => {
 *     const index = await barrier.wait();
 *     console.log(name, "passed, arrival index", index);
 *   };
 *   await Promise.all(["a", "b", "c"].map((n) => createTask(() => worker(n))));
 * });
 * ```
 */
export class Barrier {
  readonly #parties: number;
  #state: BarrierState = "filling";
  #count = 0;
  /** Tasks parked until the state changes (asyncio's condition waiters). */
  readonly #parked = new WaiterList(this, "wait");
  readonly #binding = new LoopBinding();

  /**
   * @param parties how many tasks must call `wait()` to trip the barrier.
   * @throws {TypeError} if not a number. @throws {RangeError} unless an integer >= 1.
   */
  constructor(parties: number) {
    this.#parties = checkCount("parties", parties, 1, false);
  }

  /**
   * Waits until `parties` tasks are waiting, then returns this task's arrival index
   * (`0`…`parties - 1`). While the barrier drains or resets, newcomers wait for it to fill again.
   *
   * **Cancellation:** see {@link Barrier}.
   *
   * @throws {BrokenBarrierError} (as a rejection) if the barrier is broken, or is reset or
   * aborted while this task waits. @throws {RuntimeError} outside a running loop.
   */
  async wait(): Promise<number> {
    // Block while the barrier drains or resets; fail if it is broken.
    while (this.#state === "draining" || this.#state === "resetting") await this.#park();
    if (this.#state === "broken") throw new BrokenBarrierError("Barrier aborted");
    const index = this.#count++;
    try {
      if (index + 1 === this.#parties) {
        // The last arrival trips the barrier.
        this.#state = "draining";
        this.#notifyAll();
      } else {
        while (this.#state === "filling") await this.#park();
        // (Read through a getter: the state changed while we were parked.)
        const state = this.#current();
        if (state === "broken" || state === "resetting") {
          throw new BrokenBarrierError("Abort or reset of barrier");
        }
      }
      return index;
    } finally {
      this.#count--;
      // The last task out of a draining or resetting barrier makes it fill again.
      if (this.#count === 0) {
        const state = this.#current();
        if (state === "resetting" || state === "draining") this.#state = "filling";
        this.#notifyAll();
      }
    }
  }

  /**
   * Waits for the next state change. If the wait fails (the task is cancelled, whether or not it
   * had been notified), another parked task is notified in its place, as asyncio's
   * `Condition.wait` does (a spurious wake-up, allowed by the condition-variable protocol).
   */
  async #park(): Promise<void> {
    const loop = this.#binding.bind(this);
    try {
      await this.#parked.park(loop);
    } catch (error) {
      this.#parked.wakeFirst();
      throw error;
    }
  }

  /** A notified task resumes. @internal */
  _resumed(_waiter: Waiter): void {}

  /** A notified task was cancelled before it resumed; `#park` passes the wake-up on. @internal */
  _abandoned(_waiter: Waiter): void {}

  /** Notifies every parked task (asyncio's `notify_all`). */
  #notifyAll(): void {
    while (this.#parked.wakeFirst()) {}
  }

  /**
   * Returns the barrier to its initial, empty state. Tasks waiting in it get
   * `BrokenBarrierError`. A broken barrier becomes usable again. Takes effect at once; the
   * returned promise is for asyncio's `await barrier.reset()` spelling.
   */
  reset(): Promise<void> {
    if (this.#count > 0) this.#state = "resetting";
    else this.#state = "filling";
    this.#notifyAll();
    return RESOLVED;
  }

  /**
   * Breaks the barrier: every waiting task and every later `wait()` gets `BrokenBarrierError`,
   * until `reset()`. Useful when one party fails and the others must not wait forever. Takes
   * effect at once; the returned promise is for asyncio's `await barrier.abort()` spelling.
   */
  abort(): Promise<void> {
    this.#state = "broken";
    this.#notifyAll();
    return RESOLVED;
  }

  /** How many tasks must call `wait()` to trip the barrier. */
  get parties(): number {
    return this.#parties;
  }

  /** How many tasks are waiting for the barrier to fill (asyncio's `n_waiting`). */
  get nWaiting(): number {
    return this.#state === "filling" ? this.#count : 0;
  }

  /** Whether the barrier is broken (after `abort()`). */
  get broken(): boolean {
    return this.#state === "broken";
  }

  /** The state, read through a call: TypeScript would keep a narrowing of `#state` across `await`. */
  #current(): BarrierState {
    return this.#state;
  }

  /** A snapshot for debugging. */
  statistics(): BarrierStatistics {
    return {
      state: this.#state,
      parties: this.#parties,
      nWaiting: this.nWaiting,
      broken: this.broken,
    };
  }

  /** asyncio's repr: `<Barrier [filling, waiters:1/3]>`, `<Barrier [broken]>`. */
  toString(): string {
    const extra = this.broken ? "" : `, waiters:${this.nWaiting}/${this.#parties}`;
    return `<Barrier [${this.#state}${extra}]>`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * `Barrier`: asyncio's barrier (Lib/asyncio/locks.py, 3.11+), built, as asyncio builds it, on a
 * {@link Condition}, so that its ordering and cancellation behaviour are asyncio's own.
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
import { Condition } from "./locks.ts";

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
 * `reset()` and `abort()` are async as in asyncio (they take the barrier's internal lock).
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
  readonly #cond = new Condition();
  readonly #parties: number;
  #state: BarrierState = "filling";
  #count = 0;

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
    const guard = await this.#cond.acquire();
    try {
      await this.#block();
      try {
        const index = this.#count++;
        if (index + 1 === this.#parties) this.#release();
        else await this.#waitForRelease();
        return index;
      } finally {
        this.#count--;
        this.#exit();
      }
    } finally {
      guard.release();
    }
  }

  /** Waits while the barrier drains or resets; throws if it is broken. */
  async #block(): Promise<void> {
    await this.#cond.waitFor(() => this.#state !== "draining" && this.#state !== "resetting");
    if (this.#state === "broken") throw new BrokenBarrierError("Barrier aborted");
  }

  /** The last arrival trips the barrier. */
  #release(): void {
    this.#state = "draining";
    this.#cond.notifyAll();
  }

  /** Waits for the barrier to trip; throws if it is reset or aborted meanwhile. */
  async #waitForRelease(): Promise<void> {
    await this.#cond.waitFor(() => this.#state !== "filling");
    if (this.#state === "broken" || this.#state === "resetting") {
      throw new BrokenBarrierError("Abort or reset of barrier");
    }
  }

  /** The last task out of a draining or resetting barrier makes it fill again. */
  #exit(): void {
    if (this.#count === 0) {
      if (this.#state === "resetting" || this.#state === "draining") this.#state = "filling";
      this.#cond.notifyAll();
    }
  }

  /**
   * Returns the barrier to its initial, empty state. Tasks waiting in it get
   * `BrokenBarrierError`. A broken barrier becomes usable again.
   */
  async reset(): Promise<void> {
    const guard = await this.#cond.acquire();
    try {
      if (this.#count > 0) {
        if (this.#state !== "resetting") this.#state = "resetting";
      } else this.#state = "filling";
      this.#cond.notifyAll();
    } finally {
      guard.release();
    }
  }

  /**
   * Breaks the barrier: every waiting task and every later `wait()` gets `BrokenBarrierError`,
   * until `reset()`. Useful when one party fails and the others must not wait forever.
   */
  async abort(): Promise<void> {
    const guard = await this.#cond.acquire();
    try {
      this.#state = "broken";
      this.#cond.notifyAll();
    } finally {
      guard.release();
    }
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

  /** The current state. */
  get state(): BarrierState {
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

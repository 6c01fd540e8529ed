/**
 * `Queue`, `LifoQueue` and `PriorityQueue`: asyncio's queues (Lib/asyncio/queues.py, with 3.13's
 * `shutdown()`), on the runtime's waiters (src/sync/waiters.ts).
 *
 * Design (asyncio's): a blocked `get()` parks a waiter that is woken *without* an item; the item
 * is taken only when the wake-up is delivered and the getter's task still wants it. So nothing
 * is lost when a woken getter is cancelled before it resumes: the item is still in the queue,
 * and the turn passes to the next getter. A cancelled `put()` never inserts its item.
 *
 * Fairness (stricter than asyncio): each item put wakes one getter and *reserves* the item for
 * it until it resumes; `get()` takes the fast path only for items nobody is woken for, so a
 * newcomer cannot take the item a parked getter was woken for. The same holds for free slots and
 * `put()`. The synchronous `getNowait()`/`putNowait()` do not wait, so they take what is there;
 * a woken getter that finds its item gone waits again at the front of the line. After
 * `shutdown()` fairness no longer matters: getters take what is left, then get `QueueShutDown`.
 *
 * Invariants, after every public method:
 * - `#getters` holds no live waiter unless `qsize() <= #wokenGetters` (nobody sleeps while an
 *   unreserved item waits);
 * - `#putters` holds no live waiter unless the free slots are `<= #wokenPutters`;
 * - `#unfinished` counts items put and not yet `taskDone()`; join waiters exist only while it
 *   is > 0.
 *
 * @module
 */

import { inspect } from "node:util";
import { QueueEmpty, QueueFull, QueueShutDown } from "../exceptions.ts";
import { resolvedWith } from "../internal/context.ts";
import { Deque } from "../internal/deque.ts";
import {
  checkBoolean,
  checkFunction,
  checkOptions,
  rangeError,
  typeError,
} from "../internal/validate.ts";
import { BinaryHeap, type Comparator, defaultCompare } from "./heap.ts";
import { LoopBinding, REPARK, RESOLVED, type Waiter, WaiterList } from "./waiters.ts";

/** Where a queue keeps its items; one per queue kind. @internal */
export interface ItemStore<T> {
  readonly length: number;
  push(item: T): void;
  /** Removes the next item to hand out; the store must not be empty. */
  take(): T;
  clear(): void;
  /** The items in storage order (for the inspect string). */
  toArray(): T[];
}

class FifoStore<T> extends Deque<T> implements ItemStore<T> {
  take(): T {
    return this.shift() as T;
  }
}

class LifoStore<T> implements ItemStore<T> {
  readonly #items: T[] = [];
  get length(): number {
    return this.#items.length;
  }
  push(item: T): void {
    this.#items.push(item);
  }
  take(): T {
    return this.#items.pop() as T;
  }
  clear(): void {
    this.#items.length = 0;
  }
  toArray(): T[] {
    return this.#items.slice();
  }
}

class HeapStore<T> extends BinaryHeap<T> implements ItemStore<T> {
  take(): T {
    return this.pop();
  }
  toArray(): T[] {
    return this.items.slice();
  }
}

/** What {@link Queue.statistics} returns. */
export interface QueueStatistics {
  /** Items in the queue. */
  qsize: number;
  /** The capacity (0: unbounded). */
  maxsize: number;
  /** Callers waiting in `get()` (woken ones count until they resume). */
  getters: number;
  /** Callers waiting in `put()` (woken ones count until they resume). */
  putters: number;
  /** Items put and not yet marked done with `taskDone()`. */
  unfinishedTasks: number;
  /** Whether `shutdown()` was called. */
  shutdown: boolean;
}

const MAX_SHOWN = 10;
const SHUT_DOWN = "the queue is shut down";

/**
 * A FIFO queue for producers and consumers: asyncio's `Queue`. With `maxsize > 0`, `put()` waits
 * while the queue is full (backpressure); `get()` waits while it is empty. `taskDone()` and
 * `join()` track when every item put has been processed; `shutdown()` (asyncio 3.13) ends it.
 * `for await (const item of queue)` gets items until the queue is shut down and drained.
 *
 * **Cancellation:** a cancelled `get()` never loses an item (it stays in the queue for the next
 * getter) and a cancelled `put()` never inserts its item. Waiters are served in arrival order.
 *
 * `maxsize`: 0 (or `Infinity`) is unbounded; a fractional one is full at `qsize() >= maxsize`,
 * as in asyncio.
 *
 * **Differences from asyncio:** a negative or NaN `maxsize` is a RangeError (asyncio takes a
 * negative one as unbounded; here it is more likely a bug, as `new Semaphore(-1)` is). Items are handed out through
 * promises, so an item that is itself a thenable (a Task, a Future, a promise) is unwrapped by
 * `await queue.get()`: put `{ task }` to pass a task. Woken getters keep their turn (see the
 * module notes); `statistics()` is added.
 *
 * @example
 * ```ts
 * import { run, Queue, createTask } from "asyncio-ts";
 * await run(async () => {
 *   const queue = new Queue<number>(2);
 *   const consumer = createTask(async () => {
 *     for await (const n of queue) {
 *       console.log("got", n);
 *       queue.taskDone();
 *     }
 *   });
 *   for (let i = 0; i < 5; i++) await queue.put(i); // waits while 2 items are queued
 *   await queue.join(); // every item processed
 *   queue.shutdown(); // ends the consumer's loop
 *   await consumer;
 * });
 * ```
 */
export class Queue<T> implements AsyncIterable<T> {
  readonly #maxsize: number;
  /** `maxsize`, with Infinity for "unbounded". */
  readonly #limit: number;
  readonly #items: ItemStore<T>;
  readonly #getters = new WaiterList(this, "get");
  #wokenGetters = 0;
  readonly #putters = new WaiterList(this, "put");
  #wokenPutters = 0;
  readonly #joiners = new WaiterList(this, "join");
  #wokenJoiners = 0;
  #unfinished = 0;
  #shutdown = false;
  readonly #binding = new LoopBinding();

  /**
   * @param maxsize the capacity; 0 (default) or `Infinity` for an unbounded queue.
   * @throws {TypeError} if `maxsize` is not a number. @throws {RangeError} if it is negative or
   * NaN.
   */
  constructor(maxsize = 0) {
    if (typeof maxsize !== "number") {
      throw typeError("maxsize", "a number from 0 and up (0: unbounded)", maxsize);
    }
    if (!(maxsize >= 0)) {
      throw rangeError("maxsize", "a number from 0 and up (0: unbounded)", maxsize);
    }
    this.#maxsize = maxsize;
    // As asyncio, a fractional maxsize is full once `qsize() >= maxsize`, i.e. at its ceiling
    // (CPython's test_float_maxsize: 1.3 holds two).
    this.#limit = maxsize === 0 ? Number.POSITIVE_INFINITY : Math.ceil(maxsize);
    this.#items = this._createStore();
  }

  /** The item storage of this kind of queue (asyncio's `_init`). @internal */
  protected _createStore(): ItemStore<T> {
    return new FifoStore<T>();
  }

  /** The number of items in the queue. */
  qsize(): number {
    return this.#items.length;
  }

  /** The capacity given to the constructor (0: unbounded). */
  get maxsize(): number {
    return this.#maxsize;
  }

  /** Whether the queue has no items. */
  empty(): boolean {
    return this.#items.length === 0;
  }

  /** Whether the queue holds `maxsize` items (never true when unbounded). */
  full(): boolean {
    return this.#items.length >= this.#limit;
  }

  /**
   * Puts `item` at the end of the queue, waiting (in line) while the queue is full.
   *
   * **Cancellation:** a cancelled `put()` has not inserted its item; the free slot it was woken
   * for (if any) passes to the next putter.
   *
   * @throws {QueueShutDown} (as a rejection) if the queue is or gets shut down.
   * @throws {RuntimeError} (as a rejection) if it has to wait outside a running loop.
   */
  put(item: T): Promise<void> {
    if (!this.#shutdown && this.#items.length + this.#wokenPutters < this.#limit) {
      this.#putItem(item);
      return RESOLVED;
    }
    return this.#putSlow(item);
  }

  #putSlow(item: T): Promise<void> {
    if (this.#shutdown) return Promise.reject(new QueueShutDown(SHUT_DOWN));
    return this.#binding.park(this.#putters, item) as Promise<void>;
  }

  /**
   * Puts `item` without waiting.
   * @throws {QueueFull} if the queue is full. @throws {QueueShutDown} if it is shut down.
   */
  putNowait(item: T): void {
    if (this.#shutdown) throw new QueueShutDown(SHUT_DOWN);
    if (this.#items.length >= this.#limit)
      throw new QueueFull(`putNowait() on a full queue (maxsize=${this.#maxsize})`);
    this.#putItem(item);
  }

  #putItem(item: T): void {
    this.#items.push(item);
    this.#unfinished++;
    if (this.#getters.head !== null) this.#refillGetters();
  }

  /**
   * Removes and returns the first item, waiting (in line) while the queue is empty.
   *
   * **Cancellation:** a cancelled `get()` has taken nothing: the item it was woken for (if any)
   * stays in the queue and passes to the next getter.
   *
   * @throws {QueueShutDown} (as a rejection) once the queue is shut down and empty.
   * @throws {RuntimeError} (as a rejection) if it has to wait outside a running loop.
   */
  get(): Promise<T> {
    if (this.#items.length > this.#wokenGetters) return resolvedWith(this.#takeItem());
    return this.#getSlow();
  }

  #getSlow(): Promise<T> {
    if (this.#shutdown) {
      // Fairness no longer matters: take what is left, then fail.
      if (this.#items.length === 0) return Promise.reject(new QueueShutDown(SHUT_DOWN));
      return Promise.resolve(this.#takeItem());
    }
    return this.#binding.park(this.#getters) as Promise<T>;
  }

  /**
   * A parked getter, putter or joiner was woken and its task resumes. A getter takes its item
   * now; a putter puts its item now. If a `getNowait()`/`putNowait()` took the item or the slot
   * meanwhile, the waiter parks again at the front of its line. @internal
   */
  _resumed(waiter: Waiter): unknown {
    const list = waiter._list;
    if (list === this.#getters) {
      this.#wokenGetters--;
      if (this.#items.length > 0) return this.#takeItem();
      if (this.#shutdown) throw new QueueShutDown(SHUT_DOWN);
      list.unshift(waiter);
      return REPARK;
    }
    if (list === this.#putters) {
      this.#wokenPutters--;
      if (this.#shutdown) throw new QueueShutDown(SHUT_DOWN);
      if (this.#items.length < this.#limit) {
        this.#putItem(waiter._payload as T);
        return undefined;
      }
      list.unshift(waiter);
      return REPARK;
    }
    this.#wokenJoiners--;
    return undefined;
  }

  /** A woken waiter was cancelled before it resumed: pass its item or slot on. @internal */
  _abandoned(waiter: Waiter): void {
    const list = waiter._list;
    if (list === this.#getters) {
      this.#wokenGetters--;
      this.#refillGetters();
    } else if (list === this.#putters) {
      this.#wokenPutters--;
      this.#refillPutters();
    } else this.#wokenJoiners--;
  }

  /**
   * Removes and returns the first item without waiting.
   * @throws {QueueEmpty} if the queue is empty. @throws {QueueShutDown} if it is empty and shut down.
   */
  getNowait(): T {
    if (this.#items.length === 0) {
      if (this.#shutdown) throw new QueueShutDown(SHUT_DOWN);
      throw new QueueEmpty("getNowait() on an empty queue");
    }
    return this.#takeItem();
  }

  #takeItem(): T {
    const item = this.#items.take();
    if (this.#putters.head !== null) this.#refillPutters();
    return item;
  }

  /** Wakes getters while unreserved items are available. */
  #refillGetters(): void {
    while (this.#items.length > this.#wokenGetters && this.#getters.wakeFirst()) {
      this.#wokenGetters++;
    }
  }

  /** Wakes putters while unreserved free slots are available. */
  #refillPutters(): void {
    while (this.#limit - this.#items.length > this.#wokenPutters && this.#putters.wakeFirst()) {
      this.#wokenPutters++;
    }
  }

  /**
   * Marks one item taken with `get()` as processed. When every item put has been marked,
   * `join()` returns.
   * @throws {RangeError} if called more often than items were put (asyncio's `ValueError`).
   */
  taskDone(): void {
    if (this.#unfinished <= 0) throw new RangeError("taskDone() called too many times");
    if (--this.#unfinished === 0) this.#wakeJoiners();
  }

  /**
   * Waits until every item put has been processed (`taskDone()` called for it). Returns at once
   * when nothing is unfinished.
   *
   * **Cancellation:** the wait ends with `CancelledError`; the queue is unchanged.
   *
   * @throws {RuntimeError} (as a rejection) if it has to wait outside a running loop.
   */
  join(): Promise<void> {
    if (this.#unfinished === 0) return RESOLVED;
    return this.#joinSlow();
  }

  #joinSlow(): Promise<void> {
    return this.#binding.park(this.#joiners) as Promise<void>;
  }

  #wakeJoiners(): void {
    while (this.#joiners.wakeFirst()) this.#wokenJoiners++;
  }

  /**
   * Shuts the queue down (asyncio 3.13): `put()` and `putNowait()` throw `QueueShutDown` from
   * now on, and so do `get()` and `getNowait()` once the queue is empty. Every blocked caller is
   * woken to re-check. With `immediate`, the items left are discarded at once, each counted as
   * done for `join()`, so `join()` returns when the items already taken are done.
   *
   * @throws {TypeError} if `immediate` is not a boolean.
   */
  shutdown(immediate = false): void {
    checkBoolean("immediate", immediate);
    this.#shutdown = true;
    if (immediate) {
      const dropped = this.#items.length;
      this.#items.clear();
      this.#unfinished = Math.max(0, this.#unfinished - dropped);
      if (this.#unfinished === 0) this.#wakeJoiners();
    }
    while (this.#getters.wakeFirst()) this.#wokenGetters++;
    while (this.#putters.wakeFirst()) this.#wokenPutters++;
  }

  /**
   * Gets items until the queue is shut down and empty: `for await (const item of queue)`. It
   * does not call `taskDone()`; call it yourself if you `join()`.
   *
   * **Cancellation:** cancelling the loop's task while it waits for an item ends the loop with
   * `CancelledError`, without taking an item.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      let item: T;
      try {
        item = await this.get();
      } catch (error) {
        if (error instanceof QueueShutDown) return;
        throw error;
      }
      yield item;
    }
  }

  /** A snapshot for debugging. */
  statistics(): QueueStatistics {
    return {
      qsize: this.#items.length,
      maxsize: this.#maxsize,
      getters: this.#getters.size + this.#wokenGetters,
      putters: this.#putters.size + this.#wokenPutters,
      unfinishedTasks: this.#unfinished,
      shutdown: this.#shutdown,
    };
  }

  /**
   * asyncio's format: `<Queue maxsize=100 _queue=[1, 2] _getters[1] _putters[1] tasks=3 shutdown>`
   * (parts shown only when non-empty; at most ten items are listed).
   */
  toString(): string {
    let text = `<${this.constructor.name} maxsize=${this.#maxsize}`;
    const n = this.#items.length;
    if (n > 0) {
      const items = this.#items.toArray();
      const shown = items
        .slice(0, MAX_SHOWN)
        .map((item) => inspect(item, { depth: 0, breakLength: Number.POSITIVE_INFINITY }));
      if (n > MAX_SHOWN) shown.push(`… ${n - MAX_SHOWN} more`);
      text += ` _queue=[${shown.join(", ")}]`;
    }
    if (this.#getters.size > 0) text += ` _getters[${this.#getters.size}]`;
    if (this.#putters.size > 0) text += ` _putters[${this.#putters.size}]`;
    if (this.#unfinished > 0) text += ` tasks=${this.#unfinished}`;
    if (this.#shutdown) text += " shutdown";
    return `${text}>`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * A queue that hands out the most recently added item first: asyncio's `LifoQueue`.
 *
 * **Cancellation:** as {@link Queue}.
 *
 * **Differences from asyncio:** as {@link Queue}.
 *
 * @example
 * ```ts
 * import { run, LifoQueue } from "asyncio-ts";
 * await run(async () => {
 *   const stack = new LifoQueue<number>();
 *   for (const n of [1, 2, 3]) stack.putNowait(n);
 *   console.log([await stack.get(), await stack.get(), await stack.get()]); // [3, 2, 1]
 * });
 * ```
 */
export class LifoQueue<T> extends Queue<T> {
  /** @internal */
  protected override _createStore(): ItemStore<T> {
    return new LifoStore<T>();
  }
}

/** Options for {@link PriorityQueue}. */
export interface PriorityQueueOptions<T> {
  /**
   * Orders two items: negative if `a` comes out first. Default: Python's ordering (numbers,
   * bigints and strings naturally, arrays element by element like tuples); see {@link PriorityQueue}.
   */
  comparator?: Comparator<T>;
}

/**
 * A queue that hands out the smallest item first: asyncio's `PriorityQueue`, on a binary heap.
 * The default ordering is Python's for the values JavaScript has: numbers, bigints and strings
 * compare naturally, and arrays element by element, so `put([priority, item])` works as Python's
 * tuples do. Values it cannot order (two plain objects, a string and a number) make `put`
 * throw `TypeError`, as Python does; give a `comparator`, or put `[priority, counter, item]`.
 *
 * **Cancellation:** as {@link Queue}.
 *
 * **Differences from asyncio:** an optional `{ comparator }`; a comparator error leaves the
 * queue unchanged (Python's `heapq` may keep the item). Otherwise as {@link Queue}.
 *
 * @example
 * ```ts
 * import { run, PriorityQueue } from "asyncio-ts";
 * await run(async () => {
 *   const jobs = new PriorityQueue<[number, string]>();
 *   await jobs.put([2, "write report"]);
 *   await jobs.put([1, "fix the build"]);
 *   await jobs.put([3, "lunch"]);
 *   console.log((await jobs.get())[1]); // "fix the build"
 * });
 * ```
 */
export class PriorityQueue<T> extends Queue<T> {
  /**
   * @param maxsize as {@link Queue}.
   * @param options `{ comparator }`.
   * @throws {TypeError} for a bad `options` or `comparator`; see {@link Queue} for `maxsize`.
   */
  constructor(maxsize = 0, options?: PriorityQueueOptions<T>) {
    checkOptions("options", options);
    const comparator = options?.comparator;
    if (comparator !== undefined) checkFunction("options.comparator", comparator);
    // The base constructor creates the store (asyncio's `_init`) before this constructor's
    // body could set a field, so the comparator travels through a module variable.
    nextComparator = (comparator ?? defaultCompare) as Comparator<unknown>;
    super(maxsize);
  }

  /** @internal */
  protected override _createStore(): ItemStore<T> {
    const compare = nextComparator as Comparator<T>;
    nextComparator = defaultCompare;
    return new HeapStore<T>(compare);
  }
}

let nextComparator: Comparator<unknown> = defaultCompare;

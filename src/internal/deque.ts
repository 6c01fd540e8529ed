/**
 * A double-ended queue on a growable ring buffer: `push`/`shift`/`pop`/`unshift` in O(1)
 * amortised, without the O(n) copy that `Array.prototype.shift` does on large arrays.
 *
 * Invariants:
 * - The capacity (`#buffer.length`) is a power of two, so an index wraps with `& #mask`.
 * - Slots outside the live range hold `undefined`, so a removed item is never kept alive.
 *
 * @module
 */

const MIN_CAPACITY = 16;

/** A FIFO/LIFO-capable ring buffer. */
export class Deque<T> implements Iterable<T> {
  #buffer: Array<T | undefined>;
  #mask: number;
  #head = 0;
  #length = 0;

  constructor() {
    this.#buffer = new Array<T | undefined>(MIN_CAPACITY);
    this.#mask = MIN_CAPACITY - 1;
  }

  /** The number of items. */
  get length(): number {
    return this.#length;
  }

  /** Appends `item` at the back. */
  push(item: T): void {
    if (this.#length === this.#buffer.length) this.#grow();
    this.#buffer[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  /** Prepends `item` at the front. */
  unshift(item: T): void {
    if (this.#length === this.#buffer.length) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#buffer[this.#head] = item;
    this.#length++;
  }

  /** Removes and returns the front item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const buffer = this.#buffer;
    const item = buffer[this.#head];
    buffer[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** Removes and returns the back item, or `undefined` when empty. */
  pop(): T | undefined {
    if (this.#length === 0) return undefined;
    this.#length--;
    const i = (this.#head + this.#length) & this.#mask;
    const item = this.#buffer[i];
    this.#buffer[i] = undefined;
    return item;
  }

  /** The item at position `index` from the front (0 = front), or `undefined` if out of range. */
  at(index: number): T | undefined {
    if (index < 0 || index >= this.#length) return undefined;
    return this.#buffer[(this.#head + index) & this.#mask];
  }

  /** Removes every item. */
  clear(): void {
    this.#buffer = new Array<T | undefined>(MIN_CAPACITY);
    this.#mask = MIN_CAPACITY - 1;
    this.#head = 0;
    this.#length = 0;
  }

  /** The items, front first, as a new array. */
  toArray(): T[] {
    const out = new Array<T>(this.#length);
    for (let i = 0; i < this.#length; i++)
      out[i] = this.#buffer[(this.#head + i) & this.#mask] as T;
    return out;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.#length; i++) yield this.#buffer[(this.#head + i) & this.#mask] as T;
  }

  #grow(): void {
    const old = this.#buffer;
    const capacity = old.length * 2;
    const next = new Array<T | undefined>(capacity);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#buffer = next;
    this.#mask = capacity - 1;
    this.#head = 0;
  }
}

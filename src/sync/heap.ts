/**
 * The binary min-heap behind `PriorityQueue`, and the default ordering that makes
 * `queue.put([priority, item])` behave like Python's `heapq` of tuples.
 *
 * Exception safety: a comparator may throw (the default one does for values it cannot order,
 * as Python raises `TypeError`). `push` and `pop` then undo their partial sift, so the heap
 * keeps exactly the items it had, in heap order, and the error propagates.
 *
 * @module
 */
import { describeValue } from "../internal/validate.ts";

/** Orders two items: negative if `a` comes first, positive if `b` does, 0 if equal. */
export type Comparator<T> = (a: T, b: T) => number;

/**
 * Python's ordering for the values JavaScript has: numbers and bigints by value (mixed too),
 * strings by UTF-16 code units, booleans (false < true), Dates by time, and arrays element by
 * element, a shorter prefix first, as Python compares tuples. Anything else cannot be ordered.
 *
 * @throws {TypeError} for values it cannot order (e.g. two plain objects, or a string and a
 * number), naming both, as Python's `'<' not supported between instances of …`.
 */
export function defaultCompare(a: unknown, b: unknown): number {
  const ta = typeof a;
  const tb = typeof b;
  if ((ta === "number" || ta === "bigint") && (tb === "number" || tb === "bigint")) {
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  if (ta === "string" && tb === "string") {
    return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = defaultCompare(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  if (ta === "boolean" && tb === "boolean") return Number(a) - Number(b);
  if (a instanceof Date && b instanceof Date) {
    const x = a.getTime();
    const y = b.getTime();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  throw new TypeError(
    `PriorityQueue cannot order ${describeValue(a)} and ${describeValue(b)}: the default ordering ` +
      "knows numbers, bigints, strings, booleans, Dates and arrays of those; " +
      "pass { comparator } or put [priority, counter, item] entries",
  );
}

/** A binary min-heap on an array. */
export class BinaryHeap<T> {
  readonly items: T[] = [];
  compare: Comparator<T>;

  constructor(compare: Comparator<T>) {
    this.compare = compare;
  }

  get length(): number {
    return this.items.length;
  }

  /** Adds `item`. If the comparator throws, the heap is left as it was. */
  push(item: T): void {
    const items = this.items;
    const start = items.length;
    items.push(item);
    let pos = start;
    try {
      while (pos > 0) {
        const parent = (pos - 1) >> 1;
        if (this.compare(item, items[parent]) >= 0) break;
        items[pos] = items[parent];
        pos = parent;
      }
    } catch (error) {
      // Undo: move the parents shifted down along the path back up, then drop the new slot.
      const path: number[] = [];
      for (let i = start; i > pos; i = (i - 1) >> 1) path.push(i);
      for (let k = path.length - 1; k >= 0; k--) {
        const i = path[k];
        items[(i - 1) >> 1] = items[i];
      }
      items.length = start;
      throw error;
    }
    items[pos] = item;
  }

  /** Removes and returns the smallest item. The heap must not be empty. */
  pop(): T {
    const items = this.items;
    const top = items[0];
    const last = items.pop() as T;
    const n = items.length;
    if (n === 0) return top;
    let pos = 0;
    const path: number[] = [];
    try {
      for (;;) {
        let child = 2 * pos + 1;
        if (child >= n) break;
        if (child + 1 < n && this.compare(items[child + 1], items[child]) < 0) child++;
        if (this.compare(items[child], last) >= 0) break;
        items[pos] = items[child];
        path.push(pos);
        pos = child;
      }
    } catch (error) {
      // Undo: move the children shifted up back down, restore the top and the last item.
      for (let k = path.length - 1; k >= 0; k--) {
        const parent = path[k];
        const child = k + 1 < path.length ? path[k + 1] : pos;
        items[child] = items[parent];
      }
      items[0] = top;
      items.push(last);
      throw error;
    }
    items[pos] = last;
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}

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

  /**
   * Removes and returns the smallest item. The heap must not be empty. If the comparator
   * throws, the heap is left as it was.
   *
   * heapq's `heappop` step for step (the last item goes to the root, the hole sinks to a leaf
   * along the smaller children, preferring the right one on a tie, then the item rises back), so
   * that items the comparator finds equal come out in the same order as from asyncio's
   * PriorityQueue. It also costs about one comparison per level instead of two.
   */
  pop(): T {
    const items = this.items;
    const top = items[0];
    const last = items.pop() as T;
    const n = items.length;
    if (n === 0) return top;
    // Invariant while sifting: the slots on the path from the root down to `pos` each hold
    // what was one level below them, `items[pos]` is a stale copy (the hole), and the slots
    // below `pos` on the path hold their own items again.
    let pos = 0;
    try {
      let child = 1;
      while (child < n) {
        const right = child + 1;
        if (right < n && !(this.compare(items[child], items[right]) < 0)) child = right;
        items[pos] = items[child];
        pos = child;
        child = 2 * pos + 1;
      }
      // Rising back: each step moves a parent down, restoring the slot it came from.
      while (pos > 0) {
        const parent = (pos - 1) >> 1;
        if (!(this.compare(last, items[parent]) < 0)) break;
        items[pos] = items[parent];
        pos = parent;
      }
    } catch (error) {
      // Undo: move each item on the path from the hole up to the root back down one level.
      for (let p = pos; p > 0; ) {
        const parent = (p - 1) >> 1;
        items[p] = items[parent];
        p = parent;
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

/**
 * A binary min-heap of timer entries ordered by deadline, then by insertion order, so timers
 * with equal deadlines fire first-in first-out (deterministic under virtual time).
 *
 * Cancelled entries stay in the heap and are skipped when popped (lazy deletion, as asyncio
 * does); when more than half the heap is cancelled it is rebuilt, so cancelling 100k sleepers
 * costs O(n) in total rather than O(n log n) removals.
 */

/** Anything the loop can schedule at a deadline. */
export interface TimerEntry {
  /** Deadline in loop time (ms). */
  _when: number;
  /** Insertion order while in the heap; -1 when not in the heap. Set by the heap. */
  _seq: number;
  /** True once cancelled; the heap skips it. */
  _cancelled: boolean;
  /** Runs the timer's work. */
  _run(): void;
}

function before(a: TimerEntry, b: TimerEntry): boolean {
  return a._when < b._when || (a._when === b._when && a._seq < b._seq);
}

export class TimerHeap {
  #items: TimerEntry[] = [];
  #seq = 0;
  #cancelled = 0;

  get size(): number {
    return this.#items.length - this.#cancelled;
  }

  push(entry: TimerEntry): void {
    entry._seq = this.#seq++;
    const items = this.#items;
    let i = items.length;
    items.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent];
      if (!before(entry, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = entry;
  }

  /** Records that an entry in the heap was cancelled; may compact the heap. */
  noteCancelled(): void {
    this.#cancelled++;
    if (this.#cancelled > 64 && this.#cancelled * 2 > this.#items.length) this.#compact();
  }

  /** The earliest live entry, or undefined. Drops cancelled entries from the top. */
  peek(): TimerEntry | undefined {
    const items = this.#items;
    while (items.length > 0 && items[0]._cancelled) {
      this.#popTop();
      this.#cancelled--;
    }
    return items[0];
  }

  /** Removes and returns the earliest live entry whose deadline is <= `now`. */
  popDue(now: number): TimerEntry | undefined {
    const top = this.peek();
    if (top === undefined || top._when > now) return undefined;
    this.#popTop();
    return top;
  }

  clear(): void {
    for (const e of this.#items) e._seq = -1;
    this.#items = [];
    this.#cancelled = 0;
  }

  #popTop(): void {
    const items = this.#items;
    items[0]._seq = -1;
    const last = items.pop()!;
    if (items.length === 0) return;
    const n = items.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(items[r], items[l]) ? r : l;
      if (!before(items[c], last)) break;
      items[i] = items[c];
      i = c;
    }
    items[i] = last;
  }

  #compact(): void {
    const live = this.#items.filter((e) => !e._cancelled);
    live.sort((a, b) => (before(a, b) ? -1 : 1));
    // A sorted array is a valid heap.
    this.#items = live;
    this.#cancelled = 0;
  }
}

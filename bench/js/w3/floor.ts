import type { BenchFn } from "../../lib/contender.ts";
import { checkSum, shape } from "./shape.ts";

/**
 * The least a bounded async queue can be: a ring buffer of items and FIFO lists of parked
 * getters and putters, each woken with the resolve function of a plain promise. No
 * cancellation, no fairness guarantees beyond FIFO wake-ups.
 */
class MinimalQueue<T> {
  readonly #items: (T | undefined)[];
  #head = 0;
  #size = 0;
  readonly #getters: ((item: T) => void)[] = [];
  #getHead = 0;
  readonly #putters: (() => void)[] = [];
  #putHead = 0;

  constructor(readonly capacity: number) {
    this.#items = new Array(capacity);
  }

  put(item: T): Promise<void> | undefined {
    if (this.#getHead < this.#getters.length) {
      // Hand the item straight to the oldest parked getter.
      const getter = this.#getters[this.#getHead];
      this.#getters[this.#getHead++] = undefined as never;
      if (this.#getHead === this.#getters.length) this.#getters.length = this.#getHead = 0;
      getter(item);
      return undefined;
    }
    if (this.#size < this.capacity) {
      this.#items[(this.#head + this.#size++) % this.capacity] = item;
      return undefined;
    }
    return new Promise<void>((resolve) => this.#putters.push(resolve)).then(() => this.put(item));
  }

  get(): Promise<T> | T {
    if (this.#size > 0) {
      const item = this.#items[this.#head] as T;
      this.#items[this.#head] = undefined;
      this.#head = (this.#head + 1) % this.capacity;
      this.#size--;
      if (this.#putHead < this.#putters.length) {
        const putter = this.#putters[this.#putHead];
        this.#putters[this.#putHead++] = undefined as never;
        if (this.#putHead === this.#putters.length) this.#putters.length = this.#putHead = 0;
        putter();
      }
      return item;
    }
    return new Promise<T>((resolve) => this.#getters.push(resolve));
  }
}

const bench: BenchFn = async (n, params) => {
  const { producers, consumers, perProducer, perConsumer, expectedSum } = shape(n, params);
  const queue = new MinimalQueue<number>(100);
  const t0 = performance.now();
  const work: Promise<unknown>[] = [];
  for (let p = 0; p < producers; p++) {
    work.push(
      (async () => {
        for (let i = 0; i < perProducer; i++) await queue.put(i);
      })(),
    );
  }
  for (let c = 0; c < consumers; c++) {
    work.push(
      (async () => {
        let sum = 0;
        for (let i = 0; i < perConsumer; i++) sum += await queue.get();
        return sum;
      })(),
    );
  }
  const sums: unknown[] = [];
  for (const w of work) sums.push(await w);
  const ms = performance.now() - t0;
  checkSum(sums, expectedSum);
  return { ms };
};
export default bench;

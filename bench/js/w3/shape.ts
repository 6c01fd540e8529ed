import type { BenchParams } from "../../lib/contender.ts";

/** How many items each producer puts and each consumer gets (n is split evenly). */
export function shape(n: number, params: BenchParams) {
  const producers = Number(params.producers);
  const consumers = Number(params.consumers);
  if (n % producers !== 0 || n % consumers !== 0) {
    throw new Error(`N = ${n} must be a multiple of ${producers} and ${consumers}`);
  }
  const perProducer = n / producers;
  // The items are 0..perProducer-1 from each producer: what the consumers' sums must add up to.
  const expectedSum = (producers * perProducer * (perProducer - 1)) / 2;
  return { producers, consumers, perProducer, perConsumer: n / consumers, expectedSum };
}

/** Throws unless the consumers together received every item exactly once (by sum). */
export function checkSum(sums: readonly unknown[], expected: number): void {
  let total = 0;
  for (const s of sums) if (typeof s === "number") total += s;
  if (total !== expected) throw new Error(`items lost or duplicated: sum ${total} ≠ ${expected}`);
}

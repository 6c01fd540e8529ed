/**
 * A small seeded PRNG (mulberry32) shared by the JavaScript and Python sides of the benchmarks,
 * so that every contender of a workload sees exactly the same pseudo-random inputs.
 * `bench/py/common.py` has the same generator; the smoke test checks that both agree.
 */

/** Returns a generator of floats in [0, 1) for `seed` (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` integer delays uniform in `[0, maxDelay)` ms, from `seed`. */
export function uniformDelays(n: number, maxDelay: number, seed: number): number[] {
  const next = mulberry32(seed);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * maxDelay);
  return out;
}

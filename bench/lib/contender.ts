/** The shape of a JavaScript contender: a default export measuring one workload of size `n`. */

/** Parameters of the workload (`warmup` is 1 during the warm-up run). */
export type BenchParams = Readonly<Record<string, number | string>>;

/** Measures the workload once and returns raw figures (`ms`, `overheadMs`, `bytesPerTask`…). */
export type BenchFn = (n: number, params: BenchParams) => Promise<Record<string, number>>;

/** Runs a full garbage collection (needs `--expose-gc`), twice to clear weak references. */
export function fullGc(): void {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error("run with --expose-gc");
  gc();
  gc();
}

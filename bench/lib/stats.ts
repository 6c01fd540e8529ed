/** Order statistics for the repetitions of one contender. */

/** The median of `values` (mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Smallest and largest of `values`. */
export function range(values: readonly number[]): [number, number] {
  return [Math.min(...values), Math.max(...values)];
}

/** Half the interquartile spread relative to the median: a rough noise figure (0.05 = ±5 %). */
export function relativeSpread(values: readonly number[]): number {
  if (values.length < 3) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => {
    const i = (s.length - 1) * p;
    const lo = Math.floor(i);
    return s[lo] + (s[Math.ceil(i)] - s[lo]) * (i - lo);
  };
  return (q(0.75) - q(0.25)) / 2 / median(values);
}

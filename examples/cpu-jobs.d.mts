/** Types of examples/cpu-jobs.mjs. */
export function countPrimes(limit: number): number;

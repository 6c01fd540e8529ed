import type { BenchFn } from "../../lib/contender.ts";

async function noop(): Promise<void> {}
async function body(): Promise<void> {
  await noop();
}

// The same body without any timeout: what the scope itself costs is the difference.
const bench: BenchFn = async (n) => {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await body();
  return { ms: performance.now() - t0 };
};
export default bench;

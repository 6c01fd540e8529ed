/**
 * Runs one contender of one workload in this (fresh) process and prints its measurement as a
 * `RESULT {json}` line. Started by `bench/run.ts`; never imports another contender, so no
 * library's global state (asyncio-ts's AsyncLocalStorage promise hooks, Effect's scheduler)
 * touches another's figures.
 *
 * Usage: node --import tsx bench/child.ts <js/dir/file.ts> <n> <warmupN> <paramsJson>
 */
import type { BenchFn } from "./lib/contender.ts";

const [file, nArg, warmArg, paramsArg] = process.argv.slice(2);
const n = Number(nArg);
const warmN = Number(warmArg);
const params = JSON.parse(paramsArg ?? "{}") as Record<string, number | string>;
const mod = (await import(new URL(`./js/${file}`, import.meta.url).href)) as {
  default: BenchFn;
};
// A smaller run first, so that the measured run does not pay for compiling the code paths.
if (warmN > 0) await mod.default(warmN, { ...params, warmup: 1 });
globalThis.gc?.();
const result = await mod.default(n, params);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);

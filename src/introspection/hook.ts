/**
 * The global introspection hook: `globalThis[Symbol.for("asyncio-ts.introspect")]`, a function
 * that returns a {@link ProcessSnapshot} of every running loop. The package entry point loads
 * this module, so any program that uses asyncio-ts can be inspected from outside by the
 * `asyncio-ts ps` / `pstree` command line tool, which evaluates the hook through the Node
 * inspector (see cli.ts), without the program opting in.
 *
 * Calling the hook reads the loops' task lists and waiters and changes nothing. Installing it
 * costs one global property; nothing runs until someone calls it.
 *
 * Several copies of the package in one process (two versions in node_modules) share one hook:
 * each copy adds its provider, and the hook merges their loops.
 *
 * @module
 */
import { captureProcess, type LoopSnapshot, type ProcessSnapshot } from "./snapshot.ts";

/** The registry key of the hook. */
export const HOOK_KEY: unique symbol = Symbol.for("asyncio-ts.introspect") as never;

type Provider = () => ProcessSnapshot;

/** The hook function, with the providers of every copy of the package loaded. */
export interface IntrospectionHook {
  (): ProcessSnapshot;
  readonly providers: Provider[];
}

/** Merges the snapshots of several copies of the package, renumbering loops that collide. */
export function mergeSnapshots(snapshots: ProcessSnapshot[]): ProcessSnapshot {
  const loops: LoopSnapshot[] = [];
  const used = new Set<number>();
  for (const snapshot of snapshots) {
    for (const loop of snapshot.loops) {
      let n = loop.loop;
      if (used.has(n)) {
        n = Math.max(...used) + 1;
        for (const t of loop.tasks) t.loop = n;
      }
      used.add(n);
      loops.push({ ...loop, loop: n });
    }
  }
  return { version: 1, pid: process.pid, node: process.version, loops };
}

function install(): void {
  const global = globalThis as unknown as Record<symbol, unknown>;
  const existing = global[HOOK_KEY] as IntrospectionHook | undefined;
  if (typeof existing === "function" && Array.isArray(existing.providers)) {
    if (!existing.providers.includes(captureProcess)) existing.providers.push(captureProcess);
    return;
  }
  const providers: Provider[] = [captureProcess];
  const hook = (): ProcessSnapshot => mergeSnapshots(providers.map((provide) => provide()));
  Object.defineProperty(hook, "providers", { value: providers });
  Object.defineProperty(global, HOOK_KEY, { value: hook, configurable: true, writable: true });
}

install();

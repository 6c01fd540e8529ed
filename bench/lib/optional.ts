/**
 * Looks up an asyncio-ts export that may not exist yet in this build, so that a contender can be
 * written before its module lands (the orchestrator skips it until then, via `requires`).
 */
import * as asyncio from "asyncio-ts";

/** The export `name` of asyncio-ts, typed as `T`. @throws if this build does not have it. */
export function fromAsyncioTs<T>(name: string): T {
  const value = (asyncio as unknown as Record<string, unknown>)[name];
  if (value === undefined) throw new Error(`skipped: ${name} not available in asyncio-ts`);
  return value as T;
}

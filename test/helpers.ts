/**
 * Shared test helpers. Timing-dependent tests run on the virtual clock: time jumps to the next
 * deadline whenever nothing is runnable, so tests are instant and deterministic.
 */
import assert from "node:assert/strict";
import { getRunningLoop, type RunOptions, run } from "../src/index.ts";

/** Runs `main` on a fresh loop with virtual time and no SIGINT handling. */
export function runVirtual<T>(
  main: () => T | PromiseLike<T>,
  options: RunOptions = {},
): Promise<T> {
  return run(main, { clock: "virtual", handleSignals: false, ...options });
}

/** Collects what the loop's exception handler receives, for assertions. */
export function collectExceptions(): {
  contexts: Array<{ message: string; exception?: unknown }>;
  handler: (loop: unknown, context: { message: string; exception?: unknown }) => void;
} {
  const contexts: Array<{ message: string; exception?: unknown }> = [];
  return { contexts, handler: (_loop, context) => contexts.push(context) };
}

/** The running loop's time (ms; virtual in `runVirtual`). */
export const now = (): number => getRunningLoop().time();

/** Settles `aw` and returns the error it failed with (fails the test if it succeeded). */
export async function errorOf(aw: PromiseLike<unknown>): Promise<unknown> {
  try {
    await aw;
  } catch (e) {
    return e;
  }
  return assert.fail("expected a failure");
}

/** Calls `fn` and returns what it threw (fails the test if it returned). */
export function syncErrorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return assert.fail("expected a throw");
}

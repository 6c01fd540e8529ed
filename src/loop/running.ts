/**
 * Finding the running loop from anywhere in a task's call tree or a loop callback.
 */
import { RuntimeError } from "../exceptions.ts";
import { als, NO_LOOP_MESSAGE } from "../internal/context.ts";
import type { EventLoop } from "./event-loop.ts";

/** The running loop, or `null` outside `run()`. @internal */
export function runningLoopOrNull(): EventLoop | null {
  const store = als.getStore();
  if (store === undefined) return null;
  return "_isTask" in store ? store._loop : store;
}

/**
 * The event loop running the current code.
 *
 * @throws {RuntimeError} outside `run()` (no running event loop).
 *
 * @example
 * ```ts
 * import { run, getRunningLoop } from "asyncio-ts";
 * await run(() => console.log(getRunningLoop().time() >= 0)); // true
 * ```
 */
export function getRunningLoop(): EventLoop {
  const loop = runningLoopOrNull();
  if (loop === null || loop.isClosed()) throw new RuntimeError(NO_LOOP_MESSAGE);
  return loop;
}

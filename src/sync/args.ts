/**
 * Argument checks of the synchronisation layer, on the shared message template of
 * `internal/validate.ts`. Each check throws before any state changes.
 *
 * @module
 */
import type { Task } from "../futures/task.ts";
import { als } from "../internal/context.ts";
import { rangeError, typeError } from "../internal/validate.ts";

/**
 * A count: an integer `>= min`, or `Infinity` when `allowInfinity`.
 * @throws {TypeError} if not a number. @throws {RangeError} otherwise out of range.
 */
export function checkCount(
  name: string,
  value: unknown,
  min: number,
  allowInfinity: boolean,
): number {
  const expected = `an integer from ${min} and up${allowInfinity ? " (or Infinity)" : ""}`;
  if (typeof value !== "number") throw typeError(name, expected, value);
  if (
    value === Number.POSITIVE_INFINITY ? !allowInfinity : !Number.isInteger(value) || value < min
  ) {
    throw rangeError(name, expected, value);
  }
  return value;
}

/** The task running the current code, or null (no loop, or a plain loop callback). */
export function currentTaskOrNull(): Task<unknown> | null {
  const store = als.getStore();
  return store !== undefined && "_isTask" in store ? (store as unknown as Task<unknown>) : null;
}

/**
 * A constructor that takes no arguments was given some: asyncio's primitives dropped their
 * `loop` parameter (3.10) and refuse one, and so do these (they bind to the running loop on
 * first use). @throws {TypeError}
 */
export function checkNoArguments(what: string, count: number): void {
  if (count > 0) {
    throw new TypeError(
      `${what}() takes no arguments, got ${count} (it binds to the running loop on first use; ` +
        "there is no loop parameter)",
    );
  }
}

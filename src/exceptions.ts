/**
 * Every error asyncio-ts throws, in one module.
 *
 * Each class carries its asyncio name as `.name`, so logs read the same as in Python. asyncio's
 * `ValueError` becomes the built-in `RangeError` (bad value) or `TypeError` (wrong type); those
 * are not redefined here.
 *
 * @module
 */

/**
 * Who asked for a cancellation. asyncio only carries a message; asyncio-ts also records where a
 * cancellation came from, so that a `CancelledError` seen in a log explains itself.
 */
export interface CancellationOrigin {
  /**
   * What cancelled: `"task"` (a task called `cancel()`), `"callback"` (a loop callback or code
   * outside any task called `cancel()`), `"timeout"` (a `timeout()` or `waitFor()` deadline
   * passed), `"taskgroup"` (a TaskGroup aborted because a child or its body failed or the task
   * running it was cancelled, or `tg.cancel()` was called), `"signal"` (SIGINT cancelling the
   * main task), `"shutdown"` (`run()` cancelling leftover tasks, or a deadlocked main task).
   * Awaiting a plain Future that was cancelled with `future.cancel()` throws a `CancelledError`
   * whose `origin` is `undefined`.
   */
  readonly kind: "task" | "callback" | "timeout" | "taskgroup" | "signal" | "shutdown";
  /** The task that requested the cancellation, if one did. */
  readonly requester?: { readonly name: string } | null;
  /** For `"timeout"`: the deadline that expired, in loop time (ms). */
  readonly deadline?: number;
  /** For `"taskgroup"`: the child error that made the group abort. */
  readonly error?: unknown;
  /** A short human-readable account, used as the message when `cancel()` was given none. */
  readonly description: string;
}

/**
 * The operation was cancelled.
 *
 * Thrown into a task at the point where it waits when the task is cancelled. Catch it only to
 * clean up, then rethrow it (see {@link isCancelledError}); a task that swallows it keeps
 * running, exactly as in asyncio.
 *
 * `message` is the `msg` given to `cancel(msg)`; when none was given, asyncio-ts fills in who
 * cancelled (see {@link CancelledError.origin}).
 */
export class CancelledError extends Error {
  override readonly name: string = "CancelledError";
  /** Who cancelled, when the runtime knows. */
  readonly origin: CancellationOrigin | undefined;
  /** The message given to `cancel(msg)`, or `undefined` when none was given. */
  readonly cancelMessage: string | undefined;

  constructor(message?: string, options?: { origin?: CancellationOrigin; cause?: unknown }) {
    const text = message ?? options?.origin?.description ?? "";
    super(text, options && "cause" in options ? { cause: options.cause } : undefined);
    this.cancelMessage = message;
    this.origin = options?.origin;
  }
}

/**
 * A deadline passed: raised by `timeout()`, `waitFor()`, `asCompleted()` and friends.
 *
 * Its `cause` is the `CancelledError` that the expired timeout turned into this error.
 */
export class TimeoutError extends Error {
  override readonly name: string = "TimeoutError";
}

/** An operation is not allowed in the Future's or Task's current state (asyncio's `InvalidStateError`). */
export class InvalidStateError extends Error {
  override readonly name: string = "InvalidStateError";
}

/**
 * A misuse of the runtime: waiting without a running loop, `run()` inside a running loop,
 * setting a Task's result by hand, releasing an unlocked Lock. Named after Python's
 * `RuntimeError`.
 */
export class RuntimeError extends Error {
  override readonly name: string = "RuntimeError";
}

/**
 * The program was interrupted (SIGINT / Ctrl-C). `run()` rejects with it after the main task has
 * been cancelled and everything has cleaned up.
 *
 * Thrown by the program itself, it ends the program as in asyncio: when a task ends with it, or
 * a loop callback throws it, it escapes the loop: `run()` (or `runner.run()`) rejects with it at
 * once, whatever the main task was doing, and the exception handler does not see it; `run()`
 * then cancels the tasks left, main included, as usual. Caught inside the task that threw it,
 * it is an ordinary error.
 */
export class KeyboardInterrupt extends Error {
  override readonly name: string = "KeyboardInterrupt";
  constructor(message = "interrupted (SIGINT)") {
    super(message);
  }
}

/**
 * Several errors raised together, as Python's `ExceptionGroup`; a TaskGroup throws one with every
 * child error that was not a cancellation.
 *
 * Constructed in Python's argument order, `new ExceptionGroup(message, errors)`. It extends the
 * built-in `AggregateError`, so `.errors` works too; `.exceptions` and `.errors` are the same array.
 */
export class ExceptionGroup extends AggregateError {
  override readonly name: string = "ExceptionGroup";
  /** The message (Python's `.message`); an alias of `message`, kept for compatibility. */
  readonly groupMessage: string;

  constructor(message: string, errors: readonly unknown[]) {
    if (typeof message !== "string") {
      throw new TypeError(`Expected \`message\` to be a string, got ${describe(message)}`);
    }
    if (!Array.isArray(errors)) {
      throw new TypeError(`Expected \`errors\` to be an array, got ${describe(errors)}`);
    }
    if (errors.length === 0) {
      throw new RangeError("Expected `errors` to be a non-empty array, got an empty array");
    }
    super([...errors], message);
    this.groupMessage = message;
  }

  /** As Python's `str(group)`: the message and the count, `"msg (2 sub-exceptions)"`. */
  override toString(): string {
    const n = this.errors.length;
    return `${this.name}: ${this.message} (${n} sub-exception${n === 1 ? "" : "s"})`;
  }

  /** The grouped errors (the same array as `.errors`). */
  get exceptions(): unknown[] {
    return this.errors;
  }

  /**
   * The errors that match, kept in a group of the same message, or `null` when none match.
   * Python's `ExceptionGroup.subgroup`: `condition` is an error class (matched with
   * `instanceof`) or a predicate, and it is tried on this group and on nested groups too, so a
   * group that matches as a whole is kept whole (and `subgroup(() => true)` returns this group).
   */
  subgroup(condition: ErrorMatcher): ExceptionGroup | null {
    return this.split(condition)[0];
  }

  /**
   * Splits the group into `[matching, rest]`, each a group or `null`: Python's
   * `ExceptionGroup.split`. The condition is tried on this group first (a match returns
   * `[this, null]`), then on each nested group, then on each single error. The groups made for
   * the parts come from {@link derive} and keep this group's `cause` and `stack`.
   */
  split(condition: ErrorMatcher): [ExceptionGroup | null, ExceptionGroup | null] {
    return splitGroup(this, toPredicate(condition));
  }

  /**
   * A group of the same kind and message holding `errors`: what {@link split} and
   * {@link subgroup} build their parts with (Python's `derive`). Override it in a subclass
   * whose constructor takes other arguments.
   */
  derive(errors: readonly unknown[]): ExceptionGroup {
    return new ExceptionGroup(this.groupMessage, errors);
  }
}

function splitGroup(
  group: ExceptionGroup,
  predicate: (error: unknown) => boolean,
): [ExceptionGroup | null, ExceptionGroup | null] {
  if (predicate(group)) return [group, null];
  const yes: unknown[] = [];
  const no: unknown[] = [];
  for (const e of group.errors) {
    if (e instanceof ExceptionGroup) {
      const [a, b] = splitGroup(e, predicate);
      if (a !== null) yes.push(a);
      if (b !== null) no.push(b);
    } else if (predicate(e)) {
      yes.push(e);
    } else {
      no.push(e);
    }
  }
  return [derivePart(group, yes), derivePart(group, no)];
}

/** A part of a split: derived from `group`, with its cause and stack (Python copies both). */
function derivePart(group: ExceptionGroup, errors: unknown[]): ExceptionGroup | null {
  if (errors.length === 0) return null;
  const part = group.derive(errors);
  if ("cause" in group) {
    Object.defineProperty(part, "cause", {
      value: group.cause,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  if (group.stack !== undefined) part.stack = group.stack;
  return part;
}

/**
 * What `ExceptionGroup.split`/`subgroup` take: an error class (`RangeError`, `QueueEmpty`…),
 * matched with `instanceof`, or a predicate.
 */
export type ErrorMatcher =
  | (abstract new (
      // biome-ignore lint/suspicious/noExplicitAny: any constructor signature matches.
      ...args: any[]
    ) => unknown)
  | ((error: unknown) => boolean);

function toPredicate(condition: ErrorMatcher): (error: unknown) => boolean {
  if (typeof condition !== "function") {
    throw new TypeError(
      `Expected \`condition\` to be an error class or a predicate, got ${describe(condition)}`,
    );
  }
  const proto = (condition as { prototype?: unknown }).prototype;
  if (proto !== undefined && (proto === Error.prototype || proto instanceof Error)) {
    return (error) => error instanceof (condition as new () => unknown);
  }
  return condition as (error: unknown) => boolean;
}

/** `getNowait()` on an empty queue. */
export class QueueEmpty extends Error {
  override readonly name: string = "QueueEmpty";
}

/** `putNowait()` on a full queue. */
export class QueueFull extends Error {
  override readonly name: string = "QueueFull";
}

/** A `put` or `get` on a queue that has been shut down (asyncio 3.13). */
export class QueueShutDown extends Error {
  override readonly name: string = "QueueShutDown";
}

/** A Barrier was aborted or reset while a task waited on it. */
export class BrokenBarrierError extends RuntimeError {
  override readonly name: string = "BrokenBarrierError";
}

/**
 * The stream ended before the requested bytes arrived (asyncio's `IncompleteReadError`).
 * `partial` holds the bytes read before the end; `expected` is the count asked for, or `null`
 * when reading until a separator.
 */
export class IncompleteReadError extends Error {
  override readonly name: string = "IncompleteReadError";
  /** The bytes read before the stream ended. */
  readonly partial: Uint8Array;
  /** How many bytes were asked for, or `null` when reading up to a separator. */
  readonly expected: number | null;

  constructor(partial: Uint8Array, expected: number | null) {
    const want = expected === null ? "undefined" : String(expected);
    super(`${partial.length} bytes read on a total of ${want} expected bytes`);
    this.partial = partial;
    this.expected = expected;
  }
}

/**
 * A line or separator search exceeded the reader's `limit` (asyncio's `LimitOverrunError`).
 * `consumed` is the number of bytes to consume to get past the problem.
 *
 * **Differences from asyncio:** it is a `RangeError`. asyncio's `readline()` turns it into a
 * `ValueError`, which asyncio-ts spells `RangeError`; being both, the error `readline()` throws
 * matches either check.
 */
export class LimitOverrunError extends RangeError {
  override readonly name: string = "LimitOverrunError";
  /** How many bytes to consume to get past the data that overran the limit. */
  readonly consumed: number;

  constructor(message: string, consumed: number) {
    super(message);
    this.consumed = consumed;
  }
}

/**
 * Whether `error` is a cancellation: a {@link CancelledError}, or an `AbortError` whose cause or
 * reason is one (what `fetch`, `fs/promises` and `timers/promises` throw when a task's signal
 * aborts).
 *
 * Use it to rethrow cancellation that a broad `catch` caught by accident:
 *
 * @example
 * ```ts
 * import { isCancelledError, run, sleep } from "asyncio-ts";
 * async function work() {
 *   await sleep(10);
 *   throw new Error("boom");
 * }
 * await run(async () => {
 *   try {
 *     await work();
 *   } catch (e) {
 *     if (isCancelledError(e)) throw e; // never swallow cancellation
 *     console.log(`work failed: ${(e as Error).message}`);
 *   }
 * });
 * ```
 */
export function isCancelledError(error: unknown): boolean {
  if (error instanceof CancelledError) return true;
  if (error !== null && typeof error === "object" && (error as Error).name === "AbortError") {
    return (error as Error).cause instanceof CancelledError;
  }
  return false;
}

/**
 * Rethrows `error` if it is a cancellation ({@link isCancelledError}); otherwise returns, so the
 * caller can handle the real error.
 *
 * @example
 * ```ts
 * import { createTask, rethrowIfCancelled, run, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const poller = createTask(async () => {
 *     for (;;) {
 *       try {
 *         await sleep(10); // stands for a request that may fail
 *       } catch (error) {
 *         rethrowIfCancelled(error); // a cancellation ends the loop
 *         console.log("retrying after", error); // a real failure does not
 *       }
 *     }
 *   });
 *   await sleep(25);
 *   poller.cancel();
 *   await poller.then(undefined, () => {});
 *   console.log(poller.cancelled()); // true
 * });
 * ```
 */
export function rethrowIfCancelled(error: unknown): void {
  if (isCancelledError(error)) throw error;
}

function describe(value: unknown): string {
  if (typeof value === "string") return `\`${JSON.stringify(value)}\` (string)`;
  if (Array.isArray(value)) return "an array";
  return `\`${String(value)}\` (${value === null ? "null" : typeof value})`;
}

/**
 * Helpers shared by the combinators and structured-concurrency modules: turning what a caller
 * passed into Futures (with errors that name the argument), the result types of the
 * combinators, and the short texts used in cancellation origins and error messages.
 *
 * Not part of the public surface except the types re-exported from the package entry.
 *
 * @module
 */
import { RuntimeError } from "../exceptions.ts";
import { currentTask, ensureFuture } from "../futures/current.ts";
import { Future } from "../futures/future.ts";
import type { Task } from "../futures/task.ts";
import { isThenable, typeError } from "../internal/validate.ts";
import type { EventLoop } from "../loop/event-loop.ts";
import { runningLoopOrNull } from "../loop/running.ts";

/**
 * What awaiting `A` gives: the value of a Future, Task or promise, or the awaited return value
 * of a function (functions are started as tasks).
 */
export type AwaitedResult<A> = A extends (...args: never[]) => infer R ? Awaited<R> : Awaited<A>;

/** The Future the combinators hand back for `A`: a Future or Task as is, otherwise a new Future. */
export type FutureOf<A> = A extends Future<unknown> ? A : Future<AwaitedResult<A>>;

/** Whether `value` is something the combinators accept: a Future, a thenable or a function. */
export function isAwaitableOrFunction(value: unknown): boolean {
  return typeof value === "function" || isThenable(value);
}

/** Throws a TypeError naming `name` unless `value` is a Future, a thenable or a function. */
export function checkAwaitable(name: string, value: unknown): void {
  if (!isAwaitableOrFunction(value)) {
    throw typeError(name, "a Future, a promise or a function", value);
  }
}

/** A Future for `value`, which must already have passed {@link checkAwaitable}. */
export function toFuture<T>(value: unknown): Future<T> {
  return ensureFuture(value as PromiseLike<T>);
}

/**
 * Reads an iterable of awaitables into an array, checking each element. Throws a TypeError for
 * a non-iterable, a string, or a single Future/promise passed where a collection is expected.
 */
export function collectAwaitables(name: string, aws: unknown, what: string): unknown[] {
  if (
    aws !== null &&
    typeof aws === "object" &&
    typeof (aws as PromiseLike<unknown>).then === "function"
  ) {
    const kind = aws instanceof Future ? aws.constructor.name : "promise";
    throw new TypeError(
      `Expected \`${name}\` to be ${what}, got a single ${kind}: wrap it in an array, e.g. [${kind === "promise" ? "p" : "task"}]`,
    );
  }
  if (
    aws === null ||
    typeof aws !== "object" ||
    typeof (aws as Iterable<unknown>)[Symbol.iterator] !== "function"
  ) {
    throw typeError(name, what, aws);
  }
  const items = Array.from(aws as Iterable<unknown>);
  for (let i = 0; i < items.length; i++) checkAwaitable(`${name}[${i}]`, items[i]);
  return items;
}

/**
 * The loop the given Futures share. asyncio raises ValueError when Futures of different loops
 * are combined; here that is a RangeError. Futures created outside any loop have none yet and
 * are skipped.
 */
export function commonLoop(futures: Iterable<Future<unknown>>, what: string): EventLoop | null {
  let loop: EventLoop | null = null;
  for (const fut of futures) {
    const l = fut._loop;
    if (l === null) continue;
    if (loop === null) loop = l;
    else if (l !== loop) {
      throw new RangeError(`${what}: the awaitables belong to different event loops`);
    }
  }
  return loop;
}

/**
 * Checks, before anything is started, that the awaitables in `items` (already checked with
 * {@link checkAwaitable}) will all be on one loop: each Future on its own, each function and
 * promise on the running loop, where it becomes a Task or a Future. Checking the Futures alone
 * would miss a function next to a Future of another loop, and its task would be started before
 * the mismatch was found.
 *
 * @throws {RangeError} if they belong to different loops (asyncio's ValueError).
 */
export function checkOneLoop(items: readonly unknown[], what: string): void {
  const futures: Future<unknown>[] = [];
  let others = false;
  for (const item of items) {
    if (item instanceof Future) futures.push(item);
    else others = true;
  }
  const loop = commonLoop(futures, what);
  if (others && loop !== null) {
    const running = runningLoopOrNull();
    if (running !== null && running !== loop) {
      throw new RangeError(`${what}: the awaitables belong to different event loops`);
    }
  }
}

/** The running task, or a RuntimeError that says what needs one. */
export function requireTask(what: string): Task<unknown> {
  let task: Task<unknown> | null;
  try {
    task = currentTask();
  } catch {
    // currentTask() throws outside any loop; the message below says more about the misuse.
    task = null;
  }
  if (task === null) {
    throw new RuntimeError(`${what} must be used inside a task: call it from a task's code`);
  }
  return task;
}

/** An error in Python's repr style, `Error('boom')`, for cancellation descriptions. */
export function reprError(error: unknown): string {
  if (error instanceof Error) {
    const message = error.message.length > 80 ? `${error.message.slice(0, 77)}...` : error.message;
    return `${error.name}('${message.replace(/'/g, "\\'")}')`;
  }
  try {
    return String(error);
  } catch {
    // An object whose toString throws still needs a description.
    return typeof error;
  }
}

/** A loop time for messages: integers as is, fractions rounded to 3 decimals. */
export function formatTime(ms: number): string {
  return Number.isInteger(ms) ? String(ms) : String(Math.round(ms * 1000) / 1000);
}

/**
 * Module-level functions of the task layer: `createTask`, `currentTask`, `allTasks`,
 * `currentSignal` and `ensureFuture`.
 */
import { RuntimeError } from "../exceptions.ts";
import { als, NO_LOOP_MESSAGE } from "../internal/context.ts";
import { registry } from "../internal/registry.ts";
import { typeError } from "../internal/validate.ts";
import { getRunningLoop, runningLoopOrNull } from "../loop/running.ts";
import { Future } from "./future.ts";
import { makeTask, Task, type TaskOptions } from "./task.ts";

/**
 * Starts `fn` as a Task on the running loop and returns the Task. The task begins on a later
 * loop iteration (or at once, up to its first wait, with `eagerStart`). The loop keeps a strong
 * reference to it until it is done, so a task you do not keep a reference to still runs.
 *
 * **Cancellation:** `task.cancel()`; see {@link Task}.
 *
 * **Differences from asyncio:** takes a function, not a coroutine object, because a called async
 * function is already running: write `createTask(() => work(1))`, not `createTask(work(1))`.
 *
 * @throws {TypeError} if `fn` is not a function (for example a promise).
 * @throws {RuntimeError} outside a running loop.
 *
 * @example
 * ```ts
 * import { run, createTask, sleep } from "asyncio-ts";
 * async function sayAfter(delay: number, what: string) {
 *   await sleep(delay);
 *   console.log(what);
 * }
 * await run(async () => {
 *   const t1 = createTask(() => sayAfter(1000, "Hello"));
 *   const t2 = createTask(() => sayAfter(2000, "World"));
 *   await t1;
 *   await t2; // two seconds in all, not three
 * });
 * ```
 */
export function createTask<T>(fn: () => T | PromiseLike<T>, options?: TaskOptions): Task<T> {
  if (registry.taskFactorySet) {
    // Some loop has a task factory: this one may.
    const store = als.getStore();
    if (store !== undefined) {
      const loop = "_isTask" in store ? store._loop : store;
      if (loop._taskFactory !== null) return makeTask(loop, fn, options);
    }
  }
  return new Task(fn, options);
}

/**
 * The Task running the current code, or `null` in a loop callback that is not part of a task.
 *
 * @throws {RuntimeError} outside `run()`.
 *
 * @example
 * ```ts
 * import { createTask, currentTask, getRunningLoop, run, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const task = createTask(() => currentTask()?.name, { name: "worker" });
 *   console.log(await task); // "worker"
 *   getRunningLoop().callSoon(() => console.log(currentTask())); // null
 *   await sleep(0); // the callback above runs outside any task
 * });
 * ```
 */
export function currentTask(): Task<unknown> | null {
  const store = als.getStore();
  if (store === undefined) throw new RuntimeError(NO_LOOP_MESSAGE);
  return "_isTask" in store ? (store as unknown as Task<unknown>) : null;
}

/**
 * The tasks of the running loop that are not done yet, the current one included (a new Set).
 *
 * @throws {RuntimeError} outside `run()`.
 *
 * @example
 * ```ts
 * import { allTasks, createTask, currentTask, run, sleep } from "asyncio-ts";
 * await run(async () => {
 *   currentTask()!.name = "main";
 *   createTask(() => sleep(10), { name: "sleeper" });
 *   console.log([...allTasks()].map((task) => task.name)); // ["main", "sleeper"]
 * });
 * ```
 */
export function allTasks(): Set<Task<unknown>> {
  return new Set(getRunningLoop()._tasks);
}

/**
 * The `AbortSignal` of the current task: aborted when the task is asked to cancel. Pass it to
 * signal-aware APIs (`fetch`, `fs/promises`, `timers/promises`, `events.once`, `child_process`)
 * so that cancelling the task stops them too.
 *
 * @throws {RuntimeError} outside a task.
 *
 * @example
 * ```ts
 * import { run, currentSignal } from "asyncio-ts";
 * import { readFile } from "node:fs/promises";
 * await run(async () => {
 *   const text = await readFile("package.json", { encoding: "utf8", signal: currentSignal() });
 *   console.log(text.length > 0);
 * });
 * ```
 */
export function currentSignal(): AbortSignal {
  const task = currentTask();
  if (task === null) {
    throw new RuntimeError("currentSignal() called outside a task: call it from a task's code");
  }
  return task.signal;
}

/** Anything `ensureFuture` and the combinators accept: a Future, a promise, or a function to run as a task. */
export type AwaitableOrFunction<T> = PromiseLike<T> | (() => T | PromiseLike<T>);

/**
 * Returns a Future for `awaitable`: a Future or Task as is; a function started as a Task; any
 * other promise-like wrapped in a new Future on the running loop (if any).
 *
 * **Cancellation:** cancelling the wrapper of a plain promise cancels only the wrapper: a
 * promise has no way to be stopped.
 *
 * @throws {TypeError} if `awaitable` is neither a promise-like nor a function.
 *
 * @example
 * ```ts
 * import { ensureFuture, run } from "asyncio-ts";
 * await run(async () => {
 *   const fut = ensureFuture(Promise.resolve(42)); // a Future that follows the promise
 *   console.log(fut.done()); // false
 *   console.log(await fut); // 42
 *   console.log(fut.result()); // 42
 * });
 * ```
 */
export function ensureFuture<T>(awaitable: AwaitableOrFunction<T>): Future<T> {
  if (awaitable instanceof Future) return awaitable;
  if (typeof awaitable === "function") return createTask(awaitable as () => T | PromiseLike<T>);
  if (
    awaitable === null ||
    typeof awaitable !== "object" ||
    typeof (awaitable as PromiseLike<T>).then !== "function"
  ) {
    throw typeError("awaitable", "a Future, a promise or a function", awaitable);
  }
  const loop = runningLoopOrNull();
  const fut = new Future<T>(loop === null ? undefined : { loop });
  const fail = (error: unknown) => {
    if (!fut.done()) fut._setExceptionUnchecked(error);
  };
  try {
    (awaitable as PromiseLike<T>).then((value) => {
      if (!fut.done()) fut.setResult(value);
    }, fail);
  } catch (error) {
    // A thenable whose `then` throws: the Future fails with the error, as awaiting it (or
    // `Promise.resolve(it)`) rejects, instead of ensureFuture throwing (in the middle of a
    // gather, after earlier functions were started as tasks).
    fail(error);
  }
  return fut;
}

/**
 * The one AsyncLocalStorage of the runtime. Its store says where code runs: inside a Task (the
 * store is the Task) or in a loop callback (the store is the EventLoop). Outside `run()` the
 * store is `undefined`.
 *
 * Tasks are started inside `als.run(task, …)`, so every continuation of the task's async
 * function, however deep in its call tree, sees the task; V8 carries the store across `await`,
 * including the thenable job that calls `Future.then` (checked on Node 20).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { CancellationOrigin, CancelledError } from "../exceptions.ts";
import type { EventLoop } from "../loop/event-loop.ts";
import type { Waitable } from "./waitable.ts";

/** What a Task looks like to the code that makes it wait (futures, sleep). */
export interface TaskStore {
  readonly _isTask: true;
  readonly _loop: EventLoop;
  /** A cancellation was requested and not yet delivered. */
  _mustCancel: boolean;
  _cancelMessage: string | undefined;
  _cancelOrigin: CancellationOrigin | undefined;
  /** Registers something the task now waits on. */
  _addWaiter(waitable: Waitable): void;
  /** The wait ended (completed or cancelled). */
  _removeWaiter(waitable: Waitable): void;
  /** The task's reusable `sleep(0)` waiter (owned by sleep.ts). */
  _zeroSleeper: unknown;
  /** Clears the pending cancellation and returns the error that delivers it. */
  _takeCancellation(): CancelledError;
}

export type Store = TaskStore | EventLoop;

export const als: AsyncLocalStorage<Store> = new AsyncLocalStorage<Store>();

export const NO_LOOP_MESSAGE = "no running event loop: start your program with run(main)";

/**
 * Late binding between layers. The loop layer must not import the futures layer (SPEC's layering),
 * yet `loop.createFuture()` and `loop.createTask()` are asyncio's API; the futures layer fills
 * these slots when it is loaded (the package entry point always loads it).
 */
import type { Future } from "../futures/future.ts";
import type { Task, TaskOptions } from "../futures/task.ts";
import type { EventLoop } from "../loop/event-loop.ts";

interface Registry {
  /** Whether any loop ever had a task factory: until then `createTask` skips looking. */
  taskFactorySet: boolean;
  createFuture<T>(loop: EventLoop): Future<T>;
  createTask<T>(loop: EventLoop, fn: () => T | PromiseLike<T>, options?: TaskOptions): Task<T>;
  /** Filled by the I/O layer (src/io/executors.ts). */
  runInExecutor<T>(
    loop: EventLoop,
    executor: unknown,
    moduleUrl: unknown,
    exportName: unknown,
    args: unknown[],
  ): Future<T>;
  /** Filled by the I/O layer (src/io/executors.ts). */
  setDefaultExecutor(loop: EventLoop, executor: unknown): void;
  /** Filled by the I/O layer (src/io/executors.ts). */
  shutdownDefaultExecutor(loop: EventLoop): Promise<void>;
}

function notLoaded(): never {
  throw new Error("asyncio-ts: the futures layer is not loaded; import from the package entry");
}

export const registry: Registry = {
  taskFactorySet: false,
  createFuture: notLoaded,
  createTask: notLoaded,
  runInExecutor: notLoaded,
  setDefaultExecutor: notLoaded,
  shutdownDefaultExecutor: notLoaded,
};

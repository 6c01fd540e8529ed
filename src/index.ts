/**
 * asyncio-ts: Python asyncio's model for TypeScript on Node.js.
 *
 * The public surface, re-exported by name (no `export *`): a test snapshots this list.
 *
 * @module asyncio-ts
 */

// Errors
export {
  BrokenBarrierError,
  type CancellationOrigin,
  CancelledError,
  ExceptionGroup,
  IncompleteReadError,
  InvalidStateError,
  isCancelledError,
  KeyboardInterrupt,
  LimitOverrunError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  RuntimeError,
  rethrowIfCancelled,
  TimeoutError,
} from "./exceptions.ts";
export {
  type AwaitableOrFunction,
  allTasks,
  createTask,
  currentSignal,
  currentTask,
  ensureFuture,
} from "./futures/current.ts";
export {
  type DoneCallback,
  Future,
  type FutureOptions,
  type FutureState,
} from "./futures/future.ts";
export { sleep } from "./futures/sleep.ts";
export { Task, type TaskOptions } from "./futures/task.ts";
// Loop
export { type Clock, RealClock, VirtualClock } from "./loop/clock.ts";
export {
  EventLoop,
  type EventLoopOptions,
  type ExceptionContext,
  type ExceptionHandler,
} from "./loop/event-loop.ts";
export { Handle, TimerHandle } from "./loop/handles.ts";
export { getRunningLoop } from "./loop/running.ts";
// Entry points
export { Runner, type RunOptions, run } from "./runners/runner.ts";

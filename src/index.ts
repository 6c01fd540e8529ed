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
  type ErrorMatcher,
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
export {
  createEagerTaskFactory,
  eagerTaskFactory,
  Task,
  type TaskFactory,
  type TaskOptions,
} from "./futures/task.ts";

// Introspection and tracing (loading the entry point installs the global introspection hook
// that `asyncio-ts ps`/`pstree` read from outside the process).
import "./introspection/hook.ts";

export type { ChromeTrace, ChromeTraceEvent } from "./introspection/chrome-trace.ts";

export {
  type CallGraphOptions,
  captureCallGraph,
  type FutureCallGraph,
  formatCallGraph,
  type PrintCallGraphOptions,
  printCallGraph,
} from "./introspection/graph.ts";
export { formatTaskTable, formatTaskTree } from "./introspection/ps.ts";
export {
  captureTasks,
  type LoopSnapshot,
  type ProcessSnapshot,
  type TaskInfo,
  type TaskRef,
} from "./introspection/snapshot.ts";
export type { TimelineOptions } from "./introspection/timeline-html.ts";
export {
  type SegmentKind,
  startTrace,
  Trace,
  type TraceCancel,
  type TracedTask,
  type TraceOptions,
  type TraceOutcome,
  type TraceSegment,
} from "./introspection/trace.ts";
// I/O
export {
  type ModuleSpecifier,
  type ShutdownOptions,
  ThreadPoolExecutor,
  type ThreadPoolExecutorOptions,
  type ThreadPoolExecutorStatistics,
  toThread,
} from "./io/executors.ts";
export { type ClientConnectedCallback, Server } from "./io/server.ts";
export {
  type ReadTransport,
  type Separator,
  StreamReader,
  type StreamReaderOptions,
  type StreamReaderStatistics,
} from "./io/stream-reader.ts";
export { type ExtraInfo, type StartTlsOptions, StreamWriter } from "./io/stream-writer.ts";
export {
  type OpenConnectionOptions,
  openConnection,
  type StartServerOptions,
  startServer,
} from "./io/streams.ts";
export {
  createSubprocessExec,
  createSubprocessShell,
  DEVNULL,
  PIPE,
  Process,
  STDOUT,
  type StdioOption,
  type SubprocessOptions,
} from "./io/subprocess.ts";
export {
  type OpenUnixConnectionOptions,
  openUnixConnection,
  type StartUnixServerOptions,
  startUnixServer,
} from "./io/unix-streams.ts";
// Loop
export { type Clock, RealClock, VirtualClock } from "./loop/clock.ts";
export {
  type ClosableExecutor,
  EventLoop,
  type EventLoopOptions,
  type ExceptionContext,
  type ExceptionHandler,
} from "./loop/event-loop.ts";
export { Handle, TimerHandle } from "./loop/handles.ts";
export { getRunningLoop } from "./loop/running.ts";
// Entry points
export { Runner, type RunOptions, run } from "./runners/runner.ts";
// Structured concurrency
export {
  type AsCompletedIterator,
  type AsCompletedOptions,
  asCompleted,
  type CompletedFuture,
} from "./structured/as-completed.ts";
export type { AwaitedResult, FutureOf } from "./structured/common.ts";
export {
  type GatherOptions,
  type GatherResults,
  type GatherSettledResults,
  gather,
} from "./structured/gather.ts";
export { shield } from "./structured/shield.ts";
export {
  TaskGroup,
  type TaskGroupState,
  type TaskGroupStatistics,
  taskGroup,
} from "./structured/taskgroups.ts";
export { Timeout, type TimeoutState, timeout, timeoutAt } from "./structured/timeouts.ts";
export {
  ALL_COMPLETED,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  type ReturnWhen,
  type WaitOptions,
  type WaitResult,
  wait,
} from "./structured/wait.ts";
export { waitFor } from "./structured/wait-for.ts";
// Synchronisation and queues
export { Barrier, type BarrierState, type BarrierStatistics } from "./sync/barrier.ts";
export { ReleaseGuard } from "./sync/guard.ts";
export type { Comparator } from "./sync/heap.ts";
export {
  Condition,
  type ConditionStatistics,
  Event,
  type EventStatistics,
  Lock,
  type LockStatistics,
} from "./sync/locks.ts";
export {
  LifoQueue,
  PriorityQueue,
  type PriorityQueueOptions,
  Queue,
  type QueueStatistics,
} from "./sync/queues.ts";
export { BoundedSemaphore, Semaphore, type SemaphoreStatistics } from "./sync/semaphores.ts";

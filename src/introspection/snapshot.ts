/**
 * A snapshot of every pending task of a loop, or of the whole process: what asyncio 3.14's
 * `python -m asyncio ps PID` and `pstree PID` read from a running interpreter. The data is plain
 * (numbers, strings, arrays), so it crosses a process boundary as JSON: the global hook
 * (hook.ts) returns it to the `asyncio-ts ps` command line tool.
 *
 * @module
 */
import { RuntimeError } from "../exceptions.ts";
import type { Task } from "../futures/task.ts";
import { runningLoopList } from "../internal/context.ts";
import { typeError } from "../internal/validate.ts";
import { EventLoop } from "../loop/event-loop.ts";
import { runningLoopOrNull } from "../loop/running.ts";
import { awaitingTasksOf, describeWaits, waitFrames } from "./awaiters.ts";
import { idOf, loopNumber, numberTasks } from "./ids.ts";

/** A task, by id and name. */
export interface TaskRef {
  id: number;
  name: string;
}

/** One pending task, as `ps` shows it. Plain data: it survives `JSON.stringify`. */
export interface TaskInfo {
  /** The number of the task's loop in this process (1 for the first loop shown). */
  loop: number;
  /** The task's short id (the same in call graphs and traces). */
  id: number;
  name: string;
  /** Pending cancellation requests (`task.cancelling()`); above 0 the task is being cancelled. */
  cancelling: number;
  /** What it waits on, as inspect strings; empty if it runs or awaits a plain promise. */
  waitingOn: string[];
  /** The tasks awaiting it, directly or through a gather, shield, wait or TaskGroup. */
  awaitedBy: TaskRef[];
  /** Debug mode: the program's frames where its wait began, innermost first (empty otherwise). */
  stack: string[];
  /** Debug mode: the innermost of those frames (where the program waits), or `null`. */
  location: string | null;
}

/** The pending tasks of one loop, with the loop's state. */
export interface LoopSnapshot {
  loop: number;
  /** `loop.time()` when the snapshot was taken (ms). */
  time: number;
  virtualTime: boolean;
  debug: boolean;
  tasks: TaskInfo[];
}

/** What the global hook returns: every running loop of a process. */
export interface ProcessSnapshot {
  /** The format's version, for the command line tool. */
  version: 1;
  pid: number;
  /** `process.version` of the target. */
  node: string;
  loops: LoopSnapshot[];
}

/**
 * Every pending task of `loop` (default: the running loop), oldest first, with its id, name,
 * what it waits on and which tasks await it. The in-process form of asyncio 3.14's
 * `python -m asyncio ps`; format it with {@link formatTaskTable} or {@link formatTaskTree}.
 * The same data for every loop of the process is what `asyncio-ts ps PID` reads from outside.
 *
 * **Cancellation:** synchronous; it never waits, and taking a snapshot changes nothing.
 *
 * @throws {TypeError} if `loop` is not an EventLoop. @throws {RuntimeError} without `loop`
 * outside a running loop.
 *
 * @example
 * ```ts
 * import { captureTasks, createTask, run, sleep } from "asyncio-ts";
 * await run(
 *   async () => {
 *     createTask(() => sleep(100), { name: "poller" });
 *     await sleep(0);
 *     for (const t of captureTasks()) console.log(t.id, t.name, t.waitingOn.join("; "));
 *     // 1 Task-1 (nothing: it is running)
 *     // 2 poller <sleep until 100>
 *   },
 *   { clock: "virtual" },
 * );
 * ```
 */
export function captureTasks(loop?: EventLoop): TaskInfo[] {
  if (loop === undefined) {
    const running = runningLoopOrNull();
    if (running === null) {
      throw new RuntimeError("captureTasks() needs a loop: call it inside run(), or pass the loop");
    }
    loop = running;
  } else if (!(loop instanceof EventLoop)) {
    throw typeError("loop", "an EventLoop", loop);
  }
  numberTasks(loop);
  const number = loopNumber(loop);
  const tasks: TaskInfo[] = [];
  for (const task of loop._tasks) tasks.push(describeTask(task, number));
  return tasks;
}

/** Every running loop of this process and its pending tasks. @internal */
export function captureProcess(): ProcessSnapshot {
  const loops: LoopSnapshot[] = [];
  for (const loop of runningLoopList()) {
    loops.push({
      loop: loopNumber(loop),
      time: loop.time(),
      virtualTime: loop.virtualTime,
      debug: loop.getDebug(),
      tasks: captureTasks(loop),
    });
  }
  return { version: 1, pid: process.pid, node: process.version, loops };
}

function describeTask(task: Task<unknown>, loop: number): TaskInfo {
  const stack = waitFrames(task);
  return {
    loop,
    id: idOf(task),
    name: task.name,
    cancelling: task.cancelling(),
    waitingOn: describeWaits(task),
    awaitedBy: awaitingTasksOf(task).map((t) => ({ id: idOf(t), name: t.name })),
    stack,
    location: stack.length > 0 ? stack[0] : null,
  };
}

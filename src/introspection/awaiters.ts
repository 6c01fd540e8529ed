/**
 * "Who awaits whom", derived when asked instead of recorded on every wait. asyncio 3.14 keeps an
 * `awaited_by` set on each Future, updated at every await; here the same edges are read from
 * what the runtime keeps anyway:
 * - a task that awaits a Future left a waiter in the Future's callbacks that names the task;
 * - gather, shield, wait and TaskGroup wait for their children with done callbacks marked with
 *   their owner (src/internal/awaiter.ts): the children of gather, shield and wait are awaited
 *   by the task that called them, and a TaskGroup's by its parent task, as in asyncio 3.14 (the
 *   gathering Future, shield's outer Future or wait's inner Future when called outside a task);
 * - what a task itself waits on is its `_waiter` (plus the rare extra waits).
 * So nothing costs anything until someone looks; looking costs a walk of the callbacks.
 *
 * Invariant: only pending awaiters are reported; a done Future has no callbacks left.
 *
 * @module
 */
import { Future, FutureWaiter } from "../futures/future.ts";
import { Task } from "../futures/task.ts";
import { AWAITER, CALLER, type MarkedCallback } from "../internal/awaiter.ts";
import { isRuntimeFrame } from "../internal/debug-stacks.ts";
import type { Waitable } from "../internal/waitable.ts";
import { TaskGroup } from "../structured/taskgroups.ts";

/** The pending Tasks and Futures that await `future` now, each once, in registration order. */
export function awaitersOf(future: Future<unknown>): Future<unknown>[] {
  if (future.done()) return [];
  const callbacks = future._registrations();
  const found: Future<unknown>[] = [];
  for (const callback of callbacks) {
    let awaiter: Future<unknown> | null = null;
    if (callback instanceof FutureWaiter) {
      const task = callback._task;
      if (task instanceof Task) awaiter = task;
    } else {
      const owner = (callback as MarkedCallback)[AWAITER];
      if (owner instanceof Future) {
        // gather, shield, wait: the task that called them awaits the child (asyncio 3.14), or,
        // when they were called outside a task (or that task is done), the Future they made.
        const caller = (callback as MarkedCallback)[CALLER];
        awaiter = caller instanceof Task && !caller.done() ? caller : owner;
      } else if (owner instanceof TaskGroup) awaiter = owner._parentTask;
    }
    if (awaiter !== null && !awaiter.done() && !found.includes(awaiter)) found.push(awaiter);
  }
  return found;
}

/**
 * The pending tasks that await `future`, looking through the Futures in between (a task awaiting
 * a gather awaits each of its children).
 */
export function awaitingTasksOf(future: Future<unknown>): Task<unknown>[] {
  const tasks: Task<unknown>[] = [];
  const seen = new Set<Future<unknown>>([future]);
  const visit = (f: Future<unknown>): void => {
    for (const awaiter of awaitersOf(f)) {
      if (seen.has(awaiter)) continue;
      seen.add(awaiter);
      if (awaiter instanceof Task) tasks.push(awaiter);
      else visit(awaiter);
    }
  };
  visit(future);
  return tasks;
}

/** What `task` waits on now: its main wait, then the extra ones. */
export function waitsOf(task: Task<unknown>): Waitable[] {
  const waits: Waitable[] = [];
  if (task._waiter !== null) waits.push(task._waiter);
  const extra = task._extras?.waiters;
  if (extra) for (const w of extra) waits.push(w);
  return waits;
}

/** The descriptions of what `task` waits on, as `getStack()` prints them after "waiting on". */
export function describeWaits(task: Task<unknown>): string[] {
  return waitsOf(task).map(describeOne);
}

/** One wait's description; a wait whose description throws (user code) does not spoil the rest. */
function describeOne(wait: Waitable): string {
  try {
    return wait._describeWait();
  } catch (error) {
    return `<a wait that cannot describe itself: ${String((error as Error)?.message ?? error)}>`;
  }
}

/**
 * The program's frames of `task.getStack()` (debug mode's wait stack), innermost first, without
 * "at " (see {@link programFrames}).
 */
export function waitFrames(task: Task<unknown>): string[] {
  let stack: string[];
  try {
    stack = task.getStack();
  } catch {
    return []; // a wait whose description throws (user code): no frames rather than no snapshot
  }
  return programFrames(stack.filter((line) => !line.startsWith("waiting on ")));
}

/** The program's frames of `stack` (an `Error.stack`), innermost first (see {@link programFrames}). */
export function framesOf(stack: string | undefined): string[] {
  if (stack === undefined) return [];
  return programFrames(stack.split("\n").slice(1));
}

/**
 * Stack lines without "at ", trimmed of the runtime's own frames at both ends: inside, the
 * machinery of the wait (`_addWaiter`, `Future.then`, `sleep`); outside, the loop and task
 * plumbing that runs every task (`startTask`, `runInAsyncScope`, the loop's batch). Library
 * frames between two frames of the program (an `async TaskGroup.run`) stay: they say where the
 * program waits.
 */
export function programFrames(lines: string[]): string[] {
  const frames = lines.map((line) => stripAt(line.trim())).filter((frame) => frame !== "");
  let first = 0;
  while (first < frames.length && !isProgramFrame(frames[first])) first++;
  let last = frames.length - 1;
  while (last >= first && !isProgramFrame(frames[last])) last--;
  return frames.slice(first, last + 1);
}

/** Whether a frame is in the program's code (not Node's internals, not this library's src/ or dist/). */
export function isProgramFrame(frame: string): boolean {
  if (frame.startsWith("node:") || frame.includes("(node:") || frame.includes("<anonymous>")) {
    return false;
  }
  return !isRuntimeFrame(frame);
}

function stripAt(line: string): string {
  return line.startsWith("at ") ? line.slice(3) : line;
}

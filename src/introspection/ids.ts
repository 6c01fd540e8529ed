/**
 * Short, stable ids for the tasks and Futures that introspection and tracing show, and numbers
 * for loops. asyncio prints `id(task)`, a memory address; JavaScript has none, and a per-task
 * field would cost every task, so ids live in a WeakMap and are given out the first time an
 * object is shown: per loop, from 1, the loop's pending tasks oldest first. The same object keeps
 * its id for its whole life, in every snapshot, graph and trace of the process.
 *
 * @module
 */
import type { Future } from "../futures/future.ts";
import type { EventLoop } from "../loop/event-loop.ts";

const ids = new WeakMap<object, number>();
/** The last id given out on each loop (Futures without a loop use `looseCounter`). */
const counters = new WeakMap<EventLoop, number>();
let looseCounter = 0;
const loopNumbers = new WeakMap<EventLoop, number>();
let loopCounter = 0;

/** The id of `future` (a Task or Future), given now if it has none yet. */
export function idOf(future: Future<unknown>): number {
  let id = ids.get(future);
  if (id === undefined) {
    const loop = future._loop;
    if (loop === null) id = ++looseCounter;
    else {
      id = (counters.get(loop) ?? 0) + 1;
      counters.set(loop, id);
    }
    ids.set(future, id);
  }
  return id;
}

/** Gives ids to the loop's pending tasks that have none, oldest first. */
export function numberTasks(loop: EventLoop): void {
  for (const task of loop._tasks) if (!ids.has(task)) idOf(task);
}

/** The loop's number in this process: 1 for the first loop shown, and so on. */
export function loopNumber(loop: EventLoop): number {
  let n = loopNumbers.get(loop);
  if (n === undefined) {
    n = ++loopCounter;
    loopNumbers.set(loop, n);
  }
  return n;
}

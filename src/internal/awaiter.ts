/**
 * Who awaits a Future through a done callback. A task that awaits a Future leaves a waiter in
 * the Future's callbacks that names the task; a combinator that waits for its children with a
 * done callback (gather, shield, wait, a TaskGroup) marks that callback with its owner, so that
 * introspection (src/introspection/) can tell who waits on each child, as asyncio 3.14 does with
 * `future_add_to_awaited_by`.
 *
 * The mark costs two property writes per combinator call (not per task or per wait), and nothing
 * reads it unless someone captures a call graph.
 */
import { als } from "./context.ts";

/** The property of a done callback that names the awaiting Future or TaskGroup. */
export const AWAITER: unique symbol = Symbol("asyncio-ts.awaiter");

/** The property of a done callback that names the task that called the combinator. */
export const CALLER: unique symbol = Symbol("asyncio-ts.awaiterCaller");

/** A done callback marked with its owner (and, for gather, shield and wait, the calling task). */
export type MarkedCallback = { [AWAITER]?: object; [CALLER]?: object };

/**
 * Marks `callback` as the way `owner` (a Future, or a TaskGroup) waits; returns `callback`. The
 * task running the code that marks it (none in a loop callback) is kept too: asyncio 3.14's
 * gather, shield and wait add their children to the awaited_by set of the *calling task*
 * (`future_add_to_awaited_by(child, current_task())`), not to that of the Future they return.
 */
export function markAwaiter<F extends Function>(callback: F, owner: object): F {
  const marked = callback as unknown as MarkedCallback;
  marked[AWAITER] = owner;
  const store = als.getStore();
  if (store !== undefined && "_isTask" in store) marked[CALLER] = store;
  return callback;
}

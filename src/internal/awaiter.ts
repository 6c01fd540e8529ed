/**
 * Who awaits a Future through a done callback. A task that awaits a Future leaves a waiter in
 * the Future's callbacks that names the task; a combinator that waits for its children with a
 * done callback (gather, shield, wait, a TaskGroup) marks that callback with its owner, so that
 * introspection (src/introspection/) can tell who waits on each child, as asyncio 3.14 does with
 * `future_add_to_awaited_by`.
 *
 * The mark costs one property write per combinator call (not per task or per wait), and nothing
 * reads it unless someone captures a call graph.
 */

/** The property of a done callback that names the awaiting Future or TaskGroup. */
export const AWAITER: unique symbol = Symbol("asyncio-ts.awaiter");

/** A done callback marked with its owner. */
export type MarkedCallback = { [AWAITER]?: object };

/** Marks `callback` as the way `owner` (a Future, or a TaskGroup) waits; returns `callback`. */
export function markAwaiter<F extends Function>(callback: F, owner: object): F {
  (callback as unknown as MarkedCallback)[AWAITER] = owner;
  return callback;
}

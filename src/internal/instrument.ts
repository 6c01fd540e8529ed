/**
 * The single instrumentation point for task lifecycle events. Introspection and tracing
 * subscribe here; when nobody listens, each call site costs one property read
 * (`if (instrument.active) …`).
 *
 * The events, all emitted by src/futures/task.ts, and their `detail`:
 * - `created`: in the Task constructor, in the creator's context (no detail);
 * - `started`: the task's function is about to run (no detail);
 * - `waiting`: the task registered a wait (`_addWaiter`): a Future, a sleep, a primitive's or an
 *   I/O waiter; the detail is that Waitable;
 * - `woken`: that wait ended, completed or cancelled (`_removeWaiter`); the same Waitable;
 * - `cancel-requested`: `cancel()` or an internal request counted; the CancellationOrigin;
 * - `done`: the task finished, failed or was cancelled (no detail).
 */

export type LifecycleEvent =
  | "created"
  | "started"
  | "waiting"
  | "woken"
  | "cancel-requested"
  | "done";

export type LifecycleListener = (event: LifecycleEvent, task: object, detail?: unknown) => void;

const listeners: LifecycleListener[] = [];

export const instrument = {
  /** True while at least one listener is subscribed. */
  active: false,
  emit(event: LifecycleEvent, task: object, detail?: unknown): void {
    for (const l of listeners) {
      try {
        l(event, task, detail);
      } catch {
        // A broken listener must not break the runtime; tracing is best effort.
      }
    }
  },
};

/** Subscribes a listener; returns the function that unsubscribes it. */
export function subscribe(listener: LifecycleListener): () => void {
  listeners.push(listener);
  instrument.active = true;
  return () => {
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
    instrument.active = listeners.length > 0;
  };
}

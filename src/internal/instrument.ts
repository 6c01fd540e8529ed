/**
 * The single instrumentation point for task lifecycle events. Introspection and tracing
 * subscribe here; when nobody listens, each call site costs one property read
 * (`if (instrument.active) …`).
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

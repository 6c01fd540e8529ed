/**
 * What a task can wait on: a Future, or a lighter internal waiter (a sleep). When the task is
 * cancelled, the runtime calls `_cancel` on each thing it waits on, as asyncio does with
 * `Task._fut_waiter`.
 */
import type { CancellationOrigin } from "../exceptions.ts";

export interface Waitable {
  /** Cancels the wait; returns false if it already completed. */
  _cancel(message: string | undefined, origin: CancellationOrigin | undefined): boolean;
  /** Short description for `Task.getStack()` and inspect strings. */
  _describeWait(): string;
}

/**
 * What the I/O layer keeps per event loop: the lazily created default executor and every live
 * I/O resource (connections, servers, child processes), so that the end of `run()` leaves no
 * handle that keeps Node alive.
 *
 * How it hooks into shutdown without the loop layer importing this one: the loop has a slot,
 * `loop._defaultExecutor: { shutdown(): Promise<void> }`, that `run()` and `Runner.close()` shut
 * down after every task has ended. The I/O state of a loop sits in that slot; its `shutdown()`
 * releases the leftover resources, then shuts the default thread pool down.
 *
 * What shutdown does to each leftover resource (after every task was cancelled and finished):
 * - a connection nobody closed is destroyed (its handler task was cancelled, which already
 *   closed the server-side ones, as asyncio's `StreamReaderProtocol` does);
 * - a listening server stops listening;
 * - a child process still running is killed (SIGKILL), as closing asyncio's subprocess transport
 *   does, and reaped; its pipes are closed.
 *
 * @module
 */
import { RuntimeError } from "../exceptions.ts";
import type { ClosableExecutor, EventLoop } from "../loop/event-loop.ts";

/** A live I/O resource of a loop. @internal */
export interface IoResource {
  /** Releases the resource at loop shutdown; may wait a little (a child's exit). */
  _shutdown(): void | Promise<void>;
}

/** The I/O state of one loop. @internal */
export class LoopIo implements ClosableExecutor {
  readonly resources: Set<IoResource> = new Set();
  /** The executor `runInExecutor(null, …)` and `toThread` use, once created. */
  defaultExecutor: ClosableExecutor | null = null;
  shutDown = false;
  /** `shutdownDefaultExecutor()` was called: no default executor any more. */
  executorShutDown = false;

  /** Adds a resource; throws once the loop is shutting down. */
  track(resource: IoResource): void {
    if (this.shutDown) throw new RuntimeError("the event loop is shutting down: no new I/O");
    this.resources.add(resource);
  }

  untrack(resource: IoResource): void {
    this.resources.delete(resource);
  }

  async shutdown(): Promise<void> {
    this.shutDown = true;
    const waits: Promise<void>[] = [];
    for (const resource of [...this.resources]) {
      try {
        const done = resource._shutdown();
        if (done !== undefined) waits.push(done);
      } catch {
        // Best effort: a resource that fails to close must not stop the others from closing.
      }
    }
    this.resources.clear();
    await Promise.allSettled(waits);
    const executor = this.defaultExecutor;
    this.defaultExecutor = null;
    if (executor !== null) await executor.shutdown();
  }
}

const states = new WeakMap<EventLoop, LoopIo>();

/** The I/O state of `loop`, created (and hooked into its shutdown) on first use. @internal */
export function loopIo(loop: EventLoop): LoopIo {
  let io = states.get(loop);
  if (io === undefined) {
    if (loop.isClosed()) throw new RuntimeError("Event loop is closed");
    io = new LoopIo();
    states.set(loop, io);
    if (loop._defaultExecutor === null) loop._defaultExecutor = io;
  }
  return io;
}

/**
 * Where code runs: inside a Task (the store is the Task), in a loop callback (the store is the
 * EventLoop), or outside `run()` (`undefined`). The runtime reads this "current store" on every
 * wait, so how it is carried across `await` decides much of the runtime's speed.
 *
 * Two carriers, one interface ({@link ContextSlot}), chosen once at load:
 * - **AsyncLocalStorage**, when Node implements it with async context frames (Node 24 by
 *   default, Node 22 with `--experimental-async-context-frame`): there V8 carries the store
 *   natively and it costs next to nothing.
 * - **V8 promise hooks** otherwise (Node 20): a promise created while a store is current is
 *   tagged with it, and the store is restored around that promise's reactions. This is how
 *   Node 20's own AsyncLocalStorage works, minus its async-id bookkeeping, which made it cost
 *   about a third of a task's time. Only promise continuations carry the store: a timer or I/O
 *   callback started from a task runs with no current task (as an asyncio `call_later`
 *   callback does); the running loop is still found (see {@link noteLoopRunning}).
 *
 * `ASYNCIO_TS_CONTEXT=als` or `=hooks` in the environment forces one carrier (the test suite
 * runs under both).
 *
 * Users' own AsyncLocalStorage values are not carried by this slot: tasks and callbacks capture
 * them with an `AsyncResource` when they are created (see task.ts and handles.ts).
 */
import { AsyncLocalStorage, type AsyncResource } from "node:async_hooks";
import { promiseHooks } from "node:v8";
import type { CancellationOrigin, CancelledError } from "../exceptions.ts";
import type { EventLoop } from "../loop/event-loop.ts";
import { isThenable } from "./validate.ts";
import type { Waitable } from "./waitable.ts";

/** What a Task looks like to the code that makes it wait (futures, sleep). */
export interface TaskStore {
  readonly _isTask: true;
  readonly _loop: EventLoop;
  /** A cancellation was requested and not yet delivered. */
  _mustCancel: boolean;
  _cancelMessage: string | undefined;
  _cancelOrigin: CancellationOrigin | undefined;
  /** Registers something the task now waits on. */
  _addWaiter(waitable: Waitable): void;
  /** The wait ended (completed or cancelled). */
  _removeWaiter(waitable: Waitable): void;
  /** The one thing the task waits on, if any (more waits are kept elsewhere). */
  readonly _waiter: Waitable | null;
  /**
   * Whether the task is suspended on a single wait registered after `previous` was its wait,
   * or is done: its step is over (the loop's test, see EventLoop#afterMicrotasks).
   */
  _suspendedSince(previous: Waitable | null): boolean;
  /** The task's reusable `sleep(0)` waiter (owned by sleep.ts). */
  _zeroSleeper: unknown;
  /** Clears the pending cancellation and returns the error that delivers it. */
  _takeCancellation(): CancelledError;
}

export type Store = TaskStore | EventLoop;

/** The current-store carrier. */
export interface ContextSlot {
  /** Which carrier this is. */
  readonly kind: "als" | "hooks";
  /**
   * The current store; in code that no task or loop callback carries (a timer or I/O callback)
   * the running loop when exactly one runs; otherwise `undefined`.
   */
  getStore(): Store | undefined;
  /** The store carried to this code, without the running-loop fallback. */
  getOwnStore(): Store | undefined;
  /** Calls `fn(a, b)` with `store` current (and current in every promise it creates). */
  run<R, A, B>(store: Store, fn: (a: A, b: B) => R, a?: A, b?: B): R;
  /**
   * Calls `fn(a, b)` in `resource`'s async context with `store` current: what
   * `resource.runInAsyncScope(() => run(store, fn, a, b))` does, one context frame cheaper.
   */
  runInResource<R, A, B>(
    resource: AsyncResource,
    store: Store,
    fn: (a: A, b: B) => R,
    a?: A,
    b?: B,
  ): R;
}

class AlsSlot implements ContextSlot {
  readonly kind = "als";
  readonly #als = new AsyncLocalStorage<Store>();
  getStore(): Store | undefined {
    return this.#als.getStore() ?? soleRunningLoop;
  }
  getOwnStore(): Store | undefined {
    return this.#als.getStore();
  }
  run<R, A, B>(store: Store, fn: (a: A, b: B) => R, a?: A, b?: B): R {
    return this.#als.run(store, fn, a as A, b as B);
  }
  runInResource<R, A, B>(
    resource: AsyncResource,
    store: Store,
    fn: (a: A, b: B) => R,
    a?: A,
    b?: B,
  ): R {
    return resource.runInAsyncScope(enterAndCall, null, this.#als, store, fn, a, b) as R;
  }
}

// AsyncLocalStorage's `run` (Node 24) makes a context frame (a copy of the current one, a Map) to
// enter the store and a second one to put the previous store back when it returns. Inside a
// resource's scope the store can be entered for the rest of the scope instead: leaving the scope
// restores the previous frame itself. One frame less per done callback, handle or loop turn.
function enterAndCall<R, A, B>(
  storage: AsyncLocalStorage<Store>,
  store: Store,
  fn: (a: A, b: B) => R,
  a: A,
  b: B,
): R {
  if (storage.getStore() !== store) storage.enterWith(store);
  return fn(a, b);
}

// The tag is an ordinary symbol property, so `util.inspect(promise)` shows it; a private field
// (invisible) cost 10% of W1 in a local A/B run, `Object.defineProperty` (non-enumerable) ten
// times more per tag.
const STORE = Symbol("asyncio-ts.task");
type Tagged = Promise<unknown> & { [STORE]?: Store };

let current: Store | undefined;
const saved: (Store | undefined)[] = [];
let hooksInstalled = false;

/**
 * Set while the runtime creates a promise of its own that is settled with a plain value (the
 * promise of a `sleep`): no reaction job ever runs "as" such a promise, so it needs no tag
 * (40 bytes saved per sleep). @internal
 */
export const untagged = { next: false };

/**
 * `new Promise(executor)` without the task's tag: for the promise of a wait (a sleep, a parked
 * waiter) that is settled by the runtime, which adopts a thenable value through a promise of the
 * task's own (see {@link resolveFor}). The executor must not throw. @internal
 */
export function untaggedPromise<T>(
  executor: (resolve: (value: T) => void, reject: (error: unknown) => void) => void,
): Promise<T> {
  untagged.next = true;
  const promise = new Promise<T>(executor);
  untagged.next = false;
  return promise;
}

/**
 * `Promise.resolve(value)` for the fast paths of the primitives (`queue.get()` of an item that is
 * there, `lock.acquire()` of a free lock). Its reactions run "as" the promises they make, never
 * as this one, unless `value` is a thenable that it must adopt: only then does it need the
 * task's tag (40 bytes and a property store per call saved). @internal
 */
export function resolvedWith<T>(value: T): Promise<T> {
  if (isThenable(value)) return Promise.resolve(value);
  untagged.next = true;
  const promise = Promise.resolve(value);
  untagged.next = false;
  return promise;
}

function onInit(promise: Promise<unknown>): void {
  if (current !== undefined && !untagged.next) (promise as Tagged)[STORE] = current;
}
function onBefore(promise: Promise<unknown>): void {
  saved.push(current);
  current = (promise as Tagged)[STORE];
}
function onAfter(): void {
  current = saved.pop();
}

class HooksSlot implements ContextSlot {
  readonly kind = "hooks";
  getStore(): Store | undefined {
    return current ?? soleRunningLoop;
  }
  getOwnStore(): Store | undefined {
    return current;
  }
  run<R, A, B>(store: Store, fn: (a: A, b: B) => R, a?: A, b?: B): R {
    if (!hooksInstalled) {
      // Installed on first use, so that importing the library costs the process nothing.
      promiseHooks.createHook({ init: onInit, before: onBefore, after: onAfter });
      hooksInstalled = true;
    }
    const previous = current;
    current = store;
    try {
      return fn(a as A, b as B);
    } finally {
      current = previous;
    }
  }
  runInResource<R, A, B>(
    resource: AsyncResource,
    store: Store,
    fn: (a: A, b: B) => R,
    a?: A,
    b?: B,
  ): R {
    return resource.runInAsyncScope(this.run, this, store, fn, a, b) as R;
  }
}

function chooseCarrier(): ContextSlot {
  const forced = process.env.ASYNCIO_TS_CONTEXT;
  if (forced === "als") return new AlsSlot();
  if (forced === "hooks") return new HooksSlot();
  return hasAsyncContextFrame() ? new AlsSlot() : new HooksSlot();
}

/** Whether this Node implements AsyncLocalStorage with async context frames. */
function hasAsyncContextFrame(): boolean {
  const major = Number(process.versions.node.split(".")[0]);
  const flags = `${process.execArgv.join(" ")} ${process.env.NODE_OPTIONS ?? ""}`;
  if (major >= 24) return !flags.includes("--no-async-context-frame");
  if (major >= 22) return flags.includes("--experimental-async-context-frame");
  return false;
}

/** The runtime's one current-store carrier. */
export const als: ContextSlot = chooseCarrier();

/**
 * Resolves a promise that `task` awaits with `value`. A thenable value (a Future a queue held,
 * `sleep(0, future)`) is adopted in a job that calls its `then`; that job must run in the task's
 * context so that the task registers the wait (and its cancellation reaches the Future). So the
 * thenable is first adopted by a promise made here, in the task's context: with promise hooks
 * that promise carries the task's tag, with AsyncLocalStorage its job takes the context current
 * at its creation. The promise being resolved needs no tag of its own, so the waiters' promises
 * are made untagged (40 bytes less per parked task on Node 20). @internal
 */
export function resolveFor(
  task: TaskStore | null,
  resolve: (value: unknown) => void,
  value: unknown,
): void {
  if (task !== null && isThenable(value)) als.run(task, adoptThenable, resolve, value);
  else resolve(value);
}

function adoptThenable(resolve: (value: unknown) => void, thenable: unknown): void {
  resolve(Promise.resolve(thenable));
}

const runningLoops = new Set<EventLoop>();
let soleRunningLoop: EventLoop | undefined;

/**
 * Records that `loop` started or stopped running. Code that no store reaches (a timer or I/O
 * callback, or a callback registered before `run()`) still finds the loop when only one runs,
 * as asyncio code in the loop's thread does. @internal
 */
export function noteLoopRunning(loop: EventLoop, running: boolean): void {
  if (running) runningLoops.add(loop);
  else runningLoops.delete(loop);
  soleRunningLoop = undefined;
  if (runningLoops.size === 1) for (const only of runningLoops) soleRunningLoop = only;
}

/** The loops running now, in the order they started (for whole-process introspection). @internal */
export function runningLoopList(): EventLoop[] {
  return [...runningLoops];
}

export const NO_LOOP_MESSAGE = "no running event loop: start your program with run(main)";

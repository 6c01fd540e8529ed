/**
 * `TaskGroup` and `taskGroup(body)`: structured concurrency. Every task created in the group is
 * finished when the group is; if one fails, the others and the body are cancelled, and every
 * real error comes out together in an `ExceptionGroup`. asyncio's `TaskGroup` (3.13+ semantics,
 * with 3.15's `cancel()`), as a callback instead of `async with`.
 *
 * The body runs in the current task, the *parent*. The group never creates a task of its own:
 * on a child failure it cancels the parent with `_requestCancel` (so the body stops where it
 * waits) and remembers that it did (`#parentCancelRequested`); on exit it calls `uncancel()`
 * once for that request, so a handled group failure leaves `cancelling()` where it was (the
 * 3.13 guarantee), while a cancellation from outside still propagates.
 *
 * Exit, as asyncio's `_aexit`: abort the children if the body failed or was cancelled; wait on
 * a Future that the last child completes (re-created if the parent is cancelled meanwhile, which
 * then aborts the children too); then decide what to throw, in this order: a KeyboardInterrupt
 * (unwrapped; the other errors go to the loop's exception handler), a pending cancellation that
 * is not the group's own (only if there are no errors), the `ExceptionGroup` of every
 * non-cancellation error (the body's included), or nothing.
 *
 * Invariants:
 * - Children are kept in a Set and each has exactly one done callback; aborting cancels each
 *   pending child once, directly (no shared signal listener), so ending a group of n children
 *   costs O(n).
 * - `#parentCancelRequested` is set at most once, and then `uncancel()` is called exactly once.
 * - Once exiting with no child left, or aborting, `createTask` refuses new tasks.
 *
 * @module
 */
import { inspect } from "node:util";
import {
  type CancellationOrigin,
  ExceptionGroup,
  isCancelledError,
  KeyboardInterrupt,
  RuntimeError,
} from "../exceptions.ts";
import { currentTask } from "../futures/current.ts";
import { Future } from "../futures/future.ts";
import { makeTask, type Task, type TaskOptions } from "../futures/task.ts";
import { markAwaiter } from "../internal/awaiter.ts";
import { checkFunction, checkOptions } from "../internal/validate.ts";
import type { EventLoop } from "../loop/event-loop.ts";
import { getRunningLoop } from "../loop/running.ts";
import { reprError } from "./common.ts";

/** The states of a {@link TaskGroup}, shown in its inspect string. */
export type TaskGroupState = "created" | "active" | "exiting" | "aborting" | "finished";

/** What {@link TaskGroup.statistics} returns. */
export interface TaskGroupStatistics {
  state: TaskGroupState;
  /** Children not done yet. */
  tasks: number;
  /** Child errors collected so far (cancellations are not errors). */
  errors: number;
}

const NONE: unique symbol = Symbol("none");

/**
 * What the parent waits on while the group exits: a Future that the last child completes. It
 * describes itself as the group, so that `getStack()`, inspect strings and `ps` say
 * `waiting on <TaskGroup [exiting] tasks=2>` rather than `<Future pending>`.
 */
class GroupExit extends Future<void> {
  readonly #group: TaskGroup;
  constructor(group: TaskGroup, loop: EventLoop) {
    super({ loop });
    this.#group = group;
  }

  /** @internal */
  override _describeWait(): string {
    return String(this.#group);
  }
}

/** KeyboardInterrupt escapes a group unwrapped, as asyncio does for KeyboardInterrupt/SystemExit. */
function isBaseError(error: unknown): boolean {
  return error instanceof KeyboardInterrupt;
}

/**
 * A group of tasks that finish together: asyncio's `TaskGroup`. Use {@link taskGroup} for the
 * common case; create one with `new TaskGroup()` to hand it around before entering it with
 * {@link TaskGroup.run}.
 *
 * Semantics (asyncio 3.13+): `run(body)` runs `body(tg)` in the current task, then waits for
 * every task created with `tg.createTask()`, including those created meanwhile. The first child
 * that fails (throws anything but a cancellation) cancels the other children and the body; when
 * all have ended, every error (the body's too) is thrown together as
 * `ExceptionGroup("unhandled errors in a TaskGroup", errors)`. A child that is merely cancelled
 * is not an error. No task can be added once the group is aborting or finished.
 *
 * **Cancellation:** cancelling the parent task (the one running `run`) cancels every child; the
 * `CancelledError` propagates once they have all ended (unless a child error turned it into an
 * `ExceptionGroup`; the parent is then re-cancelled at its next wait, so the outside
 * cancellation is not lost). `tg.cancel()` ends the group early *without* error. The
 * `CancelledError`s the group causes say so in their `origin` (kind `"taskgroup"`, with the
 * child error that aborted it).
 *
 * **Differences from asyncio:** a callback instead of `async with`; `run` resolves to the body's
 * return value, or `undefined` when `tg.cancel()` ended the body early. `KeyboardInterrupt` is the
 * only error re-thrown unwrapped (JavaScript has no `SystemExit`). A cancellation of the parent
 * that the group's wait for its children absorbed after `tg.cancel()` (one requested from outside,
 * or by the body, besides the group's own) still propagates once the children have ended;
 * asyncio 3.15's group absorbs it and exits without error.
 *
 * @example
 * ```ts
 * import { run, TaskGroup, sleep } from "asyncio-ts";
 * await run(async () => {
 *   const tg = new TaskGroup();
 *   await tg.run(async () => {
 *     const a = tg.createTask(() => sleep(20, "a"));
 *     const b = tg.createTask(() => sleep(10, "b"));
 *     console.log([await a, await b]); // ["a", "b"]
 *   });
 *   console.log(tg.state); // "finished"
 * });
 * ```
 */
export class TaskGroup {
  #entered = false;
  #exiting = false;
  #aborting = false;
  #finished = false;
  #cancelOnEnter = false;
  #loop: EventLoop | null = null;
  #parent: Task<unknown> | null = null;
  #parentCancelRequested = false;
  readonly #tasks = new Set<Task<unknown>>();
  #errors: unknown[] = [];
  #baseError: unknown = NONE;
  #onCompleted: Future<void> | null = null;
  #abortOrigin: CancellationOrigin | undefined = undefined;

  /** The state: `created`, `active`, `exiting` (body done), `aborting` or `finished`. */
  get state(): TaskGroupState {
    if (!this.#entered) return "created";
    if (this.#finished) return "finished";
    if (this.#aborting) return "aborting";
    return this.#exiting ? "exiting" : "active";
  }

  /** How many children are still running, how many errors were collected, and the state. */
  statistics(): TaskGroupStatistics {
    return { state: this.state, tasks: this.#tasks.size, errors: this.#errors.length };
  }

  /**
   * Enters the group: runs `body(this)` in the current task, waits for every child, and returns
   * what the body returned (`undefined` if `tg.cancel()` ended it early). See {@link TaskGroup}.
   *
   * @throws {RuntimeError} (as a rejection) outside a task, or if the group was already entered.
   * @throws {ExceptionGroup} (as a rejection) with the errors of the failed children and body.
   * @throws {KeyboardInterrupt} (as a rejection) unwrapped, if a child or the body threw one.
   * @throws {CancelledError} (as a rejection) if the parent task was cancelled from outside.
   */
  async run<T>(body: (tg: TaskGroup) => T | PromiseLike<T>): Promise<T | undefined> {
    checkFunction("body", body);
    this.#enter();
    let result: T | undefined;
    let failed = false;
    let error: unknown;
    try {
      result = await body(this);
    } catch (e) {
      failed = true;
      error = e;
    }
    try {
      await this.#exit(failed, error);
    } finally {
      this.#finished = true;
      this.#errors = [];
      this.#baseError = NONE;
    }
    return failed ? undefined : result;
  }

  /**
   * Starts `fn` as a child task of the group (as `createTask`, with the same options) and
   * returns it.
   *
   * **Cancellation:** the child is cancelled if another child fails, if the body fails or is
   * cancelled, or by `tg.cancel()`. A child that ends cancelled is not an error for the group.
   *
   * @throws {RuntimeError} if the group has not been entered, is finished, or is shutting down
   * (aborting). @throws {TypeError} if `fn` is not a function or `options` is bad.
   */
  createTask<T>(fn: () => T | PromiseLike<T>, options?: TaskOptions): Task<T> {
    checkFunction("fn", fn, " (pass the function, e.g. tg.createTask(() => work()))");
    checkOptions("options", options);
    if (!this.#entered) throw new RuntimeError(`TaskGroup ${this} has not been entered`);
    if (this.#exiting && this.#tasks.size === 0) {
      throw new RuntimeError(`TaskGroup ${this} is finished`);
    }
    if (this.#aborting) throw new RuntimeError(`TaskGroup ${this} is shutting down`);
    const task = makeTask(this.#loop!, fn, options);
    // Added (and the callback scheduled) even if an eager task is already done, so that its
    // failure cancels the parent at the right time (gh-128550).
    this.#tasks.add(task as Task<unknown>);
    task._addDoneCallback(this.#onTaskDone);
    // An eager task may have aborted the group before it joined the set (gh-155418).
    if (this.#aborting && !task.done()) task._requestCancel(undefined, this.#abortOrigin);
    return task;
  }

  /**
   * Ends the group early without error (asyncio 3.15): cancels every child and the body; `run`
   * then resolves (to `undefined`) once they have ended. Called before `run`, the group is
   * cancelled as soon as it is entered. Idempotent; does nothing once the group is finished.
   *
   * **Cancellation:** the children and the body get a `CancelledError` whose origin says
   * "task group cancelled by tg.cancel()".
   */
  cancel(): void {
    if (!this.#entered) {
      this.#cancelOnEnter = true;
      return;
    }
    if (this.#exiting && this.#tasks.size === 0) return;
    if (this.#aborting) return;
    const requester = safeCurrentTask();
    const origin: CancellationOrigin = {
      kind: "taskgroup",
      requester,
      description:
        requester === null
          ? "task group cancelled by tg.cancel()"
          : `task group cancelled by tg.cancel() in task '${requester.name}'`,
    };
    this.#abort(origin);
    const parent = this.#parent;
    if (parent !== null && !this.#parentCancelRequested) {
      this.#parentCancelRequested = true;
      parent._requestCancel(undefined, origin);
    }
  }

  #enter(): void {
    if (this.#entered) throw new RuntimeError(`TaskGroup ${this} has already been entered`);
    const loop = getRunningLoop();
    const parent = safeCurrentTask();
    if (parent === null) {
      throw new RuntimeError(
        `TaskGroup ${this} cannot determine the parent task: use it inside a task's code`,
      );
    }
    this.#loop = loop;
    this.#parent = parent;
    this.#entered = true;
    if (this.#cancelOnEnter) this.cancel();
  }

  async #exit(failed: boolean, error: unknown): Promise<void> {
    this.#exiting = true;
    const parent = this.#parent!;
    if (failed && isBaseError(error) && this.#baseError === NONE) this.#baseError = error;
    let propagate: unknown = failed && isCancelledError(error) ? error : NONE;
    if (failed && !this.#aborting) {
      this.#abort(
        isCancelledError(error) ? this.#parentCancelledOrigin(error) : bodyFailedOrigin(error),
      );
    }
    // A loop, because the wait can be cancelled several times (the parent cancelled repeatedly,
    // or once while our own abort is under way).
    let pending: unknown = NONE;
    while (this.#tasks.size > 0) {
      if (this.#onCompleted === null) this.#onCompleted = new GroupExit(this, this.#loop!);
      try {
        await this.#onCompleted;
      } catch (e) {
        // Only a cancellation of the parent can reject this wait.
        pending = e;
        if (!this.#aborting) {
          // The parent is cancelled from outside while the body is done and children run.
          propagate = e;
          this.#abort(this.#parentCancelledOrigin(e));
        }
      }
      this.#onCompleted = null;
    }

    if (this.#baseError !== NONE) {
      const base = this.#baseError;
      for (const e of this.#errors) {
        if (e === base) continue;
        this.#loop!.callExceptionHandler({
          message:
            "TaskGroup task exception was not propagated because the TaskGroup is being " +
            `closed with ${reprError(base)}`,
          exception: e,
          taskGroup: this,
        });
      }
      throw base;
    }

    if (this.#parentCancelRequested) {
      // We cancelled the parent: withdraw exactly that request.
      if (parent.uncancel() === 0) propagate = NONE;
      else if (propagate === NONE) propagate = pending; // the rest is not ours: keep it
    }
    // The body's own error counts before a pending cancellation is chosen: errors win. (asyncio
    // appends it after that check, but there the cancellation is only set when the body itself
    // was cancelled; `pending` above can be set after a body that failed.)
    if (failed && !isCancelledError(error)) this.#errors.push(error);
    if (propagate !== NONE && this.#errors.length === 0) throw propagate;
    if (this.#errors.length > 0) {
      // A cancellation from outside is pending but the errors win: re-request it so that the
      // parent still gets it at its next wait, with the count unchanged.
      if (parent.cancelling() > 0) {
        parent.uncancel();
        parent._requestCancel(parent._cancelMessage, parent._cancelOrigin);
      }
      throw new ExceptionGroup("unhandled errors in a TaskGroup", this.#errors);
    }
  }

  #abort(origin: CancellationOrigin): void {
    this.#aborting = true;
    this.#abortOrigin = origin;
    for (const t of this.#tasks) {
      if (!t.done()) t._requestCancel(undefined, origin);
    }
  }

  // Marked with the group, so that introspection shows the parent as each child's awaiter.
  readonly #onTaskDone = markAwaiter((task: Future<unknown>): void => {
    const t = task as Task<unknown>;
    this.#tasks.delete(t);
    const completed = this.#onCompleted;
    if (completed !== null && this.#tasks.size === 0 && !completed.done()) completed.setResult();
    if (t.cancelled() || !t._hasException) return;
    const error = t._exception;
    t._markRetrieved();
    this.#errors.push(error);
    if (isBaseError(error) && this.#baseError === NONE) this.#baseError = error;
    const parent = this.#parent!;
    if (parent.done()) {
      this.#loop!.callExceptionHandler({
        message: `Task ${t} has errored out but its parent task ${parent} is already completed`,
        exception: error,
        task: t,
      });
      return;
    }
    if (!this.#aborting && !this.#parentCancelRequested) {
      // Stop whatever the body is doing; the request is withdrawn in #exit (uncancel).
      const origin: CancellationOrigin = {
        kind: "taskgroup",
        requester: null,
        error,
        description: `task group aborted because child '${t.name}' failed: ${reprError(error)}`,
      };
      this.#abort(origin);
      this.#parentCancelRequested = true;
      parent._requestCancel(undefined, origin);
    }
  }, this);

  /** The task running the body (the children's awaiter), once entered. @internal */
  get _parentTask(): Task<unknown> | null {
    return this.#parent;
  }

  #parentCancelledOrigin(error: unknown): CancellationOrigin {
    const why = error instanceof Error && error.message ? `: ${error.message}` : "";
    return {
      kind: "taskgroup",
      requester: null,
      description: `task group aborted because task '${this.#parent!.name}' was cancelled${why}`,
    };
  }

  toString(): string {
    let text = `<TaskGroup [${this.state}]`;
    if (this.#tasks.size > 0) text += ` tasks=${this.#tasks.size}`;
    if (this.#errors.length > 0) text += ` errors=${this.#errors.length}`;
    return `${text}>`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

function bodyFailedOrigin(error: unknown): CancellationOrigin {
  return {
    kind: "taskgroup",
    requester: null,
    error,
    description: `task group aborted because its body failed: ${reprError(error)}`,
  };
}

function safeCurrentTask(): Task<unknown> | null {
  try {
    return currentTask();
  } catch {
    // Outside any loop there is no current task; callers treat that as "none".
    return null;
  }
}

/**
 * Runs `body(tg)` in a new {@link TaskGroup} and waits for every task it starts. asyncio's
 * `async with asyncio.TaskGroup() as tg:`.
 *
 * The first child to fail cancels the others and the body; once all have ended, every error is
 * thrown together as an `ExceptionGroup`. Nothing started in the group outlives it.
 *
 * **Cancellation:** cancelling the calling task cancels every child; the `CancelledError`
 * propagates once they have ended. `tg.cancel()` ends the group early without error.
 *
 * **Differences from asyncio:** a callback instead of `async with`; resolves to the body's
 * return value (`undefined` if `tg.cancel()` ended the body early).
 *
 * @throws {ExceptionGroup} (as a rejection) with every error of the children and the body.
 * @throws {RuntimeError} (as a rejection) outside a task.
 *
 * @example
 * ```ts
 * import { run, taskGroup, sleep, ExceptionGroup } from "asyncio-ts";
 * await run(async () => {
 *   try {
 *     await taskGroup(async (tg) => {
 *       tg.createTask(() => sleep(10_000)); // cancelled when the other fails
 *       tg.createTask(async () => {
 *         await sleep(10);
 *         throw new Error("boom");
 *       });
 *     });
 *   } catch (e) {
 *     console.log(e instanceof ExceptionGroup); // true
 *     console.log((e as ExceptionGroup).exceptions.length); // 1
 *   }
 * });
 * ```
 */
export function taskGroup<T>(body: (tg: TaskGroup) => T | PromiseLike<T>): Promise<T | undefined> {
  return new TaskGroup().run(body);
}

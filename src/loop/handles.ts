/**
 * `Handle` and `TimerHandle`: what `callSoon`, `callLater` and `callAt` return, as in asyncio.
 *
 * States: scheduled → ran, or scheduled → cancelled. `cancel()` on a handle that already ran is
 * harmless. A callback that throws is reported to the loop's exception handler.
 *
 * As asyncio's `call_soon` copies the current context into the handle, a handle captures the
 * async context of the code that scheduled it: the callback sees that code's
 * AsyncLocalStorage values (but runs as a loop callback: `currentTask()` is `null`).
 */
import { AsyncResource } from "node:async_hooks";
import { inspect } from "node:util";
import { createdAt } from "../internal/debug-stacks.ts";
import type { Implements } from "../internal/implements.ts";
import { isThenable } from "../internal/validate.ts";
import type { TimerEntry } from "./timer-heap.ts";

/** What the loop needs from a handle's owner. @internal */
export interface HandleOwner {
  _timerCancelled(handle: TimerHandle): void;
  _reportCallbackError(handle: Handle, error: unknown): void;
  /** Calls `callback(...args)` in `context`, as a loop callback (outside any task). */
  _callInLoop(context: AsyncResource, callback: Callback, args: unknown[]): unknown;
  /** Debug mode: handles then show their callback's arguments. */
  getDebug(): boolean;
}

/** @internal */
export type Callback = (...args: never[]) => unknown;

/**
 * Runs a handle's callback, in the handle's context and as a loop callback. A failure is reported
 * from there too, so that the exception handler sees the callback's `AsyncLocalStorage` values,
 * as asyncio runs the handler in the handle's context (gh-96704).
 */
function invokeHandle(handle: Handle, callback: Callback, args: unknown[]): void {
  try {
    const result = (callback as (...a: unknown[]) => unknown)(...args);
    // A plain function that returns a promise: its rejection is reported like a throw.
    if (isThenable(result)) {
      Promise.resolve(result).then(undefined, (error: unknown) =>
        handle._owner._reportCallbackError(handle, error),
      );
    }
  } catch (error) {
    handle._owner._reportCallbackError(handle, error);
  }
}

/** Debug mode: what a cancelled handle's callback was (and its arguments), kept for its inspect string. */
const keptDescriptions = new WeakMap<Handle, string>();

/**
 * The arguments as asyncio's `reprlib.repr` shows them: each short (strings cut after 30
 * characters, arrays after 6 items, no nesting), comma-separated.
 */
function formatArgs(args: readonly unknown[]): string {
  return args.map(formatArg).join(", ");
}

const ARG_INSPECT_OPTIONS = {
  depth: 0,
  breakLength: Number.POSITIVE_INFINITY,
  maxArrayLength: 6,
  compact: true,
  maxStringLength: 30,
};

function formatArg(arg: unknown): string {
  try {
    return inspect(arg, ARG_INSPECT_OPTIONS);
  } catch {
    // An argument whose inspect hook throws must not break the report it appears in (asyncio's
    // reprlib falls back the same way).
    let name = "Object";
    try {
      name = (arg as { constructor?: { name?: string } }).constructor?.name ?? name;
    } catch {
      // a hostile proxy: keep the generic name
    }
    return `<${name} instance>`;
  }
}

/** A callback scheduled by `callSoon`. */
export class Handle {
  /** @internal */ _callback: Callback | null;
  /** @internal */ _args: unknown[];
  /** @internal */ _cancelled = false;
  /** @internal */ readonly _owner: HandleOwner;
  /** The async context of the code that scheduled the callback. @internal */
  readonly _context: AsyncResource;

  /** @internal */
  constructor(callback: Callback, args: unknown[], owner: HandleOwner) {
    this._callback = callback;
    this._args = args;
    this._owner = owner;
    this._context = new AsyncResource("asyncio-ts.Handle");
  }

  /** Cancels the callback; it will not run. Does nothing if it already ran. */
  cancel(): void {
    if (this._cancelled) return;
    // As asyncio in debug mode: the inspect string of a cancelled handle still says what it
    // would have called (for "executing <Handle …> took" and the like).
    if (this._owner.getDebug()) keptDescriptions.set(this, this._callbackText());
    this._cancelled = true;
    this._callback = null;
    this._args = [];
  }

  /** Whether `cancel()` was called. */
  cancelled(): boolean {
    return this._cancelled;
  }

  /** @internal */
  _run(): void {
    const cb = this._callback;
    if (cb === null) return;
    this._owner._callInLoop(this._context, invokeHandle as Callback, [this, cb, this._args]);
  }

  /**
   * @internal The callback, as asyncio's reprs show it: `retry()`, and in debug mode with its
   * arguments, `retry(1, 'a')` (newest asyncio leaves them out otherwise).
   */
  _callbackText(): string {
    const name = this._callback?.name || "anonymous";
    return this._owner.getDebug() ? `${name}(${formatArgs(this._args)})` : `${name}()`;
  }

  /** @internal */
  _describe(): string {
    if (!this._cancelled) return this._callbackText();
    const kept = keptDescriptions.get(this);
    return kept === undefined ? "cancelled" : `cancelled ${kept}`;
  }

  toString(): string {
    return `<${this.constructor.name} ${this._describe()}${createdAt(this)}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** A callback scheduled at a deadline by `callLater` or `callAt`. */
export class TimerHandle extends Handle {
  /** @internal */ _when: number;
  /** @internal */ _seq = -1;

  /** @internal */
  constructor(when: number, callback: Callback, args: unknown[], owner: HandleOwner) {
    super(callback, args, owner);
    this._when = when;
  }

  /** The deadline, in loop time (milliseconds). */
  when(): number {
    return this._when;
  }

  override cancel(): void {
    if (this._cancelled) return;
    super.cancel();
    // Still in the heap: tell the loop, which counts dead entries to compact the heap.
    if (this._seq >= 0) this._owner._timerCancelled(this);
  }

  /**
   * As asyncio's repr: `<TimerHandle when=1500 retry()>`, `<TimerHandle cancelled when=1500>`
   * (in debug mode `<TimerHandle cancelled when=1500 retry() created at …>`).
   */
  override toString(): string {
    if (!this._cancelled) {
      return `<TimerHandle when=${this._when} ${this._describe()}${createdAt(this)}>`;
    }
    const kept = keptDescriptions.get(this);
    return `<TimerHandle cancelled when=${this._when}${kept === undefined ? "" : ` ${kept}`}${createdAt(this)}>`;
  }
}

// The internal contracts TimerHandle fills (see Implements).
type _TimerHandleContracts = Implements<TimerHandle, TimerEntry>;

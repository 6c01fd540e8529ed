/**
 * `ReleaseGuard`: what `Lock.acquire()`, `Condition.acquire()` and `Semaphore.acquire()` resolve
 * to, so that `await using _ = await lock.acquire()` is asyncio's `async with lock:`.
 *
 * A guard is created per acquisition and releases at most once, however many times `release()`
 * or a disposer runs. It is not a thenable, so resolving a promise with it is safe.
 *
 * `Symbol.dispose`/`Symbol.asyncDispose` exist on the Node.js versions we support (≥ 20.5
 * defines them as `Symbol.for("nodejs.dispose")`/`Symbol.for("nodejs.asyncDispose")`); for the
 * earliest Node 20 releases they are defined here, once, with those same registered symbols, so
 * TypeScript's `using` helpers and Node agree on them.
 *
 * @module
 */
import { inspect } from "node:util";
import { checkFunction } from "../internal/validate.ts";

const symbols = Symbol as unknown as { dispose?: symbol; asyncDispose?: symbol };
if (symbols.dispose === undefined) {
  Object.defineProperty(Symbol, "dispose", { value: Symbol.for("nodejs.dispose") });
}
if (symbols.asyncDispose === undefined) {
  Object.defineProperty(Symbol, "asyncDispose", { value: Symbol.for("nodejs.asyncDispose") });
}

const DONE: Promise<void> = Promise.resolve();

/** Something a guard releases once. */
export interface Releasable {
  release(): void;
}

/**
 * Proof of one acquisition of a Lock, Condition or Semaphore: `release()` (or leaving a
 * `using`/`await using` block) releases it, once.
 *
 * **Cancellation:** releasing never waits, so a cancelled task releases normally on its way out
 * of a `using` block.
 *
 * **Differences from asyncio:** asyncio's `acquire()` returns `True` and `async with lock:`
 * releases; here `acquire()` resolves to this guard, and `await using _ = await lock.acquire()`
 * (or `using`) releases at the end of the block. Mixing `guard.release()` with a direct
 * `lock.release()` for the same acquisition releases twice, as calling `release()` twice would.
 *
 * @example
 * ```ts
 * import { run, Lock } from "asyncio-ts";
 * await run(async () => {
 *   const lock = new Lock();
 *   {
 *     await using _ = await lock.acquire();
 *     console.log(lock.locked()); // true
 *   }
 *   console.log(lock.locked()); // false
 * });
 * ```
 */
export class ReleaseGuard implements Disposable, AsyncDisposable {
  #target: Releasable | null;
  readonly #label: string;

  /** @internal */
  constructor(target: Releasable, label: string) {
    this.#target = target;
    this.#label = label;
  }

  /** Whether this acquisition has been released (through this guard). */
  get released(): boolean {
    return this.#target === null;
  }

  /**
   * Releases the acquisition; does nothing if this guard already released it.
   * @throws whatever the primitive's `release()` throws (e.g. `RuntimeError` if the lock was
   * already released directly, `RangeError` for an over-released BoundedSemaphore).
   */
  release(): void {
    const target = this.#target;
    if (target === null) return;
    this.#target = null;
    target.release();
  }

  /** Releases (for `using`). */
  [Symbol.dispose](): void {
    this.release();
  }

  /** Releases (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.release();
    return DONE;
  }

  toString(): string {
    return `<ReleaseGuard ${this.released ? "released" : "held"} ${this.#label}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * Acquires through `acquire`, runs `fn`, and releases however `fn` ends: the body of `hold(fn)`
 * on Lock and Semaphore (asyncio's `async with`).
 */
export async function holdWhile<T>(
  acquire: () => Promise<ReleaseGuard>,
  fn: () => T | PromiseLike<T>,
): Promise<T> {
  checkFunction("fn", fn);
  const guard = await acquire();
  try {
    return await fn();
  } finally {
    guard.release();
  }
}

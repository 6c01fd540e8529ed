/**
 * `loop.addSignalHandler()` / `loop.removeSignalHandler()`: asyncio's Unix signal handlers, on
 * Node's `process.on(signal)`.
 *
 * As in asyncio, a loop has at most one handler per signal (adding another replaces it), the
 * callback runs as a loop callback (scheduled with `callSoon`, so it may touch the loop and its
 * tasks), and closing the loop removes the handlers. While a loop has a handler, a referenced
 * host timer keeps Node running: a program that waits for a signal waits, as asyncio's loop
 * does, instead of Node exiting (or `run()` reporting a deadlock) because nothing else is pending.
 *
 * @module
 */
import { constants } from "node:os";
import { RuntimeError } from "../exceptions.ts";
import { rangeError, typeError } from "../internal/validate.ts";

/** Signals no process can catch. */
const UNCATCHABLE = new Set(["SIGKILL", "SIGSTOP"]);

/** The part of the loop the handlers use. */
interface SignalLoop {
  callSoon(callback: (...args: never[]) => unknown, ...args: never[]): unknown;
  isClosed(): boolean;
}

/** The process listeners installed by loops' signal handlers. */
const loopListeners = new WeakSet<(...args: never[]) => unknown>();

/** How many `signal` listeners the process has besides the loops' own signal handlers. */
export function foreignListenerCount(signal: NodeJS.Signals): number {
  return process.listeners(signal).filter((listener) => !loopListeners.has(listener)).length;
}

/** Checks a signal name: a string Node knows (`"SIGTERM"`, …). */
export function checkSignalName(name: string, value: unknown): NodeJS.Signals {
  if (typeof value !== "string") throw typeError(name, 'a signal name such as "SIGTERM"', value);
  if (!(value in constants.signals))
    throw rangeError(name, 'a signal name such as "SIGTERM"', value);
  return value as NodeJS.Signals;
}

/** One loop's signal handlers. */
export class SignalHandlers {
  readonly #loop: SignalLoop;
  readonly #listeners = new Map<NodeJS.Signals, () => void>();
  #keepAlive: NodeJS.Timeout | null = null;

  constructor(loop: SignalLoop) {
    this.#loop = loop;
  }

  /** Whether a handler for `signal` is installed. */
  has(signal: NodeJS.Signals): boolean {
    return this.#listeners.has(signal);
  }

  add(signal: NodeJS.Signals, callback: (...args: never[]) => unknown, args: unknown[]): void {
    if (UNCATCHABLE.has(signal)) throw new RuntimeError(`${signal} cannot be caught`);
    this.remove(signal);
    const loop = this.#loop;
    const listener = () => {
      if (!loop.isClosed()) loop.callSoon(callback, ...(args as never[]));
    };
    loopListeners.add(listener);
    process.on(signal, listener);
    this.#listeners.set(signal, listener);
    // Never fires: it only keeps Node's event loop alive while a signal may still come.
    this.#keepAlive ??= setInterval(() => {}, 2 ** 31 - 1);
  }

  remove(signal: NodeJS.Signals): boolean {
    const listener = this.#listeners.get(signal);
    if (listener === undefined) return false;
    process.off(signal, listener);
    this.#listeners.delete(signal);
    if (this.#listeners.size === 0 && this.#keepAlive !== null) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = null;
    }
    return true;
  }

  /** Removes every handler (the loop closes). */
  clear(): void {
    for (const signal of [...this.#listeners.keys()]) this.remove(signal);
  }
}

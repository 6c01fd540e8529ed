/**
 * Executors: running functions on worker threads, asyncio's `loop.run_in_executor` and
 * `asyncio.to_thread`, on a piscina pool.
 *
 * A closure cannot cross to another thread in JavaScript, so a job is named, not passed: a module
 * URL and the name of one of its exports, plus arguments (copied with the structured clone
 * algorithm). The export may be sync or async; its result comes back the same way. Errors come
 * back as Errors with their name, message, worker-side stack, own fields (`code`, …) and cause.
 *
 * Cancellation goes further than asyncio's, which can only cancel a job that has not started:
 * cancelling the Future of a queued job removes it from the queue (it never runs), and
 * cancelling a running job terminates the worker thread running it (piscina replaces the
 * thread). Code in a worker cannot clean up when it is terminated: jobs that hold resources
 * outside the thread (files, locks in shared memory) should be written to be killable.
 *
 * piscina is loaded with a dynamic `import()` the first time a pool starts, so importing
 * asyncio-ts loads no dependency.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { inspect } from "node:util";
import type { Piscina } from "piscina";
import * as exceptions from "../exceptions.ts";
import { type CancellationOrigin, RuntimeError } from "../exceptions.ts";
import { Future } from "../futures/future.ts";
import { registry } from "../internal/registry.ts";
import { checkOptions, rangeError, typeError } from "../internal/validate.ts";
import type { EventLoop } from "../loop/event-loop.ts";
import { getRunningLoop } from "../loop/running.ts";
import { loopIo } from "./loop-io.ts";

const WORKER_URL = new URL(
  import.meta.url.endsWith(".ts") ? "./executor-worker.ts" : "./executor-worker.js",
  import.meta.url,
).href;

const MARK = "__asyncioTsWorkerError";

/** Options of {@link ThreadPoolExecutor}. */
export interface ThreadPoolExecutorOptions {
  /** Most threads at once. Default: `os.availableParallelism()`. */
  maxWorkers?: number;
  /** Threads kept alive while idle. Default: 0. */
  minWorkers?: number;
  /** An idle thread above `minWorkers` exits after this many ms. Default: 30000. */
  idleTimeout?: number;
  /**
   * `shutdown()` waits this long (ms) for the submitted jobs (queued and running) before
   * terminating them. Default: 30000.
   */
  shutdownTimeout?: number;
  /** V8 heap limits of each worker (Node's `resourceLimits`). */
  resourceLimits?: {
    maxOldGenerationSizeMb?: number;
    maxYoungGenerationSizeMb?: number;
    codeRangeSizeMb?: number;
    stackSizeMb?: number;
  };
}

/** Options of {@link ThreadPoolExecutor.shutdown}. */
export interface ShutdownOptions {
  /** Wait for the jobs already submitted to finish. Default: true. */
  wait?: boolean;
  /** Cancel the jobs that have not started yet. Default: false. */
  cancelFutures?: boolean;
}

/** What {@link ThreadPoolExecutor.statistics} reports. */
export interface ThreadPoolExecutorStatistics {
  maxWorkers: number;
  /** Threads alive now. */
  workers: number;
  /** Submitted jobs whose Future is not done yet (queued or running). */
  pending: number;
  /** Jobs that finished with a result or an error. */
  completed: number;
  /** Jobs cancelled. */
  cancelled: number;
  shutdown: boolean;
}

/** A module to run in a worker: a URL (`new URL("./jobs.mjs", import.meta.url)`) or an absolute path. */
export type ModuleSpecifier = string | URL;

const SCHEME = /^[a-z][a-z0-9+.-]+:/i;

function moduleHref(moduleUrl: unknown): string {
  if (moduleUrl instanceof URL) return moduleUrl.href;
  if (typeof moduleUrl !== "string") {
    throw typeError("moduleUrl", "a module URL (string or URL) or an absolute path", moduleUrl);
  }
  if (SCHEME.test(moduleUrl)) return moduleUrl;
  if (isAbsolute(moduleUrl)) return pathToFileURL(moduleUrl).href;
  throw rangeError(
    "moduleUrl",
    'an absolute URL or path, e.g. new URL("./jobs.mjs", import.meta.url)',
    moduleUrl,
  );
}

function checkExportName(exportName: unknown): string {
  if (typeof exportName !== "string" || exportName.length === 0) {
    throw typeError("exportName", "the name of an exported function", exportName);
  }
  return exportName;
}

/** The error classes rebuilt by name: JavaScript's and asyncio-ts's own. */
const ERROR_CLASSES: ReadonlyMap<string, new (...args: never[]) => Error> = new Map<
  string,
  new (
    ...args: never[]
  ) => Error
>([
  ...[Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError].map(
    (ctor) => [ctor.name, ctor] as const,
  ),
  ["AggregateError", AggregateError],
  ...Object.values(exceptions)
    .filter((value) => typeof value === "function" && value.prototype instanceof Error)
    .map((ctor) => [(ctor as { name: string }).name, ctor as new () => Error] as const),
]);

interface ErrorRecord {
  name: string;
  message: string;
  stack?: string;
  props: Record<string, unknown>;
  cause?: unknown;
  errors?: unknown[];
}

/**
 * Rebuilds what a job threw, from the record the worker entry packed: an error of the same class
 * when it is one of JavaScript's or asyncio-ts's (other classes come back as `Error` with their
 * `name`), with its message, fields, stack, cause and members. Anything that arrives unpacked
 * failed in the worker's own machinery: an Error stays as it is, anything else is the failed
 * copy of a result that cannot cross threads.
 */
function reviveError(value: unknown, exportName = ""): unknown {
  if (value === null || typeof value !== "object" || !(MARK in value)) {
    // The worker's own failure. Posting a result the structured clone refuses throws in the
    // worker, and that DataCloneError reaches this thread as an empty object (Node 20) or an
    // Error without a message (Node 24); anything else (piscina's errors, a worker that died)
    // stays as it is.
    const lostClone =
      !(value instanceof Error) || (value.constructor === Error && value.message === "");
    if (!lostClone) return value;
    return new TypeError(
      `the result of \`${exportName}\` could not be copied back from the worker thread: ` +
        "the structured clone refuses functions, symbols and objects that hold them",
      { cause: value },
    );
  }
  const packed = value as Record<string, unknown>;
  if (packed[MARK] === "value") return packed.value;
  const record = value as unknown as ErrorRecord;
  const members = record.errors?.map((member) => reviveError(member, exportName));
  let Ctor = ERROR_CLASSES.get(record.name) ?? Error;
  const isAggregate = Ctor === AggregateError || Ctor.prototype instanceof AggregateError;
  if (members !== undefined && !isAggregate) Ctor = AggregateError;
  // A real Error of the class, without running a constructor whose parameters differ.
  const error: Error =
    members !== undefined
      ? Reflect.construct(AggregateError, [members, record.message], Ctor)
      : Reflect.construct(Error, [record.message], Ctor);
  for (const [key, prop] of Object.entries(record.props)) {
    // A Buffer crosses threads as a plain Uint8Array: give fields such as
    // IncompleteReadError.partial their Buffer back (a Buffer is a Uint8Array too).
    (error as unknown as Record<string, unknown>)[key] =
      prop instanceof Uint8Array && !Buffer.isBuffer(prop)
        ? Buffer.from(prop.buffer, prop.byteOffset, prop.byteLength)
        : prop;
  }
  if (error.name !== record.name) {
    Object.defineProperty(error, "name", {
      value: record.name,
      configurable: true,
      writable: true,
    });
  }
  if (record.stack !== undefined) error.stack = record.stack;
  if ("cause" in record) error.cause = reviveError(record.cause, exportName);
  return error;
}

/** A Future whose cancellation aborts its job at once. */
class JobFuture<T> extends Future<T> {
  /** The name reports give it: it is a `Future` to its users. @internal */
  static readonly _displayName = "Future";
  readonly _controller = new AbortController();
  /** @internal */
  override _cancel(msg: string | undefined, origin: CancellationOrigin | undefined): boolean {
    if (!super._cancel(msg, origin)) return false;
    this._controller.abort();
    return true;
  }
}

/**
 * A pool of worker threads running named functions: the counterpart of Python's
 * `concurrent.futures.ThreadPoolExecutor` for `loop.runInExecutor()`. The threads start on
 * demand. Shut it down when done (`await executor.shutdown()` or `await using`); the default
 * executor of a loop (used by {@link toThread} and `runInExecutor(null, …)`) is shut down by
 * `run()`.
 *
 * **Cancellation:** cancelling the Future of a job (or the task awaiting it) removes a queued job
 * from the queue, and terminates the thread of a running one.
 *
 * **Differences from asyncio:** jobs are `(moduleUrl, exportName, ...args)`, not callables;
 * arguments and results are copied (structured clone); running jobs can be cancelled.
 *
 * @example
 * ```ts
 * import { run, ThreadPoolExecutor, getRunningLoop } from "asyncio-ts";
 * // The job module; in an application, a file: new URL("./jobs.mjs", import.meta.url).
 * // (A data: URL must be percent-encoded: a bare "?" would start its query.)
 * const source = "export function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }";
 * const jobs = `data:text/javascript,${encodeURIComponent(source)}`;
 * await run(async () => {
 *   await using pool = new ThreadPoolExecutor({ maxWorkers: 2 });
 *   const loop = getRunningLoop();
 *   const [a, b] = await Promise.all([
 *     loop.runInExecutor(pool, jobs, "fib", 30),
 *     loop.runInExecutor(pool, jobs, "fib", 31),
 *   ]);
 *   console.log(a, b); // 832040 1346269
 * });
 * ```
 */
export class ThreadPoolExecutor {
  readonly #maxWorkers: number;
  readonly #options: ThreadPoolExecutorOptions;
  #pool: Promise<Piscina> | null = null;
  #poolValue: Piscina | null = null;
  #shutdown = false;
  readonly #pending = new Set<JobFuture<unknown>>();
  /** Called once {@link #pending} is empty, while `shutdown()` waits for it. */
  #onIdle: (() => void) | null = null;
  #closing: Promise<void> | null = null;
  #completed = 0;
  #cancelled = 0;

  constructor(options: ThreadPoolExecutorOptions = {}) {
    checkOptions("options", options);
    const max = options.maxWorkers ?? Math.max(1, availableParallelism());
    if (typeof max !== "number") throw typeError("options.maxWorkers", "a number", max);
    if (!Number.isInteger(max) || max < 1) {
      throw rangeError("options.maxWorkers", "an integer of 1 or more", max);
    }
    const min = options.minWorkers ?? 0;
    if (typeof min !== "number") throw typeError("options.minWorkers", "a number", min);
    if (!Number.isInteger(min) || min < 0 || min > max) {
      throw rangeError("options.minWorkers", `an integer from 0 to maxWorkers (${max})`, min);
    }
    for (const key of ["idleTimeout", "shutdownTimeout"] as const) {
      const v = options[key];
      if (v !== undefined && typeof v !== "number") {
        throw typeError(`options.${key}`, "a number of milliseconds", v);
      }
      if (v !== undefined && !(v >= 0)) {
        throw rangeError(`options.${key}`, "a number of milliseconds, 0 or more", v);
      }
    }
    this.#maxWorkers = max;
    this.#options = { ...options, minWorkers: min };
  }

  /**
   * Runs `exportName` of the module at `moduleUrl` with `args` on a worker thread; returns a
   * Future of its result, bound to the running loop.
   *
   * @throws {RuntimeError} after `shutdown()`. @throws {TypeError}/{RangeError} for a bad module
   * URL or export name. The Future fails with the job's error, or a `DataCloneError` for
   * arguments that cannot be copied to a thread (functions, class instances lose their class).
   */
  submit<T = unknown>(
    moduleUrl: ModuleSpecifier,
    exportName: string,
    ...args: unknown[]
  ): Future<T> {
    return this._submit<T>(getRunningLoop(), moduleUrl, exportName, args);
  }

  /** @internal */
  _submit<T>(loop: EventLoop, moduleUrl: unknown, exportName: unknown, args: unknown[]): Future<T> {
    const url = moduleHref(moduleUrl);
    const name = checkExportName(exportName);
    if (this.#shutdown) throw new RuntimeError("cannot schedule new jobs after shutdown");
    const fut = new JobFuture<T>({ loop });
    this.#pending.add(fut as JobFuture<unknown>);
    const signal = fut._controller.signal;
    this.#getPool()
      .then((pool) => {
        if (fut.done()) return undefined;
        return pool.run({ url, name, args }, { signal });
      })
      .then(
        (value) => {
          this.#forget(fut as JobFuture<unknown>);
          if (fut.done()) {
            this.#cancelled++;
            return;
          }
          this.#completed++;
          fut.setResult(value as T);
        },
        (error: unknown) => {
          this.#forget(fut as JobFuture<unknown>);
          if (fut.done()) {
            this.#cancelled++;
            return;
          }
          if (this.#shutdown && (error as Error | null)?.name === "AbortError") {
            // Dropped from the queue by shutdown({ cancelFutures: true }).
            this.#cancelled++;
            fut.cancel();
            return;
          }
          this.#completed++;
          fut.setException(reviveError(error, name));
        },
      );
    return fut;
  }

  /**
   * Stops accepting jobs and releases the threads once every job submitted has run to its end,
   * the queued ones included, as Python's `shutdown(wait=True)` (after `shutdownTimeout` ms,
   * the jobs still running are terminated and those still queued dropped). With
   * `cancelFutures`, the jobs not started are cancelled instead; with `wait: false`, returns
   * without waiting (the jobs still run). Calling it again waits for the same shutdown.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    checkOptions("options", options);
    const wait = options.wait ?? true;
    const force = options.cancelFutures ?? false;
    this.#shutdown = true;
    if (this.#closing === null) {
      const poolPromise = this.#pool;
      if (poolPromise === null) return;
      this.#closing = this.#close(poolPromise, force);
    }
    if (wait) await this.#closing;
  }

  async #close(poolPromise: Promise<Piscina>, cancelQueued: boolean): Promise<void> {
    const pool = await poolPromise;
    // With force, piscina drops the queued jobs (their Futures are cancelled) and waits for the
    // running ones. Without it, piscina's close() would wait only for the jobs already on a
    // thread and drop the queued ones: wait for every submitted job here first.
    if (cancelQueued) await pool.close({ force: true });
    else if (await this.#idle(this.#options.shutdownTimeout ?? 30_000)) await pool.close();
    else await pool.destroy();
  }

  /** Resolves to true once no submitted job is pending, or to false after `timeoutMs`. */
  #idle(timeoutMs: number): Promise<boolean> {
    if (this.#pending.size === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      // Beyond setTimeout's range (Infinity included) there is no time limit.
      const timer =
        timeoutMs <= 2 ** 31 - 1 ? setTimeout(() => resolve(false), timeoutMs) : undefined;
      // The jobs' threads keep the process alive; this timer alone must not.
      timer?.unref();
      this.#onIdle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  #forget(fut: JobFuture<unknown>): void {
    this.#pending.delete(fut);
    if (this.#pending.size === 0 && this.#onIdle !== null) {
      const onIdle = this.#onIdle;
      this.#onIdle = null;
      onIdle();
    }
  }

  /** `await using` shuts the executor down, waiting for its jobs. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** A snapshot of the pool. */
  statistics(): ThreadPoolExecutorStatistics {
    return {
      maxWorkers: this.#maxWorkers,
      workers: this.#poolValue?.threads.length ?? 0,
      pending: this.#pending.size,
      completed: this.#completed,
      cancelled: this.#cancelled,
      shutdown: this.#shutdown,
    };
  }

  #getPool(): Promise<Piscina> {
    if (this.#pool === null) {
      const o = this.#options;
      this.#pool = import("piscina").then(({ Piscina }) => {
        const pool = new Piscina({
          filename: WORKER_URL,
          maxThreads: this.#maxWorkers,
          minThreads: o.minWorkers,
          idleTimeout: o.idleTimeout ?? 30_000,
          closeTimeout: o.shutdownTimeout ?? 30_000,
          maxQueue: "auto",
          resourceLimits: o.resourceLimits,
        });
        // A close that timed out is reported as an "error" event: the pool is destroyed anyway.
        pool.on("error", () => {});
        this.#poolValue = pool;
        return pool;
      });
    }
    return this.#pool;
  }

  toString(): string {
    const s = this.statistics();
    const state = s.shutdown ? "shutdown" : "running";
    return `<ThreadPoolExecutor ${state} workers=${s.workers}/${s.maxWorkers} pending=${s.pending}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** The executor `runInExecutor(null, …)` uses on `loop`, created on first use. */
function defaultExecutor(loop: EventLoop): ThreadPoolExecutor {
  const io = loopIo(loop);
  if (io.shutDown || io.executorShutDown) {
    throw new RuntimeError("Executor shutdown has been called");
  }
  let executor = io.defaultExecutor;
  if (executor === null) executor = io.defaultExecutor = new ThreadPoolExecutor();
  return executor as ThreadPoolExecutor;
}

registry.runInExecutor = <T>(
  loop: EventLoop,
  executor: unknown,
  moduleUrl: unknown,
  exportName: unknown,
  args: unknown[],
): Future<T> => {
  // As asyncio's run_in_executor, whatever the executor: a job on a closed loop would deliver
  // its result to a Future nobody can await any more.
  if (loop.isClosed()) throw new RuntimeError("Event loop is closed");
  if (executor === null || executor === undefined) executor = defaultExecutor(loop);
  else if (!(executor instanceof ThreadPoolExecutor)) {
    throw typeError("executor", "a ThreadPoolExecutor or null (the default executor)", executor);
  }
  return (executor as ThreadPoolExecutor)._submit<T>(loop, moduleUrl, exportName, args);
};

registry.setDefaultExecutor = (loop: EventLoop, executor: unknown): void => {
  if (!(executor instanceof ThreadPoolExecutor)) {
    throw typeError("executor", "a ThreadPoolExecutor", executor);
  }
  if (loop.isClosed()) throw new RuntimeError("Event loop is closed");
  loopIo(loop).defaultExecutor = executor;
};

registry.shutdownDefaultExecutor = async (loop: EventLoop): Promise<void> => {
  if (loop.isClosed()) throw new RuntimeError("Event loop is closed");
  const io = loopIo(loop);
  io.executorShutDown = true;
  const executor = io.defaultExecutor;
  io.defaultExecutor = null;
  if (executor !== null) await executor.shutdown();
};

/**
 * Runs `exportName` of the module at `moduleUrl` with `args` on a worker thread of the running
 * loop's default executor, and returns a Future of its result: the TypeScript form of
 * `asyncio.to_thread(func, *args)`.
 *
 * Keep jobs in plain JavaScript modules (`.mjs`/`.js`) unless your worker threads run a
 * TypeScript loader; pass `new URL("./jobs.mjs", import.meta.url)` so the path does not depend
 * on the working directory.
 *
 * **Cancellation:** cancelling the awaiting task (or the Future) drops a queued job and
 * terminates the thread running a started one.
 *
 * **Differences from asyncio:** a closure cannot cross to a thread, so the job is named by
 * module and export; arguments and results are copied; the `contextvars` (here,
 * AsyncLocalStorage) of the caller are not visible in the thread.
 *
 * @throws {RuntimeError} outside a running loop, or once the loop is shutting down.
 *
 * @example
 * ```ts
 * import { run, toThread } from "asyncio-ts";
 * // The job module; in an application, a file: new URL("./jobs.mjs", import.meta.url).
 * const jobs = "data:text/javascript,export const square = (n) => n * n;";
 * await run(async () => {
 *   console.log(await toThread<number>(jobs, "square", 12)); // 144
 * });
 * ```
 */
export function toThread<T = unknown>(
  moduleUrl: ModuleSpecifier,
  exportName: string,
  ...args: unknown[]
): Future<T> {
  return getRunningLoop().runInExecutor<T>(null, moduleUrl, exportName, ...args);
}

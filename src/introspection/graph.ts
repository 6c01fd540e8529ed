/**
 * The in-process call graph: asyncio 3.14's `asyncio.graph` module (`capture_call_graph`,
 * `format_call_graph`, `print_call_graph`). For a Future or Task it says where it is (its call
 * stack, as far as the runtime knows it) and who awaits it, recursively up to the tasks nobody
 * awaits.
 *
 * JavaScript cannot walk the frames of a suspended async function, so the call stack of a task
 * that waits is the stack captured when its wait began, which debug mode records
 * (`task.getStack()`); the current task's stack is captured on the spot. "Who awaits whom" is
 * derived from what the runtime keeps anyway (see awaiters.ts): nothing is recorded per wait.
 *
 * @module
 */

import { RuntimeError } from "../exceptions.ts";
import { currentTask } from "../futures/current.ts";
import { Future } from "../futures/future.ts";
import { Task } from "../futures/task.ts";
import { checkKnownOptions, checkOptions, rangeError, typeError } from "../internal/validate.ts";
import { runningLoopOrNull } from "../loop/running.ts";
import { awaitersOf, describeWaits, framesOf, waitFrames } from "./awaiters.ts";
import { idOf, numberTasks } from "./ids.ts";

/**
 * One node of a call graph: a Future or Task, where it is, and who awaits it. asyncio's
 * `FutureCallGraph`, with `waitingOn` added (what a task waits on now).
 */
export interface FutureCallGraph {
  /** The Future or Task. */
  readonly future: Future<unknown>;
  /**
   * What the task waits on now, as its inspect string shows it (`<sleep until 100>`,
   * `<Task pending name='child'>`); empty for a Future, or a task that runs or awaits a promise.
   */
  readonly waitingOn: readonly string[];
  /**
   * The program's stack frames, innermost first, as V8 prints them without the leading "at "
   * (`fetchUser (file:///app.ts:12:5)`), trimmed of the runtime's own frames at both ends. For
   * the current task: where `captureCallGraph` was called. For a waiting task: where its wait
   * began, in debug mode only (empty otherwise), as far as V8 could see it.
   */
  readonly callStack: readonly string[];
  /** The Futures and Tasks awaiting this one, each with its own graph. */
  readonly awaitedBy: readonly FutureCallGraph[];
}

/** Options of {@link captureCallGraph}, {@link formatCallGraph} and {@link printCallGraph}. */
export interface CallGraphOptions {
  /** Keep at most this many frames of each call stack (the innermost); `null` keeps all. Default: `null`. */
  limit?: number | null;
}

/** Options of {@link printCallGraph}. */
export interface PrintCallGraphOptions extends CallGraphOptions {
  /** Where to write. Default: `process.stdout`. */
  file?: { write(text: string): unknown };
}

/**
 * Captures the call graph of `future` (default: the current task): a plain structure with the
 * Future, its call stack, what it waits on, and every Future or Task awaiting it, recursively.
 * asyncio 3.14's `asyncio.capture_call_graph`.
 *
 * Edges come from what is awaited now: a task awaiting a Task or Future; the children of
 * `gather`, `shield` and `wait`, awaited by the task that called them (as asyncio 3.14 does;
 * called outside a task, by the Future they return); the children of a TaskGroup, awaited by
 * the task running the group. A task waiting in `asCompleted`, or on a plain promise that wraps
 * a task, shows no edge.
 *
 * Returns `null` when no future is given and the code runs in a loop callback, not a task.
 *
 * **Cancellation:** synchronous; it never waits, and reading the graph changes nothing.
 *
 * **Differences from asyncio:** a waiting task's call stack is known only in debug mode
 * (`run(main, { debug: true })`), where each wait records its stack; `limit` keeps the innermost
 * frames and must be a non-negative integer. There is no `depth` option: the frames of this
 * module are dropped instead.
 *
 * @throws {TypeError} if `future` is not a Future (or `options` is bad).
 * @throws {RangeError} if `options.limit` is not a non-negative integer.
 * @throws {RuntimeError} without `future` outside a running loop.
 *
 * @example
 * ```ts
 * import { captureCallGraph, createTask, currentTask, run, sleep } from "asyncio-ts";
 * await run(
 *   async () => {
 *     const child = createTask(() => sleep(100), { name: "child" });
 *     await sleep(0);
 *     const observer = createTask(() => {
 *       const graph = captureCallGraph(child)!;
 *       console.log(graph.waitingOn); // ["<sleep until 100>"]
 *       console.log(graph.awaitedBy[0].future === main); // true
 *     });
 *     const main = currentTask();
 *     await child;
 *     await observer;
 *   },
 *   { clock: "virtual" },
 * );
 * ```
 */
export function captureCallGraph(
  future?: Future<unknown> | null,
  options?: CallGraphOptions,
): FutureCallGraph | null {
  const limit = checkGraphArgs(future, options);
  const loop = runningLoopOrNull();
  let current: Task<unknown> | null = null;
  if (loop !== null) current = currentTask();
  if (future === undefined || future === null) {
    if (loop === null) {
      throw new RuntimeError(
        "captureCallGraph() called outside of a running event loop and no future to introspect " +
          "was given",
      );
    }
    if (current === null) return null;
    future = current;
  }
  if (future._loop !== null) numberTasks(future._loop);
  const here = future === current ? framesOf(new Error().stack) : null;
  return build(future, here, limit, new Set());
}

function build(
  future: Future<unknown>,
  here: string[] | null,
  limit: number | null,
  path: Set<Future<unknown>>,
): FutureCallGraph {
  const isTask = future instanceof Task;
  let callStack = here ?? (isTask ? waitFrames(future) : []);
  if (limit !== null) callStack = callStack.slice(0, limit);
  path.add(future);
  const awaitedBy: FutureCallGraph[] = [];
  for (const awaiter of awaitersOf(future)) {
    // A cycle (tasks awaiting each other) is shown once, not followed forever.
    if (!path.has(awaiter)) awaitedBy.push(build(awaiter, null, limit, path));
  }
  path.delete(future);
  return {
    future,
    waitingOn: isTask && here === null ? describeWaits(future) : [],
    callStack,
    awaitedBy,
  };
}

/**
 * The call graph of `future` (default: the current task) as text, asyncio 3.14's
 * `asyncio.format_call_graph`: one `* Task(name=…, id=…)` line per node, what it waits on, its
 * call stack, and the nodes awaiting it indented below. Ids are this process's short ids (the
 * same in `captureTasks` and in traces). An empty string where {@link captureCallGraph} returns
 * `null`.
 *
 * @throws {TypeError} / {RangeError} / {RuntimeError} as {@link captureCallGraph}.
 *
 * @example
 * ```ts
 * import { createTask, formatCallGraph, gather, run, sleep } from "asyncio-ts";
 * await run(
 *   async () => {
 *     const a = createTask(() => sleep(10), { name: "a" });
 *     const b = createTask(() => sleep(20), { name: "b" });
 *     const both = gather([a, b]);
 *     createTask(() => console.log(formatCallGraph(a)), { name: "printer" });
 *     await both;
 *   },
 *   { clock: "virtual" },
 * );
 * // * Task(name='a', id=2) waiting on <sleep until 10>
 * //   + Awaited by:
 * //     * Task(name='Task-1', id=1) waiting on <GatheringFuture pending children=2 done=0>
 * ```
 */
export function formatCallGraph(
  future?: Future<unknown> | null,
  options?: CallGraphOptions,
): string {
  const graph = captureCallGraph(future, options);
  if (graph === null) return "";
  const lines: string[] = [];
  render(graph, 0, lines);
  return lines.join("\n");
}

function render(node: FutureCallGraph, level: number, lines: string[]): void {
  const indent = "    ".repeat(level);
  const f = node.future;
  const head =
    f instanceof Task
      ? `* Task(name=${quote(f.name)}, id=${idOf(f)})`
      : `* ${f.constructor.name}(id=${idOf(f)})`;
  const waiting = node.waitingOn.length > 0 ? ` waiting on ${node.waitingOn.join("; ")}` : "";
  lines.push(`${indent}${head}${waiting}`);
  if (node.callStack.length > 0) {
    lines.push(`${indent}  + Call stack:`);
    for (const frame of node.callStack) lines.push(`${indent}  |   at ${frame}`);
  }
  if (node.awaitedBy.length > 0) {
    lines.push(`${indent}  + Awaited by:`);
    for (const child of node.awaitedBy) render(child, level + 1, lines);
  }
}

/**
 * Prints {@link formatCallGraph}'s text (and a newline) to `options.file` (default
 * `process.stdout`): asyncio 3.14's `asyncio.print_call_graph`. Prints nothing where
 * {@link captureCallGraph} returns `null`.
 *
 * @throws {TypeError} / {RangeError} / {RuntimeError} as {@link captureCallGraph}.
 *
 * @example
 * ```ts
 * import { createTask, printCallGraph, run, sleep } from "asyncio-ts";
 * await run(
 *   async () => {
 *     const child = createTask(() => sleep(10), { name: "child" });
 *     await sleep(0);
 *     printCallGraph(child); // * Task(name='child', id=2) waiting on <sleep until 10> …
 *     await child;
 *   },
 *   { clock: "virtual" },
 * );
 * ```
 */
export function printCallGraph(
  future?: Future<unknown> | null,
  options?: PrintCallGraphOptions,
): void {
  checkOptions("options", options);
  checkKnownOptions("options", options, PRINT_KEYS);
  const file = options?.file === undefined ? process.stdout : options.file;
  if (file === null || typeof file !== "object" || typeof file.write !== "function") {
    throw typeError("options.file", "an object with a write() method", file);
  }
  const text = formatCallGraph(
    future,
    options?.limit === undefined ? undefined : { limit: options.limit },
  );
  if (text !== "") file.write(`${text}\n`);
}

const GRAPH_KEYS: ReadonlySet<string> = new Set(["limit"]);
const PRINT_KEYS: ReadonlySet<string> = new Set(["limit", "file"]);

function checkGraphArgs(future: unknown, options: CallGraphOptions | undefined): number | null {
  if (future !== undefined && future !== null && !(future instanceof Future)) {
    throw typeError("future", "a Future or Task", future);
  }
  checkOptions("options", options);
  checkKnownOptions("options", options, GRAPH_KEYS);
  const limit = options?.limit ?? null;
  if (limit === null) return null;
  if (typeof limit !== "number") throw typeError("options.limit", "a number or null", limit);
  if (!Number.isInteger(limit) || limit < 0) {
    throw rangeError("options.limit", "a non-negative integer", limit);
  }
  return limit;
}

/** Python's repr of a string, as asyncio prints names: single quotes unless the name has one. */
export function quote(text: string): string {
  if (!text.includes("'")) return `'${text.replace(/\\/g, "\\\\")}'`;
  if (!text.includes('"')) return `"${text.replace(/\\/g, "\\\\")}"`;
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

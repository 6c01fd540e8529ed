/**
 * The two views of a task snapshot, as asyncio 3.14's `python -m asyncio ps` (a table, one row
 * per task and awaiter) and `pstree` (a tree from the tasks nobody awaits down to the tasks they
 * await). Pure functions of the plain data, so the command line tool formats a snapshot that
 * came from another process the same way.
 *
 * @module
 */
import { typeError } from "../internal/validate.ts";
import type { TaskInfo } from "./snapshot.ts";

const COLUMNS = [
  "loop",
  "task id",
  "task name",
  "state",
  "waiting on",
  "awaiter name",
  "awaiter id",
];

/**
 * The tasks as a table, asyncio 3.14's `ps`: one row per task and awaiter (a task nobody awaits
 * has one row with empty awaiter columns), under a header and a rule.
 *
 * @throws {TypeError} if `tasks` is not an array of task records.
 *
 * @example
 * ```ts
 * import { captureTasks, createTask, formatTaskTable, run, sleep } from "asyncio-ts";
 * await run(
 *   async () => {
 *     const worker = createTask(() => sleep(100), { name: "worker" });
 *     createTask(() => console.log(formatTaskTable(captureTasks())), { name: "ps" });
 *     await worker;
 *   },
 *   { clock: "virtual" },
 * );
 * // loop  task id  task name  state    waiting on                    awaiter name  awaiter id
 * // -----------------------------------------------------------------------------------------
 * // 1     1        Task-1     pending  <Task pending name='worker'>
 * // 1     2        worker     pending  <sleep until 100>             Task-1        1
 * // 1     3        ps         pending
 * ```
 */
export function formatTaskTable(tasks: readonly TaskInfo[]): string {
  checkTasks(tasks);
  const rows: string[][] = [];
  for (const t of tasks) {
    const base = [String(t.loop), String(t.id), t.name, stateOf(t), t.waitingOn.join("; ")];
    if (t.awaitedBy.length === 0) rows.push([...base, "", ""]);
    for (const a of t.awaitedBy) rows.push([...base, a.name, String(a.id)]);
  }
  const widths = COLUMNS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const header = line(COLUMNS);
  const rule = "-".repeat(widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1));
  return [header, rule, ...rows.map(line)].join("\n");
}

/**
 * The tasks as a tree, asyncio 3.14's `pstree`: each task nobody awaits is a root, and under
 * each task are the tasks it awaits (directly, or through a gather, a TaskGroup…). Each line is
 * `(T) name [id]`, what the task waits on, and in debug mode where in the program it waits. A
 * task awaited by two tasks appears under both; tasks that await each other in a cycle are
 * shown once, marked `(cycle)`. With several loops, each has its own tree.
 *
 * @throws {TypeError} if `tasks` is not an array of task records.
 *
 * @example
 * ```ts
 * import { captureTasks, createTask, formatTaskTree, gather, run, sleep } from "asyncio-ts";
 * await run(
 *   async () => {
 *     const fetches = gather([
 *       createTask(() => sleep(10), { name: "fetch-1" }),
 *       createTask(() => sleep(20), { name: "fetch-2" }),
 *     ]);
 *     createTask(() => console.log(formatTaskTree(captureTasks())), { name: "pstree" });
 *     await fetches;
 *   },
 *   { clock: "virtual" },
 * );
 * // ├── (T) Task-1 [1] waiting on <GatheringFuture pending children=2 done=0>
 * // │   ├── (T) fetch-1 [2] waiting on <sleep until 10>
 * // │   └── (T) fetch-2 [3] waiting on <sleep until 20>
 * // └── (T) pstree [4]
 * ```
 */
export function formatTaskTree(tasks: readonly TaskInfo[]): string {
  checkTasks(tasks);
  const loops = [...new Set(tasks.map((t) => t.loop))];
  const out: string[] = [];
  for (const loop of loops) {
    if (loops.length > 1) out.push(`loop ${loop}`);
    treeOfLoop(
      tasks.filter((t) => t.loop === loop),
      out,
    );
  }
  return out.join("\n");
}

function treeOfLoop(tasks: TaskInfo[], out: string[]): void {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const awaited = new Map<number, TaskInfo[]>();
  for (const t of tasks) {
    for (const a of t.awaitedBy) {
      if (!byId.has(a.id)) continue;
      let list = awaited.get(a.id);
      if (list === undefined) awaited.set(a.id, (list = []));
      list.push(t);
    }
  }
  const childrenOf = (t: TaskInfo): TaskInfo[] =>
    (awaited.get(t.id) ?? []).sort((a, b) => a.id - b.id);
  const oldestFirst = [...tasks].sort((a, b) => a.id - b.id);
  const roots = oldestFirst.filter((t) => !t.awaitedBy.some((a) => byId.has(a.id)));
  // Tasks that await each other in a cycle have no root above them: the oldest one left over
  // becomes a root, until every task hangs below one.
  const reached = new Set<number>();
  const reach = (t: TaskInfo): void => {
    if (reached.has(t.id)) return;
    reached.add(t.id);
    for (const c of childrenOf(t)) reach(c);
  };
  for (const r of roots) reach(r);
  for (const t of oldestFirst) {
    if (!reached.has(t.id)) {
      roots.push(t);
      reach(t);
    }
  }
  const render = (t: TaskInfo, prefix: string, last: boolean, path: Set<number>): void => {
    const cycle = path.has(t.id);
    out.push(`${prefix}${last ? "└── " : "├── "}${describe(t)}${cycle ? " (cycle)" : ""}`);
    if (cycle) return;
    path.add(t.id);
    const children = childrenOf(t);
    const inner = prefix + (last ? "    " : "│   ");
    for (let i = 0; i < children.length; i++) {
      render(children[i], inner, i === children.length - 1, path);
    }
    path.delete(t.id);
  };
  for (let i = 0; i < roots.length; i++) render(roots[i], "", i === roots.length - 1, new Set());
}

function describe(t: TaskInfo): string {
  let text = `(T) ${t.name} [${t.id}]`;
  if (t.cancelling > 0) text += " cancelling";
  if (t.waitingOn.length > 0) text += ` waiting on ${t.waitingOn.join("; ")}`;
  if (t.location !== null) text += ` at ${t.location}`;
  return text;
}

function stateOf(t: TaskInfo): string {
  return t.cancelling > 0 ? "cancelling" : "pending";
}

function checkTasks(tasks: unknown): void {
  if (!Array.isArray(tasks)) throw typeError("tasks", "an array of TaskInfo", tasks);
  tasks.forEach((t, i) => {
    if (
      t === null ||
      typeof t !== "object" ||
      typeof t.id !== "number" ||
      typeof t.name !== "string" ||
      !Array.isArray(t.waitingOn) ||
      !Array.isArray(t.awaitedBy)
    ) {
      throw typeError(`tasks[${i}]`, "a TaskInfo (from captureTasks)", t);
    }
  });
}

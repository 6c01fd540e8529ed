/**
 * Export of a trace to Chrome's trace event format (the JSON that https://ui.perfetto.dev and
 * chrome://tracing open). Mapping:
 * - each loop is a process (`pid` = the loop's number), named `asyncio-ts loop N`;
 * - each task is a thread (`tid` = the task's id), named `name [id]`, sorted by id;
 * - a complete event (`ph: "X"`) spans the task's life, and nested complete events cover its
 *   segments (`scheduled`, `runnable`, `waiting on …`), so each track nests properly;
 * - a cancellation request is an instant event (`ph: "i"`, thread scope);
 * - a flow (`ph: "s"` on the creator's track, `ph: "f"` on the new task's) links a task to the
 *   task that created it; `args.creator` says the same, and a wait on a task has
 *   `args.awaitedTask`.
 * Timestamps are microseconds, as the format wants; events are sorted by time.
 *
 * @module
 */
import type { TracedTask } from "./trace.ts";

/** One event of Chrome's trace event format (the subset this exporter writes). */
export interface ChromeTraceEvent {
  name: string;
  /** Category: `task`, `scheduled`, `runnable`, `waiting`, `cancel` or `create`. */
  cat?: string;
  /** `X` complete, `i` instant, `M` metadata, `s`/`f` flow start/end. */
  ph: "X" | "i" | "M" | "s" | "f";
  /** Microseconds. */
  ts: number;
  /** Microseconds (complete events). */
  dur?: number;
  pid: number;
  tid: number;
  /** Instant scope: `t`, the thread. */
  s?: "t";
  /** Flow id. */
  id?: number;
  /** Flow binding: `e`, the enclosing slice. */
  bp?: "e";
  args?: Record<string, unknown>;
}

/** A trace in Chrome's JSON object format. */
export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: "ms";
  otherData: { generator: "asyncio-ts"; clock: "loop" | "wall" };
}

const US = 1000;

/** Builds the Chrome trace of `tasks`; open segments end at their loop's time in `ends`. @internal */
export function toChromeTrace(
  tasks: readonly TracedTask[],
  ends: ReadonlyMap<number, number>,
  clock: "loop" | "wall",
): ChromeTrace {
  const meta: ChromeTraceEvent[] = [];
  const events: ChromeTraceEvent[] = [];
  const loops = new Set<number>();
  const byKey = new Map(tasks.map((t) => [`${t.loop}:${t.id}`, t]));
  let flow = 0;
  for (const t of tasks) {
    if (!loops.has(t.loop)) {
      loops.add(t.loop);
      meta.push({
        name: "process_name",
        ph: "M",
        ts: 0,
        pid: t.loop,
        tid: 0,
        args: { name: `asyncio-ts loop ${t.loop}` },
      });
    }
    meta.push(
      {
        name: "thread_name",
        ph: "M",
        ts: 0,
        pid: t.loop,
        tid: t.id,
        args: { name: `${t.name} [${t.id}]` },
      },
      {
        name: "thread_sort_index",
        ph: "M",
        ts: 0,
        pid: t.loop,
        tid: t.id,
        args: { sort_index: t.id },
      },
    );
    const end = t.ended ?? ends.get(t.loop) ?? t.created;
    events.push({
      name: t.name,
      cat: "task",
      ph: "X",
      ts: t.created * US,
      dur: (end - t.created) * US,
      pid: t.loop,
      tid: t.id,
      args: {
        id: t.id,
        creator: t.creator,
        outcome: t.outcome,
        ...(t.preexisting ? { preexisting: true } : {}),
      },
    });
    for (const s of t.segments) {
      const segEnd = s.end ?? end;
      const args: Record<string, unknown> = {};
      if (s.on !== undefined) args.on = s.on;
      if (s.awaitedTask !== undefined) args.awaitedTask = s.awaitedTask;
      events.push({
        name: s.kind === "waiting" ? `waiting on ${s.on}` : s.kind,
        cat: s.kind,
        ph: "X",
        ts: s.start * US,
        dur: (segEnd - s.start) * US,
        pid: t.loop,
        tid: t.id,
        args,
      });
    }
    for (const c of t.cancels) {
      events.push({
        name: "cancel requested",
        cat: "cancel",
        ph: "i",
        s: "t",
        ts: c.time * US,
        pid: t.loop,
        tid: t.id,
        args: { description: c.description },
      });
    }
    if (t.creator !== null && byKey.has(`${t.loop}:${t.creator}`)) {
      flow++;
      const common = { name: "created", cat: "create", ts: t.created * US, pid: t.loop, id: flow };
      events.push({ ...common, ph: "s", tid: t.creator });
      events.push({ ...common, ph: "f", bp: "e", tid: t.id });
    }
  }
  // By time, stably: at equal times a task's lifetime slice stays before its segments, and
  // its segments in their order.
  events.sort((a, b) => a.ts - b.ts);
  return {
    traceEvents: [...meta, ...events],
    displayTimeUnit: "ms",
    otherData: { generator: "asyncio-ts", clock },
  };
}

/**
 * Tracing: a recorder of task lifecycles, subscribed to the runtime's one instrumentation point
 * (src/internal/instrument.ts) while it records. Each task becomes a track of segments that
 * cover its life without gaps or overlaps:
 *
 *   scheduled (created, not started) → runnable ⇄ waiting on X → done
 *
 * "runnable" is the time between a wake-up (or the start) and the next wait: the task runs, is
 * queued to run, or awaits something the runtime does not know (a plain promise). Cancellation
 * requests are instants on the track. Exports: Chrome's trace event format (chrome-trace.ts,
 * for Perfetto or chrome://tracing) and a self-contained HTML timeline (timeline-html.ts).
 *
 * When no trace records, the runtime pays one property read per event site
 * (`instrument.active`), as it always did; nothing here runs.
 *
 * Invariants:
 * - A record's segments are contiguous: each starts where the previous one ended, the first at
 *   `created`, the last ends at `ended` (or is open while the task is pending).
 * - A task leaves "waiting" only when its last registered wait ends (`waits` counts them).
 * - Once stopped, a trace holds no reference to any task (names are copied at `stop()`).
 *
 * @module
 */
import { inspect } from "node:util";
import type { CancellationOrigin } from "../exceptions.ts";
import { Task } from "../futures/task.ts";
import { als, runningLoopList } from "../internal/context.ts";
import { type LifecycleEvent, subscribe } from "../internal/instrument.ts";
import { checkKnownOptions, checkOptions, rangeError, typeError } from "../internal/validate.ts";
import type { Waitable } from "../internal/waitable.ts";
import { EventLoop } from "../loop/event-loop.ts";
import { waitsOf } from "./awaiters.ts";
import { type ChromeTrace, toChromeTrace } from "./chrome-trace.ts";
import { idOf, loopNumber, numberTasks } from "./ids.ts";
import { type TimelineOptions, toTimelineHTML } from "./timeline-html.ts";

/** Options of {@link startTrace}. */
export interface TraceOptions {
  /**
   * Which clock stamps the events: `"loop"` (default), each task's `loop.time()`, so a trace of
   * a virtual-clock run shows virtual time; or `"wall"`, `performance.now()`, real time even
   * under a virtual clock (useful to see where CPU time goes).
   */
  clock?: "loop" | "wall";
  /** Record only the tasks of this loop. Default: every loop of the process. */
  loop?: EventLoop;
}

/** What a segment of a task's track shows. */
export type SegmentKind = "scheduled" | "runnable" | "waiting";

/** One stretch of a task's life. Times in ms, on the trace's clock. */
export interface TraceSegment {
  kind: SegmentKind;
  start: number;
  /** `null` while the segment is still open (the task is pending and the trace records). */
  end: number | null;
  /** For "waiting": what the task waits on (`<sleep until 100>`, `<Task pending name='x'>`). */
  on?: string;
  /** For "waiting" on a Task: that task's id. */
  awaitedTask?: number;
}

/** A cancellation request, as an instant on the task's track. */
export interface TraceCancel {
  time: number;
  /** Who asked, from the `CancelledError` origin (`cancelled by task 'main'`). */
  description: string;
}

/** How a traced task ended. */
export type TraceOutcome = "pending" | "result" | "exception" | "cancelled";

/** One task of a trace: plain data, JSON-able. */
export interface TracedTask {
  id: number;
  /** The task's loop number (1 for the first loop shown in this process). */
  loop: number;
  name: string;
  /** The id of the task that created it, or `null` (created in a callback, or before the trace). */
  creator: number | null;
  /** When it was created, or when the trace started for a task that existed already. */
  created: number;
  /** True if the task existed before the trace started. */
  preexisting: boolean;
  /** When it ended, or `null` if it was still pending. */
  ended: number | null;
  outcome: TraceOutcome;
  segments: TraceSegment[];
  cancels: TraceCancel[];
}

interface Recording extends TracedTask {
  task: Task<unknown> | null;
  /** Registered waits not ended yet. */
  waits: number;
  /** Keeps `tasks()` in first-seen order across the pending and finished sets. */
  order: number;
}

const TRACE_KEYS: ReadonlySet<string> = new Set(["clock", "loop"]);

/**
 * A running or finished recording of task lifecycles. Create one with {@link startTrace};
 * `stop()` it, then export it with {@link Trace.toChromeTrace} or {@link Trace.toHTML}.
 * Disposable: `using trace = startTrace()` stops it at the end of the scope.
 *
 * **Cancellation:** tracing never waits and never cancels anything; cancellation requests are
 * recorded as instants.
 *
 * @example
 * ```ts
 * import { createTask, run, sleep, startTrace } from "asyncio-ts";
 * const trace = startTrace();
 * await run(
 *   async () => {
 *     await createTask(() => sleep(100), { name: "worker" });
 *   },
 *   { clock: "virtual" },
 * );
 * trace.stop();
 * const worker = trace.tasks().find((t) => t.name === "worker")!;
 * console.log(worker.segments.map((s) => s.kind)); // ["scheduled", "runnable", "waiting", "runnable"]
 * console.log(worker.ended); // 100
 * ```
 */
export class Trace {
  readonly #clock: "loop" | "wall";
  readonly #loop: EventLoop | null;
  readonly #records = new Map<Task<unknown>, Recording>();
  readonly #finished: Recording[] = [];
  #unsubscribe: (() => void) | null;
  #stoppedAt: Map<number, number> | null = null;
  readonly #startedAt: number;

  /** Prefer {@link startTrace}. Starts recording at once. */
  constructor(options?: TraceOptions) {
    checkOptions("options", options);
    checkKnownOptions("options", options, TRACE_KEYS);
    const clock = options?.clock ?? "loop";
    if (typeof clock !== "string") throw typeError("options.clock", '"loop" or "wall"', clock);
    if (clock !== "loop" && clock !== "wall") {
      throw rangeError("options.clock", '"loop" or "wall"', clock);
    }
    const loop = options?.loop;
    if (loop !== undefined && !(loop instanceof EventLoop)) {
      throw typeError("options.loop", "an EventLoop", loop);
    }
    this.#clock = clock;
    this.#loop = loop ?? null;
    this.#startedAt = performance.now();
    for (const running of loop === undefined ? runningLoopList() : [loop]) {
      numberTasks(running);
      for (const task of running._tasks) this.#adopt(task);
    }
    this.#unsubscribe = subscribe(this.#onEvent);
  }

  /** Whether the trace is still recording. */
  get active(): boolean {
    return this.#unsubscribe !== null;
  }

  /** Stops recording. Tasks still pending keep open segments, closed at this moment on export. */
  stop(): void {
    const unsubscribe = this.#unsubscribe;
    if (unsubscribe === null) return;
    unsubscribe();
    this.#unsubscribe = null;
    const stoppedAt = new Map<number, number>();
    for (const rec of this.#records.values()) {
      const task = rec.task!;
      if (!stoppedAt.has(rec.loop)) stoppedAt.set(rec.loop, this.#now(task));
      rec.name = task.name;
      rec.task = null;
      this.#finished.push(rec);
    }
    this.#records.clear();
    this.#stoppedAt = stoppedAt;
  }

  /** Stops recording (for `using`). */
  [Symbol.dispose](): void {
    this.stop();
  }

  /**
   * The recorded tasks, in the order they were first seen, as plain data (a copy). Open
   * segments have `end: null`; tasks still pending have `ended: null` and outcome `"pending"`.
   */
  tasks(): TracedTask[] {
    const all = [...this.#finished, ...this.#records.values()].sort((a, b) => a.order - b.order);
    return all.map((rec) => ({
      id: rec.id,
      loop: rec.loop,
      name: rec.task === null ? rec.name : rec.task.name,
      creator: rec.creator,
      created: rec.created,
      preexisting: rec.preexisting,
      ended: rec.ended,
      outcome: rec.outcome,
      segments: rec.segments.map((s) => ({ ...s })),
      cancels: rec.cancels.map((c) => ({ ...c })),
    }));
  }

  /**
   * The time each loop's open segments end at on export: the stop time, or now while the trace
   * records (the latest event time, for loops with no task pending). @internal
   */
  _endTimes(tasks: readonly TracedTask[]): Map<number, number> {
    const ends = new Map<number, number>(this.#stoppedAt ?? []);
    for (const rec of this.#records.values()) {
      if (!ends.has(rec.loop)) ends.set(rec.loop, this.#now(rec.task!));
    }
    for (const t of tasks) {
      const latest = Math.max(t.created, t.ended ?? 0, ...t.segments.map((s) => s.end ?? s.start));
      if ((ends.get(t.loop) ?? Number.NEGATIVE_INFINITY) < latest) ends.set(t.loop, latest);
    }
    return ends;
  }

  /**
   * The trace in Chrome's trace event format: JSON for https://ui.perfetto.dev or
   * chrome://tracing (`JSON.stringify` it into a file). One process per loop, one track (thread)
   * per task; see {@link ChromeTrace}.
   */
  toChromeTrace(): ChromeTrace {
    const tasks = this.tasks();
    return toChromeTrace(tasks, this._endTimes(tasks), this.#clock);
  }

  /**
   * The trace as one self-contained HTML page (inline CSS and JavaScript, no network access): a
   * row per task, coloured by segment, with cancellation marks and details on hover.
   */
  toHTML(options?: TimelineOptions): string {
    const tasks = this.tasks();
    return toTimelineHTML(tasks, this._endTimes(tasks), this.#clock, options);
  }

  toString(): string {
    const n = this.#records.size + this.#finished.length;
    return `<Trace [${this.active ? "recording" : "stopped"}] clock=${this.#clock} tasks=${n}>`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }

  #now(task: Task<unknown>): number {
    return this.#clock === "wall" ? performance.now() - this.#startedAt : task._loop.time();
  }

  #order = 0;

  /** A record for a task that exists already (pending when the trace starts, or first seen late). */
  #adopt(task: Task<unknown>): Recording {
    const now = this.#now(task);
    const waits = waitsOf(task);
    // A lazily started task holds its creator's context until its first turn.
    const started = task._start === null;
    const rec = this.#newRecord(task, now, null, true);
    rec.waits = waits.length;
    if (waits.length > 0) rec.segments.push(waitingSegment(now, waits[0]));
    else rec.segments.push({ kind: started ? "runnable" : "scheduled", start: now, end: null });
    return rec;
  }

  #newRecord(
    task: Task<unknown>,
    now: number,
    creator: number | null,
    preexisting: boolean,
  ): Recording {
    const rec: Recording = {
      task,
      id: idOf(task),
      loop: loopNumber(task._loop),
      name: "",
      creator,
      created: now,
      preexisting,
      ended: null,
      outcome: "pending",
      segments: [],
      cancels: [],
      waits: 0,
      order: this.#order++,
    };
    this.#records.set(task, rec);
    return rec;
  }

  readonly #onEvent = (event: LifecycleEvent, subject: object, detail?: unknown): void => {
    if (!(subject instanceof Task)) return;
    const task = subject as Task<unknown>;
    if (this.#loop !== null && task._loop !== this.#loop) return;
    if (event === "created") {
      const store = als.getOwnStore();
      const creator = store instanceof Task ? idOf(store) : null;
      const now = this.#now(task);
      const rec = this.#newRecord(task, now, creator, false);
      rec.segments.push({ kind: "scheduled", start: now, end: null });
      return;
    }
    let rec = this.#records.get(task);
    if (rec === undefined) {
      // First seen now: the adopted record already counts the waits as they are after this
      // event (the wait just registered, or without the one just ended).
      rec = this.#adopt(task);
      if (event === "waiting" || event === "woken") return;
    }
    const now = this.#now(task);
    switch (event) {
      case "started":
        switchTo(rec, { kind: "runnable", start: now, end: null });
        break;
      case "waiting":
        if (++rec.waits === 1) switchTo(rec, waitingSegment(now, detail as Waitable));
        break;
      case "woken":
        if (rec.waits > 0 && --rec.waits === 0) {
          switchTo(rec, { kind: "runnable", start: now, end: null });
        }
        break;
      case "cancel-requested":
        rec.cancels.push({
          time: now,
          description: (detail as CancellationOrigin | undefined)?.description ?? "cancelled",
        });
        break;
      case "done":
        closeOpen(rec, now);
        rec.ended = now;
        rec.outcome = task.cancelled() ? "cancelled" : task._hasException ? "exception" : "result";
        rec.name = task.name;
        rec.task = null;
        this.#records.delete(task);
        this.#finished.push(rec);
        break;
    }
  };
}

function waitingSegment(now: number, waitable: Waitable): TraceSegment {
  const segment: TraceSegment = {
    kind: "waiting",
    start: now,
    end: null,
    on: waitable._describeWait(),
  };
  if (waitable instanceof Task) segment.awaitedTask = idOf(waitable);
  return segment;
}

function closeOpen(rec: Recording, now: number): void {
  const last = rec.segments[rec.segments.length - 1];
  if (last !== undefined && last.end === null) last.end = now;
}

function switchTo(rec: Recording, next: TraceSegment): void {
  closeOpen(rec, next.start);
  rec.segments.push(next);
}

/**
 * Starts recording task lifecycles: creation, start, each wait (what on, until when), wake-ups,
 * cancellation requests and the end of every task, on every loop of the process (or
 * `options.loop`). Returns the {@link Trace}; `stop()` it, then export it with
 * `toChromeTrace()` (Perfetto, chrome://tracing) or `toHTML()` (a self-contained page).
 *
 * Tasks that exist when the trace starts are included from that moment (`preexisting`).
 * Several traces may record at once. A trace keeps every event until it is dropped: trace a
 * scenario, not a server's lifetime.
 *
 * **Cancellation:** nothing to cancel; stopping is `trace.stop()` (or `using`).
 *
 * **Differences from asyncio:** asyncio has no built-in tracer (3.14's `asyncio.graph` and
 * `ps`/`pstree` are snapshots); this one follows the lifecycle events asyncio-ts emits anyway.
 *
 * @throws {TypeError} if `options` is bad.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { gather, run, sleep, startTrace } from "asyncio-ts";
 * const trace = startTrace();
 * await run(() => gather([() => sleep(20), () => sleep(30)]), { clock: "virtual" });
 * trace.stop();
 * const file = join(tmpdir(), "asyncio-ts-trace.json");
 * writeFileSync(file, JSON.stringify(trace.toChromeTrace())); // open it in ui.perfetto.dev
 * console.log(trace.tasks().length); // 3
 * ```
 */
export function startTrace(options?: TraceOptions): Trace {
  return new Trace(options);
}

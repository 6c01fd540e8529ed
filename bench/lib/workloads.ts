/**
 * What the benchmark suite measures: each workload, its contenders, its metric and the targets
 * taken from the project's issues. Pure data: the orchestrator (`bench/run.ts`) reads it, the
 * contenders themselves live in `bench/js/<workload>/<contender>.ts` and `bench/py/*.py` and
 * each runs in a child process of its own.
 */

/** Which way a metric improves. */
export type Better = "higher" | "lower";

/** The figure a workload reports for each contender. */
export interface Metric {
  /** Label with unit, as shown in the tables ("tasks/s"). */
  readonly label: string;
  readonly better: Better;
  /** Turns what a contender returned (and the workload's size) into the figure. */
  derive(raw: Readonly<Record<string, number>>, n: number): number;
}

/** One contender of a workload. */
export interface Contender {
  /** Key used in targets and JSON ("asyncio-ts", "floor", "effect", "python", "uvloop", …). */
  readonly id: string;
  /** Name shown in the tables. */
  readonly label: string;
  /** `js`: `bench/js/<dir>/<file>.ts` (default export); `python`: `bench/py/<script>`. */
  readonly kind: "js" | "python";
  /** For `js`: the module path relative to `bench/js/`. For `python`: the script file name. */
  readonly file: string;
  /** For `python`: which loop to run it on. */
  readonly loop?: "asyncio" | "uvloop";
  /** Exports of asyncio-ts this contender needs (it is skipped until they exist). */
  readonly requires?: readonly string[];
  /** A short note on how this contender does the workload, for the docs. */
  readonly note?: string;
}

/** A target: `subject op factor × peer` on the medians. */
export interface Target {
  readonly subject: string;
  readonly peer: string;
  readonly op: ">=" | "<=";
  readonly factor: number;
  /** The target as the issue states it. */
  readonly text: string;
}

/** A workload: one thing measured, for every contender, in the same run. */
export interface Workload {
  readonly id: string;
  /** Selecting the group on the command line selects every workload in it ("W3"). */
  readonly group: string;
  readonly title: string;
  readonly description: string;
  /** Size of a normal run and of a `--quick` run (tasks, items, round trips, bytes…). */
  readonly n: number;
  readonly quickN: number;
  /** Extra parameters handed to every contender. */
  readonly params?: Readonly<Record<string, number | string>>;
  readonly metric: Metric;
  readonly contenders: readonly Contender[];
  readonly targets: readonly Target[];
  /** Node flags the JS contenders need (every child gets `--expose-gc`). */
  readonly nodeFlags?: readonly string[];
}

const perSecond =
  (key = "ms") =>
  (raw: Readonly<Record<string, number>>, n: number): number =>
    n / (raw[key] / 1000);
const field =
  (key: string) =>
  (raw: Readonly<Record<string, number>>): number =>
    raw[key];

const ats = (dir: string, requires?: readonly string[], note?: string): Contender => ({
  id: "asyncio-ts",
  label: "asyncio-ts",
  kind: "js",
  file: `${dir}/asyncio-ts.ts`,
  ...(requires === undefined ? {} : { requires }),
  ...(note === undefined ? {} : { note }),
});
const js = (id: string, label: string, dir: string, note?: string): Contender => ({
  id,
  label,
  kind: "js",
  file: `${dir}/${id}.ts`,
  ...(note === undefined ? {} : { note }),
});
const py = (script: string, note?: string): Contender[] => [
  {
    id: "python",
    label: "Python asyncio",
    kind: "python",
    file: script,
    loop: "asyncio",
    ...(note === undefined ? {} : { note }),
  },
  { id: "uvloop", label: "uvloop", kind: "python", file: script, loop: "uvloop" },
];

export const WORKLOADS: readonly Workload[] = [
  {
    id: "W1",
    group: "W1",
    title: "spawn/join",
    description: "N tasks, each yielding to the scheduler 3 times, then joined one by one.",
    n: 100_000,
    quickN: 2_000,
    metric: { label: "tasks/s", better: "higher", derive: perSecond() },
    contenders: [
      ats("w1", undefined, "createTask(async () => { await sleep(0) ×3 }), then await each task"),
      js("floor", "floor (raw promises)", "w1", "async function with 3 × `await null`"),
      js("effect", "Effect 4", "w1", "Effect.forkChild of 3 × Effect.yieldNow, Fiber.join each"),
      js(
        "effection",
        "Effection 4",
        "w1",
        "spawn of 3 × `yield* sleep(0)` (a setTimeout), yield* each",
      ),
      ...py("w1_spawn.py", "create_task of 3 × asyncio.sleep(0), await each"),
    ],
    targets: [
      {
        subject: "asyncio-ts",
        peer: "effect",
        op: ">=",
        factor: 1,
        text: "≥ Effect 4's tasks/s",
      },
      { subject: "asyncio-ts", peer: "floor", op: ">=", factor: 0.5, text: "≥ 0.5× the floor" },
    ],
  },
  {
    id: "W2",
    group: "W2",
    title: "timers",
    description:
      "N concurrent sleepers with delays uniform in 0–999 ms (seeded, the same for all); the " +
      "figure is the time from the first sleeper's creation to the last one's wake-up, minus the " +
      "longest delay.",
    n: 100_000,
    quickN: 2_000,
    params: { seed: 42, maxDelay: 1000 },
    metric: { label: "overhead ms", better: "lower", derive: field("overheadMs") },
    contenders: [
      ats("w2", undefined, "createTask(() => sleep(d)) each, await each"),
      js("floor", "floor (setTimeout)", "w2", "new Promise(r => setTimeout(r, d)), await each"),
      js("effect", "Effect 4", "w2", "Effect.forkChild(Effect.sleep(d)), Fiber.join each"),
      js("effection", "Effection 4", "w2", "spawn(() => sleep(d)), yield* each"),
      ...py("w2_timers.py", "create_task(asyncio.sleep(d / 1000)), await each"),
    ],
    targets: [
      { subject: "asyncio-ts", peer: "effect", op: "<=", factor: 1, text: "≤ Effect 4's overhead" },
      { subject: "asyncio-ts", peer: "floor", op: "<=", factor: 2, text: "≤ 2× the floor's" },
    ],
  },
  {
    id: "W5",
    group: "W5",
    title: "memory per blocked task",
    description:
      "N tasks blocked on one Future; heap growth per task (V8 heapUsed after a full GC; " +
      "Python: tracemalloc).",
    n: 100_000,
    quickN: 2_000,
    metric: { label: "bytes/task", better: "lower", derive: field("bytesPerTask") },
    contenders: [
      ats("w5", undefined, "createTask(async () => { await fut }) on one loop Future"),
      js("floor", "floor (raw promises)", "w5", "async function awaiting one shared promise"),
      js("effect", "Effect 4", "w5", "Effect.forkChild(Deferred.await(d))"),
      js("effection", "Effection 4", "w5", "spawn(function*() { yield* resolvers.operation })"),
      ...py("w5_memory.py", "create_task awaiting one Future; tracemalloc"),
    ],
    targets: [
      { subject: "asyncio-ts", peer: "effect", op: "<=", factor: 1, text: "≤ Effect 4's bytes" },
    ],
  },
  {
    id: "W6",
    group: "W6",
    title: "cancel many",
    description: "N tasks blocked in sleep(3 600 000); cancel each one, time until all are done.",
    n: 100_000,
    quickN: 2_000,
    metric: { label: "ms", better: "lower", derive: field("ms") },
    contenders: [
      ats("w6", undefined, "task.cancel() each, a done-callback counter sees all done"),
      js("floor", "floor (clearTimeout)", "w6", "setTimeout + the promise's reject, cancel each"),
      js(
        "node-abort",
        "Node AbortController",
        "w6",
        "timers/promises setTimeout with one AbortController per sleeper, abort each",
      ),
      js("effect", "Effect 4", "w6", "Fiber.interruptAll(fibers)"),
      js("effection", "Effection 4", "w6", "task.halt() each, all awaited"),
      ...py("w6_cancel.py", "task.cancel() each, a done-callback counter"),
    ],
    targets: [
      { subject: "asyncio-ts", peer: "effect", op: "<=", factor: 1, text: "≤ Effect 4's time" },
    ],
  },
  {
    id: "W6-TG",
    group: "W6-TG",
    title: "cancel a task group",
    description:
      "N tasks in one task group, blocked in sleep(3 600 000); cancel the group's parent, time " +
      "until the parent is done (so every child is).",
    n: 100_000,
    quickN: 2_000,
    metric: { label: "ms", better: "lower", derive: field("ms") },
    contenders: [
      ats("w6tg", ["taskGroup"], "taskGroup in a parent task; parent.cancel()"),
      js(
        "floor",
        "floor (clearTimeout)",
        "w6tg",
        "setTimeout + reject, a list of cancels run at once",
      ),
      // Not run: Node's AbortSignal checks each new listener against all the others, so N
      // sleepers on one signal cost O(N²) to set up (minutes at N = 100 000). The contender is
      // kept in bench/js/w6tg/node-abort.ts for small N (`--n`).
      js("effect", "Effect 4 interruptAll", "w6tg", "Fiber.interruptAll(fibers)"),
      js(
        "effect-scope",
        "Effect 4 parent",
        "w6tg",
        "children forked with forkChild under a parent fiber; Fiber.interrupt(parent)",
      ),
      js("effection", "Effection 4", "w6tg", "children spawned in a parent task; parent.halt()"),
      ...py("w6_taskgroup.py", "asyncio.TaskGroup in a parent task; parent.cancel()"),
    ],
    targets: [
      {
        subject: "asyncio-ts",
        peer: "effect",
        op: "<=",
        factor: 1,
        text: "≤ Effect 4's interruptAll time",
      },
      {
        subject: "asyncio-ts",
        peer: "python",
        op: "<=",
        factor: 0.4,
        text: "≤ 0.4× Python asyncio's TaskGroup time",
      },
    ],
  },
  {
    id: "T1",
    group: "T1",
    title: "timeout scopes",
    description:
      "N sequential timeout scopes (1 s) around a body that finishes at once (one trivial await).",
    n: 1_000_000,
    quickN: 5_000,
    metric: { label: "scopes/s", better: "higher", derive: perSecond() },
    contenders: [
      ats("t1", ["timeout"], "await timeout(1000, async () => { await noop() })"),
      js("floor", "floor (raw promises)", "t1", "the same body without a timeout"),
      js("effect", "Effect 4", "t1", "Effect.timeout(body, 1000)"),
      ...py("t1_timeouts.py", "async with asyncio.timeout(1): await noop()"),
    ],
    targets: [
      { subject: "asyncio-ts", peer: "python", op: ">=", factor: 5, text: "≥ 5× Python's speed" },
    ],
  },
  ...(["1x1", "10x10"] as const).map(
    (shape): Workload => ({
      id: shape === "1x1" ? "W3" : "W3-10x10",
      group: "W3",
      title: `queue ${shape === "1x1" ? "1 producer / 1 consumer" : "10 producers / 10 consumers"}`,
      description: `N items through a queue bounded at 100, ${shape === "1x1" ? "one producer and one consumer" : "10 producers and 10 consumers"}.`,
      n: 1_000_000,
      quickN: 5_000,
      params: { producers: shape === "1x1" ? 1 : 10, consumers: shape === "1x1" ? 1 : 10 },
      metric: { label: "items/s", better: "higher", derive: perSecond() },
      contenders: [
        ats("w3", ["Queue"], "new Queue(100); await put / await get"),
        js("floor", "floor (array + resolvers)", "w3", "a minimal bounded queue written by hand"),
        js("effect", "Effect 4", "w3", "Queue.bounded(100); Queue.offer / Queue.take"),
        js(
          "p-queue",
          "p-queue 9",
          "w3",
          "producers await onSizeLessThan(100) then add() a job; concurrency = consumers",
        ),
        ...py("w3_queue.py", "asyncio.Queue(100); await put / await get"),
      ],
      targets: [
        { subject: "asyncio-ts", peer: "floor", op: ">=", factor: 0.5, text: "≥ 0.5× the floor" },
        { subject: "asyncio-ts", peer: "python", op: ">=", factor: 4, text: "≥ 4× Python's" },
      ],
    }),
  ),
  {
    id: "W4",
    group: "W4",
    title: "limited concurrency",
    description: "N tasks, each yielding once, through a limit of 100 concurrent.",
    n: 100_000,
    quickN: 2_000,
    metric: { label: "jobs/s", better: "higher", derive: perSecond() },
    contenders: [
      ats("w4", ["Semaphore"], "N tasks: await sem.acquire(); await sleep(0); sem.release()"),
      js("floor", "floor (hand-written)", "w4", "a counter and a FIFO of resolvers; await null"),
      js("p-limit", "p-limit 7", "w4", "limit(async () => { await null }) × N"),
      ...py("w4_semaphore.py", "N tasks: async with Semaphore(100): await sleep(0)"),
    ],
    targets: [
      { subject: "asyncio-ts", peer: "p-limit", op: ">=", factor: 1, text: "≥ p-limit's jobs/s" },
      { subject: "asyncio-ts", peer: "python", op: ">=", factor: 5, text: "≥ 5× Python's" },
    ],
  },
  {
    id: "W7-echo",
    group: "W7",
    title: "TCP echo",
    description:
      "50 connections × N/50 round trips of 64 bytes each, server and clients in one process.",
    n: 100_000,
    quickN: 1_000,
    params: { connections: 50, size: 64 },
    metric: { label: "round trips/s", better: "higher", derive: perSecond() },
    contenders: [
      ats("w7echo", ["startServer", "openConnection"], "startServer / openConnection streams"),
      js("floor", "Node net (callbacks)", "w7echo", "net.Server and sockets, 'data' callbacks"),
      js("net-async", "Node net (async iteration)", "w7echo", "for await over the socket"),
      ...py("w7_echo.py", "asyncio.start_server / open_connection streams"),
    ],
    targets: [
      {
        subject: "asyncio-ts",
        peer: "floor",
        op: ">=",
        factor: 1,
        text: "≥ raw Node `net` callbacks",
      },
      { subject: "asyncio-ts", peer: "uvloop", op: ">=", factor: 1, text: "ahead of uvloop" },
    ],
  },
  {
    id: "W7-stream",
    group: "W7",
    title: "TCP streaming",
    description: "N bytes from a writer (write + drain) to a reader (read(65536)) over loopback.",
    n: 1024 * 1024 * 1024,
    quickN: 16 * 1024 * 1024,
    params: { chunk: 65536 },
    metric: {
      label: "MiB/s",
      better: "higher",
      derive: (raw, n) => n / 1024 / 1024 / (raw.ms / 1000),
    },
    contenders: [
      ats(
        "w7stream",
        ["startServer", "openConnection"],
        "writer.write + drain → reader.read(65536)",
      ),
      js("floor", "Node net (pipe)", "w7stream", "a Readable piped into the socket"),
      ...py("w7_stream.py", "writer.write + drain → reader.read(65536)"),
    ],
    targets: [
      {
        subject: "asyncio-ts",
        peer: "floor",
        op: ">=",
        factor: 0.7,
        text: "≥ 0.7× raw Node `net` piping",
      },
    ],
  },
];

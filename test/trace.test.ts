/**
 * Tracing (src/introspection/trace.ts, chrome-trace.ts, timeline-html.ts): what a trace records
 * for each task (segments, cancellation instants, creators, outcomes), the Chrome trace event
 * format validated structurally (phases, pids/tids, monotonic timestamps, slices nested on every
 * track, paired flows), the self-contained HTML page (no URL, the data embedded, its script run
 * against a stub DOM), that tracing costs nothing when off, and bad input. Virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runInNewContext } from "node:vm";
import {
  type ChromeTrace,
  type ChromeTraceEvent,
  createTask,
  currentTask,
  EventLoop,
  gather,
  getRunningLoop,
  Lock,
  Runner,
  sleep,
  startTrace,
  type Task,
  Trace,
  type TracedTask,
  taskGroup,
} from "../src/index.ts";
import { instrument } from "../src/internal/instrument.ts";
import { runVirtual } from "./helpers.ts";

function byName(tasks: TracedTask[], name: string): TracedTask {
  const task = tasks.find((t) => t.name === name);
  assert.ok(task !== undefined, `no traced task named ${name}: ${tasks.map((t) => t.name)}`);
  return task;
}

/** Segments as `kind@start-end` (and what a wait is on), for compact assertions. */
function segments(task: TracedTask): string[] {
  return task.segments.map(
    (s) => `${s.kind}${s.on === undefined ? "" : ` ${s.on}`}@${s.start}-${s.end ?? "open"}`,
  );
}

/** A program with a bit of everything: waits on a sleep, a task, a lock, a gather, a cancel. */
async function scenario(): Promise<void> {
  await runVirtual(async () => {
    currentTask()!.name = "main";
    const lock = new Lock();
    await lock.acquire();
    const locker = createTask(() => lock.hold(() => sleep(5)), { name: "locker" });
    const victim = createTask(() => sleep(1000), { name: "victim" });
    await sleep(10);
    victim.cancel("enough");
    lock.release();
    await locker;
    await victim.then(
      () => {},
      () => {},
    );
    await gather([createTask(() => sleep(20), { name: "g1" }), () => sleep(30)]);
    await taskGroup(async (tg) => {
      tg.createTask(
        async () => {
          await sleep(1);
          throw new Error("boom");
        },
        { name: "failing" },
      );
    }).catch(() => {});
  });
}

describe("startTrace: what is recorded", () => {
  test("each task's life is a track of contiguous segments: scheduled, runnable, waiting", async () => {
    const trace = startTrace();
    await runVirtual(async () => {
      currentTask()!.name = "main";
      await createTask(() => sleep(100), { name: "worker" });
    });
    trace.stop();
    const tasks = trace.tasks();
    const worker = byName(tasks, "worker");
    assert.deepEqual(segments(worker), [
      "scheduled@0-0",
      "runnable@0-0",
      "waiting <sleep until 100>@0-100",
      "runnable@100-100",
    ]);
    assert.equal(worker.ended, 100);
    assert.equal(worker.outcome, "result");
    assert.equal(worker.preexisting, false);
    const main = byName(tasks, "main");
    assert.equal(worker.creator, main.id);
    assert.equal(main.creator, null);
    const wait = main.segments.find((s) => s.kind === "waiting")!;
    assert.equal(wait.on, "<Task pending name='worker'>");
    assert.equal(wait.awaitedTask, worker.id);
    for (const t of tasks) {
      for (let i = 1; i < t.segments.length; i++) {
        assert.equal(t.segments[i].start, t.segments[i - 1].end, `${t.name}: contiguous`);
      }
      assert.equal(t.segments[0].start, t.created);
      assert.equal(t.segments.at(-1)!.end, t.ended);
    }
  });

  test("cancellation requests are instants, and outcomes say how each task ended", async () => {
    const trace = startTrace();
    await scenario();
    trace.stop();
    const tasks = trace.tasks();
    const victim = byName(tasks, "victim");
    assert.equal(victim.outcome, "cancelled");
    assert.deepEqual(victim.cancels, [{ time: 10, description: "cancelled by task 'main'" }]);
    assert.equal(byName(tasks, "failing").outcome, "exception");
    assert.equal(byName(tasks, "locker").outcome, "result");
    assert.ok(
      byName(tasks, "locker").segments.some((s) =>
        /^<Lock \[locked.*\]>\.acquire\(\)$/.test(s.on ?? ""),
      ),
    );
    assert.ok(
      byName(tasks, "main").segments.some(
        (s) => s.on === "<GatheringFuture pending children=2 done=0>",
      ),
    );
  });

  test("tasks that exist when the trace starts are included from that moment", async () => {
    await runVirtual(async () => {
      currentTask()!.name = "main";
      const early = createTask(() => sleep(50), { name: "early" });
      const queued = createTask(() => sleep(50), { name: "queued" });
      await sleep(0); // early and queued have started and sleep
      const notStarted = createTask(() => sleep(5), { name: "not-started" });
      await sleep(20);
      const trace = startTrace();
      assert.equal(notStarted.done(), true);
      const late = createTask(() => sleep(5), { name: "late" });
      await early;
      await queued;
      await late;
      trace.stop();
      const tasks = trace.tasks();
      assert.deepEqual(
        tasks.map((t) => [t.name, t.preexisting]),
        [
          ["main", true],
          ["early", true],
          ["queued", true],
          ["late", false],
        ],
      );
      assert.deepEqual(segments(byName(tasks, "early")), [
        "waiting <sleep until 50>@20-50",
        "runnable@50-50",
      ]);
      assert.deepEqual(segments(byName(tasks, "main"))[0], "runnable@20-20");
    });
  });

  test("a task first seen at a wait (its loop was not running when the trace began) is not counted as waiting twice", async () => {
    await using runner = new Runner({ clock: "virtual", handleSignals: false });
    let bg: Task<void> | undefined;
    await runner.run(async () => {
      const plain = new Promise<void>((resolve) => getRunningLoop().callLater(30, resolve));
      bg = createTask(
        async () => {
          await plain; // no wait the runtime sees
          await sleep(5); // the trace's first event of this task
          await sleep(100);
        },
        { name: "bg" },
      );
      await sleep(0);
    });
    const trace = startTrace(); // no loop runs now: bg is not adopted yet
    await runner.run(() => bg!);
    trace.stop();
    assert.deepEqual(segments(byName(trace.tasks(), "bg")), [
      "waiting <sleep until 35>@30-35",
      "runnable@35-35",
      "waiting <sleep until 135>@35-135",
      "runnable@135-135",
    ]);
  });

  test("a task still pending when the trace stops keeps an open segment", async () => {
    await runVirtual(async () => {
      const trace = startTrace();
      const t = createTask(() => sleep(100), { name: "long" });
      await sleep(10);
      trace.stop();
      const long = byName(trace.tasks(), "long");
      assert.equal(long.outcome, "pending");
      assert.equal(long.ended, null);
      assert.equal(long.segments.at(-1)!.end, null);
      // On export, open segments end when the trace stopped.
      const slice = trace
        .toChromeTrace()
        .traceEvents.find((e) => e.ph === "X" && e.cat === "task" && e.name === "long")!;
      assert.equal(slice.dur, 10_000);
      t.cancel();
    });
  });

  test("options.loop records one loop only; several traces can record at once", async () => {
    let only: Trace | null = null;
    const all = startTrace();
    const first = runVirtual(async () => {
      only = startTrace({ loop: getRunningLoop() });
      createTask(() => sleep(5), { name: "mine" });
      await sleep(10);
    });
    await runVirtual(async () => {
      createTask(() => sleep(5), { name: "theirs" });
      await sleep(10);
    });
    await first;
    all.stop();
    (only as unknown as Trace).stop();
    const onlyNames = (only as unknown as Trace).tasks().map((t) => t.name);
    assert.ok(onlyNames.includes("mine") && !onlyNames.includes("theirs"), String(onlyNames));
    const allNames = all.tasks().map((t) => t.name);
    assert.ok(allNames.includes("mine") && allNames.includes("theirs"), String(allNames));
  });

  test("the wall clock stamps real time, even under a virtual clock", async () => {
    const trace = startTrace({ clock: "wall" });
    await runVirtual(async () => {
      await createTask(() => sleep(3_600_000), { name: "an hour" });
    });
    trace.stop();
    const hour = byName(trace.tasks(), "an hour");
    assert.ok(hour.ended! - hour.created < 60_000, "a virtual hour takes far less real time");
    assert.equal(trace.toChromeTrace().otherData.clock, "wall");
  });

  test("stop() is idempotent, ends recording, and the trace keeps the names", async () => {
    const trace = startTrace();
    assert.equal(String(trace), "<Trace [recording] clock=loop tasks=0>");
    await runVirtual(async () => {
      const t = createTask(() => sleep(1), { name: "before" });
      await sleep(0);
      trace.stop();
      trace.stop();
      t.name = "renamed after stop";
      createTask(() => sleep(1), { name: "after" });
      await sleep(5);
    });
    assert.equal(trace.active, false);
    assert.deepEqual(
      trace
        .tasks()
        .map((t) => t.name)
        .slice(1),
      ["before"],
    );
    assert.match(String(trace), /^<Trace \[stopped\] clock=loop tasks=2>$/);
  });

  test("tracing costs nothing when off: nobody listens unless a trace records", async () => {
    assert.equal(instrument.active, false);
    const a = startTrace();
    const b = startTrace();
    assert.equal(instrument.active, true);
    a.stop();
    assert.equal(instrument.active, true);
    {
      using _ = b;
    }
    assert.equal(b.active, false);
    assert.equal(instrument.active, false);
  });
});

/** Checks the structure Perfetto and chrome://tracing rely on; returns the non-metadata events. */
function validateChromeTrace(trace: ChromeTrace): ChromeTraceEvent[] {
  assert.deepEqual(JSON.parse(JSON.stringify(trace)), trace, "JSON-able");
  assert.equal(trace.displayTimeUnit, "ms");
  const events = trace.traceEvents;
  const firstData = events.findIndex((e) => e.ph !== "M");
  const meta = events.slice(0, firstData);
  const data = events.slice(firstData);
  assert.ok(
    meta.every((e) => e.ph === "M"),
    "metadata first",
  );
  assert.ok(
    data.every((e) => ["X", "i", "s", "f"].includes(e.ph)),
    "known phases only",
  );
  const processes = new Set(meta.filter((e) => e.name === "process_name").map((e) => e.pid));
  const threads = new Set(
    meta.filter((e) => e.name === "thread_name").map((e) => `${e.pid}:${e.tid}`),
  );
  for (const e of data) {
    assert.ok(Number.isInteger(e.pid) && Number.isInteger(e.tid), "integer pid and tid");
    assert.ok(processes.has(e.pid), `pid ${e.pid} is named`);
    assert.ok(threads.has(`${e.pid}:${e.tid}`), `tid ${e.pid}:${e.tid} is named`);
    assert.ok(Number.isFinite(e.ts) && e.ts >= 0, "ts is a time");
    if (e.ph === "X") assert.ok(Number.isFinite(e.dur) && e.dur! >= 0, "dur is a duration");
    if (e.ph === "i") assert.equal(e.s, "t");
  }
  for (let i = 1; i < data.length; i++) {
    assert.ok(data[i].ts >= data[i - 1].ts, `ts monotonic at event ${i}`);
  }
  // On each track, slices nest properly: any two are disjoint or one contains the other.
  const tracks = new Map<string, ChromeTraceEvent[]>();
  for (const e of data) {
    const key = `${e.pid}:${e.tid}`;
    if (!tracks.has(key)) tracks.set(key, []);
    tracks.get(key)!.push(e);
  }
  const end = (e: ChromeTraceEvent): number => e.ts + e.dur!;
  for (const [key, track] of tracks) {
    const slices = track.filter((e) => e.ph === "X");
    assert.equal(slices.filter((e) => e.cat === "task").length, 1, `${key}: one lifetime slice`);
    const life = slices.find((e) => e.cat === "task")!;
    for (const a of slices) {
      for (const b of slices) {
        const disjoint = end(a) <= b.ts || end(b) <= a.ts;
        const nested = (a.ts <= b.ts && end(b) <= end(a)) || (b.ts <= a.ts && end(a) <= end(b));
        assert.ok(disjoint || nested, `${key}: ${a.name} and ${b.name} overlap`);
      }
      assert.ok(a.ts >= life.ts && end(a) <= end(life), `${key}: ${a.name} within the task`);
    }
    for (const e of track.filter((x) => x.ph !== "X")) {
      assert.ok(
        e.ts >= life.ts && e.ts <= life.ts + life.dur!,
        `${key}: ${e.name} within the task`,
      );
    }
    // The segments tile the lifetime exactly.
    const segs = slices.filter((e) => e !== life);
    assert.equal(segs[0].ts, life.ts, `${key}: first segment starts at creation`);
    for (let i = 1; i < segs.length; i++) {
      assert.equal(segs[i].ts, segs[i - 1].ts + segs[i - 1].dur!, `${key}: contiguous segments`);
    }
    const last = segs.at(-1)!;
    assert.equal(last.ts + last.dur!, life.ts + life.dur!, `${key}: last segment ends at the end`);
  }
  const starts = data.filter((e) => e.ph === "s");
  const ends = data.filter((e) => e.ph === "f");
  assert.deepEqual(
    starts.map((e) => e.id).sort(),
    ends.map((e) => e.id).sort(),
    "flows are paired",
  );
  return data;
}

describe("Trace.toChromeTrace", () => {
  test("is a valid trace: named processes and threads, monotonic ts, nested slices, paired flows", async () => {
    const trace = startTrace();
    await scenario();
    trace.stop();
    const chrome = trace.toChromeTrace();
    const data = validateChromeTrace(chrome);
    const tasks = trace.tasks();
    const meta = chrome.traceEvents.filter((e) => e.ph === "M");
    assert.deepEqual(
      meta.filter((e) => e.name === "thread_name").map((e) => e.args!.name),
      tasks.map((t) => `${t.name} [${t.id}]`),
    );
    assert.ok(
      meta.some(
        (e) => e.name === "process_name" && /asyncio-ts loop \d+/.test(String(e.args!.name)),
      ),
    );
    const victim = byName(tasks, "victim");
    const cancel = data.find((e) => e.ph === "i")!;
    assert.deepEqual(
      { name: cancel.name, tid: cancel.tid, ts: cancel.ts, args: cancel.args },
      {
        name: "cancel requested",
        tid: victim.id,
        ts: 10_000,
        args: { description: "cancelled by task 'main'" },
      },
    );
    const worker = data.find((e) => e.ph === "X" && e.cat === "task" && e.name === "g1")!;
    assert.equal(worker.args!.creator, byName(tasks, "main").id);
    const flows = data.filter((e) => e.ph === "s" && e.tid === byName(tasks, "main").id);
    assert.ok(flows.length >= 4, "main created several tasks: one flow each");
    const waits = data.filter((e) => e.cat === "waiting").map((e) => e.name);
    assert.ok(waits.includes("waiting on <sleep until 1000>"));
    assert.ok(
      data.some((e) => e.cat === "waiting" && e.args!.awaitedTask === byName(tasks, "locker").id),
    );
  });

  test("can be exported while recording, and from an empty trace", async () => {
    const empty = startTrace();
    empty.stop();
    assert.deepEqual(empty.toChromeTrace().traceEvents, []);
    await runVirtual(async () => {
      const trace = startTrace();
      createTask(() => sleep(5), { name: "pending" });
      await sleep(1);
      validateChromeTrace(trace.toChromeTrace());
      assert.equal(trace.active, true);
      trace.stop();
    });
  });
});

/** A stand-in for the DOM, enough for the page's script. */
class StubElement {
  className = "";
  textContent = "";
  title = "";
  style: Record<string, string> = {};
  readonly children: StubElement[] = [];
  readonly listeners = new Map<string, (e: unknown) => void>();
  readonly classList = {
    toggle: (name: string, on: boolean) => {
      const set = new Set(this.className.split(" ").filter(Boolean));
      if (on) set.add(name);
      else set.delete(name);
      this.className = [...set].join(" ");
    },
  };
  constructor(readonly tag: string) {}
  appendChild(child: StubElement): StubElement {
    this.children.push(child);
    return child;
  }
  addEventListener(type: string, listener: (e: unknown) => void): void {
    this.listeners.set(type, listener);
  }
  all(): StubElement[] {
    return [this, ...this.children.flatMap((c) => c.all())];
  }
}

/** Runs the page's inline script against stub elements; returns them by id. */
function renderPage(html: string): Record<string, StubElement> {
  const json = /<script type="application\/json" id="asyncio-ts-trace">([\s\S]*?)<\/script>/.exec(
    html,
  )![1];
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1];
  const byId: Record<string, StubElement> = {};
  for (const id of ["asyncio-ts-trace", "summary", "timeline", "zoom", "filter"]) {
    byId[id] = new StubElement(id);
  }
  byId["asyncio-ts-trace"].textContent = json;
  const document = {
    getElementById: (id: string) => byId[id],
    createElement: (tag: string) => new StubElement(tag),
  };
  runInNewContext(script, { document });
  return byId;
}

describe("Trace.toHTML", () => {
  test("is one self-contained page that embeds the data and draws a row per task", async () => {
    const trace = startTrace();
    await scenario();
    trace.stop();
    const html = trace.toHTML({ title: "scenario" });
    assert.match(html, /^<!DOCTYPE html>/);
    assert.doesNotMatch(html, /https?:\/\//i, "no URL: nothing is fetched");
    assert.doesNotMatch(html, /<(link|img|iframe)\b|<script[^>]+src=/i, "no external resource");
    assert.match(html, /<title>scenario<\/title>/);
    const json = /<script type="application\/json" id="asyncio-ts-trace">([\s\S]*?)<\/script>/.exec(
      html,
    )![1];
    const data = JSON.parse(json) as { tasks: TracedTask[]; clock: string };
    assert.deepEqual(data.tasks, trace.tasks());
    assert.equal(data.clock, "loop");
    const page = renderPage(html);
    const rows = page.timeline.all().filter((e) => e.className === "row");
    assert.equal(rows.length, trace.tasks().length);
    const bars = page.timeline.all().filter((e) => e.className.startsWith("seg "));
    assert.equal(
      bars.length,
      trace.tasks().reduce((n, t) => n + t.segments.length, 0),
    );
    assert.ok(
      page.timeline.all().some((e) => e.className === "mark" && /enough|main/.test(e.title)),
    );
    assert.match(page.summary.textContent, /^\d+ tasks, /);
    page.filter.listeners.get("input")!({ target: { value: "victim" } });
    assert.equal(rows.filter((r) => !r.className.includes("hidden")).length, 1);
  });

  test("task names cannot close the data element or inject markup", async () => {
    const trace = startTrace();
    await runVirtual(async () => {
      await createTask(() => sleep(1), { name: "</script><b>x</b>" });
    });
    trace.stop();
    const html = trace.toHTML({ title: "<b>&" });
    assert.ok(!html.includes("</script><b>"));
    assert.match(html, /<title>&lt;b&gt;&amp;<\/title>/);
    const page = renderPage(html);
    assert.ok(page.timeline.all().some((e) => e.textContent.startsWith("</script><b>x</b>")));
  });
});

describe("tracing: bad input", () => {
  test("options are checked, naming the argument", () => {
    assert.throws(() => startTrace(5 as never), { name: "TypeError", message: /`options`/ });
    assert.throws(() => startTrace({ clock: 3 as never }), {
      name: "TypeError",
      message: /`options.clock`/,
    });
    assert.throws(() => startTrace({ clock: "cpu" as never }), {
      name: "RangeError",
      message: /`options.clock`/,
    });
    assert.throws(() => startTrace({ loop: {} as never }), {
      name: "TypeError",
      message: /`options.loop`/,
    });
    assert.throws(() => startTrace({ clok: "wall" } as never), {
      name: "TypeError",
      message: /Unknown option `options.clok`/,
    });
    const trace = new Trace({ loop: new EventLoop() });
    trace.stop();
    assert.throws(() => trace.toHTML("title" as never), {
      name: "TypeError",
      message: /`options`/,
    });
    assert.throws(() => trace.toHTML({ title: 1 as never }), {
      name: "TypeError",
      message: /`options.title`/,
    });
    assert.equal(instrument.active, false);
  });
});

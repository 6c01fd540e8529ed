/**
 * Every program in examples/ runs to completion: discovered by directory listing, so examples
 * added later are covered without touching this file. Each runs as `node --import tsx
 * examples/<name>.ts` from the repository root (importing "asyncio-ts" from dist/), two at a
 * time, with a hang guard. Examples with known output also have their key lines checked.
 *
 * An example may opt out with a directive on its FIRST line, only when truly necessary:
 *   // example: needs-network   (talks to the internet: runs only with ASYNCIO_TS_NETWORK=1)
 *   // example: skip-ci         (cannot run unattended, e.g. waits for Ctrl-C: skipped when CI is set)
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertBuilt, describeRun, type NodeResult, ROOT, runTs } from "./run-node.ts";

const EXAMPLE_TIMEOUT_MS = 60_000;
const DIRECTIVES = new Set(["needs-network", "skip-ci"]);

/** The `// example: …` flags on the first line of an example. */
export function parseDirectives(source: string): string[] {
  const first = source.split("\n", 1)[0];
  const match = /^\/\/\s*example:\s*(.*)$/.exec(first.trim());
  if (match === null) return [];
  return match[1].split(/[\s,]+/).filter((flag) => flag.length > 0);
}

/** Seconds since midnight of an `HH:MM:SS` stamp. */
function secondsOf(stamp: string): number {
  const [h, m, s] = stamp.split(":").map(Number);
  return h * 3600 + m * 60 + s;
}

/** Asserts that `needles` occur in `stdout`'s lines in this order (each a line prefix). */
function assertLinesInOrder(stdout: string, needles: string[]): string[] {
  const lines = stdout.split("\n").map((line) => line.trimEnd());
  const found: string[] = [];
  let from = 0;
  for (const needle of needles) {
    const at = lines.findIndex((line, i) => i >= from && line.startsWith(needle));
    assert.ok(
      at >= 0,
      `expected a line starting with ${JSON.stringify(needle)} after line ${from}:\n${stdout}`,
    );
    found.push(lines[at]);
    from = at + 1;
  }
  return found;
}

type Check = (result: NodeResult, lastAttempt: boolean) => "ok" | "retry";

/**
 * Key output of the examples whose output is known. A check may answer "retry" when the output
 * is ambiguous for a reason outside the program (see hello.ts); the example is then run once more.
 */
const CHECKS: Record<string, Check> = {
  "hello.ts": ({ stdout }, lastAttempt) => {
    const [started, , , finished] = assertLinesInOrder(stdout, [
      "Started at ",
      "Hello",
      "World",
      "Finished at ",
    ]);
    const stamp = /(\d\d:\d\d:\d\d)$/;
    const t0 = secondsOf(stamp.exec(started)![1]);
    const t1 = secondsOf(stamp.exec(finished)![1]);
    const diff = (t1 - t0 + 86_400) % 86_400; // a run may cross midnight
    // The program runs 2 s plus a few ms of timer latency, so whole-second stamps differ by 2,
    // or by 3 when the start fell in the last few ms of a second. A sequential (broken) run
    // takes 3 s and prints 3 or 4 every time; an ambiguous 3 is settled by running it again.
    if (diff === 3 && !lastAttempt) return "retry";
    assert.equal(diff, 2, `expected the stamps 2 s apart (tasks run concurrently):\n${stdout}`);
    return "ok";
  },
  "cancellation.ts": ({ stdout }) => {
    assertLinesInOrder(stdout, [
      "worker: started",
      "main: cancelling the worker",
      "worker: cleaning up",
      "worker: cleanup done",
      "main: worker ended cancelled: true",
      "main: CancelledError message: enough",
      "main: a task cancelled before it started ran: false",
      "timer: aborted by the task's signal",
      "main: timer task cancelled: true",
      "main: two requests, cancelling() = 2",
      "main: sleeper cancelled: true",
    ]);
    return "ok";
  },
  "virtual-time.ts": ({ stdout }) => {
    assertLinesInOrder(stdout, [
      "t=0 ms: start",
      "t=1000 ms: tick 1",
      "t=2000 ms: tick 2",
      "t=3000 ms: tick 3",
      "t=3600000 ms: an hour later",
      "t=3600500 ms: same deadline, creation order: a,b",
      "virtual hour took less than a minute of real time: true",
      "after two runs of 250 ms on a clock that started at 10000: 10500",
    ]);
    return "ok";
  },
  "files.ts": ({ stdout }) => {
    assertLinesInOrder(stdout, [
      "wrote 100 files and read them back: 100 intact, 102400 bytes",
      "timeout after 300 ms: timeout expired",
      "slow writers: 10 complete, 10 cancelled, 0 partial files left",
    ]);
    return "ok";
  },
  "http-fanout.ts": ({ stdout }) => {
    assertLinesInOrder(stdout, [
      "fetched 180 of 200 within the per-request timeout of 1000 ms; 20 timed out",
      "server saw 20 requests closed early by the client",
    ]);
    return "ok";
  },
  "pipeline.ts": ({ stdout }) => {
    assertLinesInOrder(stdout, [
      "written: 30 of 30 results, each once: true",
      "peak raw queue: 5 (maxsize 5), peak results queue: ",
      "backpressure: the producer spent ",
    ]);
    // The bounded queues never hold more than their maxsize (the results peak depends on timing).
    assert.match(stdout, /peak results queue: [0-3] \(maxsize 3\)/);
    return "ok";
  },
  "crawler.ts": ({ stdout }) => {
    const [, a, b] = assertLinesInOrder(stdout, [
      "crawled 50 pages in ",
      "127.0.0.1:",
      "127.0.0.1:",
    ]);
    for (const line of [a, b]) {
      assert.match(line, /: 25 pages, at most [12] requests at once \(limit 2\)$/);
    }
    return "ok";
  },
  "echo.ts": ({ stdout }) => {
    assertLinesInOrder(stdout, [
      "Serving on 127.0.0.1:",
      "client got back: alice: hello | alice: world",
      "client got back: bob: hello | bob: world",
      "client got back: carol: hello | carol: world",
      "echo server closed",
    ]);
    return "ok";
  },
  "chat.ts": ({ stdout }) => {
    assertLinesInOrder(stdout, ["chat server on port ", "chat server closed"]);
    assert.match(stdout, /<ada> hi all/);
    return "ok";
  },
  "subprocess-pipeline.ts": ({ stdout }) => {
    assertLinesInOrder(stdout, ["generated ", "top five words:", "  word0 "]);
    assert.match(stdout, /exit codes 0, 0, 0, 0/);
    return "ok";
  },
  "cpu-offload.ts": ({ stdout }) => {
    const [inline, threads] = assertLinesInOrder(stdout, [
      "on the loop:   4 jobs, max loop lag ",
      "on threads:    4 jobs, max loop lag ",
      "same results: true",
    ]);
    const lag = (line: string) => Number(/lag (\d+) ms/.exec(line)![1]);
    // The jobs block the loop for hundreds of ms when run on it; on threads the heartbeat keeps
    // beating. Only the order is asserted: absolute lags depend on the machine.
    assert.ok(lag(threads) < lag(inline), `threads should lag less:\n${stdout}`);
    return "ok";
  },
  "trace.ts": ({ stdout }) => {
    assertLinesInOrder(stdout, [
      "--- ps ---",
      "loop  task id  task name    state    waiting on",
      "1     1        main         pending  <TaskGroup [exiting] tasks=3>",
      "1     2        fetch-fast   pending  <sleep until 20>                             main          1",
      "1     6        part-1       pending  <sleep until 30>                             fetch-parts   4",
      "--- pstree ---",
      "├── (T) main [1] waiting on <TaskGroup [exiting] tasks=3>",
      "│   └── (T) fetch-parts [4] waiting on <GatheringFuture pending children=2 done=0>",
      "│       ├── (T) part-1 [6] waiting on <sleep until 30>",
      "└── (T) reporter [5]",
      "--- call graph of one fetch ---",
      "* Task(name='fetch-fast', id=2) waiting on <sleep until 20>",
      "  + Awaited by:",
      "    * Task(name='main', id=1) waiting on <TaskGroup [exiting] tasks=3>",
      "fetch-slow: gave up after 50 ms",
      "--- trace ---",
      "main: 0-50 ms, 1 waits, result",
      "fetch-slow: 0-50 ms, 1 waits, result, cancel requested at 50 ms",
      "part-2: 0-40 ms, 1 waits, result",
      "chrome trace: ",
    ]);
    return "ok";
  },
  "pitfalls.ts": ({ stdout }) => {
    assertLinesInOrder(stdout, [
      "1 broken: TypeError: Expected `fn` to be a function, got a promise",
      "1 fixed: the loop controls the task, cancelled before it ran: true",
      "2 broken: got the task's result 42, not the task",
      "2 fixed: got a Task, done: true",
      "3 broken: the worker swallowed the cancellation and kept running",
      "3 fixed: cancelled: true",
      "4 broken: the plain promise kept running after cancel: ran to the end",
      "4 fixed: the signal stopped the timer: true",
      "5 broken: run() cancelled the unawaited task, saved = false",
      "5 fixed: awaited, saved = true",
    ]);
    return "ok";
  },
};

const exampleFiles = readdirSync(join(ROOT, "examples"))
  .filter((name) => name.endsWith(".ts"))
  .sort();

describe("examples/", () => {
  it("contains the seed example and the documentation's examples", () => {
    for (const name of ["hello.ts", "cancellation.ts", "virtual-time.ts", "pitfalls.ts"]) {
      assert.ok(exampleFiles.includes(name), `examples/${name} is missing`);
    }
  });

  it("only uses known `// example:` directives", () => {
    for (const name of exampleFiles) {
      const flags = parseDirectives(readFileSync(join(ROOT, "examples", name), "utf8"));
      for (const flag of flags) {
        assert.ok(DIRECTIVES.has(flag), `examples/${name}: unknown directive ${flag}`);
      }
    }
  });

  it("reads directives from the first line only", () => {
    assert.deepEqual(parseDirectives("// example: skip-ci\nimport x"), ["skip-ci"]);
    assert.deepEqual(parseDirectives("// example: needs-network, skip-ci"), [
      "needs-network",
      "skip-ci",
    ]);
    assert.deepEqual(parseDirectives("/**\n// example: skip-ci"), []);
  });
});

describe("every example runs to completion", { concurrency: 2 }, () => {
  for (const name of exampleFiles) {
    const flags = parseDirectives(readFileSync(join(ROOT, "examples", name), "utf8"));
    let skip: string | false = false;
    if (flags.includes("needs-network") && process.env.ASYNCIO_TS_NETWORK !== "1") {
      skip = "needs the network (set ASYNCIO_TS_NETWORK=1 to run it)";
    } else if (flags.includes("skip-ci") && process.env.CI) {
      skip = "marked skip-ci";
    }
    const check: Check | undefined = CHECKS[name];
    const title =
      check !== undefined
        ? `examples/${name} exits 0 and prints its key lines`
        : `examples/${name} exits 0`;
    it(title, { skip, timeout: 3 * EXAMPLE_TIMEOUT_MS }, async () => {
      await assertBuilt();
      for (let attempt = 1; ; attempt++) {
        const result = await runTs(join("examples", name), EXAMPLE_TIMEOUT_MS);
        assert.ok(result.code === 0 && !result.timedOut, describeRun(`examples/${name}`, result));
        if (check === undefined || check(result, attempt === 2) === "ok") return;
      }
    });
  }
});

/**
 * The public surface is explicit: the runtime names exported by each package entry point are
 * pinned here, so an export cannot appear or vanish by accident (Trio checks its re-exports the
 * same way). Adding a public name is a deliberate act: add it to the list below in the same
 * commit. Type-only exports (interfaces, type aliases) do not exist at runtime and are not listed.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { assertBuilt, describeRun, ROOT, runNodeWithDist } from "./run-node.ts";

/** The runtime exports of "asyncio-ts" (src/index.ts), in any order. */
const ROOT_EXPORTS = [
  // Errors
  "BrokenBarrierError",
  "CancelledError",
  "ExceptionGroup",
  "IncompleteReadError",
  "InvalidStateError",
  "KeyboardInterrupt",
  "LimitOverrunError",
  "QueueEmpty",
  "QueueFull",
  "QueueShutDown",
  "RuntimeError",
  "TimeoutError",
  "isCancelledError",
  "rethrowIfCancelled",
  // Futures and tasks
  "Future",
  "Task",
  "allTasks",
  "createEagerTaskFactory",
  "createTask",
  "eagerTaskFactory",
  "currentSignal",
  "currentTask",
  "ensureFuture",
  "sleep",
  // Loop
  "EventLoop",
  "Handle",
  "RealClock",
  "TimerHandle",
  "VirtualClock",
  "getRunningLoop",
  // Entry points
  "Runner",
  "run",
  // Structured concurrency
  "ALL_COMPLETED",
  "FIRST_COMPLETED",
  "FIRST_EXCEPTION",
  "TaskGroup",
  "Timeout",
  "asCompleted",
  "gather",
  "shield",
  "taskGroup",
  "timeout",
  "timeoutAt",
  "wait",
  "waitFor",
  // Synchronisation and queues
  "Barrier",
  "BoundedSemaphore",
  "Condition",
  "Event",
  "LifoQueue",
  "Lock",
  "PriorityQueue",
  "Queue",
  "ReleaseGuard",
  "Semaphore",
  // Introspection and tracing
  "captureCallGraph",
  "captureTasks",
  "formatCallGraph",
  "formatTaskTable",
  "formatTaskTree",
  "printCallGraph",
  "startTrace",
  "Trace",
  // I/O
  "DEVNULL",
  "PIPE",
  "Process",
  "STDOUT",
  "Server",
  "StreamReader",
  "StreamWriter",
  "ThreadPoolExecutor",
  "createSubprocessExec",
  "createSubprocessShell",
  "openConnection",
  "openUnixConnection",
  "startServer",
  "startUnixServer",
  "toThread",
];

/** Each entry point of package.json "exports" that is code: its source and its names. */
const ENTRY_POINTS: Record<string, { source: string; names: string[] }> = {
  ".": { source: "../src/index.ts", names: ROOT_EXPORTS },
};

function sorted(names: Iterable<string>): string[] {
  return [...names].sort();
}

/** A readable account of how two name lists differ. */
function difference(actual: string[], expected: string[]): string {
  const added = actual.filter((n) => !expected.includes(n));
  const missing = expected.filter((n) => !actual.includes(n));
  return `new, not in the list: ${JSON.stringify(added)}; listed, not exported: ${JSON.stringify(missing)}`;
}

test("package.json declares exactly the entry points pinned here, plus ./package.json", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    exports: Record<string, unknown>;
  };
  assert.deepEqual(
    sorted(Object.keys(pkg.exports)),
    sorted([...Object.keys(ENTRY_POINTS), "./package.json"]),
  );
});

test("the expected export list has no duplicates", () => {
  for (const [entry, { names }] of Object.entries(ENTRY_POINTS)) {
    assert.equal(new Set(names).size, names.length, `duplicate names listed for ${entry}`);
  }
});

for (const [entry, { source, names }] of Object.entries(ENTRY_POINTS)) {
  test(`the "${entry}" entry point (${source}) exports exactly the pinned names`, async () => {
    const mod = (await import(source)) as Record<string, unknown>;
    const actual = sorted(Object.keys(mod));
    assert.deepEqual(actual, sorted(names), difference(actual, names));
    for (const name of actual) {
      assert.notEqual(mod[name], undefined, `${name} is exported as undefined`);
      assert.ok(!name.startsWith("_"), `${name}: private names must not be exported`);
    }
  });
}

test("the built package resolves by its own name and exports the same names", async () => {
  await assertBuilt();
  const script =
    'import("asyncio-ts").then((m) => console.log(JSON.stringify(Object.keys(m).sort())))';
  const result = await runNodeWithDist(["--input-type=module", "-e", script], 60_000);
  assert.equal(result.code, 0, describeRun("import('asyncio-ts')", result));
  const actual = JSON.parse(result.stdout) as string[];
  assert.deepEqual(
    actual,
    sorted(ROOT_EXPORTS),
    `dist/ differs from the list (rebuild with npm run build?): ${difference(actual, ROOT_EXPORTS)}`,
  );
});

test("the built package ships type declarations for its entry point", async () => {
  await assertBuilt();
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    exports: Record<string, { types?: string; default?: string }>;
  };
  const root = pkg.exports["."];
  assert.ok(root.types && root.default, 'the "." export needs "types" and "default"');
  readFileSync(join(ROOT, root.types), "utf8");
  readFileSync(join(ROOT, root.default), "utf8");
});

test("the published declarations type-check in a user's project with skipLibCheck off", async () => {
  // test/fixtures/consumer is compiled as a user compiles (a plain tsconfig: skipLibCheck is
  // off, so tsc checks every .d.ts of the package). Internal names stripped from dist/ but still
  // named by a public declaration (an `implements` clause, an import) fail here.
  await assertBuilt();
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const project = join(ROOT, "test", "fixtures", "consumer");
  const config = JSON.parse(readFileSync(join(project, "tsconfig.json"), "utf8")) as {
    compilerOptions: { skipLibCheck?: boolean };
  };
  assert.equal(config.compilerOptions.skipLibCheck, false, "the consumer must check libraries");
  const result = await runNodeWithDist([tsc, "-p", project], 120_000);
  assert.equal(result.code, 0, describeRun("tsc -p test/fixtures/consumer", result));
});

test("CommonJS code loads the built package with require()", async (t) => {
  // Node loads an ES module from require() since 20.19 and 22.12 (the getting-started guide
  // says so); older releases of Node 20 and 22 cannot.
  const [major, minor] = process.versions.node.split(".").map(Number);
  if ((major === 20 && minor < 19) || (major === 22 && minor < 12) || major === 21) {
    t.skip(`Node ${process.versions.node} cannot require() an ES module`);
    return;
  }
  await assertBuilt();
  const script = [
    'const asyncio = require("asyncio-ts");',
    "asyncio.run(async () => asyncio.sleep(1, Object.keys(asyncio).length))",
    "  .then((n) => console.log(n));",
  ].join("\n");
  const result = await runNodeWithDist(["--input-type=commonjs", "-e", script], 60_000);
  assert.equal(result.code, 0, describeRun("require('asyncio-ts')", result));
  assert.equal(Number(result.stdout.trim()), ROOT_EXPORTS.length);
});

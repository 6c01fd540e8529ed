/**
 * The `asyncio-ts` command line tool (src/introspection/cli.ts, bin.ts, remote.ts), end to end:
 * the built `bin` runs `ps`/`pstree` against a child process started here (a program that uses
 * asyncio-ts and does not opt in to anything), whose inspector is opened on 127.0.0.1 for the
 * snapshot and closed again. Every child has a hang guard. Argument parsing is tested in-process.
 *
 * The targets are started with `--inspect-port=0` (a free port, found through /proc) or with an
 * explicit free port and `--port`, never on the default 9229, which another process may hold.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { ProcessSnapshot } from "../src/index.ts";
import { main, parseArgs, USAGE } from "../src/introspection/cli.ts";
import { catchesSigusr1, listeningPorts } from "../src/introspection/remote.ts";
import { assertBuilt, describeRun, type NodeResult, ROOT, runNodeWithDist } from "./run-node.ts";

const BIN = join("dist", "introspection", "bin.js");
const TARGET = join("test", "fixtures", "introspect-target.ts");
const CHILD_TIMEOUT_MS = 60_000;
const linux = process.platform === "linux";

const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

/** Starts `node ...argv` and resolves with it once it printed "ready". */
function startTarget(argv: string[]): Promise<{ child: ChildProcess; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: "", FORCE_COLOR: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    const guard = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    let stdout = "";
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (stdout.includes("ready\n")) resolve({ child, stderr: () => stderr });
    });
    child.on("exit", (code, signal) => {
      clearTimeout(guard);
      children.delete(child);
      reject(new Error(`target exited early (${code ?? signal}):\n${stdout}\n${stderr}`));
    });
  });
}

function stop(child: ChildProcess): void {
  child.kill("SIGKILL");
}

function cli(args: string[]): Promise<NodeResult> {
  return runNodeWithDist([BIN, ...args], CHILD_TIMEOUT_MS);
}

/** A TCP port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const PS = [
  "loop  task id  task name  state    waiting on                                   awaiter name  awaiter id",
  "--------------------------------------------------------------------------------------------------------",
  "1     1        main       pending  <TaskGroup [exiting] tasks=4>",
  "1     2        waiter     pending  <Event [unset, waiters:1]>.wait()            main          1",
  "1     3        locker     pending  <Lock [locked, waiters:1]>.acquire()         main          1",
  "1     4        consumer   pending  <Queue maxsize=0 _getters[1]>.get()          main          1",
  "1     5        gatherer   pending  <GatheringFuture pending children=2 done=0>  main          1",
].join("\n");

const PSTREE = [
  "└── (T) main [1] waiting on <TaskGroup [exiting] tasks=4>",
  "    ├── (T) waiter [2] waiting on <Event [unset, waiters:1]>.wait()",
  "    ├── (T) locker [3] waiting on <Lock [locked, waiters:1]>.acquire()",
  "    ├── (T) consumer [4] waiting on <Queue maxsize=0 _getters[1]>.get()",
  "    └── (T) gatherer [5] waiting on <GatheringFuture pending children=2 done=0>",
].join("\n");

describe("asyncio-ts ps / pstree against a running program", { concurrency: 1 }, () => {
  test("ps and pstree print the tasks of a process that did not opt in, and its inspector closes again", {
    skip: linux ? false : "finding the inspector port needs /proc (Linux)",
    timeout: 120_000,
  }, async () => {
    await assertBuilt();
    const { child, stderr } = await startTarget(["--inspect-port=0", "--import", "tsx", TARGET]);
    try {
      const pid = child.pid!;
      const before = listeningPorts(pid)!;
      const ps = await cli(["ps", String(pid), "--timeout", "20000"]);
      assert.equal(ps.code, 0, describeRun("asyncio-ts ps", ps));
      assert.equal(ps.stdout.trimEnd(), PS);
      assert.deepEqual(listeningPorts(pid), before, "the inspector is closed after ps");
      const tree = await cli(["pstree", String(pid), "--timeout", "20000"]);
      assert.equal(tree.code, 0, describeRun("asyncio-ts pstree", tree));
      assert.equal(tree.stdout.trimEnd(), PSTREE);
      assert.deepEqual(listeningPorts(pid), before, "the inspector is closed after pstree");
      // The target printed Node's own inspector messages, and kept running.
      assert.match(stderr(), /Debugger listening on ws:\/\/127\.0\.0\.1:/);
      assert.equal(child.exitCode, null);
    } finally {
      stop(child);
    }
  });

  test("--port names the inspector port of a target started with --inspect-port; --json prints the snapshot", {
    timeout: 120_000,
  }, async () => {
    await assertBuilt();
    const port = await freePort();
    const { child } = await startTarget([`--inspect-port=${port}`, "--import", "tsx", TARGET]);
    try {
      const pid = child.pid!;
      const result = await cli(["ps", String(pid), "--port", String(port), "--json"]);
      assert.equal(result.code, 0, describeRun("asyncio-ts ps --json", result));
      const snapshot = JSON.parse(result.stdout) as ProcessSnapshot;
      assert.equal(snapshot.version, 1);
      assert.equal(snapshot.pid, pid);
      assert.equal(snapshot.loops.length, 1);
      assert.equal(snapshot.loops[0].virtualTime, false);
      assert.deepEqual(
        snapshot.loops[0].tasks.map((t) => [t.id, t.name, t.awaitedBy.map((a) => a.name)]),
        [
          [1, "main", []],
          [2, "waiter", ["main"]],
          [3, "locker", ["main"]],
          [4, "consumer", ["main"]],
          [5, "gatherer", ["main"]],
        ],
      );
      if (linux) assert.ok(!listeningPorts(pid)!.has(port), "the inspector is closed again");
    } finally {
      stop(child);
    }
  });

  test("an inspector that was already open is used and left open", {
    skip: linux ? false : "needs /proc (Linux)",
    timeout: 120_000,
  }, async () => {
    await assertBuilt();
    const { child } = await startTarget(["--inspect=127.0.0.1:0", "--import", "tsx", TARGET]);
    try {
      const pid = child.pid!;
      const before = listeningPorts(pid)!;
      const result = await cli(["pstree", String(pid)]);
      assert.equal(result.code, 0, describeRun("asyncio-ts pstree", result));
      assert.equal(result.stdout.trimEnd(), PSTREE);
      assert.deepEqual(listeningPorts(pid), before, "still listening, as before");
    } finally {
      stop(child);
    }
  });

  test("a Node process without asyncio-ts is reported, and its inspector closed", {
    skip: linux ? false : "needs /proc (Linux)",
    timeout: 120_000,
  }, async () => {
    await assertBuilt();
    const script = 'console.log("ready"); setTimeout(() => {}, 60_000);';
    const { child } = await startTarget(["--inspect-port=0", "-e", script]);
    try {
      const pid = child.pid!;
      const before = listeningPorts(pid)!;
      const result = await cli(["ps", String(pid)]);
      assert.equal(result.code, 1, describeRun("asyncio-ts ps", result));
      assert.match(result.stderr, /does not use asyncio-ts/);
      assert.deepEqual(listeningPorts(pid), before);
    } finally {
      stop(child);
    }
  });

  test("a process that is not Node is refused, not killed by the signal", {
    skip: linux ? false : "needs /proc (Linux)",
    timeout: 60_000,
  }, async () => {
    await assertBuilt();
    const sleeper = spawn("sleep", ["30"], { stdio: "ignore" });
    children.add(sleeper);
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(catchesSigusr1(sleeper.pid!), false);
      const result = await cli(["ps", String(sleeper.pid)]);
      assert.equal(result.code, 1, describeRun("asyncio-ts ps", result));
      assert.match(result.stderr, /does not handle SIGUSR1/);
      assert.equal(sleeper.exitCode, null);
      assert.equal(sleeper.signalCode, null);
    } finally {
      sleeper.kill("SIGKILL");
      children.delete(sleeper);
    }
  });

  test("a pid with no process is an error (exit code 1)", { timeout: 60_000 }, async () => {
    await assertBuilt();
    const result = await cli(["ps", "2147483646"]);
    assert.equal(result.code, 1, describeRun("asyncio-ts ps", result));
    assert.match(result.stderr, /no process with pid 2147483646/);
  });
});

describe("asyncio-ts: the command line", () => {
  test("parses a command, a pid and the options", () => {
    assert.deepEqual(parseArgs(["ps", "42"]), {
      command: "ps",
      pid: 42,
      port: undefined,
      timeoutMs: 10_000,
      json: false,
    });
    assert.deepEqual(parseArgs(["pstree", "--port", "9333", "7", "--timeout", "500", "--json"]), {
      command: "pstree",
      pid: 7,
      port: 9333,
      timeoutMs: 500,
      json: true,
    });
    assert.equal(parseArgs([]), "help");
    assert.equal(parseArgs(["ps", "1", "--help"]), "help");
  });

  test("bad usage exits with code 2 and the usage text", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["top", "1"], /unknown command "top"/],
      [["ps"], /ps needs a pid/],
      [["ps", "0"], /positive integer, got "0"/],
      [["ps", "12abc"], /positive integer, got "12abc"/],
      [["ps", "1", "2"], /unexpected argument "2"/],
      [["ps", "1", "--port"], /--port needs a value/],
      [["ps", "1", "--port", "70000"], /--port must be a port number/],
      [["ps", "1", "--timeout", "-5"], /--timeout must be a positive number/],
      [["ps", "1", "--verbose"], /unknown option --verbose/],
    ];
    for (const [argv, message] of cases) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(
        argv,
        (t) => out.push(t),
        (t) => err.push(t),
      );
      assert.equal(code, 2, argv.join(" "));
      assert.match(err.join("\n"), message);
      assert.ok(err.join("\n").includes(USAGE));
      assert.deepEqual(out, []);
    }
  });

  test("--help prints the usage, which states the security implication and the port option", async () => {
    const out: string[] = [];
    assert.equal(
      await main(
        ["--help"],
        (t) => out.push(t),
        () => {},
      ),
      0,
    );
    assert.equal(out.join(""), USAGE);
    assert.match(USAGE, /127\.0\.0\.1/);
    assert.match(USAGE, /--port/);
  });

  test("the installed command runs the built bin", async () => {
    await assertBuilt();
    const result = await cli(["--help"]);
    assert.equal(result.code, 0, describeRun("asyncio-ts --help", result));
    assert.match(result.stdout, /^Usage: asyncio-ts <command> <pid>/);
  });
});

/**
 * Subprocesses: real child processes (sh, cat, echo, sleep, head), their pipes as streams,
 * return codes, signals, errors, cancellation, and the end of run() leaving nothing behind.
 * Real time; no assertion on durations; timeouts are hang guards.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  CancelledError,
  createSubprocessExec,
  createSubprocessShell,
  createTask,
  DEVNULL,
  PIPE,
  RuntimeError,
  run,
  STDOUT,
  sleep,
} from "../src/index.ts";
import { describeRun, runTs } from "./run-node.ts";

const GUARD = { timeout: 20_000 };
const realRun = <T>(main: () => Promise<T>) => run(main, { handleSignals: false });

function settled<T>(task: PromiseLike<T>): Promise<T> {
  return (async () => await task)();
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(1);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: no such process.
    return false;
  }
}

describe("createSubprocessExec and Process", () => {
  it("reads a child's stdout line by line and waits for its exit code", GUARD, () =>
    realRun(async () => {
      const proc = await createSubprocessExec("sh", ["-c", "echo one; echo two; exit 3"], {
        stdout: PIPE,
      });
      assert.equal(typeof proc.pid, "number");
      assert.equal(proc.stdin, null);
      assert.equal(proc.stderr, null);
      const lines: string[] = [];
      for await (const line of proc.stdout!) lines.push(line.toString());
      assert.deepEqual(lines, ["one\n", "two\n"]);
      assert.equal(await proc.wait(), 3);
      assert.equal(proc.returncode, 3);
      assert.equal(String(proc), `<Process ${proc.pid} returncode=3>`);
    }),
  );

  it("communicate(input) feeds stdin and collects stdout and stderr separately", GUARD, () =>
    realRun(async () => {
      const proc = await createSubprocessExec("sh", ["-c", "cat; echo oops >&2"], {
        stdin: PIPE,
        stdout: PIPE,
        stderr: PIPE,
      });
      assert.equal(proc.returncode, null);
      assert.match(String(proc), /running/);
      const [out, err] = await proc.communicate("some input\n");
      assert.equal(out?.toString(), "some input\n");
      assert.equal(err?.toString(), "oops\n");
      assert.equal(proc.returncode, 0);
    }),
  );

  it(
    "writeEof() on stdin closes the pipe, as asyncio's pipe transport: closing, later writes dropped",
    GUARD,
    () =>
      realRun(async () => {
        const proc = await createSubprocessExec("cat", [], { stdin: PIPE, stdout: PIPE });
        const stdin = proc.stdin!;
        assert.equal(stdin.canWriteEof(), true);
        stdin.write("abc");
        stdin.writeEof();
        assert.equal(stdin.isClosing(), true);
        stdin.write("dropped"); // asyncio drops writes to a closing pipe; no RuntimeError
        await assert.rejects(stdin.drain(), { code: "ECONNRESET", message: "Connection lost" });
        await stdin.waitClosed();
        assert.equal((await proc.stdout!.read()).toString(), "abc");
        assert.equal(await proc.wait(), 0);
      }),
  );

  it("stderr: STDOUT merges stderr into the stdout stream", GUARD, () =>
    realRun(async () => {
      const proc = await createSubprocessShell("echo out; echo err >&2", {
        stdout: PIPE,
        stderr: STDOUT,
      });
      assert.equal(proc.stderr, null);
      const [out, err] = await proc.communicate();
      assert.equal(out?.toString(), "out\nerr\n");
      assert.equal(err, null);
    }),
  );

  it(
    "stderr: STDOUT gives the child one pipe, so its writes keep their order (exec and shell)",
    GUARD,
    () =>
      realRun(async () => {
        const script =
          "import os, sys\n" +
          "for i in range(200):\n" +
          "    os.write(1 if i % 2 == 0 else 2, b'%d\\n' % i)\n" +
          "print(os.path.samestat(os.fstat(1), os.fstat(2)), flush=True)";
        const expected = `${Array.from({ length: 200 }, (_, i) => i).join("\n")}\nTrue\n`;
        const exec = await createSubprocessExec("python3", ["-c", script], {
          stdout: PIPE,
          stderr: STDOUT,
        });
        const pid = exec.pid;
        assert.equal((await exec.communicate())[0]?.toString(), expected);
        assert.equal(exec.returncode, 0);
        assert.equal(typeof pid, "number");
        const shell = await createSubprocessShell(`python3 -c "${script.replaceAll('"', '\\"')}"`, {
          stdout: PIPE,
          stderr: STDOUT,
        });
        assert.equal((await shell.communicate())[0]?.toString(), expected);
      }),
  );

  it("stderr: STDOUT with a program that does not exist still rejects with ENOENT", GUARD, () =>
    realRun(async () => {
      await assert.rejects(
        createSubprocessExec("no-such-program-asyncio-ts", [], { stdout: PIPE, stderr: STDOUT }),
        (e: NodeJS.ErrnoException) => e.code === "ENOENT",
      );
    }),
  );

  it("DEVNULL and inherited streams give no pipes", GUARD, () =>
    realRun(async () => {
      const proc = await createSubprocessExec("echo", ["to /dev/null"], {
        stdin: DEVNULL,
        stdout: DEVNULL,
      });
      assert.deepEqual(await proc.communicate(), [null, null]);
      assert.equal(proc.returncode, 0);
      await assert.rejects(proc.communicate("x"), TypeError);
    }),
  );

  it("a large output flows through the reader's flow control intact", GUARD, () =>
    realRun(async () => {
      const proc = await createSubprocessExec("head", ["-c", "5000000", "/dev/zero"], {
        stdout: PIPE,
      });
      const [out] = await proc.communicate();
      assert.equal(out?.length, 5_000_000);
      assert.equal(proc.returncode, 0);
    }),
  );

  it("a child killed by a signal has returncode -N", GUARD, () =>
    realRun(async () => {
      const killed = await createSubprocessExec("sleep", ["30"]);
      killed.kill();
      assert.equal(await killed.wait(), -9);
      const terminated = await createSubprocessExec("sleep", ["30"]);
      terminated.terminate();
      assert.equal(await terminated.wait(), -15);
      const signalled = await createSubprocessExec("sleep", ["30"]);
      signalled.sendSignal("SIGINT");
      assert.equal(await signalled.wait(), -2);
      signalled.kill(); // after exit: does nothing
      assert.equal(signalled.returncode, -2);
    }),
  );

  it("a program that does not exist rejects with ENOENT naming it", GUARD, () =>
    realRun(async () => {
      await assert.rejects(
        createSubprocessExec("no-such-program-asyncio-ts"),
        (e: NodeJS.ErrnoException) => {
          assert.equal(e.code, "ENOENT");
          assert.match(e.message, /no-such-program-asyncio-ts/);
          return true;
        },
      );
      const shell = await createSubprocessShell("no-such-program-asyncio-ts 2>/dev/null");
      assert.equal(await shell.wait(), 127);
    }),
  );

  it(
    "a working directory that does not exist or is a file rejects with ENOENT or ENOTDIR naming options.cwd, not the program",
    GUARD,
    () =>
      realRun(async () => {
        const missing = "/no-such-directory-asyncio-ts";
        const file = fileURLToPath(import.meta.url);
        const cases: Array<[() => Promise<unknown>, string, string]> = [
          [() => createSubprocessExec("true", [], { cwd: missing }), "ENOENT", missing],
          [
            () => createSubprocessExec("true", [], { cwd: pathToFileURL(missing) }),
            "ENOENT",
            missing,
          ],
          [() => createSubprocessShell("true", { cwd: missing }), "ENOENT", missing],
          [
            () => createSubprocessExec("true", [], { cwd: missing, stdout: PIPE, stderr: STDOUT }),
            "ENOENT",
            missing,
          ],
          [() => createSubprocessExec("true", [], { cwd: file }), "ENOTDIR", file],
        ];
        for (const [creation, code, dir] of cases) {
          await assert.rejects(creation(), (e: NodeJS.ErrnoException) => {
            assert.equal(e.code, code);
            assert.equal(e.path, dir);
            assert.equal(
              e.message,
              `spawn true ${code}: options.cwd ${code === "ENOENT" ? "does not exist" : "is not a directory"}: ${dir}`,
            );
            return true;
          });
        }
        // With a good directory, a missing program is still the program's ENOENT.
        await assert.rejects(
          createSubprocessExec("no-such-program-asyncio-ts", [], { cwd: "/" }),
          /spawn no-such-program-asyncio-ts ENOENT$/,
        );
      }),
  );

  it("rejects bad arguments with TypeError or RangeError", GUARD, () =>
    realRun(async () => {
      await assert.rejects(createSubprocessExec(42 as unknown as string), TypeError);
      await assert.rejects(createSubprocessExec("echo", "x" as unknown as string[]), TypeError);
      await assert.rejects(createSubprocessExec("echo", [], { stdin: "pipe" as never }), TypeError);
      await assert.rejects(createSubprocessExec("echo", [], { stdout: STDOUT }), RangeError);
      await assert.rejects(createSubprocessExec("echo", [], { limit: 0 }), RangeError);
      // A wrong type is a TypeError, a wrong value a RangeError (SPEC.md).
      await assert.rejects(createSubprocessExec("echo", [], { limit: "1" as never }), TypeError);
      // Node would take a string's characters as variables ({ 0: "P", 1: "A", … }).
      await assert.rejects(
        createSubprocessExec("echo", [], { env: "PATH=/bin" as never }),
        /Expected `options\.env` to be an object of environment variables/,
      );
      // As asyncio (text=True, encoding=… raise ValueError): the streams carry bytes.
      await assert.rejects(
        createSubprocessExec("echo", [], { text: true } as never),
        (e: unknown) => e instanceof RangeError && /options\.text.*bytes/.test(e.message),
      );
      await assert.rejects(
        createSubprocessShell("echo", { encoding: "utf-8" } as never),
        /options\.encoding is not supported/,
      );
      await assert.rejects(
        createSubprocessShell("echo", { argv0: "x" }),
        /argv0 is for createSubprocessExec/,
      );
      await assert.rejects(
        createSubprocessExec("echo", [], { stdoutt: PIPE } as never),
        (e: unknown) =>
          e instanceof TypeError && /Unknown option `options\.stdoutt`/.test(e.message),
      );
      await assert.rejects(createSubprocessShell(""), TypeError);
      const proc = await createSubprocessExec("true");
      assert.throws(() => proc.sendSignal({} as never), TypeError);
      await proc.wait();
    }),
  );

  it(
    "startTls() on a child's stdin throws RuntimeError at once and leaves the pipe usable (TLS needs a connection)",
    GUARD,
    () =>
      realRun(async () => {
        const proc = await createSubprocessExec("cat", [], { stdin: PIPE, stdout: PIPE });
        // A short handshake timeout: a handshake tried over the pipe would fail fast, not hang.
        const upgrade = proc.stdin!.startTls(true, { sslHandshakeTimeout: 10 });
        await assert.rejects(upgrade, (e: unknown) => {
          assert.ok(e instanceof RuntimeError);
          assert.match(e.message, /needs a socket connection, not a pipe/);
          return true;
        });
        assert.equal(proc.stdin!.isClosing(), false);
        const [out] = await proc.communicate("still plain\n");
        assert.equal(out?.toString(), "still plain\n");
      }),
  );

  it("cancelling wait() leaves the child running and wait() usable", GUARD, () =>
    realRun(async () => {
      const proc = await createSubprocessExec("sleep", ["30"]);
      const waiting = createTask(() => proc.wait());
      await sleep(0);
      waiting.cancel();
      await assert.rejects(settled(waiting), CancelledError);
      assert.equal(proc.returncode, null);
      assert.equal(alive(proc.pid), true);
      proc.kill();
      assert.equal(await proc.wait(), -9);
    }),
  );

  it("cancelling communicate() keeps the child alive and gives the output back", GUARD, () =>
    realRun(async () => {
      const proc = await createSubprocessShell("echo first; exec sleep 30", { stdout: PIPE });
      await until(() => proc.stdout!.statistics().buffered === 6);
      const talking = createTask(() => proc.communicate());
      await until(() => proc.stdout!.statistics().waiting);
      assert.equal(proc.stdout!.statistics().buffered, 0);
      talking.cancel();
      await assert.rejects(settled(talking), CancelledError);
      assert.equal(proc.returncode, null);
      assert.equal(proc.stdout!.statistics().buffered, 6);
      proc.kill();
      const [out] = await proc.communicate();
      assert.equal(out?.toString(), "first\n");
      assert.equal(proc.returncode, -9);
    }),
  );

  it("a child killed during communicate() ends it with the partial output", GUARD, () =>
    realRun(async () => {
      const proc = await createSubprocessShell("echo partial; exec sleep 30", {
        stdin: PIPE,
        stdout: PIPE,
      });
      const talking = createTask(() => proc.communicate("ignored input"));
      await until(() => proc.stdout!.statistics().waiting);
      proc.kill();
      const [out] = await talking;
      assert.ok(out?.toString() === "partial\n" || out?.length === 0);
      assert.equal(proc.returncode, -9);
    }),
  );

  it(
    "run() ending leaves no handle: the process exits and a running child is killed",
    GUARD,
    async () => {
      const result = await runTs("test/fixtures/io/leftovers.ts", 15_000);
      assert.equal(result.code, 0, describeRun("leftovers.ts", result));
      assert.match(result.stdout, /sum 3/);
      assert.match(result.stdout, /run settled/);
      const pid = Number(/child (\d+)/.exec(result.stdout)?.[1]);
      assert.ok(pid > 0);
      assert.equal(alive(pid), false, "the child process still runs after run() ended");
    },
  );
});

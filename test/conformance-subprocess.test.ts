/**
 * Conformance: the scenarios of CPython's test_subprocess that subprocess.test.ts does not pin,
 * on real child processes (python3 and /bin/sh). Children say when they are ready (a line on
 * stdout) instead of the test sleeping; real time, no assertion on durations (the timeouts are
 * hang guards).
 *
 * Covered elsewhere (test/subprocess.test.ts): test_communicate, test_kill, test_terminate,
 * test_cancel_process_wait, test_subprocess_repr (`<Process 123 returncode=3>`), the text-mode
 * refusals (test_create_subprocess_{exec,shell}_text_mode_fails), a program that does not exist
 * (the nearest to test_popen_error, which mocks Popen), and test_close_kill_running (a child
 * still running when run() ends is killed: fixtures/io/leftovers.ts).
 *
 * Differ from asyncio, by design:
 * - test_proc_exited: once the child has exited, sendSignal/terminate/kill do nothing (SPEC.md);
 *   asyncio raises ProcessLookupError once its transport has closed.
 * - test_create_subprocess_exec_with_path: JavaScript has no os.PathLike; the program and its
 *   arguments are strings (cwd also takes a URL).
 * - test_devstdin_input: libuv hands the child a Unix socketpair, not a pipe, for each PIPE
 *   stream, so a child that opens /dev/stdin (/proc/self/fd/0 on Linux) gets ENXIO, where
 *   asyncio's children (given an os.pipe() there) read it. Node offers no way to make an
 *   anonymous pipe; reading fd 0 itself (sys.stdin, `cat`) works. Pinned below so that a change
 *   in Node shows up.
 *
 * Do not apply to asyncio-ts: test_cancel_post_init and test_subprocess_protocol_events test the
 * low-level loop.subprocess_exec / SubprocessProtocol API, which asyncio-ts does not have; the
 * child-watcher and pidfd tests (libuv reaps children itself); test_close_dont_kill_finished
 * (a child reaped behind the transport's back: with libuv nothing else reaps it).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  CancelledError,
  createSubprocessExec,
  createSubprocessShell,
  createTask,
  DEVNULL,
  gather,
  getRunningLoop,
  PIPE,
  type Process,
  sleep,
} from "../src/index.ts";
import { collectExceptions, GUARD, realRun, settled, until } from "./helpers.ts";

/** A child that copies its stdin to its stdout (CPython's PROGRAM_CAT). */
const CAT = ["-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"];
/** A child that prints how many characters it read from stdin. */
const LEN = ["-c", "import sys; print(len(sys.stdin.read()))"];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: no such process.
    return false;
  }
}

/** The stdout of `proc` as text, then its exit code, through communicate(). */
async function outputOf(proc: Process, input?: string): Promise<[string | undefined, number]> {
  const [out] = await proc.communicate(input);
  return [out?.toString(), proc.returncode!];
}

describe("conformance: Process streams (test_subprocess)", () => {
  it(
    "write and drain stdin, close it, read stdout to EOF, then wait (test_stdin_stdout)",
    GUARD,
    () =>
      realRun(async () => {
        const proc = await createSubprocessExec("python3", CAT, { stdin: PIPE, stdout: PIPE });
        proc.stdin!.write("some data");
        await proc.stdin!.drain();
        proc.stdin!.close();
        assert.equal((await proc.stdout!.read()).toString(), "some data");
        assert.equal(await proc.wait(), 0);
      }),
  );

  it(
    "communicate() without input still closes a piped stdin, so the child sees EOF (test_communicate_none_input)",
    GUARD,
    () =>
      realRun(async () => {
        const proc = await createSubprocessExec("python3", CAT, { stdin: PIPE, stdout: PIPE });
        assert.deepEqual(await outputOf(proc), ["", 0]);
      }),
  );

  it(
    "input, empty input and DEVNULL stdin: the child reads 3, 0 and 0 characters (test_stdin_not_inheritable, test_empty_input, test_devnull_input)",
    GUARD,
    () =>
      realRun(async () => {
        const options = { stdin: PIPE, stdout: PIPE, stderr: PIPE };
        const piped = await createSubprocessExec("python3", LEN, options);
        assert.deepEqual(await outputOf(piped, "abc"), ["3\n", 0]);
        const empty = await createSubprocessExec("python3", LEN, options);
        assert.deepEqual(await outputOf(empty, ""), ["0\n", 0]);
        const devnull = await createSubprocessExec("python3", LEN, { ...options, stdin: DEVNULL });
        assert.equal(devnull.stdin, null);
        assert.deepEqual(await outputOf(devnull), ["0\n", 0]);
      }),
  );

  it(
    "DEVNULL stdout or stderr: communicate() gives null for it and the child still exits 0 (test_devnull_output, test_devnull_error)",
    GUARD,
    () =>
      realRun(async () => {
        const quiet = await createSubprocessExec("python3", LEN, {
          stdin: PIPE,
          stdout: DEVNULL,
          stderr: PIPE,
        });
        const [out, err] = await quiet.communicate("abc");
        assert.equal(out, null);
        assert.equal(err?.length, 0);
        assert.equal(quiet.returncode, 0);
        const noErrors = await createSubprocessExec("python3", LEN, {
          stdin: PIPE,
          stdout: PIPE,
          stderr: DEVNULL,
        });
        const [out2, err2] = await noErrors.communicate("abc");
        assert.equal(out2?.toString(), "3\n");
        assert.equal(err2, null);
        assert.equal(noErrors.returncode, 0);
      }),
  );

  it(
    "a child opening /dev/stdin fails with ENXIO: its piped stdin is a socketpair (test_devstdin_input; a known difference, see the header)",
    { ...GUARD, skip: process.platform !== "linux" && "/proc/self/fd/0 is Linux's" },
    () =>
      realRun(async () => {
        const script =
          "import sys\ntry:\n    print(len(open('/dev/stdin').read()))\nexcept OSError as e:\n    print(e.errno)";
        const proc = await createSubprocessExec("python3", ["-c", script], {
          stdin: PIPE,
          stdout: PIPE,
        });
        // ENXIO is 6 on Linux; asyncio's child would print 3.
        assert.deepEqual(await outputOf(proc, "abc"), ["6\n", 0]);
      }),
  );

  it(
    "a reader with a small limit pauses the child's pipe once it holds more than twice the limit, and communicate() resumes it and gets every byte (test_pause_reading)",
    GUARD,
    () =>
      realRun(async () => {
        const proc = await createSubprocessExec(
          "python3",
          ["-c", "import sys; sys.stdout.write('x' * 21); sys.stdout.flush()"],
          { stdin: PIPE, stdout: PIPE, limit: 10 },
        );
        await until(() => proc.stdout!.statistics().buffered === 21);
        assert.equal(proc.stdout!.statistics().paused, true);
        const [out] = await proc.communicate();
        assert.equal(out?.toString(), "x".repeat(21));
        assert.equal(proc.stdout!.statistics().paused, false);
        assert.equal(proc.returncode, 0);
      }),
  );

  it(
    "output the child wrote before exiting is all read after the exit, chunk by chunk (test_read_stdout_after_process_exit)",
    GUARD,
    () =>
      realRun(async () => {
        const proc = await createSubprocessExec(
          "python3",
          ["-c", "import sys\nfor _ in range(64):\n    sys.stdout.write('x' * 4096)\nsys.exit(1)"],
          // A limit above the output: the reader never pauses, so the child can exit unread.
          { stdout: PIPE, limit: 1 << 20 },
        );
        assert.equal(await proc.wait(), 1);
        let total = 0;
        for (;;) {
          const chunk = await proc.stdout!.read(65536);
          if (chunk.length === 0) break;
          assert.ok(chunk.length <= 65536);
          total += chunk.length;
        }
        assert.equal(total, 64 * 4096);
      }),
  );

  it(
    "drain() rejects with EPIPE when the child exits without reading its input; wait() still works (test_stdin_broken_pipe)",
    GUARD,
    () =>
      realRun(async () => {
        // The child reads one byte, then exits: the rest of the 4 MB cannot be written.
        const proc = await createSubprocessExec(
          "python3",
          ["-c", "import sys; sys.stdin.buffer.read(1)"],
          {
            stdin: PIPE,
          },
        );
        proc.stdin!.write(Buffer.alloc(4 << 20, "x"));
        await assert.rejects(proc.stdin!.drain(), (e: NodeJS.ErrnoException) =>
          ["EPIPE", "ECONNRESET"].includes(e.code ?? ""),
        );
        assert.equal(await proc.wait(), 0);
      }),
  );

  it(
    "communicate(input) ignores the broken pipe of a child that exits without reading, and reports nothing (test_communicate_ignore_broken_pipe)",
    GUARD,
    () =>
      realRun(async () => {
        const { contexts, handler } = collectExceptions();
        getRunningLoop().setExceptionHandler(handler);
        const proc = await createSubprocessExec("python3", ["-c", "pass"], { stdin: PIPE });
        assert.deepEqual(await proc.communicate(Buffer.alloc(4 << 20, "x")), [null, null]);
        assert.equal(proc.returncode, 0);
        await sleep(0);
        assert.deepEqual(contexts, []);
      }),
  );
});

describe("conformance: Process lifecycle (test_subprocess)", () => {
  it(
    "a shell command's exit code is the returncode, also in a new session (test_shell, test_start_new_session)",
    GUARD,
    () =>
      realRun(async () => {
        assert.equal(await (await createSubprocessShell("exit 7")).wait(), 7);
        // detached is asyncio's start_new_session: the child leads a session of its own.
        const script = "import os, sys; print(os.getsid(0) == os.getpid()); sys.exit(8)";
        const own = await createSubprocessExec("python3", ["-c", script], {
          stdout: PIPE,
          detached: true,
        });
        assert.deepEqual(await outputOf(own), ["True\n", 8]);
        const inherited = await createSubprocessExec("python3", ["-c", script], { stdout: PIPE });
        assert.deepEqual(await outputOf(inherited), ["False\n", 8]);
      }),
  );

  it(
    "sendSignal delivers SIGHUP, by name or number, and the child dies of it with returncode -1 (test_send_signal)",
    GUARD,
    () =>
      realRun(async () => {
        const code = "import time; print('sleeping', flush=True); time.sleep(3600)";
        for (const signal of ["SIGHUP", 1] as const) {
          const proc = await createSubprocessExec("python3", ["-c", code], { stdout: PIPE });
          assert.equal((await proc.stdout!.readline()).toString(), "sleeping\n");
          proc.sendSignal(signal);
          assert.equal(await proc.wait(), -1);
        }
      }),
  );

  it(
    "killing a shell whose own child still holds the stdout pipe sets returncode to -9 at once; wait() returns it once that child closes the pipe (test_kill_issue43884, asyncio's _try_finish)",
    GUARD,
    () =>
      realRun(async () => {
        const proc = await createSubprocessShell("sleep 3600 & echo $!; wait", { stdout: PIPE });
        const grandchild = Number((await proc.stdout!.readline()).toString());
        const waiting = createTask(() => proc.wait());
        try {
          proc.kill();
          await until(() => proc.returncode !== null);
          assert.equal(proc.returncode, -9);
          assert.equal(alive(grandchild), true);
          // The pipe ends only with its last writer, and wait() with the pipe.
          assert.equal(proc.stdout!.atEof(), false);
          await sleep(0);
          assert.equal(waiting.done(), false);
        } finally {
          process.kill(grandchild, "SIGKILL");
        }
        assert.equal(await waiting, -9);
        assert.equal(proc.stdout!.atEof(), true);
        assert.equal((await proc.stdout!.read()).length, 0);
        assert.equal(await proc.wait(), -9);
      }),
  );

  it(
    "wait() returns once the stdout and stderr pipes closed as well as the exit, so that their readers hold all the output (asyncio's _call_connection_lost)",
    GUARD,
    () =>
      realRun(async () => {
        // The shell exits at once; its background job waits for a line on a FIFO (not on
        // stdin: Node destroys a child's stdin pipe when the child exits), writes, then ends.
        const dir = mkdtempSync(join(tmpdir(), "conformance-subprocess-"));
        try {
          const fifo = join(dir, "go");
          execFileSync("mkfifo", [fifo]);
          const proc = await createSubprocessShell(
            `(read _ < '${fifo}'; echo late; echo late-err >&2) & exit 0`,
            { stdout: PIPE, stderr: PIPE },
          );
          const waiting = createTask(() => proc.wait());
          await until(() => proc.returncode !== null);
          assert.equal(proc.returncode, 0);
          await sleep(0);
          assert.equal(waiting.done(), false);
          await writeFile(fifo, "go\n");
          assert.equal(await waiting, 0);
          assert.equal(proc.stdout!.statistics().eof, true);
          assert.equal(proc.stderr!.statistics().eof, true);
          assert.equal((await proc.stdout!.read()).toString(), "late\n");
          assert.equal((await proc.stderr!.read()).toString(), "late-err\n");
        } finally {
          rmSync(dir, { recursive: true });
        }
      }),
  );

  it(
    "wait() called ten times before the exit and ten times after gives each the returncode (test_subprocess_concurrent_wait)",
    GUARD,
    () =>
      realRun(async () => {
        const proc = await createSubprocessExec("python3", CAT, { stdin: PIPE, stdout: PIPE });
        const early = gather(Array.from({ length: 10 }, () => proc.wait()));
        assert.deepEqual(await outputOf(proc, "some data"), ["some data", 0]);
        assert.deepEqual(await early, Array(10).fill(0));
        assert.deepEqual(
          await gather(Array.from({ length: 10 }, () => proc.wait())),
          Array(10).fill(0),
        );
      }),
  );

  it(
    "communicate() in ten processes at once gives each its own output (test_subprocess_communicate_stdout)",
    GUARD,
    () =>
      realRun(async () => {
        const outputs = Array.from({ length: 10 }, (_, i) => `foo${i}`);
        const results = await gather(
          outputs.map((text) => async () => {
            const proc = await createSubprocessExec(
              "python3",
              ["-c", `print(${JSON.stringify(text)})`],
              {
                stdout: PIPE,
              },
            );
            const [out] = await proc.communicate();
            return out!.toString().trim();
          }),
        );
        assert.deepEqual(results, outputs);
      }),
  );

  it(
    "env reaches the child through exec and through the shell; after communicate() a new wait() is done at its first step (test_create_subprocess_env_exec, test_create_subprocess_env_shell)",
    GUARD,
    () =>
      realRun(async () => {
        const script = "import os, sys; sys.stdout.write(os.getenv('FOO'))";
        const exec = await createSubprocessExec("python3", ["-c", script], {
          env: { ...process.env, FOO: "baz" },
          stdout: PIPE,
        });
        const shell = await createSubprocessShell(`python3 -c "${script}"`, {
          env: { ...process.env, FOO: "bar" },
          stdout: PIPE,
        });
        for (const [proc, expected] of [
          [exec, "baz"],
          [shell, "bar"],
        ] as const) {
          assert.deepEqual(await outputOf(proc), [expected, 0]);
          const waiting = createTask(() => proc.wait());
          await sleep(0);
          assert.equal(waiting.done(), true);
          assert.equal(waiting.result(), 0);
        }
      }),
  );
});

describe("conformance: creating a process (test_subprocess)", () => {
  it(
    "cancelling the creating task right after an eager start kills the child (test_cancel_make_subprocess_transport_exec)",
    GUARD,
    () =>
      realRun(async () => {
        // The child's pid is never seen by the test: a unique argument finds it in `ps`.
        const marker = `conformance-cancel-${process.pid}-${Date.now()}`;
        const creating = createTask(
          () => createSubprocessExec("python3", ["-c", "import time; time.sleep(3600)", marker]),
          { eagerStart: true },
        );
        assert.equal(creating.cancel(), true);
        await assert.rejects(settled(creating), CancelledError);
        await until(() => !running(marker));
      }),
  );

  it(
    "cancelling the creating task from a loop callback cancels the creation and kills the child (test_cancel_make_subprocess_transport_exec)",
    GUARD,
    () =>
      realRun(async () => {
        const marker = `conformance-cancel-soon-${process.pid}-${Date.now()}`;
        const creating = createTask(() =>
          createSubprocessExec("python3", ["-c", "import time; time.sleep(3600)", marker]),
        );
        getRunningLoop().callSoon(() => creating.cancel());
        await assert.rejects(settled(creating), CancelledError);
        await until(() => !running(marker));
      }),
  );

  it(
    "a program that is not executable rejects with EACCES, pipes requested or not (test_popen_error_with_stdin_pipe)",
    GUARD,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "conformance-subprocess-"));
      try {
        const program = join(dir, "not-executable");
        writeFileSync(program, "#!/bin/sh\nexit 0\n");
        chmodSync(program, 0o644);
        await realRun(async () => {
          for (const stdin of [null, PIPE]) {
            await assert.rejects(
              createSubprocessExec(program, [], { stdin, stdout: PIPE }),
              (e: NodeJS.ErrnoException) => e.code === "EACCES",
            );
          }
          // The loop goes on: the next child starts and ends normally.
          assert.equal(await (await createSubprocessExec("true")).wait(), 0);
        });
      } finally {
        rmSync(dir, { recursive: true });
      }
    },
  );
});

/** Whether a process whose command line contains `marker` runs (a zombie's is empty). */
function running(marker: string): boolean {
  return execFileSync("ps", ["-eo", "args="], { encoding: "utf8" }).includes(marker);
}

/**
 * Subprocesses with asyncio's API: `createSubprocessExec`, `createSubprocessShell` and
 * `Process`, on Node's `child_process.spawn`, with the child's pipes as asyncio streams.
 *
 * - `PIPE` gives a stream (`process.stdin` is a StreamWriter, `stdout`/`stderr` are
 *   StreamReaders with the usual flow control); `DEVNULL` connects to /dev/null; `STDOUT`
 *   (for stderr) gives the child's stderr the stdout pipe (a `/bin/sh` wrapper does the `2>&1`
 *   and `exec`s the program, keeping its pid), so the two keep their order; `null`/`undefined` (the default) inherits the
 *   parent's; a number is a file descriptor of the parent.
 * - `returncode` is `null` while the child runs, then its exit code, or `-N` when signal N
 *   killed it (asyncio's convention).
 * - A program that cannot be started rejects the create call with Node's spawn error (`ENOENT`
 *   names the program).
 *
 * At the end of `run()`, a child still running is killed (SIGKILL) and reaped, and its pipes
 * closed, as closing asyncio's subprocess transport does: no zombie, no handle keeps Node alive.
 *
 * @module
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { accessSync, constants as fsConstants, statSync } from "node:fs";
import type { Socket } from "node:net";
import { constants as osConstants } from "node:os";
import { delimiter, resolve as resolvePath } from "node:path";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import { isCancelledError } from "../exceptions.ts";
import type { Future } from "../futures/future.ts";
import type { Implements } from "../internal/implements.ts";
import { checkKnownOptions, checkOptions, rangeError, typeError } from "../internal/validate.ts";
import type { EventLoop } from "../loop/event-loop.ts";
import { getRunningLoop } from "../loop/running.ts";
import { type IoResource, type LoopIo, loopIo } from "./loop-io.ts";
import { DEFAULT_LIMIT, StreamReader } from "./stream-reader.ts";
import { StreamWriter } from "./stream-writer.ts";
import { WiredSocket } from "./wire.ts";

/** Connect the child's stream to a new pipe (a StreamWriter or StreamReader on `Process`). */
export const PIPE = -1;
/** For `stderr`: send the child's stderr where its stdout goes. */
export const STDOUT = -2;
/** Connect the child's stream to /dev/null. */
export const DEVNULL = -3;

/**
 * Where a child's stdin, stdout or stderr goes: {@link PIPE}, {@link DEVNULL}, {@link STDOUT}
 * (stderr only), a file descriptor number of this process, or `null`/`undefined` to inherit.
 */
export type StdioOption = number | null | undefined;

/** Options of {@link createSubprocessExec} and {@link createSubprocessShell}. */
export interface SubprocessOptions {
  /** The child's stdin. Default: inherited. */
  stdin?: StdioOption;
  /** The child's stdout. Default: inherited. */
  stdout?: StdioOption;
  /** The child's stderr. Default: inherited. */
  stderr?: StdioOption;
  /** The limit of the stdout/stderr readers (bytes). Default: 65536. */
  limit?: number;
  /** Working directory of the child. */
  cwd?: string | URL;
  /** Environment of the child. Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Run the child in a new process group / session (`start_new_session` in asyncio). */
  detached?: boolean;
  /** User id of the child. */
  uid?: number;
  /** Group id of the child. */
  gid?: number;
  /** The child's `argv[0]` (exec only). */
  argv0?: string;
}

function signalNumber(name: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[name] ?? 0;
}

/** The `spawn` stdio entry for an option. */
function stdioEntry(name: string, value: StdioOption): "pipe" | "ignore" | "inherit" | number {
  if (value === null || value === undefined) return "inherit";
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw typeError(name, "PIPE, DEVNULL, STDOUT, a file descriptor or null", value);
  }
  if (value === PIPE) return "pipe";
  if (value === DEVNULL) return "ignore";
  if (value === STDOUT) {
    if (name !== "options.stderr") {
      throw rangeError(
        name,
        "PIPE, DEVNULL, a file descriptor or null (STDOUT is for stderr)",
        value,
      );
    }
    return "inherit"; // replaced by the caller
  }
  if (value < 0) throw rangeError(name, "PIPE, DEVNULL, STDOUT, a file descriptor or null", value);
  return value;
}

/**
 * A running (or finished) child process: asyncio's `asyncio.subprocess.Process`.
 *
 * **Cancellation:** cancelling `wait()` or `communicate()` leaves the child running and the
 * `Process` usable: call them again later. A cancelled `communicate()` gives the output it had
 * collected back to the readers (nothing is lost for the next call), but the input it was
 * given may be partly written and stdin stays open: do not pass the same input again.
 *
 * **Differences from asyncio:** `sendSignal` takes a signal name or number and does nothing once
 * the child has exited; `communicate()` returns `[stdout, stderr]` with `null` for streams that
 * are not pipes. A `PIPE` stream is a Unix socketpair (libuv makes no other kind), where asyncio
 * gives the child a pipe: a child that opens `/dev/stdin` or `/dev/stdout` by name gets `ENXIO`
 * on Linux; reading and writing its descriptors 0, 1 and 2 works as usual.
 *
 * @example
 * ```ts
 * import { run, createSubprocessExec, PIPE } from "asyncio-ts";
 * await run(async () => {
 *   const proc = await createSubprocessExec("tr", ["a-z", "A-Z"], { stdin: PIPE, stdout: PIPE });
 *   const [out] = await proc.communicate("shout\n");
 *   console.log(out!.toString().trim(), proc.returncode); // "SHOUT 0"
 * });
 * ```
 */
export class Process {
  /** The child's stdin when it is a pipe, else `null`. */
  readonly stdin: StreamWriter | null;
  /** The child's stdout (with stderr merged in under `stderr: STDOUT`) when a pipe, else `null`. */
  readonly stdout: StreamReader | null;
  /** The child's stderr when a pipe, else `null`. */
  readonly stderr: StreamReader | null;
  /** The process id. */
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #loop: EventLoop;
  readonly #io: LoopIo;
  readonly #pipes: Socket[] = [];
  #returncode: number | null = null;
  /**
   * The pipes the child writes to (stdout, stderr) that are still open: `wait()` returns once
   * the child exited and they all closed (asyncio's `_try_finish`).
   */
  #openOutputs = 0;
  #waiters: Future<number>[] = [];
  #exited: Promise<void>;

  /** @internal Use {@link createSubprocessExec} or {@link createSubprocessShell}. */
  constructor(
    child: ChildProcess,
    exit: Promise<[number | null, NodeJS.Signals | null]>,
    loop: EventLoop,
    io: LoopIo,
    limit: number,
    mergeStderr: boolean,
  ) {
    this.#child = child;
    this.#loop = loop;
    this.#io = io;
    this.pid = child.pid!;
    this.#exited = exit.then(([code, signal]) => {
      this.#returncode = code ?? (signal === null ? 0 : -signalNumber(signal));
      this.#maybeFinish();
    });
    let stdin: StreamWriter | null = null;
    if (child.stdin !== null) {
      const pipe = child.stdin as Socket;
      stdin = new StreamWriter(pipe, null, { pipe });
      this.#addPipe(new WiredSocket(pipe, null, stdin, null));
    }
    let stdout: StreamReader | null = null;
    if (child.stdout !== null) {
      stdout = new StreamReader({ limit });
      if (mergeStderr && child.stderr !== null) {
        this.#mergePipes(stdout, child.stdout as Socket, child.stderr as Socket);
      } else this.#addOutput(new WiredSocket(child.stdout as Socket, stdout, null, null).socket);
    }
    let stderr: StreamReader | null = null;
    if (child.stderr !== null && !mergeStderr) {
      stderr = new StreamReader({ limit });
      this.#addOutput(new WiredSocket(child.stderr as Socket, stderr, null, null).socket);
    }
    this.stdin = stdin;
    this.stdout = stdout;
    this.stderr = stderr;
    io.track(this);
  }

  /** The exit code; `-N` if killed by signal N; `null` while running. */
  get returncode(): number | null {
    return this.#returncode;
  }

  /**
   * Waits for the child to exit and returns its `returncode`. As in asyncio, it returns once
   * the child's stdout and stderr pipes (those that are `PIPE`) have closed too, so their
   * readers hold all the output: a grandchild that inherited them (`"server &"` through the
   * shell) makes it wait until the grandchild closes them or exits, while `returncode` is set at
   * the exit. Does not read the pipes: a child that fills a pipe nobody reads blocks forever
   * (use {@link communicate}).
   *
   * **Cancellation:** the child keeps running; `wait()` can be called again.
   *
   * @throws {RuntimeError} (as a rejection) if it has to wait outside a running loop.
   */
  async wait(): Promise<number> {
    if (this.#returncode !== null && this.#openOutputs === 0) return this.#returncode;
    getRunningLoop(); // waiting needs a running loop (a Runner's loop between runs is not one)
    const waiter = this.#loop.createFuture<number>();
    this.#waiters.push(waiter);
    return await waiter;
  }

  /**
   * Sends `input` (if given) to stdin and closes it, reads stdout and stderr to EOF, waits for
   * the child to exit, and returns `[stdout, stderr]` (`null` for a stream that is not a pipe).
   * A child that exits without reading its input is not an error (`EPIPE` is ignored, as in
   * asyncio).
   *
   * **Cancellation:** the child keeps running; the output collected so far goes back to the
   * readers; stdin may have been partly written and is left open.
   *
   * @throws {TypeError} if `input` is given but stdin is not a pipe.
   */
  async communicate(input?: Uint8Array | string | null): Promise<[Buffer | null, Buffer | null]> {
    if (input !== undefined && input !== null) {
      if (typeof input !== "string" && !(input instanceof Uint8Array)) {
        throw typeError("input", "a Uint8Array, a string or null", input);
      }
      if (this.stdin === null) {
        throw new TypeError("communicate(input) needs stdin: PIPE when the process is created");
      }
    }
    const results = await Promise.all([
      this.stdin === null ? null : this.#feedStdin(this.stdin, input ?? null),
      this.stdout === null ? null : this.stdout.read(),
      this.stderr === null ? null : this.stderr.read(),
    ]);
    await this.wait();
    return [results[1], results[2]];
  }

  async #feedStdin(stdin: StreamWriter, input: Uint8Array | string | null): Promise<null> {
    if (input !== null) stdin.write(input);
    try {
      await stdin.drain();
    } catch (error) {
      if (isCancelledError(error)) throw error;
      const code = (error as { code?: unknown } | null)?.code;
      if (code !== "EPIPE" && code !== "ECONNRESET") throw error;
      // The child exited without reading all its input: not an error (asyncio ignores it too).
    }
    stdin.close();
    return null;
  }

  /**
   * Sends a signal (a name like `"SIGINT"` or a number). Does nothing once the child has exited.
   */
  sendSignal(signal: NodeJS.Signals | number): void {
    if (typeof signal !== "string" && typeof signal !== "number") {
      throw typeError("signal", 'a signal name (e.g. "SIGTERM") or number', signal);
    }
    if (this.#returncode !== null) return;
    this.#child.kill(signal);
  }

  /** Sends SIGTERM. */
  terminate(): void {
    this.sendSignal("SIGTERM");
  }

  /** Sends SIGKILL. */
  kill(): void {
    this.sendSignal("SIGKILL");
  }

  /** Loop shutdown: kill the child if it still runs, reap it, close the pipes. @internal */
  _shutdown(): Promise<void> | undefined {
    for (const pipe of this.#pipes) pipe.destroy();
    if (this.#returncode !== null) return undefined;
    this.#child.kill("SIGKILL");
    // Reap it (no zombie), but never let a stuck child hang the shutdown.
    return new Promise<void>((resolve) => {
      const guard = setTimeout(resolve, 2000);
      guard.unref();
      this.#exited.then(() => {
        clearTimeout(guard);
        resolve();
      });
    }).finally(() => this.#child.unref());
  }

  #addPipe(wired: WiredSocket): void {
    this.#pipes.push(wired.socket);
    wired.socket.once("close", () => this.#maybeForget());
  }

  /** A pipe the child writes to: `wait()` also waits for it to close. */
  #addOutput(pipe: Socket): void {
    this.#pipes.push(pipe);
    this.#openOutputs++;
    pipe.once("close", () => {
      this.#openOutputs--;
      this.#maybeFinish();
    });
  }

  /**
   * Wakes `wait()` once the child exited and its output pipes closed (asyncio wakes it from
   * `_call_connection_lost`, after `_try_finish` saw both). stdin is not waited for: Node
   * does not read a child's stdin pipe, so it cannot see the child's end close, which asyncio
   * does.
   */
  #maybeFinish(): void {
    if (this.#returncode === null || this.#openOutputs > 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) if (!w.done()) w.setResult(this.#returncode);
    this.#maybeForget();
  }

  /** stdout and stderr into one reader: EOF once both ended; flow control pauses both. */
  #mergePipes(reader: StreamReader, out: Socket, err: Socket): void {
    reader.setTransport({
      pause() {
        out.pause();
        err.pause();
      },
      resume() {
        out.resume();
        err.resume();
      },
    });
    let open = 2;
    const onEnd = () => {
      if (--open === 0) reader.feedEof();
    };
    for (const pipe of [out, err]) {
      pipe.on("data", (chunk: Buffer) => reader._feed(chunk));
      pipe.once("close", onEnd);
      pipe.on("error", (error: Error) => {
        if (reader.exception() === null) reader.setException(error);
      });
      this.#addOutput(pipe);
    }
  }

  #maybeForget(): void {
    if (this.#returncode === null) return;
    for (const pipe of this.#pipes) if (!pipe.destroyed) return;
    this.#io.untrack(this);
  }

  toString(): string {
    const state = this.#returncode === null ? "running" : `returncode=${this.#returncode}`;
    return `<Process ${this.pid} ${state}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * The command that runs `file` with its stderr copied onto its stdout by `/bin/sh`, or `null`
 * when that cannot be done faithfully: on Windows, with `argv0`, or for a program that is not an
 * executable file on the PATH (Node must report its `ENOENT`/`EACCES` as usual).
 */
function mergeInShell(
  file: string,
  args: readonly string[],
  shell: boolean,
  options: SubprocessOptions,
): [string, string[], boolean] | null {
  if (process.platform === "win32" || options.argv0 !== undefined) return null;
  if (shell) return [`exec 2>&1\n${file}`, [], true];
  if (findExecutable(file, options.env?.PATH ?? process.env.PATH ?? "", options.cwd) === null) {
    return null;
  }
  return ["/bin/sh", ["-c", 'exec "$0" "$@" 2>&1', file, ...args], false];
}

function findExecutable(
  file: string,
  searchPath: string,
  cwd: string | URL | undefined,
): string | null {
  const base = cwd === undefined ? process.cwd() : cwd instanceof URL ? fileURLToPath(cwd) : cwd;
  const candidates = file.includes("/")
    ? [resolvePath(base, file)]
    : searchPath
        .split(delimiter)
        .filter((dir) => dir.length > 0)
        .map((dir) => resolvePath(base, dir, file));
  for (const candidate of candidates) {
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, fsConstants.X_OK);
        return candidate;
      }
    } catch {
      // Not there, or not executable: try the next directory, as the shell would.
    }
  }
  return null;
}

/**
 * The error of a spawn that failed because of its working directory, naming it, as Python's
 * `FileNotFoundError: … '/no/such/dir'`: Node reports a missing `cwd` as the program's
 * `spawn <program> ENOENT` (as if the program did not exist) and one that is a file as a bare
 * `spawn ENOTDIR`. Any other error is returned as it is.
 */
function cwdError(error: unknown, file: string, cwd: string | URL | undefined): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (cwd === undefined || (code !== "ENOENT" && code !== "ENOTDIR")) return error;
  const dir = cwd instanceof URL ? fileURLToPath(cwd) : cwd;
  let problem: [string, string] | null = null;
  try {
    if (!statSync(dir).isDirectory()) problem = ["ENOTDIR", "is not a directory"];
  } catch (statError) {
    const statCode = (statError as { code?: unknown }).code;
    problem =
      statCode === "ENOTDIR" ? ["ENOTDIR", "is not a directory"] : ["ENOENT", "does not exist"];
  }
  if (problem === null) return error; // the directory is fine: the program is what is missing
  const [problemCode, what] = problem;
  return Object.assign(
    new Error(`spawn ${file} ${problemCode}: options.cwd ${what}: ${dir}`, { cause: error }),
    {
      code: problemCode,
      errno: -(osConstants.errno as Record<string, number>)[problemCode],
      syscall: "spawn",
      path: dir,
    },
  );
}

function checkEnv(env: unknown): void {
  if (env !== undefined && env !== null && typeof env !== "object") {
    throw typeError("options.env", "an object of environment variables", env);
  }
}

const SUBPROCESS_KEYS = new Set([
  "stdin",
  "stdout",
  "stderr",
  "limit",
  "cwd",
  "env",
  "detached",
  "uid",
  "gid",
  "argv0",
]);

const TEXT_OPTIONS = ["text", "encoding", "errors", "universalNewlines"];

/**
 * asyncio's streams are bytes: like asyncio, refuse the options that would make them text, and
 * (as Popen refuses an unknown keyword) any option this function does not know.
 */
function checkSubprocessKeys(options: object, shell: boolean): void {
  const rest: Record<string, unknown> = { ...options };
  for (const key of TEXT_OPTIONS) {
    const value = rest[key];
    delete rest[key];
    if (value === undefined || value === null || value === false) continue;
    throw new RangeError(
      `options.${key} is not supported: a subprocess's streams carry bytes, as in asyncio ` +
        "(decode them yourself, e.g. with TextDecoder or buffer.toString())",
    );
  }
  if (shell && rest.argv0 !== undefined) {
    throw new TypeError(
      "options.argv0 is for createSubprocessExec only (the shell is the program)",
    );
  }
  checkKnownOptions("options", rest, SUBPROCESS_KEYS);
}

async function create(
  file: string,
  args: readonly string[],
  shell: boolean,
  options: SubprocessOptions,
): Promise<Process> {
  checkOptions("options", options);
  checkSubprocessKeys(options, shell);
  checkEnv(options.env);
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (typeof limit !== "number") throw typeError("options.limit", "a number of bytes", limit);
  if (!Number.isInteger(limit) || limit <= 0) {
    throw rangeError("options.limit", "a positive integer number of bytes", limit);
  }
  const stdin = stdioEntry("options.stdin", options.stdin);
  const stdout = stdioEntry("options.stdout", options.stdout);
  let stderr = stdioEntry("options.stderr", options.stderr);
  let merge = options.stderr === STDOUT && stdout === "pipe";
  const program = file; // the error of a bad cwd names it, not the merging shell
  if (options.stderr === STDOUT) stderr = stdout === "inherit" ? 1 : stdout;
  if (merge) {
    // asyncio gives the child one pipe for both (fd 2 a copy of fd 1), which keeps the order
    // of its writes; Node cannot share a pipe between two stdio slots, so a shell does the copy
    // (`2>&1`) and then becomes the program (`exec`: same pid). Where that cannot be done
    // faithfully, the two pipes are merged as they arrive instead.
    const wrapped = mergeInShell(file, args, shell, options);
    if (wrapped !== null) {
      [file, args, shell] = wrapped;
      stderr = "ignore";
      merge = false;
    }
  }
  const loop = getRunningLoop();
  const io = loopIo(loop);
  const spawnOptions: SpawnOptions = {
    stdio: [stdin, stdout, stderr],
    cwd: options.cwd,
    env: options.env,
    detached: options.detached,
    uid: options.uid,
    gid: options.gid,
    argv0: options.argv0,
    shell,
    windowsHide: true,
  };
  let child: ChildProcess;
  try {
    child = spawn(file, args as string[], spawnOptions);
  } catch (error) {
    throw cwdError(error, program, options.cwd);
  }
  // Listen for the exit now: a short-lived child may exit before the caller resumes.
  const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once("exit", (code, signal) => resolve([code, signal]));
  });
  const started = loop.createFuture<void>();
  // `started` is settled from a loop callback, not from the nextTick on which Node reports the
  // spawn (or its error): by then the caller's task has registered its wait on `started`. A
  // task cancelled right after an eager start (`createTask(…, { eagerStart: true })` then
  // `cancel()`) thus gets its CancelledError at `await started` below, which kills the child;
  // settled on the nextTick, `started` would be done before the wait was registered, the
  // creation would complete, and the task would end cancelled with the running child lost.
  const onSpawn = () =>
    loop.callSoon(() => {
      if (!started.done()) started.setResult(undefined);
    });
  const onError = (error: Error) =>
    loop.callSoon(() => {
      if (!started.done()) started.setException(error);
    });
  child.once("spawn", onSpawn);
  child.once("error", onError);
  // Wire the pipes at once: Node discards the output of a child that exits before its pipes
  // have a reader (it resumes unread stdio streams on exit).
  const proc = child.pid === undefined ? null : new Process(child, exit, loop, io, limit, merge);
  try {
    await started;
  } catch (error) {
    if (child.pid !== undefined && child.exitCode === null) child.kill("SIGKILL");
    for (const s of [child.stdin, child.stdout, child.stderr]) s?.destroy();
    if (proc !== null) io.untrack(proc);
    throw cwdError(error, program, options.cwd);
  } finally {
    child.off("spawn", onSpawn);
    child.off("error", onError);
  }
  // Later errors (a failed kill) are reported by the calls that cause them.
  child.on("error", () => {});
  return proc ?? new Process(child, exit, loop, io, limit, merge);
}

/**
 * Starts `program` with `args` (no shell): asyncio's `create_subprocess_exec`. Resolves once the
 * child runs.
 *
 * @throws Node's spawn error when the program cannot be started (`ENOENT`: "spawn <program>
 * ENOENT"; `EACCES`). @throws {TypeError}/{RangeError} for bad arguments.
 *
 * **Cancellation:** cancelling the call before the child started kills it.
 *
 * **Differences from asyncio:** the arguments are one array, `createSubprocessExec("ls",
 * ["-l"], options)`, not rest parameters.
 *
 * @example
 * ```ts
 * import { run, createSubprocessExec, PIPE } from "asyncio-ts";
 * await run(async () => {
 *   const proc = await createSubprocessExec("echo", ["hello"], { stdout: PIPE });
 *   console.log((await proc.stdout!.readline()).toString().trim()); // "hello"
 *   console.log(await proc.wait()); // 0
 * });
 * ```
 */
export function createSubprocessExec(
  program: string,
  args: readonly string[] = [],
  options: SubprocessOptions = {},
): Promise<Process> {
  try {
    if (typeof program !== "string" || program.length === 0) {
      throw typeError("program", "a non-empty string", program);
    }
    if (!Array.isArray(args) || args.some((a) => typeof a !== "string")) {
      throw typeError("args", "an array of strings", args);
    }
  } catch (error) {
    return Promise.reject(error);
  }
  return create(program, args, false, options);
}

/**
 * Runs `cmd` through the shell (`/bin/sh -c cmd`): asyncio's `create_subprocess_shell`. Quote
 * untrusted input yourself, or use {@link createSubprocessExec}.
 *
 * @throws {TypeError} if `cmd` is not a string. A command the shell cannot find is not an
 * error here: the process exits with code 127.
 *
 * **Cancellation:** as {@link createSubprocessExec}.
 *
 * @example
 * ```ts
 * import { run, createSubprocessShell, PIPE } from "asyncio-ts";
 * await run(async () => {
 *   const proc = await createSubprocessShell("echo one; echo two >&2", { stdout: PIPE, stderr: PIPE });
 *   const [out, err] = await proc.communicate();
 *   console.log(out!.toString().trim(), err!.toString().trim()); // "one two"
 * });
 * ```
 */
export function createSubprocessShell(
  cmd: string,
  options: SubprocessOptions = {},
): Promise<Process> {
  if (typeof cmd !== "string" || cmd.length === 0) {
    return Promise.reject(typeError("cmd", "a non-empty command string", cmd));
  }
  return create(cmd, [], true, options);
}

// The internal contracts Process fills (see Implements).
type _ProcessContracts = Implements<Process, IoResource>;

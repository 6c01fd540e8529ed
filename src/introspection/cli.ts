/**
 * The `asyncio-ts` command: `asyncio-ts ps PID` and `asyncio-ts pstree PID` show the pending
 * tasks of a running Node process that uses asyncio-ts, as asyncio 3.14's `python -m asyncio ps`
 * and `pstree` do for Python. The program needs no change: it is inspected through the Node
 * inspector, opened for the moment of the snapshot and closed again (see remote.ts for the
 * mechanism and its security implication).
 *
 * Exit codes: 0 on success, 1 when the snapshot could not be taken, 2 on bad usage. The
 * executable is bin.ts; this module is importable (for tests) and runs nothing by itself.
 *
 * @module
 */
import { formatTaskTable, formatTaskTree } from "./ps.ts";
import { fetchSnapshot } from "./remote.ts";
import type { TaskInfo } from "./snapshot.ts";

export const USAGE = `Usage: asyncio-ts <command> <pid> [options]

Show the pending asyncio-ts tasks of a running Node.js process.

Commands:
  ps <pid>       a table: task id, name, what it waits on, who awaits it
  pstree <pid>   a tree from the tasks nobody awaits down to the tasks they await

Options:
  --port <n>     the target's inspector port (default: found in /proc on Linux, else 9229;
                 a target started with --inspect-port=<n> uses n)
  --timeout <ms> give up after this long (default: 10000)
  --json         print the raw snapshot as JSON
  -h, --help     show this help

The target's inspector is opened on 127.0.0.1 for the moment of the snapshot (as
'node inspect -p <pid>' does) and closed again; while it is open, local users who can
reach that port could run code in the target.`;

/** What the command line asked for. */
export interface CliArgs {
  command: "ps" | "pstree";
  pid: number;
  port: number | undefined;
  timeoutMs: number;
  json: boolean;
}

/** A usage error: exit code 2 with the usage text. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parses `argv` (without `node` and the script); returns `"help"` for -h/--help. */
export function parseArgs(argv: readonly string[]): CliArgs | "help" {
  if (argv.includes("-h") || argv.includes("--help") || argv.length === 0) return "help";
  const positional: string[] = [];
  let port: number | undefined;
  let timeoutMs = 10_000;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") json = true;
    else if (arg === "--port" || arg === "--timeout") {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value`);
      const n = Number(value);
      if (arg === "--port") {
        if (!Number.isInteger(n) || n < 1 || n > 65_535) {
          throw new UsageError(
            `--port must be a port number (1-65535), got ${JSON.stringify(value)}`,
          );
        }
        port = n;
      } else {
        if (!Number.isFinite(n) || n <= 0) {
          throw new UsageError(
            `--timeout must be a positive number of ms, got ${JSON.stringify(value)}`,
          );
        }
        timeoutMs = n;
      }
    } else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  const [command, pidText, ...rest] = positional;
  if (command !== "ps" && command !== "pstree") {
    throw new UsageError(`unknown command ${JSON.stringify(command ?? "")}: expected ps or pstree`);
  }
  if (pidText === undefined) throw new UsageError(`${command} needs a pid`);
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const pid = Number(pidText);
  if (!/^\d+$/.test(pidText) || !Number.isSafeInteger(pid) || pid < 1) {
    throw new UsageError(`the pid must be a positive integer, got ${JSON.stringify(pidText)}`);
  }
  return { command, pid, port, timeoutMs, json };
}

/** Runs the command; resolves to the exit code. Output goes to `out`, errors to `err`. */
export async function main(
  argv: readonly string[],
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  let args: CliArgs | "help";
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`asyncio-ts: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    out(USAGE);
    return 0;
  }
  let answer: Awaited<ReturnType<typeof fetchSnapshot>>;
  try {
    answer = await fetchSnapshot(args.pid, { port: args.port, timeoutMs: args.timeoutMs });
  } catch (error) {
    // RemoteError explains itself; other errors (a refused connection…) are reported as well.
    err(`asyncio-ts: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const snapshot = answer.snapshot;
  if (snapshot === null) {
    err(`asyncio-ts: process ${args.pid} does not use asyncio-ts (no introspection hook found)`);
    return 1;
  }
  if (args.json) {
    out(JSON.stringify(snapshot, null, 2));
    return 0;
  }
  const tasks: TaskInfo[] = snapshot.loops.flatMap((loop) => loop.tasks);
  if (snapshot.loops.length === 0) {
    err(`asyncio-ts: no asyncio-ts event loop is running in process ${args.pid}`);
  }
  const text = args.command === "ps" ? formatTaskTable(tasks) : formatTaskTree(tasks);
  if (text !== "") out(text);
  return 0;
}

/**
 * Reading a task snapshot out of another Node process, for `asyncio-ts ps`/`pstree`: what
 * asyncio 3.14 does with `sys.remote_exec`-style memory reading, done here with the Node
 * inspector, which every Node process has.
 *
 * 1. `process._debugProcess(pid)` asks the target to open its inspector (on Linux and macOS it
 *    sends SIGUSR1; this is what `node inspect -p PID` does). The inspector listens on
 *    127.0.0.1, on the port the target was started with (`--inspect-port`, default 9229; `0`
 *    picks a free one). On Linux the port is found in /proc (the target's new listening socket),
 *    so any port works; elsewhere it is 9229 unless `--port` says otherwise.
 * 2. `GET http://127.0.0.1:PORT/json/list` gives the WebSocket URL of the target's session.
 * 3. Over that WebSocket (websocket.ts), `Runtime.evaluate` calls the global hook that the
 *    package installs (hook.ts) with `returnByValue`, and checks `process.pid`.
 * 4. If the inspector was not open before, `process._debugEnd()` closes it again.
 *
 * Security: while the inspector is open (a fraction of a second), anyone who can connect to
 * 127.0.0.1:PORT on this machine can run code in the target, as with `node --inspect`. Signalling
 * the target needs the same rights as `kill` (the same user, or root).
 *
 * @module
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { get } from "node:http";
import { constants } from "node:os";
import type { ProcessSnapshot } from "./snapshot.ts";
import { WebSocketClient } from "./websocket.ts";

/** Options of {@link fetchSnapshot}. */
export interface RemoteOptions {
  /** The target's inspector port. Default: found in /proc on Linux, else 9229. */
  port?: number;
  /** Give up after this long (ms). */
  timeoutMs: number;
}

/** What the target said: its pid and the hook's snapshot (`null` without asyncio-ts). */
export interface RemoteAnswer {
  pid: number;
  snapshot: ProcessSnapshot | null;
  /** Whether the inspector was open before (it is then left open). */
  inspectorWasOpen: boolean;
}

/** A failure the command line reports in one line. */
export class RemoteError extends Error {
  override name = "RemoteError";
}

const HOST = "127.0.0.1";
const DEFAULT_PORT = 9229;

/** The expression evaluated in the target: plain data only (`returnByValue`). */
export const SNAPSHOT_EXPRESSION =
  '(() => { const hook = globalThis[Symbol.for("asyncio-ts.introspect")]; ' +
  "if (typeof hook !== 'function') return { pid: process.pid, snapshot: null }; " +
  "try { return { pid: process.pid, snapshot: hook() }; } " +
  "catch (e) { return { pid: process.pid, snapshot: null, error: String(e && e.stack || e) }; } })()";

/** Opens the target's inspector, reads the snapshot, and closes the inspector again. */
export async function fetchSnapshot(pid: number, options: RemoteOptions): Promise<RemoteAnswer> {
  const deadline = Date.now() + options.timeoutMs;
  if (pid === process.pid) throw new RemoteError("cannot inspect the inspecting process itself");
  checkAlive(pid);
  const before = listeningPorts(pid);
  let port = options.port;
  let wasOpen = false;
  if (port !== undefined) wasOpen = (await debuggerUrl(port, remaining(deadline))) !== null;
  if (!wasOpen) {
    if (catchesSigusr1(pid) === false) {
      // SIGUSR1's default action ends a process: signalling a process that does not handle it
      // (not Node, or Node without an inspector) would kill it.
      throw new RemoteError(
        `process ${pid} does not handle SIGUSR1, so it is not a Node.js process that can open ` +
          "its inspector (signalling it would end it)",
      );
    }
    try {
      (process as unknown as { _debugProcess(pid: number): void })._debugProcess(pid);
    } catch (error) {
      throw new RemoteError(`could not signal process ${pid}: ${(error as Error).message}`);
    }
  }
  let url: string | null = null;
  if (port !== undefined && wasOpen) url = await pollDebuggerUrl([port], deadline);
  else if (before !== null) {
    // Found through /proc even when --port was given: the inspector opens where the target
    // was told to (--inspect-port), and an inspector this command opened must be found to be
    // closed again.
    const found = await discoverInspector(pid, before, deadline);
    if (found !== null) [port, url, wasOpen] = [found.port, found.url, found.wasOpen];
  } else {
    port ??= DEFAULT_PORT;
    url = await pollDebuggerUrl([port], deadline);
  }
  if (url === null) {
    throw new RemoteError(
      `process ${pid} did not open its inspector${port === undefined ? "" : ` on ${HOST}:${port}`} ` +
        `within ${options.timeoutMs} ms (is it a Node.js process? started with --inspect-port? ` +
        "pass --port)",
    );
  }
  const session = await Session.open(url, remaining(deadline));
  // Whether the inspector is the target's and this command opened it: then it is closed again
  // whatever happens next, so that nobody can use it afterwards.
  let opened = false;
  try {
    const value = (await session.evaluate(SNAPSHOT_EXPRESSION, remaining(deadline))) as {
      pid: number;
      snapshot: ProcessSnapshot | null;
      error?: string;
    };
    if (value === null || typeof value !== "object" || value.pid !== pid) {
      throw new RemoteError(
        `the inspector on ${HOST}:${port} belongs to process ${value?.pid}, not ${pid}: pass --port`,
      );
    }
    opened = !wasOpen;
    if (value.error !== undefined) {
      throw new RemoteError(`the snapshot hook threw in the target: ${value.error}`);
    }
    return { pid, snapshot: value.snapshot, inspectorWasOpen: wasOpen };
  } finally {
    if (opened) {
      await session.closeInspector(Math.min(remaining(deadline), 2000)).catch(() => {});
    }
    session.close();
  }
}

function remaining(deadline: number): number {
  return Math.max(1, deadline - Date.now());
}

function checkAlive(pid: number): void {
  try {
    process.kill(pid, 0);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESRCH") throw new RemoteError(`no process with pid ${pid}`);
    if (code === "EPERM") throw new RemoteError(`not allowed to signal process ${pid}`);
    throw error;
  }
}

/**
 * Whether process `pid` catches SIGUSR1 (Node installs a handler to open its inspector), from
 * the `SigCgt` mask of /proc/PID/status (Linux); `null` where /proc cannot say.
 */
export function catchesSigusr1(pid: number): boolean | null {
  if (process.platform !== "linux") return null;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    // Gone, or not readable: let the signal attempt report it.
    return null;
  }
  const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status);
  if (m === null) return null;
  const bit = BigInt(constants.signals.SIGUSR1 - 1);
  return (BigInt(`0x${m[1]}`) & (1n << bit)) !== 0n;
}

/**
 * The TCP ports process `pid` listens on, from /proc (Linux); `null` where /proc cannot say.
 * A socket is the process's if one of its file descriptors links to the socket's inode.
 */
export function listeningPorts(pid: number): Set<number> | null {
  if (process.platform !== "linux") return null;
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    // Not readable (another user's process) or gone: fall back to the default port.
    return null;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m !== null) inodes.add(m[1]);
    } catch {
      // The descriptor was closed while we listed them.
    }
  }
  const ports = new Set<number>();
  for (const table of ["tcp", "tcp6"]) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, "utf8");
    } catch {
      // No IPv6 table on this kernel.
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is "HEXIP:HEXPORT", st 0A is LISTEN, inode is the tenth field.
      if (fields.length > 9 && fields[3] === "0A" && inodes.has(fields[9])) {
        ports.add(Number.parseInt(fields[1].split(":")[1], 16));
      }
    }
  }
  return ports;
}

/** How long a new listening socket may take to appear before the already-open case is tried. */
const ALREADY_OPEN_AFTER_MS = 300;

/**
 * Finds the inspector of `pid` after the signal: the listening socket that appears (its port),
 * or, if none has appeared after a moment, one that was open before (the inspector was open
 * already: the signal did nothing). Only then are the ports the program had before probed with
 * `GET /json/list`.
 */
async function discoverInspector(
  pid: number,
  before: Set<number>,
  deadline: number,
): Promise<{ port: number; url: string; wasOpen: boolean } | null> {
  const start = Date.now();
  let probedOld = false;
  while (Date.now() < deadline) {
    const now = listeningPorts(pid);
    if (now === null) return null;
    for (const port of now) {
      if (before.has(port)) continue;
      const url = await pollDebuggerUrl([port], Math.min(deadline, Date.now() + 1000));
      if (url !== null) return { port, url, wasOpen: false };
      before.add(port); // a socket the program opened meanwhile, not the inspector
    }
    if (!probedOld && Date.now() - start >= ALREADY_OPEN_AFTER_MS) {
      probedOld = true;
      const open = await firstInspector([...before], deadline);
      if (open !== null) return { ...open, wasOpen: true };
    }
    await delay(25);
  }
  return null;
}

async function pollDebuggerUrl(ports: number[], deadline: number): Promise<string | null> {
  while (Date.now() < deadline) {
    for (const port of ports) {
      const url = await debuggerUrl(port, Math.min(remaining(deadline), 1000));
      if (url !== null) return url;
    }
    await delay(25);
  }
  return null;
}

async function firstInspector(
  ports: number[],
  deadline: number,
): Promise<{ port: number; url: string } | null> {
  for (const port of ports) {
    const url = await debuggerUrl(port, Math.min(remaining(deadline), 1000));
    if (url !== null) return { port, url };
  }
  return null;
}

/** The WebSocket URL the inspector on `port` offers, or `null` if nothing answers like one. */
export function debuggerUrl(port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const request = get(
      { host: HOST, port, path: "/json/list", timeout: timeoutMs, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          try {
            const targets = JSON.parse(body) as Array<{ webSocketDebuggerUrl?: string }>;
            const url = Array.isArray(targets) ? targets[0]?.webSocketDebuggerUrl : undefined;
            resolve(typeof url === "string" ? url : null);
          } catch {
            // Not JSON: some other server listens there.
            resolve(null);
          }
        });
        res.on("error", () => resolve(null));
      },
    );
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(null));
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A Chrome DevTools Protocol session over the WebSocket: calls by id, events ignored. */
class Session {
  readonly #ws: WebSocketClient;
  #nextId = 0;
  readonly #pending = new Map<number, (message: CdpMessage) => void>();
  #closed: Promise<void>;

  private constructor(ws: WebSocketClient) {
    this.#ws = ws;
    ws.onMessage = (text) => {
      const message = JSON.parse(text) as CdpMessage;
      if (typeof message.id === "number") this.#pending.get(message.id)?.(message);
    };
    this.#closed = new Promise((resolve) => {
      ws.onClose = () => {
        for (const settle of this.#pending.values()) settle({ error: { message: "closed" } });
        resolve();
      };
    });
  }

  static async open(url: string, timeoutMs: number): Promise<Session> {
    return new Session(await WebSocketClient.connect(url, timeoutMs));
  }

  call(method: string, params: object, timeoutMs: number): Promise<CdpMessage> {
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RemoteError(`the target did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, (message) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(message);
      });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async evaluate(expression: string, timeoutMs: number): Promise<unknown> {
    const answer = await this.call(
      "Runtime.evaluate",
      { expression, returnByValue: true, silent: true },
      timeoutMs,
    );
    if (answer.error !== undefined) {
      throw new RemoteError(`Runtime.evaluate failed: ${answer.error.message}`);
    }
    const details = answer.result?.exceptionDetails;
    if (details !== undefined) {
      const text = details.exception?.description ?? details.text ?? "an exception";
      throw new RemoteError(`the snapshot hook threw in the target: ${text}`);
    }
    return answer.result?.result?.value;
  }

  /** Closes the target's inspector; it drops this connection without answering. */
  async closeInspector(timeoutMs: number): Promise<void> {
    const id = ++this.#nextId;
    this.#ws.send(
      JSON.stringify({
        id,
        method: "Runtime.evaluate",
        params: { expression: "process._debugEnd()" },
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#closed,
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  close(): void {
    this.#ws.close();
  }
}

interface CdpMessage {
  id?: number;
  error?: { message: string };
  result?: {
    result?: { value?: unknown };
    exceptionDetails?: { text?: string; exception?: { description?: string } };
  };
}

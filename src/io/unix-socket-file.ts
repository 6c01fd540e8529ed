/**
 * The file of a Unix-domain server socket: checking its path, removing a stale socket before
 * listening, and removing the file when the server closes, as asyncio 3.13's
 * `create_unix_server(…, cleanup_socket=True)` does: only if the file at the path is still the
 * one this server made (same device and inode), so a server that closes never deletes the
 * socket of a successor that has since taken the path.
 *
 * Why the socket is bound under a temporary name first: libuv (under Node's `net.Server`)
 * remembers the path it bound and unlinks that path, whatever file is there by then, when the
 * server closes. That would delete a successor's socket (or any file put at the path since),
 * and makes `cleanupSocket: false` impossible. So the server listens at a fresh name in the
 * same directory, the socket is then hard-linked to the real path (`link()` never replaces an
 * existing file, unlike `rename()`), and the temporary name is removed at once: what libuv
 * unlinks at close no longer exists, and the real path is this module's to clean up.
 * The one trace of it: the kernel reports the temporary name as the server's address to peers
 * that ask (`getpeername()` in another program).
 *
 * Invariants:
 * - A file at the path that is not a socket is never removed: listening fails with
 *   `EADDRINUSE` instead.
 * - The file is removed at close only with `cleanupSocket` and only if it is the same inode.
 * - Abstract sockets (Linux, a path starting with NUL) have no file: nothing to prepare or
 *   clean up, as in asyncio.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { linkSync, renameSync, type Stats, statSync, unlinkSync } from "node:fs";
import type { ListenOptions } from "node:net";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { rangeError, typeError } from "../internal/validate.ts";
import type { ServerEndpoint } from "./server.ts";
import type { ExtraInfo } from "./stream-writer.ts";

/**
 * The longest socket path in bytes: `sun_path` holds 108 bytes on Linux, 104 on the BSDs and
 * macOS, NUL included. Node does not check it: a longer path is silently cut short.
 */
const MAX_PATH_BYTES = process.platform === "linux" ? 107 : 103;

/** How many random characters the temporary name has, at most (and at least). */
const TEMPORARY_CHARS = 8;
const MIN_TEMPORARY_CHARS = 4;

/**
 * Checks a socket path argument (`name` is the argument's name for the error): a non-empty
 * string the system can take. @internal
 */
export function checkSocketPath(name: string, path: unknown): asserts path is string {
  if (typeof path !== "string") throw typeError(name, "a socket path string", path);
  if (path === "") throw rangeError(name, "a non-empty socket path", path);
  if (path.indexOf("\0", 1) !== -1) {
    throw rangeError(name, "a socket path without NUL characters (but a leading one)", path);
  }
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) {
    throw rangeError(name, `a socket path of at most ${MAX_PATH_BYTES} bytes`, path);
  }
}

/** A Linux abstract socket: a name with no file behind it. */
function isAbstract(path: string): boolean {
  return path.startsWith("\0");
}

/** `path` for messages and inspect strings: an abstract name shows as `@name`, as `ss` shows it. @internal */
export function showSocketPath(path: string): string {
  return isAbstract(path) ? `@${path.slice(1)}` : path;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** Node's own shape for the error: `listen EADDRINUSE: …`, with `code`, `errno`, `syscall`. */
function addressInUse(path: string, why: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`listen EADDRINUSE: address already in use ${path}: ${why}`), {
    code: "EADDRINUSE",
    errno: -constants.errno.EADDRINUSE,
    syscall: "listen",
    address: path,
  });
}

/** `statSync`, or null if there is no file. */
function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return null;
    throw error;
  }
}

/**
 * A fresh name in `path`'s directory for the socket to be bound at first (`.` and random
 * characters), no longer than the system allows, or null if the path leaves no room for one.
 */
function temporaryName(path: string): string | null {
  const dir = dirname(path);
  const room = Math.min(TEMPORARY_CHARS, MAX_PATH_BYTES - Buffer.byteLength(join(dir, ".")));
  if (room < MIN_TEMPORARY_CHARS) return null;
  return join(dir, `.${randomBytes(6).toString("base64url").slice(0, room)}`);
}

/** A Unix server's endpoint: the socket file at `path`. @internal */
export class UnixSocketFile implements ServerEndpoint<string> {
  readonly path: string;
  readonly acceptedExtra: Readonly<Partial<ExtraInfo>>;
  readonly #cleanup: boolean;
  /** Where the socket is bound (a temporary name, or `path` itself when there is no room). */
  #bindPath: string;
  /** The file this server made at `path`, to remove at close (with `cleanupSocket`). */
  #made: { dev: number; ino: number } | null = null;

  constructor(path: string, cleanup: boolean) {
    this.path = path;
    this.#bindPath = path;
    this.#cleanup = cleanup;
    // The client's end of a Unix connection has no name (Node never binds one).
    this.acceptedExtra = { sockname: path, peername: "" };
  }

  /**
   * Removes a stale socket at the path (asyncio does, whether or not anything listens on it),
   * refuses a file that is not a socket, and picks the name to bind.
   */
  listenOptions(): ListenOptions {
    const path = this.path;
    if (isAbstract(path)) return { path };
    let stats: Stats | null = null;
    try {
      stats = statOrNull(path);
    } catch {
      // As asyncio: a path we may not inspect (a directory we may only create sockets in) is
      // not an error yet; binding reports the real one, if there is one.
    }
    if (stats !== null) {
      if (!stats.isSocket()) throw addressInUse(path, "the file is not a socket; left in place");
      try {
        unlinkSync(path);
      } catch (error) {
        if (errorCode(error) !== "ENOENT") throw error; // EACCES…: it would stay in the way
      }
    }
    // Without room for a temporary name, the socket is bound at the path itself; libuv then
    // unlinks the path when the server closes, whatever `cleanupSocket` says (rare: a path
    // within a few bytes of the limit).
    this.#bindPath = temporaryName(path) ?? path;
    return { path: this.#bindPath };
  }

  /** A listen error names the temporary name: make it name the path. */
  listenError(error: unknown): unknown {
    const bindPath = this.#bindPath;
    if (bindPath === this.path || !(error instanceof Error)) return error;
    const failure = error as NodeJS.ErrnoException & { address?: string };
    failure.message = failure.message.split(bindPath).join(this.path);
    if (failure.address === bindPath) failure.address = this.path;
    return failure;
  }

  /** Moves the socket from its temporary name to the path, and notes the file to clean up. */
  bound(): string {
    const path = this.path;
    if (isAbstract(path)) return path;
    const bindPath = this.#bindPath;
    if (bindPath !== path) {
      try {
        linkSync(bindPath, path);
        try {
          unlinkSync(bindPath);
        } catch {
          // Harmless: libuv unlinks the name it bound when the server closes.
        }
      } catch (error) {
        if (errorCode(error) === "EEXIST") throw addressInUse(path, "another file took the path");
        // A file system without hard links (EPERM, ENOTSUP…): rename instead, which would
        // replace a file put at the path since the check above (microseconds ago).
        try {
          renameSync(bindPath, path);
        } catch {
          throw error;
        }
      }
    }
    if (this.#cleanup) {
      try {
        const { dev, ino } = statSync(path);
        this.#made = { dev, ino };
      } catch {
        // Gone already (someone removed it): nothing to clean up later.
      }
    }
    return path;
  }

  /** Removes the socket file if it is still the one this server made. */
  unbound(): void {
    const made = this.#made;
    this.#made = null;
    if (made === null) return;
    try {
      const { dev, ino } = statSync(this.path);
      if (dev === made.dev && ino === made.ino) unlinkSync(this.path);
    } catch {
      // Gone, or no longer ours to inspect: nothing to clean up, as asyncio.
    }
  }
}

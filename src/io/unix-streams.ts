/**
 * The Unix-domain stream entry points: `openUnixConnection` and `startUnixServer`, asyncio's
 * `open_unix_connection` and `start_unix_server`. They behave as their TCP twins
 * (`streams.ts`) do, with what they share in `stream-factory.ts`; the socket file's life (stale
 * socket removal, cleanup at close) is `unix-socket-file.ts`'s.
 *
 * @module
 */
import type * as tls from "node:tls";
import { checkBoolean, checkFunction } from "../internal/validate.ts";
import type { ClientConnectedCallback, Server } from "./server.ts";
import {
  checkConnectionOptions,
  checkServerOptions,
  connectStreams,
  serveStreams,
} from "./stream-factory.ts";
import type { StreamReader } from "./stream-reader.ts";
import type { StreamWriter } from "./stream-writer.ts";
import { checkSocketPath, UnixSocketFile } from "./unix-socket-file.ts";

/** Options of {@link openUnixConnection}. */
export interface OpenUnixConnectionOptions {
  /** The reader's limit in bytes (see `StreamReader`). Default: 65536. */
  limit?: number;
  /**
   * Connect over TLS: `true` for the defaults (verify the server against the system's CAs), or
   * Node's `tls.connect()` options (`ca`, `cert`, `key`, `rejectUnauthorized`, …). Needs
   * `serverHostname`.
   */
  ssl?: boolean | tls.ConnectionOptions;
  /**
   * The name to check the server's certificate against (SNI). Required with `ssl`: a socket
   * path has no host name to default to (asyncio requires it too).
   */
  serverHostname?: string;
  /** TLS handshake timeout in ms. Default: 60000 (asyncio's). */
  sslHandshakeTimeout?: number;
}

/** Options of {@link startUnixServer}. */
export interface StartUnixServerOptions {
  /** The readers' limit in bytes. Default: 65536. */
  limit?: number;
  /** Serve TLS: Node's `tls.createServer()` options (`key`, `cert`, `ca`, `requestCert`, …). */
  ssl?: tls.TlsOptions;
  /** TLS handshake timeout in ms. Default: 60000. */
  sslHandshakeTimeout?: number;
  /** The listen backlog. Default: Node's (511). */
  backlog?: number;
  /** Start listening before returning. Default: true; with false, call `startServing()`. */
  startServing?: boolean;
  /**
   * Remove the socket file when the server closes, if it is still the file this server made
   * (asyncio 3.13's `cleanup_socket`). Default: true.
   */
  cleanupSocket?: boolean;
}

const CONNECTION_KEYS: ReadonlySet<string> = new Set([
  "limit",
  "ssl",
  "serverHostname",
  "sslHandshakeTimeout",
]);
const SERVER_KEYS: ReadonlySet<string> = new Set([
  "limit",
  "ssl",
  "sslHandshakeTimeout",
  "backlog",
  "startServing",
  "cleanupSocket",
]);

/**
 * Opens a connection to the Unix-domain socket at `path` (plain, or TLS with `ssl`) and returns
 * its `[reader, writer]` pair: asyncio's `open_unix_connection`. The streams are those of
 * {@link openConnection}: the `limit`, half-close with `writeEof()`, `drain()` backpressure.
 *
 * `writer.getExtraInfo("peername")` is `path` and `"sockname"` is `""` (this end has no name),
 * as asyncio reports them on Linux.
 *
 * @throws Node's connection error: `ENOENT` if there is no socket at `path`, `ECONNREFUSED` if
 * nothing listens on it (a stale socket file), `EACCES`, a TLS verification error…
 * @throws {TypeError} for a path that is not a string, an unknown option, a wrong type.
 * @throws {RangeError} for an empty path, one longer than the system allows (107 bytes on
 * Linux), `ssl` without `serverHostname`, or the TLS options without `ssl`.
 *
 * **Cancellation:** cancelling the call while it connects (or runs the TLS handshake) destroys
 * the half-made connection.
 *
 * **Differences from asyncio:** `ssl` takes Node's TLS options instead of an `SSLContext`;
 * `path` is a string (no bytes or path-like objects); a path too long for the system is a
 * `RangeError` (asyncio's `OSError`).
 *
 * @example
 * ```ts
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { openUnixConnection, run, startUnixServer } from "asyncio-ts";
 *
 * const dir = mkdtempSync(join(tmpdir(), "example-"));
 * const path = join(dir, "hello.sock");
 * await run(async () => {
 *   await using _server = await startUnixServer((_reader, writer) => {
 *     writer.write("hi\n");
 *     writer.close();
 *   }, path);
 *   const [reader, writer] = await openUnixConnection(path);
 *   console.log((await reader.readline()).toString().trim()); // "hi"
 *   console.log(writer.getExtraInfo("peername") === path); // true
 *   writer.close();
 *   await writer.waitClosed();
 * });
 * rmSync(dir, { recursive: true });
 * ```
 */
export async function openUnixConnection(
  path: string,
  options: OpenUnixConnectionOptions = {},
): Promise<[StreamReader, StreamWriter]> {
  checkSocketPath("path", path);
  const checked = checkConnectionOptions(options, CONNECTION_KEYS);
  if (checked.ssl !== null && checked.serverHostname === undefined) {
    // As asyncio's ValueError: there is no host name to check the certificate against.
    throw new RangeError(
      "options.serverHostname is required with options.ssl on a Unix socket: there is no host name to check the certificate against",
    );
  }
  return connectStreams({
    target: { path },
    options: checked,
    servername: checked.serverHostname,
    noDelay: false,
    extra: { peername: path, sockname: "" },
  });
}

/**
 * Starts a server on the Unix-domain socket at `path` (plain, or TLS with `ssl`): asyncio's
 * `start_unix_server`. For each connection it runs `clientConnected(reader, writer)` as a new
 * Task; the server is the {@link Server} of {@link startServer}, with the same lifecycle
 * (`close`, `waitClosed`, `serveForever`, `closeClients`, `abortClients`, `await using`).
 *
 * The socket file, as asyncio 3.13 handles it:
 * - before listening, a socket file already at `path` is removed (a stale one left by a server
 *   that ended without cleaning up, or another server's: it loses the path). A file that is not
 *   a socket is left in place, and the call fails with `EADDRINUSE`;
 * - when the server closes, the file is removed (`cleanupSocket`, default true) if it is still
 *   the one this server made: not if another server has taken the path since.
 *
 * `server.sockets` is `[path]` while it serves; on each accepted connection,
 * `writer.getExtraInfo("sockname")` is `path` and `"peername"` is `""` (the client's end has no
 * name). A path starting with NUL is a Linux abstract socket: no file, nothing to clean up.
 *
 * @throws the listen error: `EADDRINUSE` for a file that is not a socket, `EACCES`, `ENOENT`
 * for a missing directory…
 * @throws {TypeError} for a `clientConnected` that is not a function, a path that is not a
 * string, an unknown option or a wrong type (`ssl: true`: a server needs its key and
 * certificate). @throws {RangeError} for an empty or too long path, a negative backlog.
 *
 * **Cancellation:** cancelling the call while it starts to listen closes the server.
 *
 * **Differences from asyncio:** `ssl` takes Node's TLS server options; with
 * `startServing: false` nothing is bound until `startServing()` (asyncio binds at once);
 * `server.sockets` lists the path, not socket objects; the kernel knows the socket under a
 * temporary name it was bound at before being linked to `path` (so that closing never deletes
 * a file this server did not make), which is what other programs' `getpeername()` reports.
 *
 * @example
 * ```ts
 * import { existsSync, mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { openUnixConnection, run, startUnixServer } from "asyncio-ts";
 *
 * const dir = mkdtempSync(join(tmpdir(), "example-"));
 * const path = join(dir, "upper.sock");
 * await run(async () => {
 *   const server = await startUnixServer(async (reader, writer) => {
 *     for await (const line of reader) writer.write(line.toString().toUpperCase());
 *     writer.close();
 *   }, path);
 *   console.log(server.sockets[0] === path); // true
 *   const [reader, writer] = await openUnixConnection(path);
 *   writer.write("hello\n");
 *   writer.writeEof();
 *   console.log((await reader.read()).toString().trim()); // "HELLO"
 *   writer.close();
 *   server.close();
 *   await server.waitClosed();
 *   console.log(existsSync(path)); // false
 * });
 * rmSync(dir, { recursive: true });
 * ```
 */
export async function startUnixServer(
  clientConnected: ClientConnectedCallback,
  path: string,
  options: StartUnixServerOptions = {},
): Promise<Server<string>> {
  checkFunction("clientConnected", clientConnected);
  checkSocketPath("path", path);
  const checked = checkServerOptions(options, SERVER_KEYS);
  const cleanup = options.cleanupSocket;
  if (cleanup !== undefined) checkBoolean("options.cleanupSocket", cleanup);
  return serveStreams(clientConnected, new UnixSocketFile(path, cleanup !== false), checked, false);
}

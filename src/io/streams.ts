/**
 * The stream entry points: `openConnection` (a client connection as a reader/writer pair) and
 * `startServer` (a listening server running a task per connection), asyncio's high-level
 * networking API on Node's `net` and `tls`.
 *
 * Connections are made with `TCP_NODELAY` (asyncio sets it on every TCP transport), and
 * half-open (`allowHalfOpen`), so that the peer's EOF ends the reader but not the writer.
 * `node:tls` is loaded only when the `ssl` option is used.
 *
 * A plain TCP connection reads through Node's `onread` option: the kernel's bytes go straight
 * into the `StreamReader`, skipping the socket's Readable machinery (measured: +7% echo round
 * trips per CPU-second for the client side; see `adoptConnection` for the server side; bulk
 * reads unchanged). The socket then emits no `"data"` events; the reader owns the bytes. Node
 * offers the option only to the sockets it connects, so the server moves each accepted
 * connection onto a socket made with it (`adoptConnection`). TLS sockets use `"data"` events.
 *
 * @module
 */
import * as net from "node:net";
import type * as tls from "node:tls";
import {
  checkFunction,
  checkKnownOptions,
  checkOptions,
  rangeError,
  typeError,
} from "../internal/validate.ts";
import { getRunningLoop } from "../loop/running.ts";
import { loopIo } from "./loop-io.ts";
import { type ClientConnectedCallback, Server } from "./server.ts";
import { DEFAULT_LIMIT, StreamReader } from "./stream-reader.ts";
import { type ExtraInfo, StreamWriter } from "./stream-writer.ts";
import { onreadFor, WiredSocket } from "./wire.ts";

/** Options of {@link openConnection}. */
export interface OpenConnectionOptions {
  /** The reader's limit in bytes (see `StreamReader`). Default: 65536. */
  limit?: number;
  /**
   * Connect over TLS: `true` for the defaults (verify the server against the system's CAs), or
   * Node's `tls.connect()` options (`ca`, `cert`, `key`, `rejectUnauthorized`, …).
   */
  ssl?: boolean | tls.ConnectionOptions;
  /** The name to check the server's certificate against (SNI). Default: `host`, unless an IP. */
  serverHostname?: string;
  /** TLS handshake timeout in ms. Default: 60000 (asyncio's). */
  sslHandshakeTimeout?: number;
  /** Local address to bind to. */
  localAddress?: string;
  /** Local port to bind to. */
  localPort?: number;
  /** IP family: 4, 6, or 0 (either). Default: 0. */
  family?: 0 | 4 | 6;
  /** Disable Nagle's algorithm (`TCP_NODELAY`). Default: true, as asyncio. */
  noDelay?: boolean;
}

/** Options of {@link startServer}. */
export interface StartServerOptions {
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
  /** `TCP_NODELAY` on accepted connections. Default: true. */
  noDelay?: boolean;
}

const CONNECTION_KEYS: ReadonlySet<string> = new Set([
  "limit",
  "ssl",
  "serverHostname",
  "sslHandshakeTimeout",
  "localAddress",
  "localPort",
  "family",
  "noDelay",
]);
const SERVER_KEYS: ReadonlySet<string> = new Set([
  "limit",
  "ssl",
  "sslHandshakeTimeout",
  "backlog",
  "startServing",
  "noDelay",
]);

/** As asyncio's ValueError: an option that only means something for a TLS connection. */
function checkTlsOnly(options: object, key: "serverHostname" | "sslHandshakeTimeout"): void {
  if ((options as Record<string, unknown>)[key] !== undefined) {
    throw new RangeError(`options.${key} is only meaningful with options.ssl`);
  }
}

function checkPort(name: string, port: unknown, allowNull: boolean): void {
  if (allowNull && (port === null || port === undefined)) return;
  if (typeof port !== "number") throw typeError(name, "a port number", port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw rangeError(name, "an integer port from 0 to 65535", port);
  }
}

function checkLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (typeof limit !== "number") throw typeError("options.limit", "a number of bytes", limit);
  if (!Number.isInteger(limit) || limit <= 0) {
    throw rangeError("options.limit", "a positive integer number of bytes", limit);
  }
  return limit;
}

function checkTimeout(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number") throw typeError(name, "a number of milliseconds", value);
  if (!(value > 0)) throw rangeError(name, "a positive number of milliseconds", value);
  return value;
}

/**
 * Opens a TCP (or TLS) connection and returns its `[reader, writer]` pair: asyncio's
 * `open_connection`.
 *
 * @throws the connection error, as Node reports it (`ECONNREFUSED`, `ENOTFOUND`,
 * `ETIMEDOUT`, a TLS verification error, …). @throws {TypeError}/{RangeError} for bad arguments.
 *
 * **Cancellation:** cancelling the call while it connects destroys the half-made connection.
 *
 * **Differences from asyncio:** `ssl` takes Node's TLS options instead of an `SSLContext`.
 *
 * @example
 * ```ts
 * import { run, openConnection, startServer } from "asyncio-ts";
 * await run(async () => {
 *   await using server = await startServer((_reader, writer) => {
 *     writer.write("hi\n");
 *     writer.close();
 *   }, "127.0.0.1", 0);
 *   const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
 *   console.log((await reader.readline()).toString().trim()); // "hi"
 *   writer.close();
 *   await writer.waitClosed();
 * });
 * ```
 */
export async function openConnection(
  host: string,
  port: number,
  options: OpenConnectionOptions = {},
): Promise<[StreamReader, StreamWriter]> {
  if (typeof host !== "string") throw typeError("host", "a host name or address string", host);
  checkPort("port", port, false);
  checkOptions("options", options);
  checkKnownOptions("options", options, CONNECTION_KEYS);
  const limit = checkLimit(options.limit);
  const handshakeTimeout = checkTimeout("options.sslHandshakeTimeout", options.sslHandshakeTimeout);
  const ssl = options.ssl;
  if (ssl !== undefined && typeof ssl !== "boolean" && (ssl === null || typeof ssl !== "object")) {
    throw typeError("options.ssl", "a boolean or a TLS options object", ssl);
  }
  if (ssl === undefined || ssl === false) {
    checkTlsOnly(options, "serverHostname");
    checkTlsOnly(options, "sslHandshakeTimeout");
  }
  const loop = getRunningLoop();
  const io = loopIo(loop);
  const base = {
    host,
    port,
    localAddress: options.localAddress,
    localPort: options.localPort,
    family: options.family,
  };
  let socket: net.Socket;
  let readyEvent: string;
  let sslcontext: object | null = null;
  const reader = new StreamReader({ limit });
  let feedsItself = false;
  if (ssl === undefined || ssl === false) {
    socket = net.connect({ ...base, allowHalfOpen: true, onread: onreadFor(reader) });
    reader.setTransport(socket);
    feedsItself = true;
    readyEvent = "connect";
  } else {
    const tlsModule = await import("node:tls");
    sslcontext = ssl === true ? {} : ssl;
    const servername = options.serverHostname ?? (net.isIP(host) === 0 ? host : undefined);
    socket = tlsModule.connect({ ...(sslcontext as tls.ConnectionOptions), ...base, servername });
    readyEvent = "secureConnect";
    socket.setTimeout(handshakeTimeout ?? 60_000, () =>
      socket.destroy(Object.assign(new Error("TLS handshake timed out"), { code: "ETIMEDOUT" })),
    );
  }
  const connected = loop.createFuture<void>();
  const onReady = () => {
    if (!connected.done()) connected.setResult(undefined);
  };
  const onError = (error: Error) => {
    if (!connected.done()) connected.setException(error);
  };
  socket.once(readyEvent, onReady);
  socket.once("error", onError);
  try {
    await connected;
  } catch (error) {
    socket.destroy();
    throw error;
  } finally {
    socket.off(readyEvent, onReady);
    socket.off("error", onError);
  }
  if (sslcontext !== null) socket.setTimeout(0);
  if (options.noDelay !== false) socket.setNoDelay(true);
  const extra: Partial<ExtraInfo> = sslcontext === null ? {} : { sslcontext };
  const writer = new StreamWriter(socket, reader, extra);
  try {
    new WiredSocket(socket, reader, writer, io, null, feedsItself);
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return [reader, writer];
}

/**
 * Starts a TCP (or TLS) server: asyncio's `start_server`. For each connection it runs
 * `clientConnected(reader, writer)` as a new Task. `host` `null` listens on every interface;
 * `port` 0 picks a free port (read it from `server.sockets[0].port`).
 *
 * @throws the listen error (`EADDRINUSE`, `EACCES`, …). @throws {TypeError}/{RangeError} for
 * bad arguments.
 *
 * **Cancellation:** cancelling the call while it starts to listen closes the server.
 *
 * **Differences from asyncio:** `ssl` takes Node's TLS server options; one host per server.
 *
 * @example
 * ```ts
 * import { run, startServer, openConnection } from "asyncio-ts";
 * await run(async () => {
 *   const server = await startServer(async (reader, writer) => {
 *     const name = (await reader.readline()).toString().trim();
 *     writer.write(`hello, ${name}\n`);
 *     await writer.drain();
 *     writer.close();
 *   }, "127.0.0.1", 0);
 *   const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
 *   writer.write("Ada\n");
 *   console.log((await reader.readline()).toString().trim()); // "hello, Ada"
 *   writer.close();
 *   server.close();
 *   await server.waitClosed();
 * });
 * ```
 */
export async function startServer(
  clientConnected: ClientConnectedCallback,
  host?: string | null,
  port?: number | null,
  options: StartServerOptions = {},
): Promise<Server> {
  checkFunction("clientConnected", clientConnected);
  if (host !== undefined && host !== null && typeof host !== "string") {
    throw typeError("host", "a host name or address string, or null for every interface", host);
  }
  checkPort("port", port, true);
  checkOptions("options", options);
  checkKnownOptions("options", options, SERVER_KEYS);
  const limit = checkLimit(options.limit);
  const handshakeTimeout = checkTimeout("options.sslHandshakeTimeout", options.sslHandshakeTimeout);
  const ssl = options.ssl;
  if (ssl !== undefined && (ssl === null || typeof ssl !== "object")) {
    throw typeError("options.ssl", "a TLS options object", ssl);
  }
  if (ssl === undefined) checkTlsOnly(options, "sslHandshakeTimeout");
  const backlog = options.backlog;
  if (backlog !== undefined && (!Number.isInteger(backlog) || backlog < 0)) {
    throw rangeError("options.backlog", "a non-negative integer", backlog);
  }
  const loop = getRunningLoop();
  const io = loopIo(loop);
  let netServer: net.Server;
  if (ssl === undefined) {
    // Paused: the Server moves each plain connection onto a socket of its own (adoptConnection).
    netServer = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  } else {
    const tlsModule = await import("node:tls");
    netServer = tlsModule.createServer({
      ...ssl,
      handshakeTimeout: handshakeTimeout ?? ssl.handshakeTimeout ?? 60_000,
    });
  }
  const server = new Server({
    loop,
    io,
    netServer,
    callback: clientConnected,
    limit,
    host: host ?? undefined,
    port: port ?? 0,
    backlog,
    tls: ssl ?? null,
    noDelay: options.noDelay !== false,
  });
  if (options.startServing !== false) {
    try {
      await server.startServing();
    } catch (error) {
      server.close();
      throw error;
    }
  }
  return server;
}

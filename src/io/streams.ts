/**
 * The TCP stream entry points: `openConnection` (a client connection as a reader/writer pair)
 * and `startServer` (a listening server running a task per connection), asyncio's high-level
 * networking API on Node's `net` and `tls`. What they share with the Unix-socket ones
 * (`unix-streams.ts`) is in `stream-factory.ts`.
 *
 * Connections are made with `TCP_NODELAY` (asyncio sets it on every TCP transport).
 *
 * @module
 */
import * as net from "node:net";
import type * as tls from "node:tls";
import { checkBoolean, checkFunction, rangeError, typeError } from "../internal/validate.ts";
import { type ClientConnectedCallback, type Server, tcpEndpoint } from "./server.ts";
import {
  checkConnectionOptions,
  checkServerOptions,
  connectStreams,
  serveStreams,
} from "./stream-factory.ts";
import type { StreamReader } from "./stream-reader.ts";
import type { StreamWriter } from "./stream-writer.ts";

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
  /** Local address to bind to: an IP address (Node binds no host name). */
  localAddress?: string;
  /** Local port to bind to (0 to 65535). */
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

function checkPort(name: string, port: unknown, allowNull: boolean): void {
  if (allowNull && (port === null || port === undefined)) return;
  if (typeof port !== "number") throw typeError(name, "a port number", port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw rangeError(name, "an integer port from 0 to 65535", port);
  }
}

/**
 * Checks `family`, `localAddress` and `localPort` before Node sees them: Node ignores a bad
 * family, reports a port out of range as `EADDRINUSE`, and throws for the others only after it
 * has made the socket, which is then left behind, never connected nor destroyed.
 */
function checkLocalEndpoint(options: OpenConnectionOptions): void {
  const { family, localAddress, localPort } = options;
  if (family !== undefined && family !== 0 && family !== 4 && family !== 6) {
    throw rangeError("options.family", "4, 6 or 0 (either)", family);
  }
  if (localAddress !== undefined) {
    if (typeof localAddress !== "string") {
      throw typeError("options.localAddress", "an IP address string", localAddress);
    }
    if (net.isIP(localAddress) === 0) {
      throw rangeError(
        "options.localAddress",
        "an IP address (Node binds no host name)",
        localAddress,
      );
    }
  }
  if (localPort !== undefined) checkPort("options.localPort", localPort, false);
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
  const checked = checkConnectionOptions(options, CONNECTION_KEYS);
  if (options.noDelay !== undefined) checkBoolean("options.noDelay", options.noDelay);
  checkLocalEndpoint(options);
  return connectStreams({
    target: {
      host,
      port,
      localAddress: options.localAddress,
      localPort: options.localPort,
      family: options.family,
    },
    options: checked,
    servername: options.serverHostname ?? (net.isIP(host) === 0 ? host : undefined),
    noDelay: options.noDelay !== false,
    extra: {},
  });
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
  const checked = checkServerOptions(options, SERVER_KEYS);
  if (options.noDelay !== undefined) checkBoolean("options.noDelay", options.noDelay);
  return serveStreams(
    clientConnected,
    tcpEndpoint(host ?? undefined, port ?? 0),
    checked,
    options.noDelay !== false,
  );
}

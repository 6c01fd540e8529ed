/**
 * What every stream entry point shares, whatever the kind of socket (TCP or Unix-domain): the
 * checks of the common options, making a client connection into a `[reader, writer]` pair, and
 * making a listening `Server`. `streams.ts` (TCP) and `unix-streams.ts` (Unix sockets) only say
 * where to connect or listen, and check what is theirs.
 *
 * Connections are half-open (`allowHalfOpen`), so that the peer's EOF ends the reader but not
 * the writer. `node:tls` is loaded only when the `ssl` option is used.
 *
 * A plain connection reads through Node's `onread` option: the kernel's bytes go straight into
 * the `StreamReader`, skipping the socket's Readable machinery (measured: +7% echo round trips
 * per CPU-second for the client side; see `adoptConnection` for the server side; bulk reads
 * unchanged). The socket then emits no `"data"` events; the reader owns the bytes. Node offers
 * the option only to the sockets it connects, so the server moves each accepted connection onto
 * a socket made with it (`adoptConnection`). TLS sockets use `"data"` events.
 *
 * @module
 */
import * as net from "node:net";
import type * as tls from "node:tls";
import {
  checkBoolean,
  checkKnownOptions,
  checkOptions,
  rangeError,
  typeError,
} from "../internal/validate.ts";
import { getRunningLoop } from "../loop/running.ts";
import { loopIo } from "./loop-io.ts";
import { type ClientConnectedCallback, Server, type ServerEndpoint } from "./server.ts";
import { DEFAULT_LIMIT, StreamReader } from "./stream-reader.ts";
import { type ExtraInfo, handshakeTimeoutError, StreamWriter } from "./stream-writer.ts";
import { onreadFor, WiredSocket } from "./wire.ts";

/** asyncio's default TLS handshake timeout, in ms. */
const HANDSHAKE_TIMEOUT = 60_000;

/** The options every client entry point takes. @internal */
export interface CommonConnectionOptions {
  limit?: number;
  ssl?: boolean | tls.ConnectionOptions;
  serverHostname?: string;
  sslHandshakeTimeout?: number;
}

/** The options every server entry point takes. @internal */
export interface CommonServerOptions {
  limit?: number;
  ssl?: tls.TlsOptions;
  sslHandshakeTimeout?: number;
  backlog?: number;
  startServing?: boolean;
}

/** The common client options, checked. @internal */
export interface CheckedConnectionOptions {
  limit: number;
  /** The TLS options to connect with (`{}` for `ssl: true`), or null for a plain connection. */
  ssl: tls.ConnectionOptions | null;
  serverHostname: string | undefined;
  handshakeTimeout: number;
}

/** The common server options, checked. @internal */
export interface CheckedServerOptions {
  limit: number;
  ssl: tls.TlsOptions | null;
  handshakeTimeout: number | undefined;
  backlog: number | undefined;
  startServing: boolean;
}

/** As asyncio's ValueError: an option that only means something for a TLS connection. */
function checkTlsOnly(options: object, key: "serverHostname" | "sslHandshakeTimeout"): void {
  if ((options as Record<string, unknown>)[key] !== undefined) {
    throw new RangeError(`options.${key} is only meaningful with options.ssl`);
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

/** The checks of every entry point's options: the object, its keys, `limit`, the TLS timeout. */
function checkCommonOptions(
  options: { limit?: number; sslHandshakeTimeout?: number },
  known: ReadonlySet<string>,
): { limit: number; handshakeTimeout: number | undefined } {
  checkOptions("options", options);
  checkKnownOptions("options", options, known);
  return {
    limit: checkLimit(options.limit),
    handshakeTimeout: checkTimeout("options.sslHandshakeTimeout", options.sslHandshakeTimeout),
  };
}

/**
 * Checks a client entry point's options: that each is known (`known`), and the common ones.
 * @internal
 */
export function checkConnectionOptions(
  options: CommonConnectionOptions,
  known: ReadonlySet<string>,
): CheckedConnectionOptions {
  const { limit, handshakeTimeout } = checkCommonOptions(options, known);
  const { ssl, serverHostname } = options;
  if (ssl !== undefined && typeof ssl !== "boolean" && (ssl === null || typeof ssl !== "object")) {
    throw typeError("options.ssl", "a boolean or a TLS options object", ssl);
  }
  if (serverHostname !== undefined && typeof serverHostname !== "string") {
    throw typeError("options.serverHostname", "a string", serverHostname);
  }
  if (ssl === undefined || ssl === false) {
    checkTlsOnly(options, "serverHostname");
    checkTlsOnly(options, "sslHandshakeTimeout");
  }
  return {
    limit,
    ssl: ssl === undefined || ssl === false ? null : ssl === true ? {} : ssl,
    serverHostname,
    handshakeTimeout: handshakeTimeout ?? HANDSHAKE_TIMEOUT,
  };
}

/**
 * Checks a server entry point's options: that each is known (`known`), and the common ones.
 * @internal
 */
export function checkServerOptions(
  options: CommonServerOptions,
  known: ReadonlySet<string>,
): CheckedServerOptions {
  const { limit, handshakeTimeout } = checkCommonOptions(options, known);
  const ssl = options.ssl;
  if (ssl !== undefined && (ssl === null || typeof ssl !== "object")) {
    throw typeError("options.ssl", "a TLS options object", ssl);
  }
  if (ssl === undefined) checkTlsOnly(options, "sslHandshakeTimeout");
  const backlog = options.backlog;
  if (backlog !== undefined && typeof backlog !== "number") {
    throw typeError("options.backlog", "a number of connections", backlog);
  }
  if (backlog !== undefined && (!Number.isInteger(backlog) || backlog < 0)) {
    throw rangeError("options.backlog", "a non-negative integer", backlog);
  }
  if (options.startServing !== undefined)
    checkBoolean("options.startServing", options.startServing);
  return {
    limit,
    ssl: ssl ?? null,
    handshakeTimeout,
    backlog,
    startServing: options.startServing !== false,
  };
}

/** How to make one client connection. @internal */
export interface ConnectSetup {
  /** Where to connect, as Node's `connect()` options: `{ host, port, … }` or `{ path }`. */
  target: net.TcpNetConnectOpts | net.IpcNetConnectOpts;
  options: CheckedConnectionOptions;
  /** The TLS server name (SNI and the certificate check), if any. */
  servername: string | undefined;
  /** Set `TCP_NODELAY` once connected. */
  noDelay: boolean;
  /** `getExtraInfo` entries Node cannot tell (a Unix socket's addresses). */
  extra: Partial<ExtraInfo>;
}

/**
 * Connects and returns the connection's `[reader, writer]`: the body of `openConnection` and
 * `openUnixConnection`. Cancelling it while it connects destroys the half-made socket.
 * @internal
 */
export async function connectStreams(setup: ConnectSetup): Promise<[StreamReader, StreamWriter]> {
  const { target, options } = setup;
  const loop = getRunningLoop();
  const io = loopIo(loop);
  const reader = new StreamReader({ limit: options.limit });
  const extra: Partial<ExtraInfo> = { ...setup.extra };
  let socket: net.Socket;
  let readyEvent: string;
  let feedsItself = false;
  const ssl = options.ssl;
  const onHandshakeTimeout = () => socket.destroy(handshakeTimeoutError(options.handshakeTimeout));
  if (ssl === null) {
    socket = net.connect({ ...target, allowHalfOpen: true, onread: onreadFor(reader) });
    reader.setTransport(socket);
    feedsItself = true;
    readyEvent = "connect";
  } else {
    const tlsModule = await import("node:tls");
    extra.sslcontext = ssl;
    socket = tlsModule.connect({ ...ssl, ...target, servername: setup.servername });
    readyEvent = "secureConnect";
    socket.setTimeout(options.handshakeTimeout, onHandshakeTimeout);
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
  // With its listener: else an idle timeout the user sets on the transport later would end the
  // connection with this handshake error.
  if (ssl !== null) socket.setTimeout(0, onHandshakeTimeout);
  if (setup.noDelay) socket.setNoDelay(true);
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
 * Makes a `Server` that listens at `endpoint` and runs `clientConnected` for each connection,
 * and starts it unless `startServing` is false: the body of `startServer` and
 * `startUnixServer`. Cancelling it while it starts to listen closes the server.
 * @internal
 */
export async function serveStreams<Address extends net.AddressInfo | string>(
  clientConnected: ClientConnectedCallback,
  endpoint: ServerEndpoint<Address>,
  options: CheckedServerOptions,
  noDelay: boolean,
): Promise<Server<Address>> {
  const loop = getRunningLoop();
  const io = loopIo(loop);
  const ssl = options.ssl;
  let netServer: net.Server;
  if (ssl === null) {
    // Paused: the Server moves each plain connection onto a socket of its own (adoptConnection).
    netServer = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  } else {
    const tlsModule = await import("node:tls");
    netServer = tlsModule.createServer({
      ...ssl,
      handshakeTimeout: options.handshakeTimeout ?? ssl.handshakeTimeout ?? HANDSHAKE_TIMEOUT,
    });
  }
  const server = new Server<Address>({
    loop,
    io,
    netServer,
    callback: clientConnected,
    limit: options.limit,
    endpoint,
    backlog: options.backlog,
    tls: ssl,
    noDelay,
  });
  if (options.startServing) {
    try {
      await server.startServing();
    } catch (error) {
      server.close();
      throw error;
    }
  }
  return server;
}

/**
 * `StreamWriter`: writing to a socket or a pipe with asyncio's calls, and real backpressure.
 *
 * `write()` hands the bytes to Node (no copy); when Node's buffer is over its high-water mark
 * (`socket.write` returns false) the writer is *paused*, and `drain()` waits until Node emits
 * `"drain"`. A loop of `write(); await drain()` therefore holds at most
 * about one high-water mark plus one chunk in memory, whatever the peer's speed (asyncio's
 * `FlowControlMixin`).
 *
 * Writes are batched per turn of Node's event loop, as uvloop batches them per loop iteration:
 * `write()` corks the socket, and the writes made until the end of the turn (Node's check phase,
 * right after the I/O callbacks and the tasks they resumed) leave together: one system call
 * (`writev`) and one TCP segment for a header and a body. `drain()`, `writeEof()`, `close()` and
 * `abort()` send them at once. Writes made from the asyncio loop's own callbacks (which run in
 * the check phase) leave on the next turn, after a poll that does not block. Measured (W7 echo,
 * 50 connections): one write per round trip, +1.5% round trips/s; eight 8-byte writes per round
 * trip, 17.5k → 49k.
 *
 * Lifecycle: open → closing (`close()` called: flush, then close) → closed (the socket's
 * `"close"` event). `writeEof()` half-closes: the peer reads EOF, this side can still read.
 *
 * Invariants:
 * - After `writeEof()`, `write()` throws `RuntimeError` on a socket (asyncio); on a pipe
 *   `writeEof()` closes it, so `write()` drops the data (asyncio's pipe transport).
 * - After `close()` or once the connection is lost, `write()` drops the data silently and
 *   `drain()` reports the loss (asyncio: `ConnectionResetError('Connection lost')`).
 * - Every drain waiter is woken once: by `"drain"`, or by the loss of the connection.
 *
 * @module
 */
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import type * as tls from "node:tls";
import type { CipherNameAndProtocol, PeerCertificate, TLSSocket } from "node:tls";
import { inspect } from "node:util";
import { RuntimeError } from "../exceptions.ts";
import { checkOptions, rangeError, typeError } from "../internal/validate.ts";
import { getRunningLoop } from "../loop/running.ts";
import { type IoWaiter, newWaiter } from "./io-waiter.ts";
import type { StreamReader } from "./stream-reader.ts";
import { showSocketPath } from "./unix-socket-file.ts";
import type { WiredSocket } from "./wire.ts";

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Loads `node:tls` synchronously, the first time a stream upgrades: `startTls` must wrap the
 * connection without an `await` after its plain writes went out (see there), and a static
 * import would load TLS into every program that uses streams.
 */
const requireBuiltin = createRequire(import.meta.url);

/** Writers with corked writes, flushed together once the I/O callbacks of this turn have run. */
let corkedWriters: StreamWriter[] = [];
let flushScheduled = false;

function flushCorkedWriters(): void {
  flushScheduled = false;
  const writers = corkedWriters;
  corkedWriters = [];
  for (const writer of writers) writer._flushQueued();
}

/**
 * The keys of {@link StreamWriter.getExtraInfo} and what each returns (asyncio's names).
 *
 * An address is `[host, port]` on a TCP connection and a path on a Unix-domain one, as with
 * asyncio (and as Node's `server.address()` returns an `AddressInfo` or a path): narrow it with
 * `typeof address === "string"`.
 */
export interface ExtraInfo {
  /**
   * The remote address: `[host, port]`; on a Unix socket, the path the client connected to
   * (client side) or `""` (server side: the client's socket has no name).
   */
  peername: [host: string, port: number] | string;
  /**
   * The local address: `[host, port]`; on a Unix socket, the server's path (server side) or
   * `""` (client side).
   */
  sockname: [host: string, port: number] | string;
  /** The Node socket (`net.Socket`, or `tls.TLSSocket` over TLS). */
  socket: Socket;
  /** Over TLS: the TLS options the connection was made with (what `ssl` was given). */
  sslcontext: object;
  /** Over TLS: the `tls.TLSSocket`. */
  ssl_object: TLSSocket;
  /** Over TLS: the peer's certificate (`null` when the peer sent none). */
  peercert: PeerCertificate | null;
  /** Over TLS: the negotiated cipher. */
  cipher: CipherNameAndProtocol;
  /** For a subprocess pipe: the Node pipe socket. */
  pipe: Socket;
}

/** Options of {@link StreamWriter.startTls}. */
export interface StartTlsOptions {
  /** Client side: the name to check the server's certificate against (SNI). Default: none. */
  serverHostname?: string;
  /** How long the handshake may take, in ms. Default: 60000 (asyncio's). */
  sslHandshakeTimeout?: number;
}

/**
 * The error of a TLS handshake that took longer than `ms`: asyncio's `ConnectionAbortedError`
 * ("SSL handshake is taking longer than … seconds: aborting the connection"), whose Node
 * spelling is the code `ECONNABORTED`. @internal
 */
export function handshakeTimeoutError(ms: number): Error {
  return Object.assign(
    new Error(`TLS handshake is taking longer than ${ms} ms: aborting the connection`),
    { code: "ECONNABORTED" },
  );
}

/** The error `drain()` reports after the connection was lost without an error of its own. */
export function connectionLostError(message = "Connection lost"): Error {
  return Object.assign(new Error(message), { code: "ECONNRESET" });
}

/**
 * Writes bytes to a stream: asyncio's `StreamWriter`. You get one from {@link openConnection},
 * a server's client callback, or a subprocess's `stdin`.
 *
 * **Cancellation:** a `drain()` cancelled while it waits leaves the writer as it was (the data
 * already written stays queued in Node); `waitClosed()` likewise.
 *
 * **Differences from asyncio:** `write()` also takes strings (encoded as UTF-8); `transport` is
 * the Node socket; after `close()` the writer flushes and destroys the socket without waiting for
 * the peer to close its side; writes leave together at the end of the event loop's turn (as with
 * uvloop) rather than one system call per `write()`.
 *
 * @example
 * ```ts
 * import { run, openConnection, startServer } from "asyncio-ts";
 * await run(async () => {
 *   const server = await startServer(async (reader, writer) => {
 *     writer.write(await reader.readline());
 *     await writer.drain();
 *     writer.close();
 *   }, "127.0.0.1", 0);
 *   const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
 *   writer.write("ping\n");
 *   await writer.drain();
 *   console.log((await reader.readline()).toString().trim()); // "ping"
 *   writer.close();
 *   await writer.waitClosed();
 *   server.close();
 *   await server.waitClosed();
 * });
 * ```
 */
export class StreamWriter {
  #socket: Socket;
  readonly #reader: StreamReader | null;
  readonly #extra: Partial<ExtraInfo>;
  #tls: boolean;
  /** The wiring of a socket connection (null for a pipe); `startTls` moves it. */
  #wire: WiredSocket | null = null;
  /** Accepted by a server: `startTls` then takes the server's side of the handshake. */
  #serverSide = false;
  #upgrading = false;
  #paused = false;
  /** Writes are corked, to go out together at the end of this turn (or at `drain()`). */
  #corked = false;
  /** In `corkedWriters`. */
  #queued = false;
  #drainWaiters: IoWaiter[] = [];
  #closing = false;
  #eofWritten = false;
  #lost = false;
  #error: unknown = null;
  #closeWaiters: IoWaiter[] = [];

  /**
   * Wraps a connected Node socket or pipe. Prefer the factories ({@link openConnection},
   * `startServer`, `createSubprocessExec`), which also connect the reader side.
   * @internal
   */
  constructor(socket: Socket, reader: StreamReader | null, extra: Partial<ExtraInfo> = {}) {
    this.#socket = socket;
    this.#reader = reader;
    this.#extra = extra;
    this.#tls = "encrypted" in socket && (socket as TLSSocket).encrypted === true;
    socket.on("drain", this.#onDrain);
  }

  /** The underlying Node socket (asyncio's `transport`). */
  get transport(): Socket {
    return this.#socket;
  }

  /**
   * Queues `data` for sending; never blocks. The bytes leave with the other writes of this turn of
   * the event loop, at its end, or at `drain()`. Follow a run of writes with `await drain()` so
   * that a slow peer slows the writer down instead of filling memory.
   *
   * @throws {RuntimeError} after `writeEof()`. @throws {TypeError} for anything but bytes or a string.
   */
  write(data: Uint8Array | string): void {
    if (typeof data === "string") {
      if (data.length === 0) return;
    } else if (data instanceof Uint8Array) {
      if (data.length === 0) return;
    } else throw typeError("data", "a Uint8Array or a string", data);
    if (this.#eofWritten) throw new RuntimeError("Cannot call write() after writeEof()");
    if (this.#closing || this.#lost) return;
    const socket = this.#socket;
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      if (!this.#queued) {
        this.#queued = true;
        corkedWriters.push(this);
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flushCorkedWriters);
        }
      }
    }
    if (!socket.write(data)) this.#paused = true;
  }

  /** Writes every item of `data`; like `write()`, they go out together (one system call where possible). */
  writelines(data: Iterable<Uint8Array | string>): void {
    if (data === null || typeof data !== "object" || !(Symbol.iterator in data)) {
      throw typeError("data", "an iterable of Uint8Arrays or strings", data);
    }
    const items = [...data];
    for (const item of items) {
      if (typeof item !== "string" && !(item instanceof Uint8Array)) {
        throw typeError("data[i]", "a Uint8Array or a string", item);
      }
    }
    if (this.#eofWritten) throw new RuntimeError("Cannot call write() after writeEof()");
    if (this.#closing || this.#lost) return;
    for (const item of items) this.write(item);
  }

  /**
   * Waits until the write buffer is below its high-water mark. Returns at once when it already
   * is.
   *
   * @throws the connection's error (as the reader's exception, or the socket's) once the
   * connection failed; an `ECONNRESET` "Connection lost" error once it was closed, or once
   * `close()` was called (as asyncio).
   *
   * **Cancellation:** cancelling the wait changes nothing in the writer.
   */
  drain(): Promise<void> {
    this._flush();
    const readerError = this.#reader?.exception() ?? null;
    if (readerError !== null) return Promise.reject(readerError);
    // A write that failed (EPIPE, ECONNRESET) marks the socket errored at once, but Node only
    // destroys it on a later tick: a `write(); await drain()` loop that never has to wait would
    // never see that tick, and would write into the dead socket forever (test_drain_raises).
    const writeError = this.#socket.errored;
    if (writeError !== null && writeError !== undefined) return Promise.reject(writeError);
    if (this.#lost || this.#closing || this.#socket.destroyed) {
      // asyncio: drain() on a closing transport raises ConnectionResetError('Connection lost').
      return Promise.reject(this.#error ?? connectionLostError());
    }
    if (!this.#paused) return RESOLVED;
    // The flush above may have handed everything to the kernel at once (a write of more than
    // the high-water mark to a socket with room): the buffer is under the mark already, and
    // Node's "drain" is only the news of it, a tick later.
    const socket = this.#socket;
    if (socket.writableLength < socket.writableHighWaterMark) {
      this.#paused = false;
      return RESOLVED;
    }
    const waiter = newWaiter("<StreamWriter.drain()>");
    if (!waiter._done) this.#drainWaiters.push(waiter);
    return waiter.promise;
  }

  /** Whether this writer can half-close (`writeEof()`): true for TCP and pipes, false over TLS. */
  canWriteEof(): boolean {
    return !this.#tls;
  }

  /**
   * Closes the write side after the queued data (the peer reads EOF); the read side stays open.
   * On a subprocess's stdin, which has no read side, it closes the pipe, as asyncio's pipe
   * transport does: `isClosing()` is then true and later writes are dropped (on a socket they
   * throw `RuntimeError`). Idempotent. @throws {RuntimeError} over TLS (see {@link canWriteEof}).
   */
  writeEof(): void {
    if (this.#tls) throw new RuntimeError("TLS streams cannot write EOF: canWriteEof() is false");
    if (this.#eofWritten || this.#closing || this.#lost) return;
    if (this.#extra.pipe !== undefined) {
      this.close();
      return;
    }
    this.#eofWritten = true;
    this._flush();
    this.#socket.end();
  }

  /**
   * Closes the stream: sends what is queued, then closes the socket. The reader sees EOF. Use
   * `await waitClosed()` to wait until it is closed.
   */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    const socket = this.#socket;
    if (socket.destroyed) return;
    this._flush();
    // Nothing left to send (the kernel took every byte): close the socket now, as asyncio's
    // transport.close() does (connection_lost on the next iteration). destroySoon() would first
    // wait for a shutdown request, one more turn of Node's loop before "close", so a server's
    // waitClosed() after closeClients() took three sleep(0)s instead of asyncio's two
    // (test_close_clients). Over TLS, end() sends close_notify first.
    if (!this.#tls && socket.writableLength === 0) socket.destroy();
    else if (typeof socket.destroySoon === "function") socket.destroySoon();
    else socket.end(() => socket.destroy());
  }

  /** Closes at once, dropping queued data (asyncio's `transport.abort()`). */
  abort(): void {
    this.#closing = true;
    // What write() accepted before abort() was sent at once in asyncio: send it, then drop.
    this._flush();
    this.#socket.destroy();
  }

  /** Whether the stream is closed or closing. */
  isClosing(): boolean {
    return this.#closing || this.#lost;
  }

  /**
   * Waits until the stream is closed. Throws the connection's error if it ended with one.
   *
   * **Cancellation:** cancelling the wait does not affect closing.
   */
  waitClosed(): Promise<void> {
    if (this.#lost) return this.#error === null ? RESOLVED : Promise.reject(this.#error);
    const waiter = newWaiter("<StreamWriter.waitClosed()>");
    if (!waiter._done) this.#closeWaiters.push(waiter);
    return waiter.promise;
  }

  /**
   * Information about the connection, under asyncio's names (see {@link ExtraInfo}); returns
   * `defaultValue` for names that do not apply.
   */
  getExtraInfo<K extends keyof ExtraInfo>(
    name: K,
    defaultValue?: ExtraInfo[K],
  ): ExtraInfo[K] | undefined;
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    if (typeof name !== "string") throw typeError("name", "a string", name);
    const socket = this.#socket;
    switch (name) {
      // A Unix socket's addresses come in `extra`: Node has no getsockname() for them.
      case "peername":
        if (this.#extra.peername !== undefined) return this.#extra.peername;
        return socket.remoteAddress === undefined
          ? defaultValue
          : [socket.remoteAddress, socket.remotePort];
      case "sockname":
        if (this.#extra.sockname !== undefined) return this.#extra.sockname;
        return socket.localAddress === undefined
          ? defaultValue
          : [socket.localAddress, socket.localPort];
      case "socket":
        return this.#extra.pipe === undefined ? socket : defaultValue;
      case "ssl_object":
        return this.#tls ? socket : defaultValue;
      case "peercert": {
        if (!this.#tls) return defaultValue;
        const cert = (socket as TLSSocket).getPeerCertificate();
        return cert && Object.keys(cert).length > 0 ? cert : null;
      }
      case "cipher":
        return this.#tls ? (socket as TLSSocket).getCipher() : defaultValue;
      default: {
        const value = (this.#extra as Record<string, unknown>)[name];
        return value === undefined ? defaultValue : value;
      }
    }
  }

  /**
   * Upgrades the connection to TLS in place, as asyncio 3.11's `StreamWriter.start_tls` (for
   * STARTTLS-style protocols): sends what is queued, then runs the TLS handshake over the same
   * connection. On a connection accepted by `startServer` this side is the TLS server (give
   * `key` and `cert`); otherwise it is the client (`true` for the defaults: verify the server
   * against the system's CAs). Afterwards the reader yields the decrypted bytes, `write()`
   * encrypts, and `getExtraInfo("sslcontext")`, `"ssl_object"`, `"peercert"` and `"cipher"`
   * describe the TLS session.
   *
   * Bytes the reader had already buffered stay there as they came (plain text), as in asyncio:
   * the protocol must have the client wait for the server's go-ahead (`220 Ready to start TLS`)
   * before it starts the handshake, as STARTTLS protocols do.
   *
   * On a stream that already uses TLS, the new session runs inside the first one (TLS over
   * TLS, as asyncio allows: a TLS proxy, for instance); the `getExtraInfo` entries then
   * describe the inner session.
   *
   * @throws the handshake error (a verification failure, `ECONNABORTED` "TLS handshake is
   * taking longer than … ms" after `sslHandshakeTimeout`…), after which the connection is
   * closed; {@link RuntimeError} if an upgrade is already in progress, or the stream is closing
   * or has written EOF; `drain()`'s errors if the connection was lost;
   * {@link TypeError}/{@link RangeError} for bad arguments.
   *
   * **Cancellation:** cancelling the call during the handshake closes the connection (a
   * half-made TLS session cannot go back to plain text).
   *
   * **Differences from asyncio:** `ssl` takes Node's TLS options instead of an `SSLContext`.
   *
   * @example
   * ```ts
   * import { execFileSync } from "node:child_process";
   * import { mkdtempSync, readFileSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * import { openConnection, run, startServer } from "asyncio-ts";
   *
   * // A self-signed certificate for the example (needs the openssl command).
   * const dir = mkdtempSync(join(tmpdir(), "starttls-"));
   * execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
   *   "-subj", "/CN=localhost", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
   *   { stdio: "ignore" });
   * const key = readFileSync(join(dir, "key.pem"));
   * const cert = readFileSync(join(dir, "cert.pem"));
   *
   * await run(async () => {
   *   await using server = await startServer(async (reader, writer) => {
   *     await reader.readline(); // "STARTTLS"
   *     writer.write("GO\n");
   *     await writer.startTls({ key, cert });
   *     writer.write(`secret: ${(await reader.readline()).toString()}`);
   *     await writer.drain();
   *     writer.close();
   *   }, "127.0.0.1", 0);
   *   const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
   *   writer.write("STARTTLS\n");
   *   await reader.readline(); // "GO"
   *   await writer.startTls({ ca: cert }, { serverHostname: "localhost" });
   *   writer.write("42\n");
   *   console.log((await reader.readline()).toString().trim()); // "secret: 42"
   *   writer.close();
   *   await writer.waitClosed();
   * });
   * ```
   */
  async startTls(
    ssl: boolean | tls.ConnectionOptions | tls.TlsOptions,
    options: StartTlsOptions = {},
  ): Promise<void> {
    if (ssl !== true && (ssl === null || typeof ssl !== "object")) {
      throw typeError("ssl", "true or a TLS options object", ssl);
    }
    checkOptions("options", options);
    const { serverHostname, sslHandshakeTimeout } = options;
    if (serverHostname !== undefined && typeof serverHostname !== "string") {
      throw typeError("options.serverHostname", "a string", serverHostname);
    }
    if (sslHandshakeTimeout !== undefined) {
      if (typeof sslHandshakeTimeout !== "number") {
        throw typeError(
          "options.sslHandshakeTimeout",
          "a number of milliseconds",
          sslHandshakeTimeout,
        );
      }
      if (!(sslHandshakeTimeout > 0)) {
        throw rangeError(
          "options.sslHandshakeTimeout",
          "a positive number of milliseconds",
          sslHandshakeTimeout,
        );
      }
    }
    if (this.#serverSide && ssl === true) {
      throw typeError(
        "ssl",
        "the server's TLS options (key and cert) on an accepted connection",
        ssl,
      );
    }
    const wire = this.#wire;
    // A subprocess's stdin is wired too (for its close), but TLS needs a connection.
    if (wire === null || this.#extra.pipe !== undefined) {
      throw new RuntimeError("startTls() needs a socket connection, not a pipe");
    }
    if (this.#upgrading) throw new RuntimeError("startTls() is already in progress");
    if (this.#eofWritten) throw new RuntimeError("Cannot call startTls() after writeEof()");
    if (this.#closing) throw new RuntimeError("Cannot call startTls() on a closing stream");
    const loop = getRunningLoop();
    this.#upgrading = true;
    try {
      await this.drain();
      if (this.#closing || this.#lost) throw connectionLostError();
      // Invariant: nothing is awaited from the drain until the TLS socket wraps the connection,
      // as asyncio's start_tls pauses reading right after it. The peer may send its ClientHello
      // as soon as our last plain bytes reach it, and those bytes must go to the TLS layer: an
      // `await import("node:tls")` here (which, under a loader such as tsx, spans I/O turns) let
      // them land in the reader's plain buffer, and the handshake stalled until its timeout.
      const tlsModule = requireBuiltin("node:tls") as typeof tls;
      const raw = this.#socket;
      const settings = ssl === true ? {} : ssl;
      let secure: TLSSocket;
      let readyEvent: string;
      if (this.#serverSide) {
        secure = new tlsModule.TLSSocket(raw, { ...(settings as tls.TlsOptions), isServer: true });
        readyEvent = "secure";
      } else {
        secure = tlsModule.connect({
          ...(settings as tls.ConnectionOptions),
          socket: raw,
          servername: serverHostname,
        });
        readyEvent = "secureConnect";
      }
      // From now on the streams use the TLS socket; its events tell the reader and this writer.
      raw.off("drain", this.#onDrain);
      this.#socket = secure;
      this.#tls = true;
      this.#paused = false;
      this.#extra.sslcontext = settings;
      secure.on("drain", this.#onDrain);
      wire._upgrade(secure);
      const handshake = loop.createFuture<void>();
      const onReady = () => {
        if (!handshake.done()) handshake.setResult(undefined);
      };
      const onFailure = (error: unknown) => {
        if (!handshake.done()) handshake.setException(error ?? connectionLostError());
      };
      const onClose = () => onFailure(connectionLostError());
      const limit = sslHandshakeTimeout ?? 60_000;
      const timer = setTimeout(() => secure.destroy(handshakeTimeoutError(limit)), limit);
      secure.once(readyEvent, onReady);
      secure.once("error", onFailure);
      // A peer that gives up mid-handshake may only half-close (the socket is half-open).
      secure.once("end", onClose);
      secure.once("close", onClose);
      try {
        await handshake;
      } catch (error) {
        this.#closing = true;
        secure.destroy();
        throw error;
      } finally {
        clearTimeout(timer);
        secure.off(readyEvent, onReady);
        secure.off("error", onFailure);
        secure.off("end", onClose);
        secure.off("close", onClose);
      }
    } finally {
      this.#upgrading = false;
    }
  }

  /**
   * The peer closed a TLS connection, which cannot stay half-open: this side closes too, as
   * asyncio's transport does, and later writes are dropped rather than failing the stream with
   * `EPIPE`. @internal
   */
  _peerClosed(): void {
    this.close();
  }

  /** @internal */
  _setWire(wire: WiredSocket): void {
    this.#wire = wire;
  }

  /** The connection was accepted by a server. @internal */
  _markServerSide(): void {
    this.#serverSide = true;
  }

  /** The end-of-turn flush. @internal */
  _flushQueued(): void {
    this.#queued = false;
    this._flush();
  }

  /** Sends the corked writes now (one `writev` for several). @internal */
  _flush(): void {
    if (!this.#corked) return;
    this.#corked = false;
    this.#socket.uncork();
  }

  /** The socket closed (`error` when it failed). @internal */
  _connectionLost(error: unknown): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#error = error;
    this.#socket.off("drain", this.#onDrain);
    const drains = this.#drainWaiters;
    this.#drainWaiters = [];
    if (this.#paused) {
      for (const w of drains) {
        if (error === null) w.wake();
        else w.fail(error);
      }
    } else for (const w of drains) w.wake();
    const closes = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const w of closes) {
      if (error === null) w.wake();
      else w.fail(error);
    }
  }

  readonly #onDrain = (): void => {
    this.#paused = false;
    const waiters = this.#drainWaiters;
    if (waiters.length === 0) return;
    this.#drainWaiters = [];
    for (const w of waiters) w.wake();
  };

  toString(): string {
    const state = this.#lost ? "closed" : this.#closing ? "closing" : "open";
    const info = [`StreamWriter ${state}`];
    const peer = this.getExtraInfo("peername");
    if (typeof peer === "string") {
      if (peer !== "") info.push(`peer=${showSocketPath(peer)}`);
    } else if (peer !== undefined) info.push(`peer=${peer[0]}:${peer[1]}`);
    if (this.#eofWritten) info.push("eof-written");
    if (this.#paused) info.push("paused");
    info.push(`buffered=${this.#socket.writableLength}`);
    return `<${info.join(" ")}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * Connects a Node socket (TCP, TLS, or a child's pipe) to a `StreamReader` and a `StreamWriter`:
 * asyncio's `StreamReaderProtocol`, as a handful of event listeners.
 *
 * - `"data"` feeds the reader (which pauses the socket past `2 * limit` bytes), unless the socket
 *   was made with `onread: onreadFor(reader)`, which feeds it without the Readable machinery;
 * - `"end"` (the peer's EOF) feeds EOF; the socket is half-open (`allowHalfOpen`), so this side
 *   may still write, as asyncio's `eof_received` returning true;
 * - `"error"` sets the reader's exception (a reset mid-read throws `ECONNRESET` from the read);
 * - `"close"` ends the reader (EOF if no error), tells the writer the connection is lost, and
 *   forgets the resource.
 *
 * @module
 */
import { Socket } from "node:net";
import type { IoResource, LoopIo } from "./loop-io.ts";
import type { StreamReader } from "./stream-reader.ts";
import type { StreamWriter } from "./stream-writer.ts";

/** How many bytes an `onread` socket reads at most in one go (Node's own read size). */
const READ_SIZE = 65536;

/**
 * The buffer every `onread` socket reads small chunks into: each callback copies its bytes out
 * before returning, so one buffer serves all of them.
 */
let sharedBuffer: Buffer | null = null;

/**
 * The newest chunk any socket delivered, held until the next one arrives. Why: the chunks are
 * malloc'd and freed in batches when V8 collects them; once the newest one was freed too, the
 * whole freed run at the top of the heap goes back to the OS (glibc's trim) and the next reads
 * fault fresh pages in (raising MALLOC_TRIM_THRESHOLD_ has the same effect as this). Measured
 * on the W7 1 GiB stream: 180–206k page faults and 1016–1056 ms without it, 29–37k and
 * 620–639 ms with it (raw Node `net`: 20–23k, 514–543 ms). Costs one chunk of memory.
 */
const newest: { chunk: Buffer | null } = { chunk: null };

function feedData(reader: StreamReader, chunk: Buffer, fromReadCallback: boolean): void {
  newest.chunk = chunk;
  reader._feed(chunk, fromReadCallback);
}

/**
 * Node's `onread` option feeding `reader` directly: the bytes skip the socket's Readable
 * machinery (no push, no "data" event, no `nextTick` per read), and a small read costs no
 * allocation of its own (Node's default path allocates 64 KiB per read and shrinks it).
 *
 * Small reads land in the shared buffer and are copied out (into Node's Buffer pool). A socket
 * whose read filled its buffer is streaming: its next read goes into a buffer of its own, which,
 * if that read fills it too, is handed to the reader as it is, without a copy (bulk transfers
 * then cost what Node's default path costs; copying every 64 KiB made the W7 stream about 15 %
 * slower in one A/B run). A read that does not fill it is copied out and the socket goes back
 * to the shared buffer. So a connection holds a buffer of its own only while its last read was
 * full.
 * @internal
 */
export function onreadFor(reader: StreamReader): {
  buffer(): Buffer;
  callback(n: number, buf: Uint8Array): boolean;
} {
  sharedBuffer ??= Buffer.allocUnsafe(READ_SIZE);
  const shared = sharedBuffer;
  /** This socket's own buffer for its next read, while it streams. */
  let own: Buffer | null = null;
  /** The buffer Node reads into now (null until it asks for the first one). */
  let current: Buffer | null = null;
  return {
    // Node asks for the next read's buffer after each callback; an answer that is not a
    // Uint8Array keeps the one it has (which spares it looking the buffer up again). Its first
    // question, when the socket gets its handle, needs a buffer.
    buffer: (): Buffer => {
      const next = own ?? shared;
      if (next === current) return undefined as unknown as Buffer;
      current = next;
      return next;
    },
    callback(n: number, buf: Uint8Array): boolean {
      let chunk: Buffer;
      if (buf === own && n === READ_SIZE) chunk = own;
      else {
        chunk = Buffer.allocUnsafe(n);
        chunk.set(n === buf.length ? buf : buf.subarray(0, n));
      }
      own = n === READ_SIZE ? Buffer.allocUnsafe(READ_SIZE) : null;
      feedData(reader, chunk, true);
      return true;
    },
  };
}

/**
 * Moves a connection a `net.Server` accepted onto a new socket that feeds `reader` through
 * `onread` (see {@link onreadFor}), or returns null if this Node does not allow it.
 *
 * Why: Node offers `onread` only to the sockets it connects, not to the ones a server accepts,
 * and an echo server spends a good part of its time in the Readable path of its reads. So the
 * connection's handle is passed to a new `Socket` through its constructor's `handle` option
 * (Node's own way of wrapping an existing handle: cluster workers, child-process handles).
 * Measured with the next `drain()` change, W7 echo, 8 interleaved runs: 0.92× → 0.99× raw Node
 * `net`'s round trips/s on Node 20 (whose server and client both use "data" events), 0.92× →
 * 0.94× on Node 24, where the runs vary by ±10 %.
 *
 * The server must be created with `pauseOnConnect`, so that the accepted socket never reads.
 * It stays alive without its handle until the new socket closes, so that the server counts the
 * connection until then (its `"close"` event waits for it). @internal
 */
export function adoptConnection(accepted: Socket, reader: StreamReader): Socket | null {
  const holder = accepted as unknown as { _handle: object | null };
  const handle = holder._handle;
  if (handle === null || typeof handle !== "object") return null;
  holder._handle = null;
  const socket = new Socket({
    handle,
    allowHalfOpen: true,
    onread: onreadFor(reader),
  } as ConstructorParameters<typeof Socket>[0]);
  socket.once("close", () => accepted.destroy());
  return socket;
}

/** A socket wired to its streams, tracked by its loop until it closes. @internal */
export class WiredSocket implements IoResource {
  /** The socket; replaced by the TLS socket over it after `StreamWriter.startTls()`. */
  socket: Socket;
  readonly reader: StreamReader | null;
  readonly writer: StreamWriter | null;
  readonly #io: LoopIo | null;
  #error: unknown = null;
  #onClosed: (() => void) | null;

  constructor(
    socket: Socket,
    reader: StreamReader | null,
    writer: StreamWriter | null,
    io: LoopIo | null,
    onClosed: (() => void) | null = null,
    /** The socket was made with an `onread` callback that feeds `reader` (see {@link onreadFor}). */
    feedsItself = false,
  ) {
    this.socket = socket;
    this.reader = reader;
    this.writer = writer;
    this.#io = io;
    this.#onClosed = onClosed;
    io?.track(this);
    if (reader !== null && !feedsItself) reader.setTransport(socket);
    writer?._setWire(this);
    this.#listen(socket, feedsItself);
  }

  #listen(socket: Socket, feedsItself: boolean): void {
    if (this.reader !== null) {
      if (!feedsItself) socket.on("data", this.#onData);
      socket.on("end", this.#onEnd);
    }
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
    if (socket.destroyed) queueMicrotask(this.#onClose);
  }

  /**
   * Moves the streams onto `tlsSocket`, the TLS socket now wrapping this one's connection
   * (`StreamWriter.startTls`): the old socket's events no longer reach the streams. @internal
   */
  _upgrade(tlsSocket: Socket): void {
    const old = this.socket;
    old.off("data", this.#onData);
    old.off("end", this.#onEnd);
    old.off("error", this.#onError);
    old.off("close", this.#onClose);
    this.socket = tlsSocket;
    // Destroying a TLS socket does not close the connection it wraps: close it with it.
    tlsSocket.once("close", () => old.destroy());
    this.reader?._replaceTransport(tlsSocket);
    this.#listen(tlsSocket, false);
  }

  readonly #onData = (chunk: Buffer): void => {
    feedData(this.reader!, chunk, false);
  };

  readonly #onEnd = (): void => {
    this.reader!.feedEof();
    // TLS cannot be half-open: as asyncio's StreamReaderProtocol over SSL, the peer's EOF
    // closes the connection (Node ends the TLS socket), so the writer is closing from now on.
    if ((this.socket as { encrypted?: boolean }).encrypted === true) this.writer?._peerClosed();
  };

  readonly #onError = (error: Error): void => {
    this.#error = error;
    const reader = this.reader;
    if (reader !== null && reader.exception() === null && !reader.atEof()) {
      reader.setException(error);
    }
  };

  readonly #onClose = (): void => {
    const reader = this.reader;
    if (reader !== null && this.#error === null && reader.exception() === null) reader.feedEof();
    this.writer?._connectionLost(this.#error);
    this.#io?.untrack(this);
    const onClosed = this.#onClosed;
    this.#onClosed = null;
    onClosed?.();
  };

  /** Loop shutdown: the connection was left open; close it now. */
  _shutdown(): void {
    this.writer?._flush();
    this.socket.destroy();
  }
}

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
import type { Socket } from "node:net";
import type { IoResource, LoopIo } from "./loop-io.ts";
import type { StreamReader } from "./stream-reader.ts";
import type { StreamWriter } from "./stream-writer.ts";

/** One buffer for every `onread` socket: each callback copies its bytes out before returning. */
let readBuffer: Buffer | null = null;

/**
 * The newest chunk any socket delivered, held until the next one arrives. Why: the chunks are
 * malloc'd and freed in batches when V8 collects them; once the newest one was freed too, the
 * whole freed run at the top of the heap goes back to the OS (glibc's trim) and the next reads
 * fault fresh pages in (raising MALLOC_TRIM_THRESHOLD_ has the same effect as this). Measured
 * on the W7 1 GiB stream: 180–206k page faults and 1016–1056 ms without it, 29–37k and
 * 620–639 ms with it (raw Node `net`: 20–23k, 514–543 ms). Costs one chunk of memory.
 */
const newest: { chunk: Buffer | null } = { chunk: null };

function feedData(reader: StreamReader, chunk: Buffer): void {
  newest.chunk = chunk;
  reader._feed(chunk);
}

/**
 * Node's `onread` option feeding `reader` directly: the bytes skip the socket's Readable
 * machinery (no push, no "data" event). Node reads into one shared buffer and the callback
 * copies them out (small chunks land in Node's Buffer pool). @internal
 */
export function onreadFor(reader: StreamReader): {
  buffer: Buffer;
  callback(n: number, buf: Uint8Array): boolean;
} {
  readBuffer ??= Buffer.allocUnsafe(65536);
  return {
    buffer: readBuffer,
    callback(n: number, buf: Uint8Array): boolean {
      const chunk = Buffer.allocUnsafe(n);
      chunk.set(n === buf.length ? buf : buf.subarray(0, n));
      feedData(reader, chunk);
      return true;
    },
  };
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
    feedData(this.reader!, chunk);
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

/**
 * Connects a Node socket (TCP, TLS, or a child's pipe) to a `StreamReader` and a `StreamWriter`:
 * asyncio's `StreamReaderProtocol`, as a handful of event listeners.
 *
 * - `"data"` feeds the reader (which pauses the socket past `2 * limit` bytes);
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

/** A socket wired to its streams, tracked by its loop until it closes. @internal */
export class WiredSocket implements IoResource {
  readonly socket: Socket;
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
  ) {
    this.socket = socket;
    this.reader = reader;
    this.writer = writer;
    this.#io = io;
    this.#onClosed = onClosed;
    io?.track(this);
    if (reader !== null) {
      reader.setTransport(socket);
      socket.on("data", (chunk: Buffer) => reader._feed(chunk));
      socket.on("end", () => reader.feedEof());
    }
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
    if (socket.destroyed) queueMicrotask(this.#onClose);
  }

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
    this.socket.destroy();
  }
}

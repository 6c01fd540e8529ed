/**
 * `StreamReader`: bytes arriving from a socket or a pipe, read with asyncio's calls (`read`,
 * `readline`, `readexactly`, `readuntil`), with asyncio's flow control.
 *
 * The buffer is a queue of the chunks the transport delivered, plus an offset into the first.
 * A read that returns a whole chunk hands it over without copying; any other read copies, so a
 * returned Buffer never pins a larger chunk in memory.
 *
 * A read that must wait is one object, a `ReadRequest`: the task's wait and the promise the
 * caller awaits. The transport's callback completes it once enough bytes are buffered (any byte
 * for `read`, `n` for `readexactly`), taking them and resolving the promise with them, so the
 * task resumes once, with its data, one microtask after the callback. The read methods are not
 * `async`: a read served from the buffer returns an already-resolved promise.
 *
 * Flow control, as asyncio's: when more than `2 * limit` bytes are buffered the transport is
 * paused (the kernel buffers fill and the peer's writes block), and it resumes once the buffer is
 * back to `limit` bytes or less, or when a reader waits for more data while paused.
 *
 * Invariants:
 * - At most one task waits for data at a time (`RuntimeError` otherwise), as in asyncio.
 * - Bytes leave the buffer only when a read returns them (resolves its promise with them): a
 *   read cancelled while it waits (or `read()` cancelled between chunks) leaves every byte for
 *   the next reader.
 * - The transport is not paused while a read waits for more than is buffered.
 * - Once an exception is set, every read throws it, even with bytes still buffered (asyncio);
 *   a read already woken by data or EOF when it is set still completes with them (asyncio).
 *
 * @module
 */
import { inspect } from "node:util";
import {
  type CancellationOrigin,
  IncompleteReadError,
  isCancelledError,
  LimitOverrunError,
  RuntimeError,
} from "../exceptions.ts";
import { describeError } from "../futures/future.ts";
import { NO_LOOP_MESSAGE, type TaskStore } from "../internal/context.ts";
import { checkOptions, rangeError, typeError } from "../internal/validate.ts";
import { runningLoopOrNull } from "../loop/running.ts";
import { currentTaskStore, IoWaiter, startWait } from "./io-waiter.ts";

/** asyncio's default limit: 64 KiB. */
export const DEFAULT_LIMIT = 65536;

const EMPTY: Buffer = Buffer.alloc(0);
const RESOLVED_EMPTY: Promise<Buffer> = Promise.resolve(EMPTY);
const NEWLINE: readonly Buffer[] = [Buffer.from("\n")];

/** What a waiting read is waiting for (see {@link ReadRequest}). */
type ReadKind = "read" | "readexactly" | "readuntil";

/** What a reader pauses and resumes for flow control (a Node socket or pipe has both). */
export interface ReadTransport {
  pause(): unknown;
  resume(): unknown;
}

/** Options of `new StreamReader()`. */
export interface StreamReaderOptions {
  /**
   * The longest line or separator search, in bytes; the buffer pauses the transport past twice
   * this. Default: 65536 (64 KiB), as asyncio.
   */
  limit?: number;
}

/** A separator for {@link StreamReader.readuntil}: bytes, a UTF-8 string, or several of them. */
export type Separator = Uint8Array | string | ReadonlyArray<Uint8Array | string>;

/** What {@link StreamReader.statistics} reports. */
export interface StreamReaderStatistics {
  /** Bytes buffered, not yet read. */
  buffered: number;
  /** Whether the end of the stream was seen. */
  eof: boolean;
  /** Whether the transport is paused because the buffer is full. */
  paused: boolean;
  /** Whether a task waits for data. */
  waiting: boolean;
  /** The reader's limit. */
  limit: number;
}

function toBuffer(name: string, value: Uint8Array | string): Buffer {
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (value instanceof Uint8Array) {
    return Buffer.isBuffer(value)
      ? value
      : Buffer.from(value.buffer, value.byteOffset, value.length);
  }
  throw typeError(name, "a Uint8Array or a string", value);
}

/** The error for a bad byte count `n`, or null when it is an integer. */
function countError(name: string, n: unknown): Error | null {
  if (typeof n !== "number") return typeError(name, "an integer number of bytes", n);
  if (!Number.isInteger(n)) return rangeError(name, "an integer number of bytes", n);
  return null;
}

/**
 * A read waiting for data: the task's wait, and the promise the reading task awaits. When
 * enough bytes arrived (`_need` buffered) the transport's callback wakes it. The bytes must be
 * taken when the reading task resumes, not at the wake-up, so that a cancellation arriving in
 * between (asyncio delivers it at that resumption) leaves them in the buffer for the next
 * reader; two cases:
 *
 * - Woken from a socket's own read callback (`onread`, see `wire.ts`) while the loop runs: the
 *   task's resumption is the first microtask after that callback, and nothing else runs in
 *   between (Node drains the tick and microtask queues after every callback, and the callback
 *   wakes only this read), so taking the bytes at the wake-up is the same: the promise is
 *   resolved with them, and the task resumes one microtask later, with its data.
 * - Woken any other way (`feedData`, a `"data"` event, EOF, from the ready queue…): other code
 *   may run before the task resumes. The promise is resolved with a thenable whose `then`
 *   ({@link finishRead}) runs one microtask later, just before the task resumes: it delivers a
 *   cancellation that came meanwhile, or takes the bytes.
 *
 * A read that waits for more than one chunk is not woken for each chunk.
 */
class ReadRequest extends IoWaiter<Buffer> {
  readonly _reader: StreamReader;
  readonly _kind: ReadKind;
  /** Wake up once this many bytes are buffered. */
  readonly _need: number;
  /** The read's `n` (for `read` and `readexactly`). */
  readonly _n: number;
  /** Woken from the socket's read callback, with the loop running: take the bytes at once. */
  _direct = false;

  constructor(
    reader: StreamReader,
    kind: ReadKind,
    need: number,
    n: number,
    task: TaskStore | null,
  ) {
    super(task, WAIT_NAMES[kind]);
    this._reader = reader;
    this._kind = kind;
    this._need = need;
    this._n = n;
  }

  override _complete(): void {
    if (!this._direct) {
      this._settle(new DeferredRead(this) as unknown as Buffer);
      return;
    }
    this._direct = false;
    let data: Buffer | Promise<Buffer>;
    try {
      data = this._reader._fulfil(this);
    } catch (error) {
      this.fail(error);
      return;
    }
    this._settle(data as Buffer);
  }

  override _cancel(message: string | undefined, origin: CancellationOrigin | undefined): boolean {
    if (!super._cancel(message, origin)) return false;
    this._reader._forget(this);
    return true;
  }
}

/**
 * The end of a read that waited, run one microtask before its task resumes: delivers a
 * cancellation that came after the wake-up instead of the bytes, or takes them.
 */
function finishRead(req: ReadRequest): Buffer | Promise<Buffer> {
  const task = req._task;
  if (task?._mustCancel) throw task._takeCancellation();
  return req._reader._fulfil(req);
}

/**
 * What a read woken other than from its socket's read callback resolves with: a thenable,
 * whose `then` the promise machinery calls one microtask later (see {@link ReadRequest}).
 */
class DeferredRead {
  readonly #request: ReadRequest;
  constructor(request: ReadRequest) {
    this.#request = request;
  }
  // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose, resolved into a promise
  then(resolve: (value: Buffer | Promise<Buffer>) => void, reject: (error: unknown) => void): void {
    try {
      resolve(finishRead(this.#request));
    } catch (error) {
      reject(error);
    }
  }
}

const WAIT_NAMES: Record<ReadKind, string> = {
  read: "<StreamReader.read()>",
  readexactly: "<StreamReader.readexactly()>",
  readuntil: "<StreamReader.readuntil()>",
};

/**
 * Reads bytes from a stream: asyncio's `StreamReader`. You get one from {@link openConnection},
 * a server's client callback, or a subprocess's `stdout`/`stderr`; `new StreamReader()` makes one
 * you feed yourself (`feedData`, `feedEof`), which is handy in tests.
 *
 * Reads return `Buffer`s (a `Uint8Array` subclass). `for await (const line of reader)` iterates
 * over lines (each with its `"\n"`, the last one maybe without) until the end of the stream.
 *
 * **Cancellation:** a read cancelled while it waits consumes nothing: the bytes stay buffered for
 * the next read. `read()` (to EOF) cancelled midway puts back what it had collected.
 *
 * **Differences from asyncio:** separators may be strings (UTF-8); `readline()` past the limit
 * throws {@link LimitOverrunError} (asyncio turns it into `ValueError`), after discarding the
 * same bytes asyncio discards.
 *
 * @example
 * ```ts
 * import { run, StreamReader } from "asyncio-ts";
 * await run(async () => {
 *   const reader = new StreamReader();
 *   reader.feedData(Buffer.from("hello\nworld"));
 *   reader.feedEof();
 *   const lines: string[] = [];
 *   for await (const line of reader) lines.push(line.toString());
 *   console.log(lines); // ["hello\n", "world"]
 * });
 * ```
 */
export class StreamReader implements AsyncIterable<Buffer> {
  readonly #limit: number;
  /** Buffered chunks; the live ones are `#chunks[#head..]`. */
  #chunks: Buffer[] = [];
  #head = 0;
  /** Bytes of `#chunks[#head]` already consumed. */
  #offset = 0;
  #size = 0;
  #eof = false;
  #exception: unknown = null;
  #hasException = false;
  #waiter: ReadRequest | null = null;
  #transport: ReadTransport | null = null;
  #paused = false;

  constructor(options: StreamReaderOptions = {}) {
    checkOptions("options", options);
    const limit = options.limit ?? DEFAULT_LIMIT;
    if (typeof limit !== "number") throw typeError("options.limit", "a number of bytes", limit);
    if (!Number.isInteger(limit) || limit <= 0) {
      throw rangeError("options.limit", "a positive integer number of bytes", limit);
    }
    this.#limit = limit;
  }

  /** The limit given at creation (bytes). */
  get limit(): number {
    return this.#limit;
  }

  /** The exception set on the stream (a connection error), or `null`. */
  exception(): unknown {
    return this.#hasException ? this.#exception : null;
  }

  /** Sets the stream's exception: the waiting read and every later read throw it. */
  setException(error: unknown): void {
    this.#exception = error;
    this.#hasException = true;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.fail(error);
    }
  }

  /**
   * Sets what the reader pauses and resumes for flow control. Set once, by whoever connects the
   * reader to a socket or pipe.
   */
  setTransport(transport: ReadTransport): void {
    if (this.#transport !== null) throw new RuntimeError("Transport already set");
    if (
      transport === null ||
      typeof transport !== "object" ||
      typeof transport.pause !== "function" ||
      typeof transport.resume !== "function"
    ) {
      throw typeError("transport", "an object with pause() and resume()", transport);
    }
    this.#transport = transport;
  }

  /**
   * The connection was upgraded to TLS (`StreamWriter.startTls`): flow control moves to the new
   * socket, paused if the old one was. @internal
   */
  _replaceTransport(transport: ReadTransport): void {
    const old = this.#transport;
    this.#transport = transport;
    if (this.#paused) {
      old?.resume();
      transport.pause();
    }
  }

  /** Appends bytes to the buffer and wakes a waiting read. @throws {RuntimeError} after `feedEof()`. */
  feedData(data: Uint8Array | string): void {
    const chunk = toBuffer("data", data);
    if (this.#eof) throw new RuntimeError("feedData() after feedEof()");
    this._feed(chunk);
  }

  /**
   * The transport's data path (no checks). `fromReadCallback`: called from a socket's own
   * `onread` callback, so that a read it wakes may take its bytes at once (see ReadRequest).
   * @internal
   */
  _feed(chunk: Buffer, fromReadCallback = false): void {
    const n = chunk.length;
    if (n === 0) return;
    this.#chunks.push(chunk);
    this.#size += n;
    const waiter = this.#waiter;
    if (waiter !== null) {
      // A read waiting for more than is buffered: keep the data coming (pausing now would
      // deadlock a readexactly(n) with n > 2 * limit).
      if (this.#size < waiter._need) return;
      this.#waiter = null;
      if (fromReadCallback) {
        // Completed now, not from the ready queue (the loop not running defers the wake-up).
        const loop = waiter._task?._loop;
        waiter._direct = loop === undefined || loop.isRunning();
      }
      waiter.wake();
    }
    if (this.#size > 2 * this.#limit && !this.#paused && this.#transport !== null) {
      this.#paused = true;
      this.#transport.pause();
    }
  }

  /** Marks the end of the stream and wakes a waiting read. */
  feedEof(): void {
    this.#eof = true;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.wake();
    }
  }

  /** Whether the stream ended and every byte was read. */
  atEof(): boolean {
    return this.#eof && this.#size === 0;
  }

  /**
   * Reads up to `n` bytes: with `n > 0`, returns as soon as at least one byte is available (an
   * empty Buffer at EOF); with `n = -1` (the default), reads until EOF; with `n = 0`, returns an
   * empty Buffer at once. The result is not limited by `limit`.
   *
   * **Cancellation:** nothing is consumed by a cancelled read; `read(-1)` puts back the bytes it
   * had collected.
   */
  read(n = -1): Promise<Buffer> {
    const bad = countError("n", n);
    if (bad !== null) return Promise.reject(bad);
    if (this.#hasException) return Promise.reject(this.#exception);
    if (n === 0) return RESOLVED_EMPTY;
    if (n < 0) return this.#readAll();
    if (this.#size > 0) {
      const data = this.#take(Math.min(n, this.#size));
      if (this.#paused) this.#maybeResume();
      return Promise.resolve(data);
    }
    if (this.#eof) return RESOLVED_EMPTY;
    return this.#wait("read", 1, n);
  }

  async #readAll(): Promise<Buffer> {
    const blocks: Buffer[] = [];
    let total = 0;
    try {
      for (;;) {
        const block = await this.read(this.#limit);
        if (block.length === 0) break;
        blocks.push(block);
        total += block.length;
      }
    } catch (error) {
      // Cancelled: the collected bytes go back for the next reader. A stream exception
      // consumes them, as asyncio does (every later read throws it anyway).
      if (isCancelledError(error)) this.#unshift(blocks, total);
      throw error;
    }
    return blocks.length === 1 ? blocks[0] : Buffer.concat(blocks, total);
  }

  /**
   * Reads one line, up to and including `"\n"`. At EOF returns the partial last line (without
   * `"\n"`), or an empty Buffer when nothing is left.
   *
   * @throws {LimitOverrunError} when the line exceeds `limit` bytes; the line (if its end was
   * found) or the whole buffer (if not) is discarded first, as asyncio does.
   */
  async readline(): Promise<Buffer> {
    try {
      return await this.readuntil(NEWLINE as Buffer[]);
    } catch (error) {
      if (error instanceof IncompleteReadError) return error.partial as Buffer;
      if (error instanceof LimitOverrunError) {
        if (this.#byteAt(error.consumed) === 0x0a) this.#discard(error.consumed + 1);
        else this.#discard(this.#size);
        this.#maybeResume();
      }
      throw error;
    }
  }

  /**
   * Reads until `separator` is found and returns the data including it. `separator` may be a
   * list (asyncio 3.13): the shortest result that ends with any of them wins.
   *
   * @throws {IncompleteReadError} at EOF before a separator; its `partial` holds the rest of the
   * stream, which is consumed.
   * @throws {LimitOverrunError} when no separator is found within `limit` bytes; the data stays
   * buffered (`consumed` says how much to skip).
   * @throws {RangeError} for an empty separator (or list).
   */
  async readuntil(separator: Separator = NEWLINE): Promise<Buffer> {
    const seps = this.#separators(separator);
    if (this.#hasException) throw this.#exception;
    let minLen = seps[0].length;
    let maxLen = minLen;
    for (const s of seps) {
      if (s.length < minLen) minLen = s.length;
      if (s.length > maxLen) maxLen = s.length;
    }
    let offset = 0;
    for (;;) {
      if (this.#size - offset >= minLen) {
        const found = this.#find(seps, offset);
        if (found >= 0) {
          const matchEnd = found;
          const matchStart = this.#matchStart;
          if (matchStart > this.#limit) {
            throw new LimitOverrunError(
              "Separator is found, but chunk is longer than limit",
              matchStart,
            );
          }
          const chunk = this.#take(matchEnd);
          this.#maybeResume();
          return chunk;
        }
        offset = Math.max(0, this.#size + 1 - maxLen);
        if (offset > this.#limit) {
          throw new LimitOverrunError("Separator is not found, and chunk exceed the limit", offset);
        }
      }
      if (this.#eof) {
        const rest = this.#take(this.#size);
        throw new IncompleteReadError(rest, null);
      }
      // Set after the wake-up that brought us here (see `_fulfil`).
      if (this.#hasException) throw this.#exception;
      await this.#wait("readuntil", this.#size + 1, 0);
    }
  }

  /**
   * Reads exactly `n` bytes (may exceed `limit`).
   *
   * @throws {IncompleteReadError} at EOF before `n` bytes; `partial` holds what was left, and is
   * consumed. @throws {RangeError} if `n < 0`.
   */
  readexactly(n: number): Promise<Buffer> {
    const bad =
      countError("n", n) ?? (n < 0 ? rangeError("n", "a byte count of 0 or more", n) : null);
    if (bad !== null) return Promise.reject(bad);
    if (this.#hasException) return Promise.reject(this.#exception);
    if (n === 0) return RESOLVED_EMPTY;
    if (this.#size >= n) {
      const data = this.#take(n);
      if (this.#paused) this.#maybeResume();
      return Promise.resolve(data);
    }
    if (this.#eof) return Promise.reject(new IncompleteReadError(this.#take(this.#size), n));
    return this.#wait("readexactly", n, n);
  }

  /** Iterates over lines until EOF (asyncio's `async for line in reader`). */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const line = await this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }

  /** A snapshot of the buffer and flow-control state. */
  statistics(): StreamReaderStatistics {
    return {
      buffered: this.#size,
      eof: this.#eof,
      paused: this.#paused,
      waiting: this.#waiter !== null,
      limit: this.#limit,
    };
  }

  toString(): string {
    const info = ["StreamReader"];
    if (this.#size > 0) info.push(`${this.#size} bytes`);
    if (this.#eof) info.push("eof");
    if (this.#limit !== DEFAULT_LIMIT) info.push(`limit=${this.#limit}`);
    if (this.#waiter !== null) info.push("waiting");
    if (this.#hasException) info.push(`exception=${describeError(this.#exception)}`);
    if (this.#paused) info.push("paused");
    return `<${info.join(" ")}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  // ---- buffer internals ----

  /**
   * Waits until `need` bytes are buffered (or EOF, or an error), then completes the read of
   * `kind` (see {@link _fulfil}) in `task`'s wait. Not async: the caller awaits the request's
   * promise, which resolves with the bytes (see {@link ReadRequest}).
   */
  #wait(
    kind: ReadKind,
    need: number,
    n: number,
    task: TaskStore | null = currentTaskStore(),
  ): Promise<Buffer> {
    if (this.#waiter !== null) return Promise.reject(this.#busyError(kind));
    // Whatever waits needs a running loop (SPEC.md), as CPython's StreamReader needs one even
    // to be made: outside run() a read that has to wait fails instead of pending unnoticed.
    if (task === null && runningLoopOrNull() === null) {
      return Promise.reject(new RuntimeError(NO_LOOP_MESSAGE));
    }
    // Waiting while paused would deadlock (readexactly(n) with n > limit): resume first.
    if (this.#paused) {
      this.#paused = false;
      this.#transport!.resume();
    }
    const request = new ReadRequest(this, kind, need, n, task);
    startWait(request);
    if (!request._done) this.#waiter = request;
    return request.promise;
  }

  #busyError(kind: ReadKind): RuntimeError {
    return new RuntimeError(
      `${kind}() called while another task is already waiting for incoming data`,
    );
  }

  /**
   * Completes a woken read whose task resumed: takes its bytes, or throws (EOF before
   * `readexactly` had its bytes, a stream error); if the data it was woken for is gone (another
   * reader took it meanwhile), it waits again. @internal
   */
  _fulfil(request: ReadRequest): Buffer | Promise<Buffer> {
    // Invariant: a read woken by data or EOF completes with them even if an exception was set
    // between the wake-up and now (asyncio checks the exception only before waiting); the
    // exception is thrown only instead of waiting again (where asyncio would wait forever).
    const size = this.#size;
    switch (request._kind) {
      case "readuntil":
        return EMPTY; // readuntil's loop rescans, then checks EOF and the exception itself
      case "read":
        if (size > 0) {
          const data = this.#take(Math.min(request._n, size));
          if (this.#paused) this.#maybeResume();
          return data;
        }
        if (this.#eof) return EMPTY;
        break;
      case "readexactly":
        if (size >= request._n) {
          const data = this.#take(request._n);
          if (this.#paused) this.#maybeResume();
          return data;
        }
        if (this.#eof) throw new IncompleteReadError(this.#take(size), request._n);
        break;
    }
    if (this.#hasException) throw this.#exception;
    return this.#wait(request._kind, request._need, request._n, request._task);
  }

  /** A waiting read was cancelled. @internal */
  _forget(request: ReadRequest): void {
    if (this.#waiter === request) this.#waiter = null;
  }

  #maybeResume(): void {
    if (this.#paused && this.#size <= this.#limit) {
      this.#paused = false;
      this.#transport!.resume();
    }
  }

  #separators(separator: Separator): Buffer[] {
    if (separator === NEWLINE) return NEWLINE as Buffer[];
    const list = Array.isArray(separator) ? separator : [separator as Uint8Array | string];
    if (list.length === 0) {
      throw rangeError("separator", "a non-empty separator or list of separators", separator);
    }
    const out: Buffer[] = [];
    for (const s of list) {
      const b = toBuffer("separator", s);
      if (b.length === 0) {
        throw rangeError("separator", "at least one byte (an empty separator never matches)", s);
      }
      out.push(b);
    }
    // As asyncio: shortest first, so that of two matches ending at the same byte the shorter
    // separator wins (the one whose start the limit is checked against).
    if (out.length > 1) out.sort((a, b) => a.length - b.length);
    return out;
  }

  /** Start of the match found by the last successful `#find`. */
  #matchStart = 0;

  /**
   * Finds the earliest-ending match of any separator starting at or after logical position
   * `from`; returns the match end (exclusive) and sets `#matchStart`, or returns -1.
   */
  #find(seps: Buffer[], from: number): number {
    if (seps.length === 1 && seps[0].length === 1) return this.#findByte(seps[0][0], from);
    // Multi-byte separators may straddle chunks: search one contiguous buffer.
    if (from >= this.#size) return -1;
    const [buf, base] = this.#coalesceFrom(from);
    let bestEnd = -1;
    for (const sep of seps) {
      const i = buf.indexOf(sep, base);
      if (i >= 0) {
        const end = from + i - base + sep.length;
        if (bestEnd < 0 || end < bestEnd) {
          bestEnd = end;
          this.#matchStart = from + i - base;
        }
      }
    }
    return bestEnd;
  }

  #findByte(byte: number, from: number): number {
    const chunks = this.#chunks;
    let i = this.#head;
    let pos = 0; // logical position of chunk i's first unread byte
    if (from > this.#size / 2) {
      // A readuntil waiting over many chunks searches only the newest bytes: find their chunk
      // from the end, so that each new chunk does not cost a walk over all the older ones.
      i = chunks.length;
      pos = this.#size;
      while (pos > from && i > this.#head) {
        i--;
        pos -= chunks[i].length - (i === this.#head ? this.#offset : 0);
      }
    }
    for (; i < chunks.length; i++) {
      const chunk = chunks[i];
      const start = i === this.#head ? this.#offset : 0;
      const len = chunk.length - start;
      if (pos + len > from) {
        const at = chunk.indexOf(byte, start + Math.max(0, from - pos));
        if (at >= 0) {
          this.#matchStart = pos + (at - start);
          return this.#matchStart + 1;
        }
      }
      pos += len;
    }
    return -1;
  }

  #byteAt(index: number): number {
    if (index >= this.#size) return -1;
    const chunks = this.#chunks;
    let pos = index;
    for (let i = this.#head; i < chunks.length; i++) {
      const start = i === this.#head ? this.#offset : 0;
      const len = chunks[i].length - start;
      if (pos < len) return chunks[i][start + pos];
      pos -= len;
    }
    return -1;
  }

  /**
   * Makes the bytes from logical position `from` (`< size`) to the end one chunk, and returns
   * it with the index in it of position `from`. Only those bytes are copied, and only when
   * they span chunks: the bytes before `from` (searched already) stay as they are. Why:
   * merging the whole buffer on each new chunk made a `readuntil` with a multi-byte separator
   * and a large `limit` quadratic (4 MiB in 1 KiB chunks: 4 s; asyncio: 44 ms).
   */
  #coalesceFrom(from: number): [Buffer, number] {
    const chunks = this.#chunks;
    const head = this.#head;
    const unread = (k: number) => chunks[k].length - (k === head ? this.#offset : 0);
    // The chunk holding `from`, looked for from the end: a search resumes near the end.
    let i = chunks.length - 1;
    let start = this.#size - unread(i); // logical position of chunk i's first unread byte
    while (start > from) {
      i--;
      start -= unread(i);
    }
    const at = (i === head ? this.#offset : 0) + (from - start);
    if (i === chunks.length - 1) return [chunks[i], at];
    const chunk = chunks[i];
    const tail = Buffer.concat([chunk.subarray(at), ...chunks.slice(i + 1)]);
    chunks.length = i;
    // Chunk i's bytes before `from` stay, as a view (at the same indexes, so a head chunk keeps
    // its offset); when it has none, the tail takes its place.
    if (at > (i === head ? this.#offset : 0)) chunks.push(chunk.subarray(0, at));
    else if (i === head) this.#offset = 0;
    chunks.push(tail);
    return [tail, 0];
  }

  /** Removes and returns the first `n` bytes (`0 < n <= size`, or 0). */
  #take(n: number): Buffer {
    if (n === 0) return EMPTY;
    let first = this.#chunks[this.#head];
    let offset = this.#offset;
    const avail = first.length - offset;
    let out: Buffer;
    if (n <= avail) {
      if (offset === 0 && n === avail) out = first;
      else {
        out = Buffer.allocUnsafe(n);
        first.copy(out, 0, offset, offset + n);
      }
      offset += n;
      if (offset === first.length) {
        this.#advance();
        offset = 0;
      }
      this.#offset = offset;
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        // Not a local copy of `#chunks`: `#advance()` may compact it into a new array (past
        // 1024 consumed chunks), and a stale one then yields emptied chunks forever.
        first = this.#chunks[this.#head];
        const count = Math.min(first.length - offset, n - filled);
        first.copy(out, filled, offset, offset + count);
        filled += count;
        offset += count;
        if (offset === first.length) {
          this.#advance();
          offset = 0;
        }
      }
      this.#offset = offset;
    }
    this.#size -= n;
    return out;
  }

  /** Drops the first `n` bytes. */
  #discard(n: number): void {
    if (n >= this.#size) {
      this.#chunks = [];
      this.#head = 0;
      this.#offset = 0;
      this.#size = 0;
      return;
    }
    this.#take(n);
  }

  #advance(): void {
    const chunks = this.#chunks;
    chunks[this.#head] = EMPTY;
    this.#head++;
    if (this.#head === chunks.length) {
      // The usual case, one chunk, by pop(): setting the length to 0 drops the backing store,
      // which the next push then allocates again (about 10 ns against 170 ns in a loop).
      if (chunks.length === 1) chunks.pop();
      else chunks.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= chunks.length) {
      this.#chunks = chunks.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Puts bytes back at the front of the buffer (a cancelled `read()` returning its blocks). */
  #unshift(blocks: Buffer[], total: number): void {
    if (total === 0) return;
    const rest = this.#chunks.slice(this.#head);
    if (rest.length > 0 && this.#offset > 0) rest[0] = rest[0].subarray(this.#offset);
    this.#chunks = [...blocks, ...rest];
    this.#head = 0;
    this.#offset = 0;
    this.#size += total;
    if (this.#size > 2 * this.#limit && !this.#paused && this.#transport !== null) {
      this.#paused = true;
      this.#transport.pause();
    }
  }
}

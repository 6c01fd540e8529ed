/**
 * A minimal WebSocket client over `node:net`, enough to talk to a Node inspector (the CLI's
 * `ps`/`pstree` use it): the opening handshake of RFC 6455, masked text frames out, unmasked
 * frames in (text, continuation, ping, close). Node 20 has no WebSocket client of its own and the
 * core takes no dependencies.
 *
 * Not a general client: no extensions, no subprotocols, no TLS, and messages are buffered whole.
 * The inspector only ever sends text frames (JSON) and answers pings.
 *
 * Invariants:
 * - Every frame the client sends is masked with a fresh random key (RFC 6455 §5.3).
 * - The handshake is accepted only with status 101 and the `Sec-WebSocket-Accept` the key implies.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** The `Sec-WebSocket-Accept` value a server must answer to `key`. */
export function acceptKey(key: string): string {
  return createHash("sha1")
    .update(key + GUID)
    .digest("base64");
}

/** One frame, masked (as a client must send it) unless `mask` is false. */
export function encodeFrame(opcode: number, payload: Buffer, mask = true): Buffer {
  const length = payload.length;
  const extra = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const header = Buffer.alloc(2 + extra + (mask ? 4 : 0));
  header[0] = 0x80 | opcode;
  header[1] = (mask ? 0x80 : 0) | (extra === 0 ? length : extra === 2 ? 126 : 127);
  if (extra === 2) header.writeUInt16BE(length, 2);
  else if (extra === 8) header.writeBigUInt64BE(BigInt(length), 2);
  if (!mask) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  key.copy(header, 2 + extra);
  const body = Buffer.alloc(length);
  for (let i = 0; i < length; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([header, body]);
}

/** A decoded frame, and how many bytes of the buffer it used. */
export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
  size: number;
}

/** Decodes the frame at the start of `buffer`, or returns null if it is not complete yet. */
export function decodeFrame(buffer: Buffer): Frame | null {
  if (buffer.length < 2) return null;
  const fin = (buffer[0] & 0x80) !== 0;
  const opcode = buffer[0] & 0x0f;
  const masked = (buffer[1] & 0x80) !== 0;
  let length = buffer[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return null;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return null;
    const big = buffer.readBigUInt64BE(2);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError("WebSocket frame too large");
    length = Number(big);
    offset = 10;
  }
  const keyOffset = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return null;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (masked) {
    for (let i = 0; i < length; i++) payload[i] ^= buffer[keyOffset + (i & 3)];
  }
  return { fin, opcode, payload, size: offset + length };
}

/** An open WebSocket connection that delivers whole text messages. */
export class WebSocketClient {
  readonly #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #closed = false;
  /** Messages that arrived before `onMessage` was set (a server may speak first). */
  #backlog: string[] | null = [];
  #onMessage: ((text: string) => void) | null = null;
  #onClose: ((error?: Error) => void) | null = null;
  /** Set once the connection ended: `[error]`. */
  #ending: [Error | undefined] | null = null;

  private constructor(socket: Socket, rest: Buffer) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => this.#receive(chunk));
    socket.on("error", (error) => this.#end(error));
    socket.on("close", () => this.#end());
    if (rest.length > 0) this.#receive(rest);
  }

  /** Called with each complete text message; those that came before it was set, at once. */
  set onMessage(listener: (text: string) => void) {
    this.#onMessage = listener;
    const backlog = this.#backlog;
    this.#backlog = null;
    if (backlog !== null) for (const text of backlog) listener(text);
  }

  /** Called once when the connection ends, with the error if it failed (at once if it has). */
  set onClose(listener: (error?: Error) => void) {
    this.#onClose = listener;
    if (this.#ending !== null) listener(this.#ending[0]);
  }

  /**
   * Opens `url` (`ws://host:port/path`), resolving once the handshake succeeded. Rejects on a
   * refused connection, a bad handshake, or after `timeoutMs`.
   */
  static connect(url: string, timeoutMs: number): Promise<WebSocketClient> {
    const target = new URL(url);
    if (target.protocol !== "ws:") {
      return Promise.reject(new RangeError(`Expected a ws:// URL, got ${JSON.stringify(url)}`));
    }
    const port = Number(target.port || 80);
    const key = randomBytes(16).toString("base64");
    return new Promise((resolve, reject) => {
      const socket = connect({ host: target.hostname, port });
      let head = Buffer.alloc(0);
      const timer = setTimeout(
        () => fail(new Error(`WebSocket handshake with ${url} timed out`)),
        timeoutMs,
      );
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        socket.off("data", onData);
        socket.off("error", fail);
        clearTimeout(timer);
        const lines = head.subarray(0, end).toString("latin1").split("\r\n");
        const status = /^HTTP\/1\.1 (\d{3})/.exec(lines[0]);
        const headers = new Map<string, string>();
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(":");
          if (colon > 0) {
            headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
          }
        }
        if (status === null || status[1] !== "101") {
          fail(new Error(`WebSocket handshake with ${url} failed: ${lines[0]}`));
        } else if (headers.get("sec-websocket-accept") !== acceptKey(key)) {
          fail(new Error(`WebSocket handshake with ${url} failed: bad Sec-WebSocket-Accept`));
        } else resolve(new WebSocketClient(socket, head.subarray(end + 4)));
      };
      socket.on("data", onData);
      socket.on("error", fail);
      socket.on("connect", () => {
        socket.write(
          `GET ${target.pathname}${target.search} HTTP/1.1\r\n` +
            `Host: ${target.host}\r\n` +
            "Upgrade: websocket\r\n" +
            "Connection: Upgrade\r\n" +
            `Sec-WebSocket-Key: ${key}\r\n` +
            "Sec-WebSocket-Version: 13\r\n\r\n",
        );
      });
    });
  }

  /** Sends a text message. */
  send(text: string): void {
    if (this.#closed) throw new Error("WebSocket is closed");
    this.#socket.write(encodeFrame(OP_TEXT, Buffer.from(text, "utf8")));
  }

  /** Sends a close frame and ends the connection. */
  close(): void {
    if (this.#closed) return;
    this.#socket.end(encodeFrame(OP_CLOSE, Buffer.from([0x03, 0xe8]))); // 1000: normal closure
    this.#end();
  }

  #receive(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      let frame: Frame | null;
      try {
        frame = decodeFrame(this.#buffer);
      } catch (error) {
        this.#socket.destroy();
        this.#end(error as Error);
        return;
      }
      if (frame === null) return;
      this.#buffer = this.#buffer.subarray(frame.size);
      this.#handle(frame);
      if (this.#closed) return;
    }
  }

  #handle(frame: Frame): void {
    switch (frame.opcode) {
      case OP_TEXT:
      case OP_BINARY:
      case OP_CONTINUATION:
        this.#fragments.push(frame.payload);
        if (frame.fin) {
          const text = Buffer.concat(this.#fragments).toString("utf8");
          this.#fragments = [];
          if (this.#onMessage !== null) this.#onMessage(text);
          else this.#backlog?.push(text);
        }
        return;
      case OP_PING:
        this.#socket.write(encodeFrame(OP_PONG, frame.payload));
        return;
      case OP_CLOSE:
        this.close();
        return;
      default:
        // Pongs and reserved opcodes carry nothing for us.
        return;
    }
  }

  #end(error?: Error): void {
    if (this.#ending !== null) return;
    this.#closed = true;
    this.#ending = [error];
    this.#onClose?.(error);
  }
}

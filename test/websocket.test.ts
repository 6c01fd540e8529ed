/**
 * The minimal WebSocket client of the command line tool (src/introspection/websocket.ts):
 * RFC 6455's handshake example, frame encoding at each length form, masking, and a session
 * against a small server written here over node:net (fragmented messages, ping, close, a bad
 * handshake, a server that never answers).
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { describe, test } from "node:test";
import {
  acceptKey,
  decodeFrame,
  encodeFrame,
  WebSocketClient,
} from "../src/introspection/websocket.ts";

describe("WebSocket frames", () => {
  test("the accept key of RFC 6455's example", () => {
    assert.equal(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });

  test("frames round-trip at every length form, masked and not", () => {
    for (const length of [0, 5, 125, 126, 1000, 65_535, 65_536, 70_000]) {
      const payload = Buffer.alloc(length, 0x61);
      for (const mask of [true, false]) {
        const frame = encodeFrame(0x1, payload, mask);
        assert.equal((frame[1] & 0x80) !== 0, mask);
        const decoded = decodeFrame(frame)!;
        assert.equal(decoded.size, frame.length);
        assert.equal(decoded.fin, true);
        assert.equal(decoded.opcode, 0x1);
        assert.ok(decoded.payload.equals(payload), `length ${length}`);
        assert.equal(decodeFrame(frame.subarray(0, frame.length - 1)), null, "incomplete");
      }
    }
  });

  test("a masked frame does not carry its payload in the clear", () => {
    const frame = encodeFrame(0x1, Buffer.from("secret secret secret"));
    assert.ok(!frame.includes(Buffer.from("secret")));
  });
});

/** A one-connection WebSocket server; `onOpen` gets the socket after the handshake. */
function serve(onOpen: (socket: Socket) => void, handshake = true): Promise<Server> {
  const server = createServer((socket) => {
    let head = "";
    socket.on("data", function onData(chunk: Buffer) {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      const key = /Sec-WebSocket-Key: (.*)\r\n/.exec(head)![1];
      if (!handshake) {
        socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
        return;
      }
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
      );
      onOpen(socket);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function urlOf(server: Server): string {
  return `ws://127.0.0.1:${(server.address() as { port: number }).port}/session`;
}

describe("WebSocketClient", () => {
  test("exchanges text messages, reassembles fragments and answers pings", async () => {
    const received: string[] = [];
    let pong: Buffer | null = null;
    const server = await serve((socket) => {
      let buffer = Buffer.alloc(0);
      socket.on("data", (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        for (let f = decodeFrame(buffer); f !== null; f = decodeFrame(buffer)) {
          buffer = buffer.subarray(f.size);
          if (f.opcode === 0xa) pong = f.payload;
          else if (f.opcode === 0x1) received.push(f.payload.toString());
        }
      });
      // A ping, then "hello world" in two fragments, unmasked as a server sends them.
      const first = encodeFrame(0x1, Buffer.from("hello "), false);
      first[0] &= 0x7f; // not FIN
      socket.write(
        Buffer.concat([
          encodeFrame(0x9, Buffer.from("p"), false),
          first,
          encodeFrame(0x0, Buffer.from("world"), false),
        ]),
      );
    });
    try {
      const ws = await WebSocketClient.connect(urlOf(server), 5000);
      const message = await new Promise<string>((resolve) => (ws.onMessage = resolve));
      assert.equal(message, "hello world");
      ws.send('{"id":1}');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(received, ['{"id":1}']);
      assert.ok(pong !== null && (pong as Buffer).toString() === "p");
      const closed = new Promise<Error | undefined>((resolve) => (ws.onClose = resolve));
      ws.close();
      assert.equal(await closed, undefined);
      assert.throws(() => ws.send("late"), /closed/);
    } finally {
      server.close();
    }
  });

  test("a close frame from the server ends the connection", async () => {
    const server = await serve((socket) => socket.write(encodeFrame(0x8, Buffer.alloc(0), false)));
    try {
      const ws = await WebSocketClient.connect(urlOf(server), 5000);
      await new Promise<void>((resolve) => (ws.onClose = () => resolve()));
    } finally {
      server.close();
    }
  });

  test("a refused handshake, a wrong URL and a silent server are errors", async () => {
    const refusing = await serve(() => {}, false);
    try {
      await assert.rejects(WebSocketClient.connect(urlOf(refusing), 5000), /404 Not Found/);
    } finally {
      refusing.close();
    }
    await assert.rejects(WebSocketClient.connect("http://127.0.0.1:1/", 100), RangeError);
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      await assert.rejects(WebSocketClient.connect(urlOf(silent), 100), /timed out/);
    } finally {
      silent.close();
    }
  });
});

/**
 * Conformance: StreamReader and TCP stream scenarios from CPython's test_streams that
 * streams.test.ts does not pin. The fed-data scenarios run on the virtual clock; the socket ones
 * use real sockets on 127.0.0.1 with ports chosen by the OS, and never assert on durations (the
 * timeouts are hang guards).
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import {
  CancelledError,
  createTask,
  currentTask,
  Event,
  type ExceptionContext,
  getRunningLoop,
  IncompleteReadError,
  LimitOverrunError,
  openConnection,
  run,
  type Server,
  StreamReader,
  type StreamWriter,
  sleep,
  startServer,
} from "../src/index.ts";
import { errorOf, runVirtual } from "./helpers.ts";

const DATA = "line1\nline2\nline3\n";
const GUARD = { timeout: 20_000 };
const realRun = <T>(main: () => Promise<T>) => run(main, { handleSignals: false });

/**
 * Runs `main` as `realRun` does and checks that nothing reached the loop's exception handler by
 * the end of `run()` (CPython's stream tests collect the handler's messages the same way).
 */
async function quietRun(main: () => Promise<void>): Promise<void> {
  const reported: ExceptionContext[] = [];
  await realRun(async () => {
    getRunningLoop().setExceptionHandler((_loop, context) => reported.push(context));
    await main();
  });
  assert.deepEqual(reported, []);
}

/** Closes the client's writer, then the server, and waits for both. */
async function closeBoth(writer: StreamWriter, server: Server): Promise<void> {
  writer.close();
  await writer.waitClosed();
  server.close();
  await server.waitClosed();
}

/** The bytes still buffered, read without waiting (the reader must be at EOF or have them). */
async function rest(reader: StreamReader): Promise<string> {
  const n = reader.statistics().buffered;
  return n === 0 ? "" : (await reader.readexactly(n)).toString();
}

describe("conformance: StreamReader fed by hand", () => {
  it("feeding no bytes buffers nothing and does not wake a waiting read (test_feed_empty_data)", () =>
    runVirtual(async () => {
      const reader = new StreamReader();
      const task = createTask(() => reader.read(10));
      await sleep(0);
      reader.feedData("");
      reader.feedData(new Uint8Array(0));
      await sleep(0);
      assert.equal(task.done(), false);
      assert.equal(reader.statistics().buffered, 0);
      reader.feedData("x");
      assert.equal((await task).toString(), "x");
    }));

  it("read(0) and readexactly(0) return nothing and leave the buffer; readexactly(-1) consumes nothing (test_read_zero, test_readexactly_zero_or_less)", () =>
    runVirtual(async () => {
      const reader = new StreamReader();
      reader.feedData(DATA);
      assert.equal((await reader.read(0)).length, 0);
      assert.equal((await reader.readexactly(0)).length, 0);
      assert.ok((await errorOf(reader.readexactly(-1))) instanceof RangeError);
      assert.equal(await rest(reader), DATA);
    }));

  it("a waiting read(1024) gets an empty Buffer at EOF; a waiting read(-1) collects every chunk until EOF (test_read_eof, test_read_until_eof)", () =>
    runVirtual(async () => {
      const loop = getRunningLoop();
      const first = new StreamReader();
      const atEof = createTask(() => first.read(1024));
      loop.callSoon(() => first.feedEof());
      assert.equal((await atEof).length, 0);

      const second = new StreamReader();
      const all = createTask(() => second.read(-1));
      loop.callSoon(() => {
        second.feedData("chunk1\n");
        second.feedData("chunk2");
        second.feedEof();
      });
      assert.equal((await all).toString(), "chunk1\nchunk2");
      assert.equal(second.statistics().buffered, 0);
    }));

  it("read(n) and readexactly(n) may return more than the limit (test_read_limit, test_readexactly_limit)", () =>
    runVirtual(async () => {
      for (const read of [(r: StreamReader) => r.read(5), (r: StreamReader) => r.readexactly(5)]) {
        const reader = new StreamReader({ limit: 3 });
        reader.feedData("chunk");
        assert.equal((await read(reader)).toString(), "chunk");
        assert.equal(reader.statistics().buffered, 0);
      }
    }));

  it("a waiting readline returns through the newline fed in later chunks and leaves the rest (test_readline)", () =>
    runVirtual(async () => {
      const reader = new StreamReader();
      reader.feedData("chunk1 ");
      const line = createTask(() => reader.readline());
      getRunningLoop().callSoon(() => {
        reader.feedData("chunk2 ");
        reader.feedData("chunk3 ");
        reader.feedData("\n chunk4");
      });
      assert.equal((await line).toString(), "chunk1 chunk2 chunk3 \n");
      reader.feedEof();
      assert.equal(await rest(reader), " chunk4");
    }));

  it("a waiting readline past the limit discards the long line but keeps the next one (test_readline_limit)", () =>
    runVirtual(async () => {
      const loop = getRunningLoop();
      for (const [chunks, left] of [
        [["chunk1", "chunk2", "chunk3\n"], ""],
        [["chunk1", "chunk2\n", "chunk3\n"], "chunk3\n"],
      ] as const) {
        const reader = new StreamReader({ limit: 7 });
        loop.callSoon(() => {
          for (const c of chunks) reader.feedData(c);
          reader.feedEof();
        });
        // asyncio raises ValueError: asyncio-ts's LimitOverrunError is a RangeError.
        assert.ok((await errorOf(reader.readline())) instanceof RangeError);
        assert.equal(await rest(reader), left);
      }
    }));

  it("readline's limit is strict: a 7-byte line and its newline pass a limit of 7, an 8-byte one does not (test_readline_limit)", () =>
    runVirtual(async () => {
      const reader = new StreamReader({ limit: 7 });
      reader.feedData("1234567\n");
      assert.equal((await reader.readline()).toString(), "1234567\n");
      assert.equal(reader.statistics().buffered, 0);
      reader.feedData("12345678\n");
      assert.ok((await errorOf(reader.readline())) instanceof LimitOverrunError);
      assert.equal(reader.statistics().buffered, 0);
      reader.feedData("12345678");
      assert.ok((await errorOf(reader.readline())) instanceof LimitOverrunError);
      assert.equal(reader.statistics().buffered, 0);
    }));

  it("atEof() is true only once EOF was fed and every byte was read (test_at_eof)", () =>
    runVirtual(async () => {
      const reader = new StreamReader();
      assert.equal(reader.atEof(), false);
      reader.feedData("some data\n");
      assert.equal(reader.atEof(), false);
      await reader.readline();
      assert.equal(reader.atEof(), false);
      reader.feedData("some data\n");
      reader.feedEof();
      assert.equal(reader.atEof(), false);
      await reader.readline();
      assert.equal(reader.atEof(), true);
    }));

  it("readuntil finds a three-byte separator whatever the chunks cut it into (test_readuntil_multi_chunks, test_readuntil_multi_chunks_1)", () =>
    runVirtual(async () => {
      const reader = new StreamReader();
      for (const [sep, chunks, expected, left] of [
        ["AAA", ["lineAAA"], "lineAAA", ""],
        ["AAA", ["lineAAAxxx"], "lineAAA", "xxx"],
        ["aaa", ["QWEaa", "XYaa", "a"], "QWEaaXYaaa", ""],
        ["aaa", ["QWEaa", "XYa", "aa"], "QWEaaXYaaa", ""],
        ["aaa", ["aaa"], "aaa", ""],
        ["aaa", ["Xaaa"], "Xaaa", ""],
        ["aaa", ["XXX", "a", "a", "a"], "XXXaaa", ""],
      ] as const) {
        for (const c of chunks) reader.feedData(c);
        assert.equal((await reader.readuntil(sep)).toString(), expected);
        assert.equal(reader.statistics().buffered, left.length);
        if (left !== "") assert.equal((await reader.read(left.length)).toString(), left);
      }
    }));

  it("readuntil also waits for a separator split across chunks fed while it waits", () =>
    runVirtual(async () => {
      const reader = new StreamReader();
      const found = createTask(() => reader.readuntil("aaa"));
      for (const c of ["QWEaa", "XYa", "a", "a"]) {
        await sleep(0);
        reader.feedData(c);
      }
      assert.equal((await found).toString(), "QWEaaXYaaa");
      assert.equal(reader.statistics().buffered, 0);
    }));

  it("readuntil takes a plain Uint8Array separator, not only a Buffer (test_readuntil_bytearray)", () =>
    runVirtual(async () => {
      const reader = new StreamReader();
      reader.feedData("some data\r\n");
      assert.equal((await reader.readuntil(new Uint8Array([13, 10]))).toString(), "some data\r\n");
      assert.equal(reader.statistics().buffered, 0);
    }));

  it("IncompleteReadError says how many bytes were read of how many expected, and consumes them (test_readuntil_eof, test_readexactly_eof)", () =>
    runVirtual(async () => {
      const untilEof = new StreamReader();
      untilEof.feedData("some dataAA");
      untilEof.feedEof();
      const e1 = await errorOf(untilEof.readuntil("AAA"));
      assert.ok(e1 instanceof IncompleteReadError);
      assert.equal(e1.message, "11 bytes read on a total of undefined expected bytes");
      assert.equal(Buffer.from(e1.partial).toString(), "some dataAA");
      assert.equal(e1.expected, null);
      assert.equal(untilEof.statistics().buffered, 0);

      const exactly = new StreamReader();
      const read = createTask(() => exactly.readexactly(2 * DATA.length));
      getRunningLoop().callSoon(() => {
        exactly.feedData(DATA);
        exactly.feedEof();
      });
      const e2 = await errorOf(read);
      assert.ok(e2 instanceof IncompleteReadError);
      assert.equal(e2.message, "18 bytes read on a total of 36 expected bytes");
      assert.equal(Buffer.from(e2.partial).toString(), DATA);
      assert.equal(e2.expected, 36);
      assert.equal(exactly.statistics().buffered, 0);
    }));

  it("readuntil past the limit says whether the separator was found, and keeps the data either way (test_readuntil_limit_found_sep)", () =>
    runVirtual(async () => {
      const reader = new StreamReader({ limit: 3 });
      reader.feedData("some dataAA");
      const notFound = await errorOf(reader.readuntil("AAA"));
      assert.ok(notFound instanceof LimitOverrunError);
      assert.match(notFound.message, /not found/);
      assert.equal(notFound.consumed, 9);
      assert.equal(reader.statistics().buffered, 11);
      reader.feedData("A");
      const found = await errorOf(reader.readuntil("AAA"));
      assert.ok(found instanceof LimitOverrunError);
      assert.match(found.message, /is found/);
      assert.equal(found.consumed, 9);
      reader.feedEof();
      assert.equal(await rest(reader), "some dataAAA");
    }));

  it("with several separators the limit check skips back by the longest one (asyncio 3.13)", () =>
    runVirtual(async () => {
      const reader = new StreamReader({ limit: 5 });
      reader.feedData("0123456789");
      const error = await errorOf(reader.readuntil(["!", "---"]));
      assert.ok(error instanceof LimitOverrunError);
      // 10 bytes searched; a 3-byte separator could still start at byte 8.
      assert.equal(error.consumed, 8);
      assert.equal(reader.statistics().buffered, 10);
    }));

  it("a waiting readexactly(2n) fed three times n bytes returns 2n and leaves n (test_readexactly)", () =>
    runVirtual(async () => {
      const reader = new StreamReader();
      const read = createTask(() => reader.readexactly(2 * DATA.length));
      getRunningLoop().callSoon(() => {
        for (let i = 0; i < 3; i++) reader.feedData(DATA);
      });
      assert.equal((await read).toString(), DATA + DATA);
      reader.feedEof();
      assert.equal(await rest(reader), DATA);
    }));

  it("exception() is null until setException; a readline cancelled before it leaves no waiter behind (test_exception, test_exception_cancel)", () =>
    runVirtual(async () => {
      const reader = new StreamReader();
      assert.equal(reader.exception(), null);
      const line = createTask(() => reader.readline());
      await sleep(0);
      line.cancel();
      assert.ok((await errorOf(line)) instanceof CancelledError);
      const error = new RangeError("message");
      reader.setException(error);
      await sleep(0);
      assert.equal(reader.exception(), error);
      assert.equal(reader.statistics().waiting, false);
      assert.equal(await errorOf(reader.readline()), error);
    }));

  it("the inspect string shows only what differs from a fresh reader (test___repr__*)", () =>
    runVirtual(async () => {
      assert.equal(String(new StreamReader()), "<StreamReader>");
      assert.equal(String(new StreamReader({ limit: 123 })), "<StreamReader limit=123>");
      const atEof = new StreamReader();
      atEof.feedEof();
      assert.equal(String(atEof), "<StreamReader eof>");
      const withData = new StreamReader();
      withData.feedData("data");
      assert.equal(String(withData), "<StreamReader 4 bytes>");
    }));

  it('the inspect string shows a stream exception as a Task shows one, <StreamReader exception=Name("message")> (test___repr__exception)', () =>
    runVirtual(async () => {
      const reader = new StreamReader();
      reader.setException(new RangeError("boom"));
      assert.equal(String(reader), '<StreamReader exception=RangeError("boom")>');
      const failed = createTask(async () => {
        throw new RangeError("boom");
      });
      await errorOf(failed);
      assert.match(String(failed), / exception=RangeError\("boom"\)>$/);
    }));
});

async function echoLineServer(handler?: "callback"): Promise<Server> {
  const echo = async (reader: StreamReader, writer: StreamWriter) => {
    const line = await reader.readline();
    writer.write(line);
    await writer.drain();
    writer.close();
    await writer.waitClosed();
  };
  return handler === "callback"
    ? // A plain function that starts a task of its own and returns nothing.
      startServer(
        (reader, writer) => {
          createTask(() => echo(reader, writer));
        },
        "127.0.0.1",
        0,
      )
    : startServer(echo, "127.0.0.1", 0);
}

describe("conformance: TCP streams", () => {
  for (const kind of ["async function", "callback"] as const) {
    it(
      `a server whose client handler is ${kind === "callback" ? "a plain callback starting a task" : "an async function"} echoes a line; nothing is reported (test_start_server)`,
      GUARD,
      () =>
        quietRun(async () => {
          const server = await echoLineServer(kind === "callback" ? "callback" : undefined);
          const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
          writer.write("hello world!\n");
          assert.equal((await reader.readline()).toString(), "hello world!\n");
          await closeBoth(writer, server);
        }),
    );
  }

  it(
    "writing and draining to a peer that closed at once ends in a connection error, not a hang (test_drain_raises)",
    GUARD,
    async () => {
      // The peer is a plain Node server, as CPython's test uses a plain socket in a thread.
      const peer = net.createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => peer.listen(0, "127.0.0.1", resolve));
      const { port } = peer.address() as net.AddressInfo;
      try {
        await quietRun(async () => {
          const [, writer] = await openConnection("127.0.0.1", port);
          const error = await errorOf(
            (async () => {
              for (;;) {
                writer.write("foo\n");
                await writer.drain();
              }
            })(),
          );
          assert.ok(
            ["ECONNRESET", "EPIPE", "ECONNABORTED"].includes(
              String((error as NodeJS.ErrnoException).code),
            ),
            String(error),
          );
          writer.close();
        });
      } finally {
        await new Promise<void>((resolve) => peer.close(() => resolve()));
      }
    },
  );

  it(
    "isClosing() turns true at close(); waitClosed() completes even with unread data buffered (test_wait_closed_on_close, test_wait_closed_on_close_with_unread_data)",
    GUARD,
    () =>
      realRun(async () => {
        await using server = await startServer(
          async (reader, writer) => {
            writer.write("line one\nline two\nand more\n");
            await writer.drain();
            await reader.read(); // until the client closes: then the server side closes too
            writer.close();
          },
          "127.0.0.1",
          0,
        );
        const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
        assert.equal((await reader.readline()).toString(), "line one\n");
        assert.equal(writer.isClosing(), false);
        writer.close();
        assert.equal(writer.isClosing(), true);
        await writer.waitClosed();
      }),
  );

  it(
    "after close() and waitClosed() the client's reader is at EOF and read() returns nothing (test_eof_feed_when_closing_writer)",
    GUARD,
    () =>
      quietRun(async () => {
        await using server = await startServer(() => sleep(60_000), "127.0.0.1", 0);
        const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
        writer.close();
        await writer.waitClosed();
        assert.equal(reader.atEof(), true);
        assert.equal((await reader.read()).length, 0);
        server.closeClients();
      }),
  );

  it(
    "a client handler that closes its writer and cancels itself is not reported (test_unhandled_cancel)",
    GUARD,
    () =>
      quietRun(async () => {
        const handled = new Event();
        const server = await startServer(
          async (_reader, writer) => {
            writer.close();
            handled.set();
            // The task cancels itself; the CancelledError comes at its next wait.
            currentTask()!.cancel();
            await sleep(0);
          },
          "127.0.0.1",
          0,
        );
        const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
        await handled.wait();
        assert.equal((await reader.read()).length, 0);
        await closeBoth(writer, server);
      }),
  );

  it(
    "a connection lost with an error fails the pending read with that error; nothing is reported (test_open_connection_error)",
    GUARD,
    () =>
      quietRun(async () => {
        await using server = await startServer(() => sleep(60_000), "127.0.0.1", 0);
        const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
        const lost = new RangeError("connection lost on purpose");
        const reading = createTask(() => reader.read());
        await sleep(0);
        writer.transport.destroy(lost);
        assert.equal(await errorOf(reading), lost);
        assert.equal(reader.exception(), lost);
        writer.close();
        server.closeClients();
      }),
  );

  it(
    "several tasks draining one paused writer at once all resume once the peer reads (gh-74116)",
    GUARD,
    () =>
      realRun(async () => {
        const CHUNK = Buffer.alloc(64 * 1024, 122);
        const startReading = new Event();
        const allRead = getRunningLoop().createFuture<number>();
        await using server = await startServer(
          async (reader, writer) => {
            await startReading.wait();
            let received = 0;
            for (;;) {
              const data = await reader.read(65536);
              if (data.length === 0) break;
              received += data.length;
            }
            allRead.setResult(received);
            writer.close();
          },
          "127.0.0.1",
          0,
        );
        const [, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
        let sent = 0;
        while (writer.transport.writableLength < writer.transport.writableHighWaterMark) {
          writer.write(CHUNK);
          sent += CHUNK.length;
          await sleep(0);
        }
        const drainers = Array.from({ length: 5 }, () => createTask(() => writer.drain()));
        await sleep(0);
        assert.equal(
          drainers.some((t) => t.done()),
          false,
        );
        startReading.set();
        await Promise.all(drainers);
        assert.ok(drainers.every((t) => t.done() && !t.cancelled()));
        writer.close();
        assert.equal(await allRead, sent);
        await writer.waitClosed();
      }),
  );

  it(
    "the server side's peername is the client's sockname and the other way round (get_extra_info)",
    GUARD,
    () =>
      realRun(async () => {
        const serverSide = getRunningLoop().createFuture<StreamWriter>();
        await using server = await startServer(
          (_reader, writer) => {
            serverSide.setResult(writer);
            return sleep(60_000);
          },
          "127.0.0.1",
          0,
        );
        const port = server.sockets[0].port;
        const [, client] = await openConnection("127.0.0.1", port);
        const accepted = await serverSide;
        assert.deepEqual(accepted.getExtraInfo("peername"), client.getExtraInfo("sockname"));
        assert.deepEqual(accepted.getExtraInfo("sockname"), ["127.0.0.1", port]);
        assert.deepEqual(client.getExtraInfo("peername"), ["127.0.0.1", port]);
        assert.equal(accepted.getExtraInfo("no such key", "fallback"), "fallback");
        client.close();
        server.closeClients();
      }),
  );
});

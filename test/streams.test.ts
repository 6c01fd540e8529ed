/**
 * Streams: StreamReader on fed data (virtual clock), then real TCP on 127.0.0.1 — echo, EOF and
 * half-close, resets, refused connections, server lifecycle, backpressure, cancellation, and
 * peers this project did not write (Python's asyncio streams in another process).
 *
 * The socket tests use real time; they never assert on durations. Timeouts are hang guards.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
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
  Runner,
  RuntimeError,
  type Server,
  type StreamReader,
  StreamReader as StreamReaderClass,
  type StreamWriter,
  sleep,
  startServer,
} from "../src/index.ts";
import { errorOf, GUARD, realRun, runVirtual, settled, until } from "./helpers.ts";

function fed(data: string | string[], eof = true, limit?: number): StreamReader {
  const reader = new StreamReaderClass(limit === undefined ? {} : { limit });
  for (const chunk of Array.isArray(data) ? data : [data]) reader.feedData(chunk);
  if (eof) reader.feedEof();
  return reader;
}

async function echoServer(): Promise<Server> {
  return startServer(
    async (reader, writer) => {
      for (;;) {
        const data = await reader.read(65536);
        if (data.length === 0) break;
        writer.write(data);
        await writer.drain();
      }
      writer.close();
    },
    "127.0.0.1",
    0,
  );
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const hasPython = spawnSync("python3", ["--version"]).status === 0;

describe("StreamReader on fed data", () => {
  it("read(n) returns at most n buffered bytes, read() reads to EOF, read(0) nothing", () =>
    runVirtual(async () => {
      const reader = fed(["hello ", "world"]);
      assert.equal((await reader.read(3)).toString(), "hel");
      assert.equal((await reader.read(0)).length, 0);
      assert.equal((await reader.read(100)).toString(), "lo world");
      assert.equal((await reader.read()).length, 0);
      assert.equal(reader.atEof(), true);
    }));

  it("readline returns lines with their newline and the partial last line at EOF", () =>
    runVirtual(async () => {
      const reader = fed(["one\ntw", "o\nthr", "ee"]);
      assert.equal((await reader.readline()).toString(), "one\n");
      assert.equal((await reader.readline()).toString(), "two\n");
      assert.equal((await reader.readline()).toString(), "three");
      assert.equal((await reader.readline()).length, 0);
    }));

  it("readline over lines cut into chunks of every size, some fed while a readline waits, returns each line whole and in order", () =>
    runVirtual(async () => {
      // Lines of 0 to 40 bytes cut at pseudo-random places, so that newlines fall at the start,
      // middle and end of chunks, in the newest chunk or in older ones, and one readline may
      // wait over many chunks (the search then starts from the newest ones).
      let seed = 12345;
      const next = (n: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const lines: string[] = [];
      for (let i = 0; i < 300; i++) lines.push(`${"x".repeat(next(41))}${i}\n`);
      lines.push("y".repeat(5000) + "\n"); // a long line over many small chunks
      const text = lines.join("");
      const reader = new StreamReaderClass({ limit: 1 << 16 });
      const got: string[] = [];
      const consumer = createTask(async () => {
        for (;;) {
          const line = await reader.readline();
          if (line.length === 0) return;
          got.push(line.toString());
        }
      });
      for (let at = 0; at < text.length; ) {
        const n = 1 + next(at > text.length - 5100 ? 7 : 60);
        reader.feedData(text.slice(at, at + n));
        at += n;
        if (next(3) === 0) await sleep(0); // let the consumer take what is there, or wait
      }
      reader.feedEof();
      await consumer;
      assert.deepEqual(got, lines);
    }));

  it("async iteration yields every line until EOF", () =>
    runVirtual(async () => {
      const lines: string[] = [];
      for await (const line of fed(["a\nb", "\nc"])) lines.push(line.toString());
      assert.deepEqual(lines, ["a\n", "b\n", "c"]);
    }));

  it("readexactly waits for n bytes and reports the partial data at EOF", () =>
    runVirtual(async () => {
      const reader = fed(["abc", "de"]);
      assert.equal((await reader.readexactly(4)).toString(), "abcd");
      const error = await reader.readexactly(3).catch((e: unknown) => e);
      assert.ok(error instanceof IncompleteReadError);
      assert.equal(Buffer.from(error.partial).toString(), "e");
      assert.equal(error.expected, 3);
      assert.equal(reader.atEof(), true);
    }));

  it("reads spanning many small chunks return every byte in order, past a thousand chunks consumed", () =>
    runVirtual(async () => {
      // 3000 chunks of 100 bytes: one readexactly takes them all (the buffer's chunk list is
      // compacted while it takes them); then lines of 3 chunks each, read past chunk 1024.
      const chunks = Array.from({ length: 3000 }, (_, i) => Buffer.alloc(100, i % 251));
      const reader = new StreamReaderClass();
      for (const chunk of chunks) reader.feedData(chunk);
      assert.ok((await reader.readexactly(300_000)).equals(Buffer.concat(chunks)));
      const lines: Buffer[] = [];
      for (let i = 0; i < 3000; i++) {
        const chunk = Buffer.from(`${i % 3 === 2 ? "\n" : "ab"}`);
        lines.push(chunk);
        reader.feedData(chunk);
      }
      reader.feedEof();
      const read: Buffer[] = [];
      for await (const line of reader) read.push(line);
      assert.equal(read.length, 1000);
      assert.ok(Buffer.concat(read).equals(Buffer.concat(lines)));
    }));

  it("readuntil with a multi-byte separator copies each byte a bounded number of times while it waits (linear, not quadratic, in the chunks)", () =>
    runVirtual(async () => {
      // A large limit and a separator arriving after 2000 chunks of 1 KiB, one per wake-up.
      // Counted: the bytes the buffer copies (Buffer.prototype.copy and Buffer.concat); merging
      // the whole buffer on each wake-up copied about 2000 × 1 MiB.
      const reader = new StreamReaderClass({ limit: 1 << 24 });
      const reading = createTask(() => reader.readuntil("\r\n\r\n"));
      await sleep(0);
      const chunk = Buffer.alloc(1024, 97);
      let copied = 0;
      const copy = Buffer.prototype.copy;
      const concat = Buffer.concat;
      Buffer.prototype.copy = function (this: Buffer, ...args: Parameters<Buffer["copy"]>) {
        const n = copy.apply(this, args);
        copied += n;
        return n;
      };
      Buffer.concat = (list, total) => {
        const out = concat(list, total);
        copied += out.length;
        return out;
      };
      try {
        for (let i = 0; i < 2000; i++) {
          reader.feedData(chunk);
          await sleep(0);
        }
        reader.feedData("\r\n\r\n");
        assert.equal((await reading).length, 2000 * 1024 + 4);
      } finally {
        Buffer.prototype.copy = copy;
        Buffer.concat = concat;
      }
      assert.ok(copied < 4 * 2000 * 1024, `${copied} bytes copied`);
    }));

  it("readuntil finds a multi-byte separator split across chunks, whatever the chunking", () =>
    runVirtual(async () => {
      const text = "alpha\r\n\r\nbeta\r\ngamma\r\n\r\n\r\ndelta\r\n\r\nlast";
      const expected = ["alpha\r\n\r\n", "beta\r\ngamma\r\n\r\n", "\r\ndelta\r\n\r\n"];
      for (let size = 1; size <= 7; size++) {
        const reader = new StreamReaderClass();
        const reading = createTask(async () => {
          const got: string[] = [];
          for (let k = 0; k < expected.length; k++) {
            got.push((await reader.readuntil(["\r\n\r\n", "\n\n"])).toString());
          }
          return got;
        });
        for (let at = 0; at < text.length; at += size) {
          reader.feedData(text.slice(at, at + size));
          if (at % (2 * size) === 0) await sleep(0);
        }
        reader.feedEof();
        assert.deepEqual(await reading, expected, `chunks of ${size}`);
        assert.equal((await reader.read()).toString(), "last");
      }
    }));

  it("readuntil finds a multi-byte separator split across chunks", () =>
    runVirtual(async () => {
      const reader = fed(["key: va", "lue\r", "\nrest"]);
      assert.equal((await reader.readuntil("\r\n")).toString(), "key: value\r\n");
      assert.equal((await reader.read()).toString(), "rest");
    }));

  it("readuntil with several separators returns the shortest match (asyncio 3.13)", () =>
    runVirtual(async () => {
      const reader = fed("aaa;bbb,ccc");
      assert.equal((await reader.readuntil([",", ";"])).toString(), "aaa;");
      assert.equal((await reader.readuntil([Buffer.from(","), ";"])).toString(), "bbb,");
    }));

  it("readuntil: of two separators ending at the same byte, the shorter one counts (its start meets the limit)", () =>
    runVirtual(async () => {
      for (const seps of [
        ["A", "ome dataA"],
        ["ome dataA", "A"],
      ]) {
        const reader = new StreamReaderClass({ limit: 3 });
        reader.feedData(Buffer.from("some dataA"));
        const error = await reader.readuntil(seps).catch((e: unknown) => e);
        assert.ok(error instanceof LimitOverrunError, String(seps));
        assert.equal(error.consumed, 9);
      }
    }));

  it("readuntil at EOF without a separator throws IncompleteReadError with the rest", () =>
    runVirtual(async () => {
      const reader = fed("no separator");
      const error = await reader.readuntil("|").catch((e: unknown) => e);
      assert.ok(error instanceof IncompleteReadError);
      assert.equal(Buffer.from(error.partial).toString(), "no separator");
      assert.equal(error.expected, null);
    }));

  it("readuntil past the limit throws LimitOverrunError and keeps the data", () =>
    runVirtual(async () => {
      const reader = fed("0123456789|x", true, 4);
      const error = await reader.readuntil("|").catch((e: unknown) => e);
      assert.ok(error instanceof LimitOverrunError);
      assert.equal(error.consumed, 10);
      assert.equal(reader.statistics().buffered, 12);
      assert.equal((await reader.readexactly(11)).toString(), "0123456789|");
    }));

  it("readline past the limit discards the long line and throws LimitOverrunError", () =>
    runVirtual(async () => {
      const reader = fed("0123456789\nok\n", true, 4);
      await assert.rejects(reader.readline(), LimitOverrunError);
      assert.equal((await reader.readline()).toString(), "ok\n");
      // asyncio raises ValueError here: the RangeError of asyncio-ts.
      const again = fed("0123456789\nok\n", true, 4);
      await assert.rejects(again.readline(), RangeError);
      assert.equal((await again.readline()).toString(), "ok\n");
    }));

  it("readline past the limit without a newline discards the whole buffer", () =>
    runVirtual(async () => {
      const reader = fed("0123456789", false, 4);
      await assert.rejects(reader.readline(), LimitOverrunError);
      assert.equal(reader.statistics().buffered, 0);
    }));

  it("a stream exception is thrown by every read, even with bytes buffered", () =>
    runVirtual(async () => {
      const reader = fed("data", false);
      const boom = new Error("boom");
      reader.setException(boom);
      assert.equal(reader.exception(), boom);
      await assert.rejects(reader.read(10), (e) => e === boom);
      await assert.rejects(reader.readline(), (e) => e === boom);
    }));

  it("a read waiting for data is woken by feedData, and by setException", () =>
    runVirtual(async () => {
      const reader = new StreamReaderClass();
      const first = createTask(() => reader.read(10));
      await sleep(0);
      reader.feedData("x");
      assert.equal((await first).toString(), "x");
      const second = createTask(() => reader.read(10));
      await sleep(0);
      reader.setException(new Error("reset"));
      await assert.rejects(settled(second), /reset/);
    }));

  it("a read woken by data or EOF completes with it even if an exception is set before it resumes (asyncio)", () =>
    runVirtual(async () => {
      const boom = new Error("boom");
      const reads: Array<
        [string, (r: StreamReader) => Promise<Buffer>, (r: StreamReader) => void]
      > = [
        ["read(10)", (r) => r.read(10), (r) => r.feedData("abc")],
        ["readexactly(3)", (r) => r.readexactly(3), (r) => r.feedData("abcd")],
        ["readuntil(sep)", (r) => r.readuntil("c"), (r) => r.feedData("abcd")],
        ["readline()", (r) => r.readline(), (r) => r.feedData("ab\nc")],
      ];
      for (const [name, read, feed] of reads) {
        const reader = new StreamReaderClass();
        const task = createTask(() => read(reader));
        await sleep(0);
        feed(reader);
        reader.setException(boom);
        assert.equal(
          (await settled(task)).toString(),
          name === "readline()" ? "ab\n" : "abc",
          name,
        );
        await assert.rejects(reader.read(10), (e) => e === boom);
      }
      // Woken by EOF: the EOF result wins (asyncio: IncompleteReadError, or b"" from readline).
      const reader = new StreamReaderClass();
      const line = createTask(() => reader.readline());
      await sleep(0);
      reader.feedEof();
      reader.setException(boom);
      assert.equal((await settled(line)).length, 0);
      const reader2 = new StreamReaderClass();
      const exact = createTask(() => reader2.readexactly(5));
      await sleep(0);
      reader2.feedData("ab");
      reader2.feedEof();
      reader2.setException(boom);
      await assert.rejects(
        settled(exact),
        (e) => e instanceof IncompleteReadError && e.partial.toString() === "ab",
      );
    }));

  it("a second task reading while one waits gets RuntimeError", () =>
    runVirtual(async () => {
      const reader = new StreamReaderClass();
      const first = createTask(() => reader.readline());
      await sleep(0);
      await assert.rejects(reader.read(1), RuntimeError);
      reader.feedData("line\n");
      assert.equal((await first).toString(), "line\n");
    }));

  it("a read cancelled while waiting leaves every byte for the next reader", () =>
    runVirtual(async () => {
      const reader = new StreamReaderClass();
      const task = createTask(() => reader.readexactly(10));
      await sleep(0);
      reader.feedData("12345");
      await sleep(0);
      task.cancel();
      await assert.rejects(settled(task), CancelledError);
      assert.equal(reader.statistics().waiting, false);
      reader.feedData("67890");
      assert.equal((await reader.readexactly(10)).toString(), "1234567890");
    }));

  it("two cancel() calls on a task blocked in a read are delivered as one CancelledError", () =>
    runVirtual(async () => {
      const reader = new StreamReaderClass();
      const task = createTask(async () => {
        let caught = false;
        try {
          await reader.read(5);
        } catch (error) {
          caught = error instanceof CancelledError;
        }
        await sleep(0);
        return [caught, (await reader.read(5)).toString()];
      });
      await sleep(0);
      task.cancel();
      task.cancel();
      await sleep(0);
      reader.feedData("after");
      assert.deepEqual(await task, [true, "after"]);
    }));

  it("a pending cancellation reaches a read on the next iteration, after the callbacks already scheduled, and takes no byte (asyncio)", () =>
    runVirtual(async () => {
      const loop = getRunningLoop();
      const reader = new StreamReaderClass();
      const log: string[] = [];
      const task = createTask(async () => {
        loop.callSoon(() => log.push("cb1"));
        currentTask()!.cancel("self");
        currentTask()!.cancel("again");
        loop.callSoon(() => {
          log.push("cb2");
          reader.feedData("kept"); // before the error reaches the task: the read must not take it
        });
        try {
          await reader.read(2);
          log.push("read returned");
        } catch (error) {
          log.push(`caught ${(error as CancelledError).message}`);
        }
        // Both requests were delivered by that one error: the next read is not cancelled.
        log.push((await reader.read(10)).toString());
      });
      await settled(task);
      assert.deepEqual(log, ["cb1", "cb2", "caught again", "kept"]);
    }));

  it("read() to EOF cancelled midway puts back what it had collected", () =>
    runVirtual(async () => {
      const reader = new StreamReaderClass({ limit: 4 });
      const task = createTask(() => reader.read());
      await sleep(0);
      reader.feedData("abcdefgh");
      await sleep(0);
      reader.feedData("ij");
      await sleep(0);
      task.cancel();
      await assert.rejects(settled(task), CancelledError);
      reader.feedEof();
      assert.equal((await reader.read()).toString(), "abcdefghij");
    }));

  it("read() to EOF that fails on a stream exception consumes what it had collected (asyncio)", () =>
    runVirtual(async () => {
      const reader = new StreamReaderClass({ limit: 4 });
      const task = createTask(() => reader.read());
      await sleep(0);
      reader.feedData("abcdef");
      await sleep(1);
      reader.setException(new Error("boom"));
      await assert.rejects(settled(task), /boom/);
      reader.feedEof();
      assert.equal(reader.statistics().buffered, 0);
      assert.equal(reader.atEof(), true);
    }));

  for (const kind of ["read", "readexactly", "readline", "readuntil"] as const) {
    it(`a task cancelled after its ${kind}() was woken gets CancelledError there and the bytes stay buffered`, () =>
      runVirtual(async () => {
        // asyncio: feed_data wakes the read, cancel() lands before the task resumes, and the
        // read raises CancelledError without consuming anything.
        const reader = new StreamReaderClass();
        let after = false;
        const task = createTask(async () => {
          if (kind === "read") await reader.read(100);
          else if (kind === "readexactly") await reader.readexactly(5);
          else if (kind === "readline") await reader.readline();
          else await reader.readuntil("\n");
          after = true;
        });
        await sleep(0);
        reader.feedData("kept\n");
        task.cancel();
        await assert.rejects(settled(task), CancelledError);
        assert.equal(after, false);
        reader.feedEof();
        assert.equal((await reader.read()).toString(), "kept\n");
      }));
  }

  it("pauses its transport past 2 * limit and resumes at limit or below", () =>
    runVirtual(async () => {
      const calls: string[] = [];
      const reader = new StreamReaderClass({ limit: 4 });
      reader.setTransport({ pause: () => calls.push("pause"), resume: () => calls.push("resume") });
      reader.feedData("12345678");
      assert.deepEqual(calls, []);
      reader.feedData("9");
      assert.deepEqual(calls, ["pause"]);
      assert.equal(reader.statistics().paused, true);
      await reader.read(4);
      assert.deepEqual(calls, ["pause"]);
      await reader.read(1);
      assert.deepEqual(calls, ["pause", "resume"]);
    }));

  it("a read waiting while paused resumes the transport instead of deadlocking", () =>
    runVirtual(async () => {
      const calls: string[] = [];
      const reader = new StreamReaderClass({ limit: 2 });
      reader.setTransport({ pause: () => calls.push("pause"), resume: () => calls.push("resume") });
      reader.feedData("12345");
      const task = createTask(() => reader.readexactly(8));
      await sleep(0);
      assert.deepEqual(calls, ["pause", "resume"]);
      reader.feedData("678");
      assert.equal((await task).toString(), "12345678");
    }));

  it("a readexactly waiting for more than 2 * limit bytes keeps its transport reading", () =>
    runVirtual(async () => {
      const calls: string[] = [];
      const reader = new StreamReaderClass({ limit: 2 });
      reader.setTransport({ pause: () => calls.push("pause"), resume: () => calls.push("resume") });
      const task = createTask(() => reader.readexactly(12));
      await sleep(0);
      for (const chunk of ["abc", "def", "ghi"]) reader.feedData(chunk);
      assert.deepEqual(calls, []);
      assert.equal(reader.statistics().waiting, true);
      // Woken with 14 bytes buffered: over 2 * limit, the transport pauses (as asyncio's
      // feed_data does) until the task takes its 12 bytes.
      reader.feedData("jklmn");
      assert.equal((await task).toString(), "abcdefghijkl");
      assert.equal((await reader.read(10)).toString(), "mn");
      assert.deepEqual(calls, ["pause", "resume"]);
    }));

  it("a read woken while its loop is not running completes in the next run", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    const reader = new StreamReaderClass();
    const pending = await runner.run(async () => {
      const task = createTask(() => reader.read(10));
      await sleep(0);
      return { task };
    });
    reader.feedData("ab");
    // Taken outside any task before the deferred wake-up runs: the read waits again.
    assert.equal((await reader.read(10)).toString(), "ab");
    const got = await runner.run(async () => {
      await sleep(0);
      assert.equal(reader.statistics().waiting, true);
      reader.feedData("cd");
      return (await pending.task).toString();
    });
    assert.equal(got, "cd");
    await runner.close();
  });

  it("a read woken from a socket's read callback takes its bytes at once; a cancellation requested before still wins, and a loop not running defers it", async () => {
    type Feeding = { _feed(chunk: Buffer, fromReadCallback: boolean): void };
    await runVirtual(async () => {
      const reader = new StreamReaderClass();
      const task = createTask(() => reader.readexactly(3));
      await sleep(0);
      (reader as unknown as Feeding)._feed(Buffer.from("abc"), true);
      assert.equal(reader.statistics().buffered, 0);
      assert.equal((await task).toString(), "abc");
      const cancelled = createTask(() => reader.read(10));
      await sleep(0);
      cancelled.cancel();
      (reader as unknown as Feeding)._feed(Buffer.from("ef"), true);
      await assert.rejects(settled(cancelled), CancelledError);
      assert.equal((await reader.read(10)).toString(), "ef");
    });
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    const reader = new StreamReaderClass();
    const pending = await runner.run(async () => {
      const task = createTask(() => reader.read(10));
      await sleep(0);
      return { task };
    });
    (reader as unknown as Feeding)._feed(Buffer.from("ab"), true);
    assert.equal((await reader.read(10)).toString(), "ab");
    const got = await runner.run(async () => {
      await sleep(0);
      (reader as unknown as Feeding)._feed(Buffer.from("cd"), true);
      return (await pending.task).toString();
    });
    assert.equal(got, "cd");
    await runner.close();
  });

  it("rejects bad arguments with TypeError or RangeError and stays usable", () =>
    runVirtual(async () => {
      assert.throws(() => new StreamReaderClass({ limit: 0 }), RangeError);
      assert.throws(() => new StreamReaderClass({ limit: "1" as unknown as number }), TypeError);
      const reader = fed("abc\n");
      await assert.rejects(reader.read(1.5), RangeError);
      await assert.rejects(reader.read("1" as unknown as number), TypeError);
      await assert.rejects(reader.readexactly(-1), RangeError);
      await assert.rejects(reader.readuntil(""), RangeError);
      await assert.rejects(reader.readuntil([]), RangeError);
      await assert.rejects(reader.readuntil(5 as unknown as string), TypeError);
      assert.throws(() => reader.feedData(7 as unknown as string), TypeError);
      assert.throws(() => reader.feedData("more"), RuntimeError);
      assert.equal((await reader.readline()).toString(), "abc\n");
    }));

  it("shows its state in an asyncio-style inspect string", () =>
    runVirtual(async () => {
      const reader = new StreamReaderClass({ limit: 10 });
      reader.feedData("abc");
      assert.equal(String(reader), "<StreamReader 3 bytes limit=10>");
      reader.feedEof();
      assert.equal(String(reader), "<StreamReader 3 bytes eof limit=10>");
    }));
});

describe("TCP streams", () => {
  it("an echo round trip works and getExtraInfo reports the addresses", GUARD, () =>
    realRun(async () => {
      await using server = await echoServer();
      assert.equal(server.isServing(), true);
      const port = server.sockets[0].port;
      const [reader, writer] = await openConnection("127.0.0.1", port);
      writer.write("hello\n");
      writer.writelines(["wor", Buffer.from("ld\n")]);
      await writer.drain();
      assert.equal((await reader.readline()).toString(), "hello\n");
      assert.equal((await reader.readline()).toString(), "world\n");
      assert.deepEqual(writer.getExtraInfo("peername"), ["127.0.0.1", port]);
      assert.equal(writer.getExtraInfo("sockname")?.[0], "127.0.0.1");
      assert.ok(writer.getExtraInfo("socket") instanceof net.Socket);
      assert.equal(writer.getExtraInfo("sslcontext"), undefined);
      assert.equal(writer.getExtraInfo("peercert", null), null);
      assert.match(String(writer), /^<StreamWriter open peer=127\.0\.0\.1:\d+/);
      writer.close();
      assert.equal(writer.isClosing(), true);
      await writer.waitClosed();
      assert.match(String(writer), /^<StreamWriter closed/);
    }),
  );

  it("bytes the server sends at once are read by the client, to EOF", GUARD, () =>
    realRun(async () => {
      const greeting = Buffer.alloc(300_000, 103);
      await using server = await startServer(
        async (_reader, writer) => {
          writer.write(greeting);
          writer.write("!");
          await writer.drain();
          writer.close();
        },
        "127.0.0.1",
        0,
      );
      const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
      await until(() => reader.statistics().paused);
      const all = await reader.read();
      assert.equal(all.length, greeting.length + 1);
      assert.equal(all.subarray(0, -1).equals(greeting), true);
      assert.equal(all.at(-1), 33);
      assert.equal(reader.atEof(), true);
      writer.close();
    }),
  );

  it("writes of one turn leave together at its end, or at drain()", GUARD, () =>
    realRun(async () => {
      await using server = await echoServer();
      const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
      writer.write("a");
      writer.write("b");
      writer.writelines(["c", "d"]);
      assert.equal(writer.transport.writableCorked, 1);
      assert.equal(writer.transport.writableLength, 4);
      await sleep(0);
      assert.equal(writer.transport.writableCorked, 0);
      assert.equal((await reader.readexactly(4)).toString(), "abcd");
      writer.write("e");
      await writer.drain();
      assert.equal(writer.transport.writableCorked, 0);
      assert.equal((await reader.readexactly(1)).toString(), "e");
      writer.close();
      await writer.waitClosed();
    }),
  );

  it("abort() sends what write() accepted before it, then closes", GUARD, () =>
    realRun(async () => {
      const received = getRunningLoop().createFuture<string>();
      await using server = await startServer(
        async (reader, writer) => {
          received.setResult((await reader.read()).toString());
          writer.close();
        },
        "127.0.0.1",
        0,
      );
      const [, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
      writer.write("last words");
      writer.abort();
      assert.equal(await received, "last words");
    }),
  );

  it("a refused connection rejects with ECONNREFUSED", GUARD, () =>
    realRun(async () => {
      const port = await freePort();
      await assert.rejects(openConnection("127.0.0.1", port), (e: NodeJS.ErrnoException) => {
        assert.equal(e.code, "ECONNREFUSED");
        return true;
      });
    }),
  );

  it("writeEof half-closes: the peer reads EOF and can still answer", GUARD, () =>
    realRun(async () => {
      await using server = await startServer(
        async (reader, writer) => {
          const all = await reader.read();
          assert.equal(reader.atEof(), true);
          writer.write(`got ${all.length} bytes`);
          writer.close();
        },
        "127.0.0.1",
        0,
      );
      const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
      assert.equal(writer.canWriteEof(), true);
      writer.write("x".repeat(1000));
      writer.writeEof();
      assert.throws(() => writer.write("late"), RuntimeError);
      assert.equal((await reader.read()).toString(), "got 1000 bytes");
      assert.equal(reader.atEof(), true);
      writer.close();
      await writer.waitClosed();
    }),
  );

  it("a peer reset during a read rejects the read with ECONNRESET", GUARD, () =>
    realRun(async () => {
      await using server = await startServer(
        async (reader, writer) => {
          await reader.readline();
          writer.transport.resetAndDestroy();
        },
        "127.0.0.1",
        0,
      );
      const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
      writer.write("go\n");
      await assert.rejects(reader.read(100), (e: NodeJS.ErrnoException) => {
        assert.equal(e.code, "ECONNRESET");
        return true;
      });
      assert.equal(reader.exception() !== null, true);
      await assert.rejects(writer.drain(), (e: NodeJS.ErrnoException) => e.code === "ECONNRESET");
      writer.close();
      await writer.waitClosed().catch(() => {});
    }),
  );

  it("drain() after close() rejects with ECONNRESET 'Connection lost', as asyncio", GUARD, () =>
    realRun(async () => {
      await using server = await startServer(
        async (reader, writer) => {
          await reader.read();
          writer.close();
        },
        "127.0.0.1",
        0,
      );
      const [, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
      writer.close();
      writer.write("dropped");
      for (let i = 0; i < 2; i++) {
        await assert.rejects(writer.drain(), (e: NodeJS.ErrnoException) => {
          assert.equal(e.code, "ECONNRESET");
          assert.equal(e.message, "Connection lost");
          return true;
        });
      }
      await writer.waitClosed();
    }),
  );

  it("close() stops listening but keeps connections; waitClosed waits for them", GUARD, () =>
    realRun(async () => {
      const server = await echoServer();
      const port = server.sockets[0].port;
      const [reader, writer] = await openConnection("127.0.0.1", port);
      server.close();
      assert.equal(server.isServing(), false);
      assert.deepEqual(server.sockets, []);
      await assert.rejects(openConnection("127.0.0.1", port), { code: "ECONNREFUSED" });
      let closed = false;
      const waiting = createTask(async () => {
        await server.waitClosed();
        closed = true;
      });
      writer.write("still here\n");
      assert.equal((await reader.readline()).toString(), "still here\n");
      assert.equal(closed, false);
      writer.close();
      await waiting;
      assert.equal(closed, true);
      await server.waitClosed();
    }),
  );

  it("closeClients() ends every connection: clients read EOF", GUARD, () =>
    realRun(async () => {
      const server = await startServer(() => sleep(60_000), "127.0.0.1", 0);
      const port = server.sockets[0].port;
      const pairs = [
        await openConnection("127.0.0.1", port),
        await openConnection("127.0.0.1", port),
      ];
      server.close();
      await until(() => String(server).includes("clients=2"));
      server.closeClients();
      for (const [reader] of pairs) assert.equal((await reader.read()).length, 0);
      await server.waitClosed();
      for (const [, writer] of pairs) writer.close();
    }),
  );

  it("abortClients() closes every connection at once", GUARD, () =>
    realRun(async () => {
      const server = await startServer(() => sleep(60_000), "127.0.0.1", 0);
      const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
      await until(() => String(server).includes("clients=1"));
      server.abortClients();
      server.close();
      const outcome = await reader.read(10).then(
        (data) => `eof:${data.length}`,
        (e: NodeJS.ErrnoException) => String(e.code),
      );
      assert.ok(outcome === "eof:0" || outcome === "ECONNRESET", outcome);
      await server.waitClosed();
      writer.close();
    }),
  );

  it("a handler that throws is reported and its connection closed", GUARD, () =>
    realRun(async () => {
      const reported: ExceptionContext[] = [];
      getRunningLoop().setExceptionHandler((_loop, context) => reported.push(context));
      await using server = await startServer(
        async (reader) => {
          await reader.readline();
          throw new Error("handler failed");
        },
        "127.0.0.1",
        0,
      );
      const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
      writer.write("hi\n");
      assert.equal((await reader.read()).length, 0);
      await until(() => reported.length > 0);
      assert.equal(reported[0].message, "Unhandled exception in client_connected_cb");
      assert.match(String((reported[0].exception as Error).message), /handler failed/);
      writer.close();
    }),
  );

  it("serveForever serves until cancelled, then closes the server", GUARD, () =>
    realRun(async () => {
      const server = await echoServer();
      const serving = createTask(() => server.serveForever());
      await sleep(0);
      await assert.rejects(server.serveForever(), RuntimeError);
      const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
      writer.write("ping\n");
      assert.equal((await reader.readline()).toString(), "ping\n");
      writer.close();
      serving.cancel();
      await assert.rejects(settled(serving), CancelledError);
      assert.equal(server.isServing(), false);
      await assert.rejects(server.serveForever(), RuntimeError);
    }),
  );

  it("rejects bad arguments with TypeError or RangeError", GUARD, () =>
    realRun(async () => {
      await assert.rejects(openConnection(5 as unknown as string, 80), TypeError);
      await assert.rejects(openConnection("127.0.0.1", 70_000), RangeError);
      await assert.rejects(openConnection("127.0.0.1", 80, { limit: 0 }), RangeError);
      await assert.rejects(startServer("nope" as never, "127.0.0.1", 0), TypeError);
      await assert.rejects(
        startServer(() => {}, "127.0.0.1", -1),
        RangeError,
      );
      // As Python's TypeError for an unexpected keyword argument.
      await assert.rejects(
        openConnection("127.0.0.1", 80, { limt: 10 } as never),
        /Unknown option `options\.limt`; expected some of: limit, ssl/,
      );
      await assert.rejects(
        startServer(() => {}, "127.0.0.1", 0, { localPort: 1 } as never),
        TypeError,
      );
      // As asyncio's ValueError: the TLS-only options without ssl.
      await assert.rejects(
        openConnection("127.0.0.1", 80, { serverHostname: "example" }),
        /serverHostname is only meaningful with options\.ssl/,
      );
      await assert.rejects(
        openConnection("127.0.0.1", 80, { ssl: false, sslHandshakeTimeout: 10 }),
        RangeError,
      );
      await assert.rejects(
        startServer(() => {}, "127.0.0.1", 0, { sslHandshakeTimeout: 10 }),
        /sslHandshakeTimeout is only meaningful/,
      );
      // Flags must be booleans: "false" (a string) would otherwise mean true.
      await assert.rejects(
        openConnection("127.0.0.1", 80, { noDelay: "false" } as never),
        /Expected `options\.noDelay` to be a boolean/,
      );
      await assert.rejects(
        startServer(() => {}, "127.0.0.1", 0, { noDelay: 0 } as never),
        /Expected `options\.noDelay` to be a boolean/,
      );
      await assert.rejects(
        startServer(() => {}, "127.0.0.1", 0, { startServing: "no" } as never),
        /Expected `options\.startServing` to be a boolean/,
      );
      await using server = await echoServer();
      const [, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
      assert.throws(() => writer.write(42 as unknown as string), TypeError);
      assert.throws(() => writer.writelines(7 as unknown as string[]), TypeError);
      writer.close();
    }),
  );

  it(
    "openConnection rejects a bad family, localAddress or localPort with an error naming it, and leaves no socket behind",
    GUARD,
    () =>
      realRun(async () => {
        /** Node sockets made but neither connected nor destroyed. */
        const stranded = () =>
          (process as unknown as { _getActiveHandles(): unknown[] })
            ._getActiveHandles()
            .filter((h) => h instanceof net.Socket && h.connecting && !h.destroyed).length;
        const before = stranded();
        const bad: Array<[object, ErrorConstructor, RegExp]> = [
          [{ family: 5 }, RangeError, /`options\.family`/],
          [{ localAddress: 5 }, TypeError, /`options\.localAddress`/],
          [{ localAddress: "localhost" }, RangeError, /`options\.localAddress` to be an IP/],
          [{ localPort: "1" }, TypeError, /`options\.localPort`/],
          [{ localPort: 70_000 }, RangeError, /`options\.localPort`/],
        ];
        for (const [options, type, message] of bad) {
          const error = await errorOf(openConnection("127.0.0.1", 80, options as never));
          assert.ok(error instanceof type, String(error));
          assert.match((error as Error).message, message);
        }
        assert.equal(stranded(), before);
      }),
  );

  it("listening on a busy port rejects with EADDRINUSE", GUARD, () =>
    realRun(async () => {
      await using server = await echoServer();
      await assert.rejects(
        startServer(() => {}, "127.0.0.1", server.sockets[0].port),
        {
          code: "EADDRINUSE",
        },
      );
    }),
  );

  it(
    "drain() applies backpressure: a fast writer to a slow reader holds bounded memory",
    GUARD,
    () =>
      realRun(async () => {
        const CHUNK = Buffer.alloc(64 * 1024, 120);
        const TOTAL_WAITS = 40;
        const firstWait = new Event();
        let maxQueued = 0;
        let waits = 0;
        let sent = 0;
        let highWaterMark = 0;
        await using server = await startServer(
          async (_reader, writer) => {
            highWaterMark = writer.transport.writableHighWaterMark;
            while (waits < TOTAL_WAITS) {
              writer.write(CHUNK);
              sent += CHUNK.length;
              maxQueued = Math.max(maxQueued, writer.transport.writableLength);
              if (writer.transport.writableLength >= highWaterMark) {
                waits++;
                firstWait.set();
              }
              await writer.drain();
            }
            writer.close();
          },
          "127.0.0.1",
          0,
        );
        const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
        await firstWait.wait();
        let received = 0;
        let maxBuffered = 0;
        for (;;) {
          maxBuffered = Math.max(maxBuffered, reader.statistics().buffered);
          const data = await reader.read(65536);
          if (data.length === 0) break;
          received += data.length;
        }
        assert.equal(received, sent);
        assert.equal(waits, TOTAL_WAITS);
        // Node's queue never holds more than its high-water mark plus the chunk that crossed it.
        assert.ok(maxQueued <= highWaterMark + CHUNK.length, `queued up to ${maxQueued} bytes`);
        // The reader paused the socket past 2 * limit; one more socket read may land after it.
        assert.ok(maxBuffered <= 2 * reader.limit + 65536, `buffered up to ${maxBuffered} bytes`);
        writer.close();
      }),
  );

  it("a drain cancelled while waiting leaves the writer consistent: no byte lost", GUARD, () =>
    realRun(async () => {
      const CHUNK = Buffer.alloc(64 * 1024, 121);
      let writerSide: StreamWriter | null = null;
      const connected = new Event();
      await using server = await startServer(
        (_reader, writer) => {
          writerSide = writer;
          connected.set();
          return sleep(60_000);
        },
        "127.0.0.1",
        0,
      );
      const [reader, clientWriter] = await openConnection("127.0.0.1", server.sockets[0].port);
      await connected.wait();
      const writer = writerSide! as StreamWriter;
      let sent = 0;
      while (writer.transport.writableLength < writer.transport.writableHighWaterMark) {
        writer.write(CHUNK);
        sent += CHUNK.length;
        await sleep(0);
      }
      const draining = createTask(() => writer.drain());
      await sleep(0);
      draining.cancel();
      await assert.rejects(settled(draining), CancelledError);
      writer.write("end");
      sent += 3;
      const reading = createTask(async () => {
        let received = 0;
        while (received < sent) received += (await reader.read(65536)).length;
        return received;
      });
      await writer.drain();
      assert.equal(await reading, sent);
      clientWriter.close();
      server.closeClients();
    }),
  );

  it(
    "a pending cancellation reaches waitClosed() and a paused drain() from the ready queue, after the callbacks already scheduled",
    GUARD,
    () =>
      realRun(async () => {
        await using server = await echoServer();
        const [, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
        const loop = getRunningLoop();
        const order = async (wait: () => Promise<void>) => {
          const log: string[] = [];
          const task = createTask(async () => {
            loop.callSoon(() => log.push("cb"));
            currentTask()!.cancel("pending");
            try {
              await wait();
              log.push("returned");
            } catch (error) {
              log.push(`caught ${(error as CancelledError).message}`);
            }
          });
          await settled(task);
          return log;
        };
        try {
          assert.deepEqual(await order(() => writer.waitClosed()), ["cb", "caught pending"]);
          // A drain that must wait: the writer is paused (Node's buffer over its high-water mark).
          writer.transport.cork();
          while (writer.transport.writableLength < writer.transport.writableHighWaterMark) {
            writer.transport.write(Buffer.alloc(65536));
          }
          writer.write("x");
          writer.transport.cork(); // drain() uncorks once; keep the bytes in Node's buffer
          assert.deepEqual(await order(() => writer.drain()), ["cb", "caught pending"]);
        } finally {
          // Whatever happened, close the connection, or the server's disposal would wait for it.
          writer.abort();
        }
      }),
  );

  it("a read cancelled on a live socket leaves the bytes for the next read", GUARD, () =>
    realRun(async () => {
      await using server = await echoServer();
      const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
      const task = createTask(() => reader.readexactly(6));
      writer.write("abc");
      await until(() => reader.statistics().buffered === 3);
      task.cancel();
      await assert.rejects(settled(task), CancelledError);
      writer.write("def");
      assert.equal((await reader.readexactly(6)).toString(), "abcdef");
      writer.close();
    }),
  );

  it("many connections run concurrently through one server", GUARD, () =>
    realRun(async () => {
      await using server = await echoServer();
      const port = server.sockets[0].port;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          createTask(async () => {
            const [reader, writer] = await openConnection("127.0.0.1", port);
            for (let k = 0; k < 20; k++) {
              writer.write(`${i}:${k}\n`);
              assert.equal((await reader.readline()).toString(), `${i}:${k}\n`);
            }
            writer.close();
            await writer.waitClosed();
            return i;
          }),
        ),
      );
      assert.equal(results.length, 20);
    }),
  );

  it(
    "bulk and small transfers on several connections at once deliver every byte in order",
    GUARD,
    () =>
      realRun(async () => {
        // Reads land in buffers shared between sockets or handed to the reader without a copy:
        // keeping every chunk until the end shows that no later read overwrote an earlier one.
        await using server = await echoServer();
        const port = server.sockets[0].port;
        const pattern = (connection: number, size: number) =>
          Buffer.from(
            Array.from({ length: size }, (_, i) => (i * 7 + connection * 13 + (i >> 16)) & 0xff),
          );
        await Promise.all(
          Array.from({ length: 4 }, (_, c) =>
            createTask(async () => {
              const [reader, writer] = await openConnection("127.0.0.1", port);
              const sent = Buffer.concat([pattern(c, 1 << 20), Buffer.from(`small ${c}\n`)]);
              const sending = createTask(async () => {
                for (let at = 0; at < sent.length; at += 65536) {
                  writer.write(sent.subarray(at, at + 65536));
                  await writer.drain();
                }
                for (let k = 0; k < 50; k++) {
                  writer.write(`${c}:${k}\n`);
                  await sleep(0);
                }
                writer.writeEof();
              });
              const chunks: Buffer[] = [];
              for (;;) {
                const data = await reader.read(65536);
                if (data.length === 0) break;
                chunks.push(data);
              }
              await sending;
              const small = Array.from({ length: 50 }, (_, k) => `${c}:${k}\n`).join("");
              assert.ok(Buffer.concat(chunks).equals(Buffer.concat([sent, Buffer.from(small)])));
              writer.close();
            }),
          ),
        );
      }),
  );
});

describe("streams against peers written by others", {
  skip: !hasPython && "python3 missing",
}, () => {
  it("Python's asyncio client talks to our server", GUARD, () =>
    realRun(async () => {
      await using server = await startServer(
        async (reader, writer) => {
          for await (const line of reader) writer.write(line.toString().toUpperCase());
          writer.close();
        },
        "127.0.0.1",
        0,
      );
      const script = `
import asyncio, sys
async def main():
    r, w = await asyncio.open_connection("127.0.0.1", ${server.sockets[0].port})
    w.write(b"hello from python\\nsecond line\\n")
    await w.drain()
    w.write_eof()
    print((await r.read()).decode(), end="")
    w.close()
    await w.wait_closed()
asyncio.run(main())
`;
      const proc = spawn("python3", ["-c", script], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      proc.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
      const code = await new Promise<number | null>((resolve) => proc.on("close", resolve));
      assert.equal(code, 0);
      assert.equal(out, "HELLO FROM PYTHON\nSECOND LINE\n");
    }),
  );

  it("our client talks to Python's asyncio echo server", GUARD, () =>
    realRun(async () => {
      const script = `
import asyncio
async def handle(r, w):
    while data := await r.read(65536):
        w.write(data)
        await w.drain()
    w.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
`;
      const proc = spawn("python3", ["-c", script], { stdio: ["ignore", "pipe", "inherit"] });
      try {
        const port = await new Promise<number>((resolve, reject) => {
          proc.stdout.setEncoding("utf8").once("data", (s: string) => resolve(Number(s.trim())));
          proc.once("error", reject);
        });
        const [reader, writer] = await openConnection("127.0.0.1", port);
        const big = Buffer.alloc(1_000_000, 97);
        writer.write("line one\n");
        assert.equal((await reader.readline()).toString(), "line one\n");
        writer.write(big);
        await writer.drain();
        const back = await reader.readexactly(big.length);
        assert.equal(back.equals(big), true);
        writer.writeEof();
        assert.equal((await reader.read()).length, 0);
        writer.close();
        await writer.waitClosed();
      } finally {
        proc.kill();
      }
    }),
  );
});

/**
 * Unix-domain streams (`openUnixConnection`, `startUnixServer`) on real sockets in a fresh
 * temporary directory: echo, half-close, a 1 MiB transfer, the socket file's life (stale
 * socket removal, cleanup at close, a file that is not a socket left alone), bad input,
 * cancellation while connecting, TLS over a Unix socket, and peers this project did not write
 * (Python's asyncio in another process).
 *
 * The tests use real time and never assert on durations; timeouts are hang guards. Each test
 * ends by checking that the directory holds only the files it expects (no temporary socket
 * name left behind) and that the loop tracks no leftover I/O.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import {
  CancelledError,
  createTask,
  getRunningLoop,
  LimitOverrunError,
  openUnixConnection,
  RuntimeError,
  type Server,
  type StreamWriter,
  sleep,
  startUnixServer,
} from "../src/index.ts";
import { loopIo } from "../src/io/loop-io.ts";
import { GUARD, noOpenssl, realRun, selfSignedCertificate, settled, until } from "./helpers.ts";

const hasPython = spawnSync("python3", ["--version"]).status === 0;

/** How many I/O resources (connections, servers) the running loop still tracks. */
function liveResources(): number {
  return loopIo(getRunningLoop()).resources.size;
}

async function echoServer(path: string): Promise<Server<string>> {
  return startUnixServer(async (reader, writer) => {
    for (;;) {
      const data = await reader.read(65536);
      if (data.length === 0) break;
      writer.write(data);
      await writer.drain();
    }
    writer.close();
  }, path);
}

let dir = "";
let count = 0;
/** A fresh socket path in the test directory. */
const socketPath = (name = `s${count++}.sock`) => join(dir, name);

before(() => {
  dir = mkdtempSync(join(tmpdir(), "asyncio-ts-unix-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  // No temporary socket name is ever left behind (they start with a dot).
  assert.deepEqual(
    readdirSync(dir).filter((name) => name.startsWith(".")),
    [],
  );
});

describe("Unix streams", () => {
  it("an echo round trip works; sockets and getExtraInfo report the path", GUARD, () =>
    realRun(async () => {
      const path = socketPath();
      let serverSide: StreamWriter | null = null;
      await using server = await startUnixServer(async (reader, writer) => {
        serverSide = writer;
        for await (const line of reader) writer.write(line);
        writer.close();
      }, path);
      assert.deepEqual(server.sockets, [path]);
      assert.equal(statSync(path).isSocket(), true);
      assert.equal(String(server), `<Server serving ${path} clients=0>`);
      const [reader, writer] = await openUnixConnection(path);
      writer.write("hello\n");
      writer.writelines(["wor", Buffer.from("ld\n")]);
      assert.equal((await reader.readline()).toString(), "hello\n");
      assert.equal((await reader.readline()).toString(), "world\n");
      assert.equal(writer.getExtraInfo("peername"), path);
      assert.equal(writer.getExtraInfo("sockname"), "");
      assert.ok(writer.getExtraInfo("socket") instanceof net.Socket);
      assert.equal(writer.getExtraInfo("sslcontext"), undefined);
      assert.equal(String(writer).startsWith(`<StreamWriter open peer=${path} `), true);
      const accepted = serverSide! as StreamWriter;
      assert.equal(accepted.getExtraInfo("sockname"), path);
      assert.equal(accepted.getExtraInfo("peername"), "");
      assert.match(String(accepted), /^<StreamWriter open buffered=/);
      writer.close();
      await writer.waitClosed();
    }),
  );

  it("the limit option reaches the readers on both sides", GUARD, () =>
    realRun(async () => {
      const path = socketPath();
      const serverLimit = getRunningLoop().createFuture<number>();
      await using server = await startUnixServer(
        async (reader, writer) => {
          serverLimit.setResult(reader.limit);
          writer.write(`${"x".repeat(20)}\n`);
          writer.close();
        },
        path,
        { limit: 8 },
      );
      assert.equal(server.isServing(), true);
      const [reader, writer] = await openUnixConnection(path, { limit: 10 });
      assert.equal(reader.limit, 10);
      assert.equal(await serverLimit, 8);
      await assert.rejects(reader.readline(), LimitOverrunError);
      writer.close();
    }),
  );

  it("writeEof half-closes: the server reads EOF and can still answer", GUARD, () =>
    realRun(async () => {
      const path = socketPath();
      await using server = await startUnixServer(async (reader, writer) => {
        const all = await reader.read();
        assert.equal(reader.atEof(), true);
        writer.write(`got ${all.length} bytes`);
        writer.close();
      }, path);
      assert.equal(server.sockets.length, 1);
      const [reader, writer] = await openUnixConnection(path);
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

  it("1 MiB sent with drain() comes back through an echo server byte for byte", GUARD, () =>
    realRun(async () => {
      const path = socketPath();
      await using server = await echoServer(path);
      assert.equal(server.isServing(), true);
      const payload = Buffer.from(
        Array.from({ length: 1 << 20 }, (_, i) => (i * 31 + (i >> 12)) & 0xff),
      );
      const [reader, writer] = await openUnixConnection(path);
      const sending = createTask(async () => {
        for (let at = 0; at < payload.length; at += 50_000) {
          writer.write(payload.subarray(at, at + 50_000));
          await writer.drain();
        }
        writer.writeEof();
      });
      const back = await reader.read();
      await sending;
      assert.equal(back.length, payload.length);
      assert.equal(back.equals(payload), true);
      writer.close();
      await writer.waitClosed();
    }),
  );

  it("startServing: false binds nothing until startServing()", GUARD, () =>
    realRun(async () => {
      const path = socketPath();
      await using server = await startUnixServer((_reader, writer) => writer.close(), path, {
        startServing: false,
      });
      assert.deepEqual(server.sockets, []);
      assert.equal(existsSync(path), false);
      await server.startServing();
      assert.deepEqual(server.sockets, [path]);
      const [, writer] = await openUnixConnection(path);
      writer.close();
    }),
  );
});

describe("the socket file", () => {
  it("is removed when the server closes; with cleanupSocket: false it stays", GUARD, () =>
    realRun(async () => {
      const cleaned = socketPath();
      const server = await startUnixServer(() => {}, cleaned);
      assert.equal(statSync(cleaned).isSocket(), true);
      server.close();
      assert.equal(existsSync(cleaned), false);
      assert.deepEqual(server.sockets, []);
      await server.waitClosed();

      const kept = socketPath();
      const keeper = await startUnixServer(() => {}, kept, { cleanupSocket: false });
      keeper.close();
      await keeper.waitClosed();
      assert.equal(statSync(kept).isSocket(), true);
      assert.equal(liveResources(), 0);
    }),
  );

  it(
    "a stale socket (nobody listening: ECONNREFUSED) is removed before listening there",
    GUARD,
    () =>
      realRun(async () => {
        const path = socketPath();
        const first = await startUnixServer(() => {}, path, { cleanupSocket: false });
        first.close();
        await first.waitClosed();
        assert.equal(statSync(path).isSocket(), true);
        await assert.rejects(openUnixConnection(path), (e: NodeJS.ErrnoException) => {
          assert.equal(e.code, "ECONNREFUSED");
          return true;
        });
        await using server = await echoServer(path);
        assert.equal(server.isServing(), true);
        const [reader, writer] = await openUnixConnection(path);
        writer.write("alive\n");
        assert.equal((await reader.readline()).toString(), "alive\n");
        writer.close();
      }),
  );

  it(
    "closing a server does not remove the socket of a server that took the path since",
    GUARD,
    () =>
      realRun(async () => {
        const path = socketPath();
        const old = await startUnixServer(() => {}, path);
        // As asyncio, a new server removes the socket file in its way, live or not.
        await using successor = await echoServer(path);
        const successorInode = statSync(path).ino;
        old.close();
        await old.waitClosed();
        assert.equal(statSync(path).ino, successorInode);
        assert.equal(successor.isServing(), true);
        const [reader, writer] = await openUnixConnection(path);
        writer.write("still the successor\n");
        assert.equal((await reader.readline()).toString(), "still the successor\n");
        writer.close();
      }),
  );

  it("a file at the path that is not a socket is left alone: EADDRINUSE", GUARD, () =>
    realRun(async () => {
      const path = socketPath("not-a-socket");
      writeFileSync(path, "precious");
      await assert.rejects(
        startUnixServer(() => {}, path),
        (e: NodeJS.ErrnoException) => {
          assert.equal(e.code, "EADDRINUSE");
          assert.match(e.message, /not a socket/);
          assert.ok(e.message.includes(path), e.message);
          return true;
        },
      );
      assert.equal(readFileSync(path, "utf8"), "precious");
      // Connecting to it is refused by the system, and changes nothing either.
      await assert.rejects(openUnixConnection(path), { code: "ECONNREFUSED" });
      assert.equal(readFileSync(path, "utf8"), "precious");
      assert.equal(liveResources(), 0);
    }),
  );

  it("listening in a missing directory rejects with Node's error, naming the path", GUARD, () =>
    realRun(async () => {
      const path = join(dir, "missing-dir", "s.sock");
      await assert.rejects(
        startUnixServer(() => {}, path),
        (e: NodeJS.ErrnoException) => {
          // libuv reports ENOENT from bind() as EACCES, for compatibility with Windows.
          assert.equal(e.code, "EACCES");
          assert.ok(e.message.includes(path), e.message);
          return true;
        },
      );
      assert.equal(liveResources(), 0);
    }),
  );

  it("the end of run() closes a server left open and removes its file", GUARD, async () => {
    const path = socketPath();
    await realRun(async () => {
      await startUnixServer(() => sleep(60_000), path);
      const [, writer] = await openUnixConnection(path);
      writer.write("left open");
    });
    assert.equal(existsSync(path), false);
  });

  it(
    "an abstract socket (Linux) works and leaves no file",
    { ...GUARD, skip: process.platform !== "linux" && "abstract sockets are Linux-only" },
    () =>
      realRun(async () => {
        const name = `\0asyncio-ts-test-${process.pid}-${count++}`;
        const before = readdirSync(dir);
        await using server = await echoServer(name);
        assert.deepEqual(server.sockets, [name]);
        assert.match(String(server), /^<Server serving @asyncio-ts-test-/);
        const [reader, writer] = await openUnixConnection(name);
        writer.write("abstract\n");
        assert.equal((await reader.readline()).toString(), "abstract\n");
        writer.close();
        assert.deepEqual(readdirSync(dir), before);
      }),
  );
});

describe("Unix streams: errors and cancellation", () => {
  it("connecting to a missing path rejects with ENOENT", GUARD, () =>
    realRun(async () => {
      await assert.rejects(openUnixConnection(socketPath()), (e: NodeJS.ErrnoException) => {
        assert.equal(e.code, "ENOENT");
        return true;
      });
      assert.equal(liveResources(), 0);
    }),
  );

  it("rejects bad arguments with a TypeError or RangeError naming the argument", GUARD, () =>
    realRun(async () => {
      const path = socketPath();
      const noop = () => {};
      for (const bad of [undefined, 5, null, Buffer.from("/tmp/x")]) {
        await assert.rejects(
          openUnixConnection(bad as never),
          /Expected `path` to be a socket path string/,
        );
        await assert.rejects(startUnixServer(noop, bad as never), TypeError);
      }
      await assert.rejects(openUnixConnection(""), /Expected `path` to be a non-empty socket path/);
      await assert.rejects(startUnixServer(noop, ""), RangeError);
      const tooLong = join(dir, "x".repeat(200));
      await assert.rejects(
        openUnixConnection(tooLong),
        /`path` to be a socket path of at most \d+ bytes/,
      );
      await assert.rejects(startUnixServer(noop, tooLong), RangeError);
      await assert.rejects(openUnixConnection(`${dir}/a\0b`), RangeError);
      await assert.rejects(
        startUnixServer("nope" as never, path),
        /`clientConnected` to be a function/,
      );
      await assert.rejects(openUnixConnection(path, { limit: 0 }), RangeError);
      await assert.rejects(startUnixServer(noop, path, { backlog: -1 }), RangeError);
      await assert.rejects(startUnixServer(noop, path, { backlog: "8" as never }), TypeError);
      await assert.rejects(
        startUnixServer(noop, path, { cleanupSocket: "yes" as never }),
        /`options\.cleanupSocket` to be a boolean/,
      );
      // No TCP options: they mean nothing here (as Python's TypeError for an unknown keyword).
      await assert.rejects(
        openUnixConnection(path, { noDelay: true } as never),
        /Unknown option `options\.noDelay`; expected some of: limit, ssl, serverHostname, sslHandshakeTimeout$/,
      );
      await assert.rejects(startUnixServer(noop, path, { noDelay: true } as never), TypeError);
      await assert.rejects(openUnixConnection(path, { localPort: 1 } as never), TypeError);
      await assert.rejects(openUnixConnection(path, null as never), TypeError);
      // As asyncio's ValueErrors: TLS needs a server name on a Unix socket; TLS-only options.
      await assert.rejects(
        openUnixConnection(path, { ssl: true }),
        /serverHostname is required with options\.ssl on a Unix socket/,
      );
      await assert.rejects(
        openUnixConnection(path, { serverHostname: "localhost" }),
        /serverHostname is only meaningful with options\.ssl/,
      );
      await assert.rejects(
        openUnixConnection(path, { ssl: { ca: "x" }, serverHostname: 7 as never }),
        TypeError,
      );
      await assert.rejects(
        startUnixServer(noop, path, { sslHandshakeTimeout: 10 }),
        /sslHandshakeTimeout is only meaningful with options\.ssl/,
      );
      // As asyncio's TypeError: a server's ssl is its TLS options, not a boolean.
      await assert.rejects(startUnixServer(noop, path, { ssl: true as never }), TypeError);
      // Nothing was made: no file, no socket, no server.
      assert.equal(existsSync(path), false);
      assert.equal(liveResources(), 0);
    }),
  );

  it("cancelling openUnixConnection while it connects destroys the half-made socket", GUARD, () =>
    realRun(async () => {
      const path = socketPath();
      const serverSaw = getRunningLoop().createFuture<string>();
      await using server = await startUnixServer(async (reader, writer) => {
        serverSaw.setResult(`eof after ${(await reader.read()).length} bytes`);
        writer.close();
      }, path);
      assert.equal(server.isServing(), true);
      // Eager: the task runs up to its wait for the connection before createTask returns, so
      // the cancellation lands while it connects (Node reports the connection a turn later).
      const connecting = createTask(() => openUnixConnection(path), { eagerStart: true });
      assert.equal(connecting.done(), false);
      connecting.cancel();
      await assert.rejects(settled(connecting), CancelledError);
      // The kernel had connected the socket; destroying it is what the server sees.
      assert.equal(await serverSaw, "eof after 0 bytes");
      await until(() => liveResources() === 1); // the server alone
    }),
  );

  it(
    "serveForever serves until cancelled, then closes the server and removes the file",
    GUARD,
    () =>
      realRun(async () => {
        const path = socketPath();
        const server = await echoServer(path);
        const serving = createTask(() => server.serveForever());
        await sleep(0);
        await assert.rejects(server.serveForever(), RuntimeError);
        const [reader, writer] = await openUnixConnection(path);
        writer.write("ping\n");
        assert.equal((await reader.readline()).toString(), "ping\n");
        writer.close();
        serving.cancel();
        await assert.rejects(settled(serving), CancelledError);
        assert.equal(server.isServing(), false);
        assert.equal(existsSync(path), false);
      }),
  );

  it("closeClients() ends every connection gracefully, abortClients() at once", GUARD, () =>
    realRun(async () => {
      const path = socketPath();
      const server = await startUnixServer(() => sleep(60_000), path);
      const pairs = [await openUnixConnection(path), await openUnixConnection(path)];
      server.close();
      await until(() => String(server).includes("clients=2"));
      server.closeClients();
      for (const [reader] of pairs) assert.equal((await reader.read()).length, 0);
      await server.waitClosed();
      for (const [, writer] of pairs) writer.close();

      const other = await startUnixServer(() => sleep(60_000), path);
      const [reader, writer] = await openUnixConnection(path);
      await until(() => String(other).includes("clients=1"));
      other.abortClients();
      other.close();
      const outcome = await reader.read(10).then(
        (data) => `eof:${data.length}`,
        (e: NodeJS.ErrnoException) => String(e.code),
      );
      assert.ok(outcome === "eof:0" || outcome === "ECONNRESET", outcome);
      await other.waitClosed();
      writer.close();
    }),
  );
});

describe("TLS over a Unix socket", { skip: noOpenssl }, () => {
  let key = "";
  let cert = "";

  before(() => {
    ({ key, cert } = selfSignedCertificate(dir));
  });

  it("a client trusting the certificate talks to a TLS server on a socket file", GUARD, () =>
    realRun(async () => {
      const path = socketPath();
      await using server = await startUnixServer(
        async (reader, writer) => {
          assert.equal(writer.getExtraInfo("sockname"), path);
          writer.write(`secure ${(await reader.readline()).toString()}`);
          await writer.drain();
          writer.close();
        },
        path,
        { ssl: { key, cert } },
      );
      assert.equal(String(server), `<Server serving ${path} clients=0 tls>`);
      const [reader, writer] = await openUnixConnection(path, {
        ssl: { ca: cert },
        serverHostname: "localhost",
      });
      writer.write("hello\n");
      assert.equal((await reader.read()).toString(), "secure hello\n");
      assert.equal(writer.getExtraInfo("peercert")?.subject.CN, "localhost");
      assert.deepEqual(writer.getExtraInfo("sslcontext"), { ca: cert });
      assert.equal(writer.getExtraInfo("peername"), path);
      assert.equal(writer.canWriteEof(), false);
      writer.close();
      await writer.waitClosed();
    }),
  );

  it("the certificate is checked against serverHostname", GUARD, () =>
    realRun(async () => {
      const path = socketPath();
      await using server = await startUnixServer(() => {}, path, { ssl: { key, cert } });
      assert.equal(server.isServing(), true);
      await assert.rejects(
        openUnixConnection(path, { ssl: { ca: cert }, serverHostname: "example.org" }),
        (e: NodeJS.ErrnoException) => {
          assert.equal(e.code, "ERR_TLS_CERT_ALTNAME_INVALID");
          return true;
        },
      );
    }),
  );
});

describe("Unix streams against peers written by others", {
  skip: !hasPython && "python3 missing",
}, () => {
  /** Runs a Python script; resolves with its exit code and standard output. */
  function python(script: string): {
    proc: ReturnType<typeof spawn>;
    firstLine: Promise<string>;
    exit: Promise<{ code: number | null; out: string }>;
  } {
    const proc = spawn("python3", ["-c", script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    let announce: (line: string) => void = () => {};
    const firstLine = new Promise<string>((resolve) => (announce = resolve));
    proc.stdout!.setEncoding("utf8").on("data", (s: string) => {
      out += s;
      if (out.includes("\n")) announce(out.slice(0, out.indexOf("\n")));
    });
    const exit = new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      proc.once("error", reject);
      proc.once("close", (code) => resolve({ code, out }));
    });
    return { proc, firstLine, exit };
  }

  it("Python's asyncio.open_unix_connection client talks to our server", GUARD, () =>
    realRun(async () => {
      const path = socketPath();
      await using server = await startUnixServer(async (reader, writer) => {
        for await (const line of reader) writer.write(line.toString().toUpperCase());
        writer.close();
      }, path);
      assert.equal(server.isServing(), true);
      const { exit } = python(`
import asyncio, os
async def main():
    r, w = await asyncio.open_unix_connection(${JSON.stringify(path)})
    w.write(b"hello from python\\nsecond line\\n")
    await w.drain()
    w.write_eof()
    print((await r.read()).decode(), end="")
    # The kernel names our server by the temporary name it was bound at (documented).
    print(os.path.dirname(w.get_extra_info("peername")))
    w.close()
    await w.wait_closed()
asyncio.run(main())
`);
      const { code, out } = await exit;
      assert.equal(code, 0);
      assert.equal(out, `HELLO FROM PYTHON\nSECOND LINE\n${dirname(path)}\n`);
    }),
  );

  it("our client talks to Python's asyncio.start_unix_server echo server", GUARD, () =>
    realRun(async () => {
      const path = socketPath();
      const { proc, firstLine, exit } = python(`
import asyncio
async def handle(r, w):
    while data := await r.read(65536):
        w.write(data)
        await w.drain()
    w.close()
async def main():
    server = await asyncio.start_unix_server(handle, ${JSON.stringify(path)})
    print("ready", server.sockets[0].getsockname(), flush=True)
    async with server:
        await server.serve_forever()
asyncio.run(main())
`);
      try {
        assert.equal(await firstLine, `ready ${path}`);
        const [reader, writer] = await openUnixConnection(path);
        assert.equal(writer.getExtraInfo("peername"), path);
        writer.write("line one\n");
        assert.equal((await reader.readline()).toString(), "line one\n");
        const big = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 7) & 0xff));
        // Read while writing: the echo would stall once both sides' socket buffers are full.
        const reading = createTask(() => reader.readexactly(big.length));
        writer.write(big);
        await writer.drain();
        assert.equal((await reading).equals(big), true);
        writer.writeEof();
        assert.equal((await reader.read()).length, 0);
        writer.close();
        await writer.waitClosed();
      } finally {
        proc.kill();
        await exit;
      }
    }),
  );
});

/**
 * Conformance: the Server lifecycle scenarios of CPython's test_asyncio/test_server.py, on real
 * sockets on 127.0.0.1 (and a Unix socket in a temporary directory), in this project's words.
 * Nothing here sleeps a fixed time: each test waits on a Future, a Task or a condition, and the
 * timeouts are hang guards.
 *
 * Covered elsewhere:
 * - test_unix_server_addr_cleanup, test_unix_server_cleanup_replaced and
 *   test_unix_server_cleanup_prevented: streams-unix.test.ts ("the socket file" tests).
 * - closeClients()/abortClients() ending idle connections, close() keeping accepted connections,
 *   serveForever() refusing a second caller: streams.test.ts and streams-unix.test.ts.
 *
 * Not applicable to Node:
 * - test_unix_server_sock_cleanup and test_unix_server_cleanup_gone pass an already bound
 *   socket (`sock=`): asyncio-ts servers listen on a host and port or a path, never on a
 *   socket object made elsewhere.
 * - The ResourceWarning and garbage-collection checks of test_close_race: Node has neither; the
 *   scenario itself (a connection accepted while the server closes) is kept below.
 *
 * Deliberate difference: with `startServing: false` CPython has already bound the socket, so
 * `server.sockets` lists its address and the port is known before serving; Node cannot bind a
 * server without listening, so asyncio-ts binds when it starts serving and `sockets` is empty
 * until then (docs/guide/io.md, "Differences from asyncio").
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  CancelledError,
  createTask,
  currentTask,
  getRunningLoop,
  openConnection,
  openUnixConnection,
  RuntimeError,
  type Server,
  type StreamReader,
  type StreamWriter,
  sleep,
  startServer,
  startUnixServer,
} from "../src/index.ts";
import { errorOf, GUARD, quietRun, settled, until } from "./helpers.ts";

/** A handler that reads to EOF, then closes its side and waits for it (CPython's `serve`). */
async function readThenClose(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    await reader.read();
  } finally {
    writer.close();
    await writer.waitClosed();
  }
}

/** Whether `task` is still pending after the loop ran every callback ready now, twice. */
async function stillPending(task: { done(): boolean }): Promise<boolean> {
  await sleep(0);
  await sleep(0);
  return !task.done();
}

let dir = "";
before(() => {
  dir = mkdtempSync(join(tmpdir(), "asyncio-ts-server-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("conformance: Server lifecycle", () => {
  for (const kind of ["TCP", "Unix"] as const) {
    it(
      `a ${kind} server made with startServing: false serves once serveForever() runs; a handler cancelling it ends \`await using\` with the server closed for good (test_start_server_1, test_start_unix_server_1)`,
      GUARD,
      () =>
        quietRun(async () => {
          const path = join(dir, `forever-${kind}.sock`);
          const served: string[] = [];
          let main: ReturnType<typeof createTask<void>> | null = null;
          const serve = async (reader: StreamReader, writer: StreamWriter) => {
            served.push((await reader.readline()).toString());
            main!.cancel();
            writer.write("1");
            writer.close();
            await writer.waitClosed();
          };
          const server: Server<net.AddressInfo | string> =
            kind === "TCP"
              ? await startServer(serve, "127.0.0.1", 0, { startServing: false })
              : await startUnixServer(serve, path, { startServing: false });
          assert.equal(server.isServing(), false);
          assert.equal(server.getLoop(), getRunningLoop());
          main = createTask(async () => {
            await using srv = server;
            await srv.serveForever();
          });
          await until(() => server.isServing());
          const hello = `${"1".repeat(5 * 1024)}\n`;
          const address = server.sockets[0];
          const [reader, writer] =
            typeof address === "string"
              ? await openUnixConnection(address)
              : await openConnection("127.0.0.1", address.port);
          writer.write(hello);
          assert.equal((await reader.read()).toString(), "1");
          assert.ok((await errorOf(settled(main))) instanceof CancelledError);
          assert.deepEqual(served, [hello]);
          assert.deepEqual(server.sockets, []);
          assert.equal(server.isServing(), false);
          await server.waitClosed(); // at once: closed, no connection left
          await assert.rejects(server.serveForever(), (e: unknown) => {
            assert.ok(e instanceof RuntimeError);
            assert.match(e.message, /is closed/);
            return true;
          });
          await assert.rejects(server.startServing(), RuntimeError);
          writer.close();
          await writer.waitClosed();
        }),
    );
  }

  it(
    "waitClosed() waits while the server is open (with or without connections) and while it is closed with one; it returns once the last ends, and at once afterwards (test_wait_closed_basic)",
    GUARD,
    () =>
      quietRun(async () => {
        const server = await startServer(readThenClose, "127.0.0.1", 0);
        const first = createTask(() => server.waitClosed());
        assert.equal(await stillPending(first), true); // open, no connection

        const [, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
        await until(() => String(server).includes("clients=1"));
        const second = createTask(() => server.waitClosed());
        assert.equal(await stillPending(second), true); // open, one connection
        assert.equal(first.done(), false);

        server.close();
        const third = createTask(() => server.waitClosed());
        assert.equal(await stillPending(third), true); // closed, one connection
        assert.equal(first.done() || second.done(), false);

        writer.close();
        await writer.waitClosed();
        await Promise.all([first, second, third]);
        const again = createTask(() => server.waitClosed());
        await sleep(0);
        assert.equal(again.done(), true);
      }),
  );

  it(
    "waitClosed() returns when close() and the client's close() come from the same loop turn (test_wait_closed_race, gh-79033's 3.12.0 regression)",
    GUARD,
    () =>
      quietRun(async () => {
        const server = await startServer(readThenClose, "127.0.0.1", 0);
        const waiting = createTask(() => server.waitClosed());
        assert.equal(await stillPending(waiting), true);
        const [, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
        const loop = getRunningLoop();
        loop.callSoon(() => server.close());
        loop.callSoon(() => writer.close());
        await server.waitClosed();
        await waiting;
        assert.equal(server.isServing(), false);
      }),
  );

  it(
    "close() then closeClients() lets a pending waitClosed() return: each handler reads EOF and ends (test_close_clients)",
    GUARD,
    () =>
      quietRun(async () => {
        const ended: string[] = [];
        const server = await startServer(
          async (reader, writer) => {
            await readThenClose(reader, writer);
            ended.push("handler saw EOF");
          },
          "127.0.0.1",
          0,
        );
        const port = server.sockets[0].port;
        const clients = [
          await openConnection("127.0.0.1", port),
          await openConnection("127.0.0.1", port),
        ];
        await until(() => String(server).includes("clients=2"));
        const waiting = createTask(() => server.waitClosed());
        assert.equal(await stillPending(waiting), true);
        server.close();
        server.closeClients();
        await waiting;
        // The clients did not close: the server side did, and they read its EOF.
        for (const [reader, writer] of clients) {
          assert.equal((await reader.read()).length, 0);
          writer.close();
        }
        await until(() => ended.length === 2);
      }),
  );

  it(
    "abortClients() ends a connection whose write buffer the peer stopped reading, which closeClients() would wait on (test_abort_clients)",
    GUARD,
    () =>
      quietRun(async () => {
        const accepted = getRunningLoop().createFuture<StreamWriter>();
        const server = await startServer(
          async (_reader, writer) => {
            accepted.setResult(writer);
            await writer.waitClosed().catch(() => {});
          },
          "127.0.0.1",
          0,
        );
        // A small limit: the client's reader pauses its socket after 8 KiB and reads no more.
        const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port, {
          limit: 4096,
        });
        const serverSide = await accepted;
        const chunk = Buffer.alloc(256 * 1024, 97);
        let written = 0;
        // Write until a drain() has to wait: the kernel's buffers are full and Node holds the rest.
        let draining = null as ReturnType<typeof createTask<void>> | null;
        while (draining === null) {
          serverSide.write(chunk);
          written += chunk.length;
          const drain = createTask(() => serverSide.drain());
          if (await stillPending(drain)) draining = drain;
          else assert.ok(written < 1024 * 1024 * 1024, "the kernel took 1 GiB");
        }
        await until(() => reader.statistics().buffered >= 8192);
        const waiting = createTask(() => server.waitClosed());
        assert.equal(await stillPending(waiting), true);

        server.close();
        server.abortClients();
        await waiting;
        assert.equal(serverSide.isClosing(), true);
        await settled(draining).catch(() => {}); // woken by the loss, not left hanging
        assert.equal(draining.done(), true);
        // The client got part of the data at most, then EOF or a reset.
        const outcome = await reader.read().then(
          (rest) => `eof after ${rest.length < written ? "part" : "all"}`,
          (e: NodeJS.ErrnoException) => String(e.code),
        );
        assert.ok(outcome === "eof after part" || outcome === "ECONNRESET", outcome);
        writer.close();
      }),
  );

  it(
    "a connection that arrives as the server closes neither breaks waitClosed() nor reaches the exception handler (test_close_race)",
    GUARD,
    () =>
      quietRun(async () => {
        let handled = 0;
        const server = await startServer(
          (reader, writer) => {
            handled++;
            return readThenClose(reader, writer);
          },
          "127.0.0.1",
          0,
        );
        const port = server.sockets[0].port;
        const connecting = createTask(() => openConnection("127.0.0.1", port));
        // Close as soon as the client has connected (the kernel has the connection), before or
        // after Node accepted it: both orders must end the same way.
        await until(() => connecting.done());
        server.close();
        const outcome = await settled(connecting).then(
          ([reader, writer]) => ({ reader, writer }),
          (e: NodeJS.ErrnoException) => e,
        );
        if (outcome instanceof Error) assert.equal(outcome.code, "ECONNRESET");
        else {
          outcome.writer.close();
          await outcome.writer.waitClosed();
        }
        await server.waitClosed();
        assert.ok(handled <= 1);
        assert.equal(server.isServing(), false);
      }),
  );

  it(
    "close() from outside ends serveForever() with CancelledError, as asyncio cancels its waiter; the task itself was not cancelled (Server.close)",
    GUARD,
    () =>
      quietRun(async () => {
        const server = await startServer(() => {}, "127.0.0.1", 0);
        const serving = createTask(async () => {
          try {
            await server.serveForever();
          } catch (e) {
            return { error: e, cancelling: currentTask()!.cancelling() };
          }
          return null;
        });
        await sleep(0); // the task starts and waits in serveForever()
        server.close();
        const outcome = await serving;
        assert.ok(outcome !== null && outcome.error instanceof CancelledError);
        assert.equal(outcome.cancelling, 0);
        assert.equal(server.isServing(), false);
      }),
  );

  it(
    "startServing() is idempotent, close() is idempotent, and sockets lists the address only while serving (Server.start_serving, Server.sockets)",
    GUARD,
    () =>
      quietRun(async () => {
        const server = await startServer(() => {}, "127.0.0.1", 0, { startServing: false });
        assert.equal(server.sockets.length, 0);
        await server.startServing();
        const [address] = server.sockets;
        assert.equal(address.address, "127.0.0.1");
        assert.ok(address.port > 0);
        await server.startServing();
        assert.deepEqual(server.sockets, [address]);
        assert.equal(server.isServing(), true);
        server.close();
        server.close();
        assert.deepEqual(server.sockets, []);
        await server.waitClosed();
        await assert.rejects(openConnection("127.0.0.1", address.port), {
          code: "ECONNREFUSED",
        });
      }),
  );

  for (const kind of ["TCP", "Unix"] as const) {
    it(
      `a ${kind} server: startServing() called again while a first call still waits for the listen (not awaited, then serveForever()) waits for it instead of listening twice (Server.start_serving is idempotent)`,
      GUARD,
      () =>
        quietRun(async () => {
          const server: Server<net.AddressInfo | string> =
            kind === "TCP"
              ? await startServer(readThenClose, "127.0.0.1", 0, { startServing: false })
              : await startUnixServer(readThenClose, join(dir, "restart.sock"), {
                  startServing: false,
                });
          const first = server.startServing();
          const second = server.startServing();
          const forever = createTask(() => server.serveForever());
          await first;
          await second;
          assert.equal(server.isServing(), true);
          assert.equal(await stillPending(forever), true);
          const [address] = server.sockets;
          const [, writer] =
            typeof address === "string"
              ? await openUnixConnection(address)
              : await openConnection("127.0.0.1", address.port);
          writer.close();
          forever.cancel();
          assert.ok((await errorOf(forever)) instanceof CancelledError);
          assert.equal(server.isServing(), false);
        }),
    );
  }

  it(
    "`await using` on a server whose handler still runs waits for it to end; closeClients() from inside lets it end (async with server)",
    GUARD,
    () =>
      quietRun(async () => {
        const steps: string[] = [];
        const accepted = getRunningLoop().createFuture<void>();
        let theServer: Server | null = null;
        const body = createTask(async () => {
          await using server = await startServer(
            async (reader, writer) => {
              accepted.setResult();
              await readThenClose(reader, writer);
              steps.push("handler done");
            },
            "127.0.0.1",
            0,
          );
          theServer = server;
          // The client stays open: disposal waits for the connection.
          const [, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
          await accepted;
          steps.push("body done");
          return writer;
        });
        await until(() => steps.includes("body done"));
        assert.equal(await stillPending(body), true);
        assert.equal(theServer!.isServing(), false);
        theServer!.closeClients();
        const client = await body;
        assert.deepEqual(steps, ["body done", "handler done"]);
        client.close();
        await client.waitClosed();
      }),
  );
});

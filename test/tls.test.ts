/**
 * TLS streams through the `ssl` option, with a self-signed certificate made by this test with
 * `openssl req -x509` in a temporary directory (skipped, saying why, when openssl is missing).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  CancelledError,
  createTask,
  Event,
  openConnection,
  RuntimeError,
  sleep,
  startServer,
} from "../src/index.ts";
import { GUARD, noOpenssl, realRun, selfSignedCertificate } from "./helpers.ts";

describe("TLS streams", { skip: noOpenssl }, () => {
  let dir = "";
  let key = "";
  let cert = "";

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "asyncio-ts-tls-"));
    ({ key, cert } = selfSignedCertificate(dir));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a client trusting the certificate talks to a TLS server", GUARD, () =>
    realRun(async () => {
      await using server = await startServer(
        async (reader, writer) => {
          const line = await reader.readline();
          writer.write(`secure ${line.toString()}`);
          await writer.drain();
          writer.close();
        },
        "127.0.0.1",
        0,
        { ssl: { key, cert } },
      );
      assert.match(String(server), / tls>$/);
      const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port, {
        ssl: { ca: cert },
        serverHostname: "localhost",
      });
      writer.write("hello\n");
      assert.equal((await reader.read()).toString(), "secure hello\n");
      const peercert = writer.getExtraInfo("peercert");
      assert.equal(peercert?.subject.CN, "localhost");
      assert.equal(typeof writer.getExtraInfo("cipher")?.name, "string");
      assert.deepEqual(writer.getExtraInfo("sslcontext"), { ca: cert });
      assert.equal(writer.getExtraInfo("ssl_object"), writer.transport);
      assert.equal(writer.canWriteEof(), false);
      assert.throws(() => writer.writeEof(), RuntimeError);
      writer.close();
      await writer.waitClosed();
    }),
  );

  it(
    "an idle timeout the user sets on a TLS connection's transport only calls the user's listener (the handshake timeout is gone once connected)",
    GUARD,
    () =>
      realRun(async () => {
        await using server = await startServer(
          async (reader, writer) => {
            writer.write(await reader.readline());
            await writer.drain();
            writer.close();
          },
          "127.0.0.1",
          0,
          { ssl: { key, cert } },
        );
        const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port, {
          ssl: { ca: cert },
          serverHostname: "localhost",
        });
        const idle = new Event();
        writer.transport.setTimeout(1, () => idle.set());
        await idle.wait();
        writer.transport.setTimeout(0);
        assert.equal(writer.transport.destroyed, false);
        writer.write("still here\n");
        assert.equal((await reader.readline()).toString(), "still here\n");
        writer.close();
        await writer.waitClosed();
      }),
  );

  it("a client that does not trust the certificate is refused with a TLS error", GUARD, () =>
    realRun(async () => {
      await using server = await startServer(() => {}, "127.0.0.1", 0, { ssl: { key, cert } });
      await assert.rejects(
        openConnection("127.0.0.1", server.sockets[0].port, { ssl: true }),
        (e: NodeJS.ErrnoException) => {
          assert.match(String(e.code), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
          return true;
        },
      );
    }),
  );

  it(
    "the peer's EOF closes a TLS stream (it cannot be half-open): later writes are dropped, waitClosed resolves",
    GUARD,
    () =>
      realRun(async () => {
        let outcome = "";
        await using server = await startServer(
          async (reader, writer) => {
            await reader.read();
            const closingAfterEof = writer.isClosing();
            writer.write("too late");
            writer.close();
            await writer.waitClosed();
            outcome = `closing after EOF: ${closingAfterEof}`;
          },
          "127.0.0.1",
          0,
          { ssl: { key, cert } },
        );
        const [, writer] = await openConnection("127.0.0.1", server.sockets[0].port, {
          ssl: { ca: cert },
          serverHostname: "localhost",
        });
        writer.write("hi");
        writer.close();
        await writer.waitClosed();
        server.close();
        await server.waitClosed();
        assert.equal(outcome, "closing after EOF: true");
      }),
  );

  it("a large transfer over TLS arrives intact with drain() backpressure", GUARD, () =>
    realRun(async () => {
      const payload = Buffer.alloc(4 * 1024 * 1024);
      for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
      await using server = await startServer(
        async (_reader, writer) => {
          for (let at = 0; at < payload.length; at += 65536) {
            writer.write(payload.subarray(at, at + 65536));
            await writer.drain();
          }
          writer.close();
        },
        "127.0.0.1",
        0,
        { ssl: { key, cert } },
      );
      const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port, {
        ssl: { ca: cert },
        serverHostname: "localhost",
      });
      const got = await reader.read();
      assert.equal(got.equals(payload), true);
      writer.close();
    }),
  );
  describe("startTls (STARTTLS on a plain connection)", () => {
    it(
      "upgrades both sides in place: plain lines first, then encrypted ones, and EOF at the end",
      GUARD,
      () =>
        realRun(async () => {
          const seen: string[] = [];
          await using server = await startServer(
            async (reader, writer) => {
              seen.push((await reader.readline()).toString());
              assert.equal(writer.getExtraInfo("sslcontext"), undefined);
              writer.write("GO\n");
              await writer.startTls({ key, cert });
              assert.deepEqual(writer.getExtraInfo("sslcontext"), { key, cert });
              assert.equal(writer.getExtraInfo("ssl_object"), writer.transport);
              const line = (await reader.readline()).toString();
              writer.write(`secret ${line}`);
              await writer.drain();
              writer.close();
            },
            "127.0.0.1",
            0,
          );
          const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
          writer.write("STARTTLS\n");
          assert.equal((await reader.readline()).toString(), "GO\n");
          assert.equal(writer.canWriteEof(), true);
          await writer.startTls({ ca: cert }, { serverHostname: "localhost" });
          assert.equal(writer.getExtraInfo("peercert")?.subject.CN, "localhost");
          assert.equal(typeof writer.getExtraInfo("cipher")?.name, "string");
          assert.equal(writer.canWriteEof(), false);
          writer.write("42\n");
          assert.equal((await reader.readline()).toString(), "secret 42\n");
          assert.equal((await reader.read()).length, 0);
          assert.equal(reader.atEof(), true);
          assert.deepEqual(seen, ["STARTTLS\n"]);
          writer.close();
          await writer.waitClosed();
        }),
    );

    it(
      "a handshake the client cannot verify rejects startTls and closes the connection",
      GUARD,
      () =>
        realRun(async () => {
          await using server = await startServer(
            async (reader, writer) => {
              await reader.readline();
              writer.write("GO\n");
              await writer.startTls({ key, cert }).catch(() => {});
            },
            "127.0.0.1",
            0,
          );
          const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
          writer.write("STARTTLS\n");
          await reader.readline(); // the go-ahead
          await assert.rejects(writer.startTls(true), (e: NodeJS.ErrnoException) => {
            assert.match(String(e.code), /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
            return true;
          });
          assert.equal(writer.isClosing(), true);
          await writer.waitClosed().catch(() => {});
          await assert.rejects(reader.read(), (e: NodeJS.ErrnoException) =>
            /CERT|SELF/.test(String(e.code)),
          );
        }),
    );

    it("a peer that never answers the handshake times out after sslHandshakeTimeout", GUARD, () =>
      realRun(async () => {
        await using server = await startServer(
          async (reader, writer) => {
            // Swallows the ClientHello and never answers.
            while ((await reader.read()).length > 0) {}
            writer.close();
          },
          "127.0.0.1",
          0,
        );
        const [, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
        await assert.rejects(
          writer.startTls({ ca: cert }, { serverHostname: "localhost", sslHandshakeTimeout: 50 }),
          (e: NodeJS.ErrnoException) =>
            e.code === "ECONNABORTED" && /taking longer than 50 ms/.test(e.message),
        );
        assert.equal(writer.isClosing(), true);
      }),
    );

    it("cancelling a task in startTls closes the half-upgraded connection", GUARD, () =>
      realRun(async () => {
        let peerSawEof = false;
        await using server = await startServer(
          async (reader, writer) => {
            // Reads the ClientHello, never answers, and sees the connection end.
            while ((await reader.read()).length > 0) {}
            peerSawEof = true;
            writer.close();
          },
          "127.0.0.1",
          0,
        );
        const [, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
        const upgrading = createTask(() =>
          writer.startTls({ ca: cert }, { serverHostname: "localhost" }),
        );
        await sleep(20);
        upgrading.cancel();
        await assert.rejects(
          (async () => {
            await upgrading;
          })(),
          CancelledError,
        );
        assert.equal(writer.isClosing(), true);
        await writer.waitClosed().catch(() => {});
        while (!peerSawEof) await sleep(5);
      }),
    );

    it(
      "refuses a closing stream, a server side without a certificate and bad arguments",
      GUARD,
      () =>
        realRun(async () => {
          let serverSideError: unknown = null;
          await using server = await startServer(
            async (reader, writer) => {
              await reader.readline();
              serverSideError = await writer.startTls(true).catch((e) => e);
              writer.write("GO\n");
              await writer.startTls({ key, cert });
              await reader.read();
              writer.close();
            },
            "127.0.0.1",
            0,
          );
          const [reader, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
          await assert.rejects(
            writer.startTls(null as never),
            /Expected `ssl` to be true or a TLS options object/,
          );
          await assert.rejects(writer.startTls({}, { serverHostname: 5 as never }), TypeError);
          await assert.rejects(writer.startTls({}, { sslHandshakeTimeout: 0 }), RangeError);
          await assert.rejects(writer.startTls({}, "x" as never), TypeError);
          writer.write("STARTTLS\n");
          assert.equal((await reader.readline()).toString(), "GO\n");
          await writer.startTls({ ca: cert }, { serverHostname: "localhost" });
          assert.ok(serverSideError instanceof TypeError);
          assert.match(String((serverSideError as Error).message), /key and cert/);
          writer.close();
          await assert.rejects(writer.startTls({ ca: cert }), RuntimeError);
        }),
    );
  });
});

/**
 * TLS streams through the `ssl` option, with a self-signed certificate made by this test with
 * `openssl req -x509` in a temporary directory (skipped, saying why, when openssl is missing).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openConnection, RuntimeError, run, startServer } from "../src/index.ts";

const GUARD = { timeout: 20_000 };
const realRun = <T>(main: () => Promise<T>) => run(main, { handleSignals: false });

const openssl = spawnSync("openssl", ["version"]);
const skip = openssl.status === 0 ? false : "openssl is not installed: cannot make a certificate";

describe("TLS streams", { skip }, () => {
  let dir = "";
  let key = "";
  let cert = "";

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "asyncio-ts-tls-"));
    const made = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
      ],
      { encoding: "utf8" },
    );
    assert.equal(made.status, 0, made.stderr);
    key = readFileSync(join(dir, "key.pem"), "utf8");
    cert = readFileSync(join(dir, "cert.pem"), "utf8");
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
});

/**
 * AbortSignal interop: every task's signal is aborted when the task is asked to cancel, so
 * Node's signal-aware APIs stop too, and the `AbortError` they throw counts as the task's
 * cancellation (the task ends cancelled, `isCancelledError` is true).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { EventEmitter, once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import {
  CancelledError,
  createTask,
  currentSignal,
  Future,
  getRunningLoop,
  isCancelledError,
  sleep,
  type Task,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

/** Awaits a task that must end cancelled; returns the error `await` threw. */
async function expectCancelled(task: Task<unknown>): Promise<CancelledError> {
  let thrown: unknown;
  try {
    await task;
  } catch (e) {
    thrown = e;
  }
  assert.equal(task.cancelled(), true, `expected a cancelled task, got ${String(task)}`);
  assert.ok(thrown instanceof CancelledError, `expected CancelledError, got ${String(thrown)}`);
  return thrown;
}

describe("task.signal", () => {
  test("is aborted on cancel with the CancelledError as reason, and an abort listener sees it", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        const signal = currentSignal();
        const reasons: unknown[] = [];
        signal.addEventListener("abort", () => reasons.push(signal.reason));
        try {
          await sleep(10_000);
        } finally {
          assert.equal(reasons.length, 1);
          assert.ok(reasons[0] instanceof CancelledError);
          assert.equal((reasons[0] as CancelledError).message, "why");
        }
      });
      await sleep(0);
      task.cancel("why");
      const error = await expectCancelled(task);
      assert.equal(error.message, "why");
    });
  });

  test("is the same object for the task's whole life unless uncancel() resets it", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        const first = currentSignal();
        await sleep(10);
        return first === currentSignal();
      });
      assert.equal(await task, true);
    });
  });
});

describe("Node APIs stop when the task is cancelled", () => {
  let dir: string;
  let bigFile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "asyncio-ts-signal-"));
    bigFile = join(dir, "big.bin");
    await writeFile(bigFile, Buffer.alloc(16 * 1024 * 1024, 1));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("fs/promises readFile with currentSignal(): the task ends cancelled", async () => {
    await runVirtual(async () => {
      let caught: unknown;
      const task = createTask(async () => {
        try {
          return await readFile(bigFile, { signal: currentSignal() });
        } catch (e) {
          caught = e;
          throw e;
        }
      });
      await sleep(0);
      task.cancel("stop reading");
      const error = await expectCancelled(task);
      assert.equal(error.message, "stop reading");
      assert.equal((caught as Error).name, "AbortError");
      assert.ok((caught as Error).cause instanceof CancelledError);
      assert.equal(isCancelledError(caught), true);
      assert.equal(error.cause, caught, "the task's CancelledError is caused by the AbortError");
    });
  });

  test("timers/promises setTimeout with the signal: cancelled at once, not after the delay", async () => {
    await runVirtual(async () => {
      const task = createTask(() => delay(60_000, "late", { signal: currentSignal() }));
      await sleep(0);
      task.cancel();
      await expectCancelled(task);
    });
  });

  test("events.once with the signal: the listener is removed and the task ends cancelled", async () => {
    await runVirtual(async () => {
      const emitter = new EventEmitter();
      const task = createTask(() => once(emitter, "never", { signal: currentSignal() }));
      await sleep(0);
      assert.equal(emitter.listenerCount("never"), 1);
      task.cancel();
      await expectCancelled(task);
      assert.equal(emitter.listenerCount("never"), 0);
    });
  });

  test("child_process.execFile with the signal: the child is killed", async () => {
    await runVirtual(async () => {
      let caught: unknown;
      const task = createTask(async () => {
        try {
          await promisify(execFile)(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], {
            signal: currentSignal(),
          });
        } catch (e) {
          caught = e;
          throw e;
        }
      });
      await sleep(0);
      task.cancel();
      await expectCancelled(task);
      assert.equal((caught as Error).name, "AbortError");
    });
  });

  test("fetch from a local HTTP server, aborted mid-response: the request stops", async () => {
    let serverSawClose!: Promise<unknown>;
    const requested = new Future<void>();
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      serverSawClose = once(res, "close");
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first part of the body;");
      // Never ends: the client must abort.
      requested.setResult();
      req.resume();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    try {
      await runVirtual(async () => {
        const chunks: string[] = [];
        const task = createTask(async () => {
          const response = await fetch(`http://127.0.0.1:${port}/slow`, {
            signal: currentSignal(),
          });
          const reader = response.body!.getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return chunks.join("");
            chunks.push(Buffer.from(value).toString("utf8"));
          }
        });
        await requested;
        while (chunks.length === 0) await sleep(0);
        task.cancel("enough");
        await expectCancelled(task);
        assert.deepEqual(chunks, ["first part of the body;"]);
        assert.equal(getRunningLoop().time(), 0);
      });
      await serverSawClose;
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe("isCancelledError", () => {
  test("is true for CancelledError and an AbortError caused by one, false otherwise", () => {
    const cancelled = new CancelledError("x");
    assert.equal(isCancelledError(cancelled), true);
    const abort = new DOMException("aborted", "AbortError");
    Object.defineProperty(abort, "cause", { value: cancelled });
    assert.equal(isCancelledError(abort), true);
    const plainAbort = new DOMException("aborted", "AbortError");
    assert.equal(isCancelledError(plainAbort), false);
    const otherCause = new Error("x", { cause: new Error("other") });
    otherCause.name = "AbortError";
    assert.equal(isCancelledError(otherCause), false);
    assert.equal(isCancelledError(new Error("plain")), false);
    assert.equal(isCancelledError(null), false);
    assert.equal(isCancelledError("CancelledError"), false);
  });

  test("an AbortError from a signal the task does not own does not cancel the task", async () => {
    await runVirtual(async () => {
      const controller = new AbortController();
      const task = createTask(() => delay(60_000, undefined, { signal: controller.signal }));
      await sleep(0);
      controller.abort();
      await assert.rejects(async () => await task, { name: "AbortError" });
      assert.equal(task.cancelled(), false, "a foreign abort is an ordinary error");
    });
  });
});

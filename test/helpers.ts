/**
 * Shared test helpers. Timing-dependent tests run on the virtual clock: time jumps to the next
 * deadline whenever nothing is runnable, so tests are instant and deterministic.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type ExceptionContext,
  getRunningLoop,
  type RunOptions,
  run,
  sleep,
} from "../src/index.ts";

/** Runs `main` on a fresh loop with virtual time and no SIGINT handling. */
export function runVirtual<T>(
  main: () => T | PromiseLike<T>,
  options: RunOptions = {},
): Promise<T> {
  return run(main, { clock: "virtual", handleSignals: false, ...options });
}

/** Collects what the loop's exception handler receives, for assertions. */
export function collectExceptions(): {
  contexts: Array<{ message: string; exception?: unknown }>;
  handler: (loop: unknown, context: { message: string; exception?: unknown }) => void;
} {
  const contexts: Array<{ message: string; exception?: unknown }> = [];
  return { contexts, handler: (_loop, context) => contexts.push(context) };
}

/** The running loop's time (ms; virtual in `runVirtual`). */
export const now = (): number => getRunningLoop().time();

/** Settles `aw` and returns the error it failed with (fails the test if it succeeded). */
export async function errorOf(aw: PromiseLike<unknown>): Promise<unknown> {
  try {
    await aw;
  } catch (e) {
    return e;
  }
  return assert.fail("expected a failure");
}

/** Calls `fn` and returns what it threw (fails the test if it returned). */
export function syncErrorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return assert.fail("expected a throw");
}

/** The hang guard of the tests on real sockets (they never assert on durations). */
export const GUARD = { timeout: 20_000 };

/** Runs `main` on a fresh loop with real time and no SIGINT handling (real I/O). */
export function realRun<T>(main: () => Promise<T>): Promise<T> {
  return run(main, { handleSignals: false });
}

/**
 * Runs `main` on a real-time loop and checks that nothing reached the loop's exception handler
 * by the end of `run()` (CPython's tests check the same: a failed or cancelled handshake, a
 * closed server, is not logged as an error).
 */
export async function quietRun(main: () => Promise<void>): Promise<void> {
  const reported: ExceptionContext[] = [];
  await realRun(async () => {
    getRunningLoop().setExceptionHandler((_loop, context) => reported.push(context));
    await main();
  });
  assert.deepEqual(
    reported.map((c) => `${c.message}: ${String(c.exception)}`),
    [],
  );
}

/** A native promise of a Task's outcome, for `assert.rejects`. */
export function settled<T>(task: PromiseLike<T>): Promise<T> {
  return (async () => await task)();
}

/** Resolves once `condition()` holds, checking on every loop turn (a hang guard bounds it). */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(1);
}

/** Why TLS tests cannot run here (no openssl to make a certificate), or false. */
export const noOpenssl: string | false =
  spawnSync("openssl", ["version"]).status === 0
    ? false
    : "openssl is not installed: cannot make a certificate";

/**
 * Makes a self-signed certificate for `localhost` (and 127.0.0.1) in `dir` with
 * `openssl req -x509`, and returns its key and certificate in PEM.
 */
export function selfSignedCertificate(dir: string): { key: string; cert: string } {
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
  return {
    key: readFileSync(join(dir, "key.pem"), "utf8"),
    cert: readFileSync(join(dir, "cert.pem"), "utf8"),
  };
}

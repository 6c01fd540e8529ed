/**
 * loop.addSignalHandler / removeSignalHandler (asyncio's add_signal_handler): in this process
 * with SIGWINCH (ignored by default, so a stray one harms nothing; some Node setups write a
 * diagnostic report on SIGUSR2), and in child processes for a program
 * that only waits for a signal and for SIGINT taking over from run()'s handler.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { currentTask, Event, getRunningLoop, RuntimeError, run } from "../src/index.ts";
import { FixtureChild, ROOT } from "./run-node.ts";

const FIXTURE = join(ROOT, "test", "fixtures", "signal-handler.ts");
const CHILD_TIMEOUT = 30_000;
const realRun = <T>(main: () => Promise<T>) => run(main, { handleSignals: false });

describe("loop.addSignalHandler", () => {
  test("runs the callback with its arguments as a loop callback when the signal comes", () =>
    realRun(async () => {
      const loop = getRunningLoop();
      const got = new Event();
      const seen: unknown[] = [];
      loop.addSignalHandler(
        "SIGWINCH",
        (a: string, b: number) => {
          seen.push(a, b, currentTask());
          got.set();
        },
        "x",
        2,
      );
      process.kill(process.pid, "SIGWINCH");
      await got.wait();
      assert.deepEqual(seen, ["x", 2, null]);
      assert.equal(loop.removeSignalHandler("SIGWINCH"), true);
    }));

  test("one handler per signal: a new one replaces the old; remove says whether there was one", () =>
    realRun(async () => {
      const loop = getRunningLoop();
      const before = process.listenerCount("SIGWINCH");
      const calls: string[] = [];
      const got = new Event();
      loop.addSignalHandler("SIGWINCH", () => calls.push("first"));
      loop.addSignalHandler("SIGWINCH", () => {
        calls.push("second");
        got.set();
      });
      assert.equal(process.listenerCount("SIGWINCH"), before + 1);
      process.kill(process.pid, "SIGWINCH");
      await got.wait();
      assert.deepEqual(calls, ["second"]);
      assert.equal(loop.removeSignalHandler("SIGWINCH"), true);
      assert.equal(loop.removeSignalHandler("SIGWINCH"), false);
      assert.equal(process.listenerCount("SIGWINCH"), before);
    }));

  test("closing the loop removes its handlers (nothing keeps the process alive after run)", async () => {
    const before = process.listenerCount("SIGWINCH");
    await realRun(async () => {
      getRunningLoop().addSignalHandler("SIGWINCH", () => {});
      assert.equal(process.listenerCount("SIGWINCH"), before + 1);
    });
    assert.equal(process.listenerCount("SIGWINCH"), before);
  });

  test("bad input: TypeError, RangeError, RuntimeError for uncatchable signals; nothing installed", () =>
    realRun(async () => {
      const loop = getRunningLoop();
      const before = process.listenerCount("SIGWINCH");
      assert.throws(() => loop.addSignalHandler(15 as never, () => {}), {
        name: "TypeError",
        message: /`signal`/,
      });
      assert.throws(() => loop.addSignalHandler("SIGNOPE" as never, () => {}), {
        name: "RangeError",
        message: /`signal`.*SIGNOPE/,
      });
      assert.throws(() => loop.addSignalHandler("SIGKILL", () => {}), RuntimeError);
      assert.throws(() => loop.addSignalHandler("SIGWINCH", "nope" as never), TypeError);
      assert.throws(() => loop.addSignalHandler("SIGWINCH", async () => {}), /plain function/);
      assert.throws(() => loop.removeSignalHandler("SIGNOPE" as never), RangeError);
      assert.equal(process.listenerCount("SIGWINCH"), before);
    }));
});

/** Runs the fixture in `mode`, sends `signal` once it is ready; its lines, after it exited 0. */
async function signalledFixture(mode: string, signal: NodeJS.Signals): Promise<string[]> {
  const child = new FixtureChild(FIXTURE, [mode], CHILD_TIMEOUT);
  await child.waitFor("ready");
  child.child.kill(signal);
  const [code] = await child.exited;
  assert.equal(code, 0, child.stdout);
  return child.lines();
}

const HANDLED = ["ready", "handler ran (as a loop callback)", "main returned", "listeners left: 0"];

describe("signal handlers in a program", () => {
  test("a program that only waits for a signal keeps waiting, and ends when it comes", async () => {
    assert.deepEqual(await signalledFixture("term", "SIGTERM"), HANDLED);
  });

  test("a SIGINT handler removed again leaves Ctrl-C to the Runner: KeyboardInterrupt after cleanup", async () => {
    assert.deepEqual(await signalledFixture("removed", "SIGINT"), [
      "ready",
      "main cleanup ran",
      "run rejected: KeyboardInterrupt",
      "listeners left: 0",
    ]);
  });

  test("a SIGINT handler of the program takes over from run()'s: main is not cancelled", async () => {
    assert.deepEqual(await signalledFixture("sigint", "SIGINT"), HANDLED);
  });
});

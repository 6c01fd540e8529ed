/**
 * `run()` and `Runner`: results, shutdown of leftover tasks (cleanup runs, errors reported),
 * never-retrieved errors, prompt process exit, SIGINT handling, and Runner's life cycle.
 * Scenarios follow CPython's test_runners.py; SIGINT and process exit are checked in child
 * processes running the scripts of test/fixtures/.
 */
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { join } from "node:path";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import {
  CancelledError,
  createTask,
  currentTask,
  type EventLoop,
  type ExceptionContext,
  Future,
  getRunningLoop,
  KeyboardInterrupt,
  Runner,
  run,
  sleep,
  Task,
} from "../src/index.ts";
import { collectExceptions, errorOf, runVirtual } from "./helpers.ts";
import { describeRun, FixtureChild, ROOT, runTs } from "./run-node.ts";

const FIXTURES = join(ROOT, "test", "fixtures");
/** Hang guard for child processes: generous, the children measure nothing. */
const CHILD_TIMEOUT = 30_000;

describe("run()", () => {
  test("returns main's result, from an async or a plain function", async () => {
    assert.equal(await runVirtual(async () => (await sleep(10, 20)) + 1), 21);
    assert.equal(await runVirtual(() => "sync"), "sync");
  });

  test("rejects with main's error", async () => {
    const error = new Error("main failed");
    await assert.rejects(
      runVirtual(async () => {
        await sleep(1);
        throw error;
      }),
      (e) => e === error,
    );
  });

  test("rejects with CancelledError when main is cancelled", async () => {
    await assert.rejects(
      runVirtual(async () => {
        const main = currentTask()!;
        getRunningLoop().callLater(10, () => main.cancel("stop main"));
        await sleep(1000);
      }),
      { name: "CancelledError", message: "stop main" },
    );
  });

  test("main runs as a task; afterwards the loop is closed and holds no task", async () => {
    let loop!: EventLoop;
    await runVirtual(async () => {
      loop = getRunningLoop();
      assert.ok(currentTask() !== null);
      assert.match(currentTask()!.name, /^Task-\d+$/);
    });
    assert.equal(loop.isClosed(), true);
    assert.equal(loop.isRunning(), false);
    assert.equal(loop._tasks.size, 0);
  });

  test("leftover tasks are cancelled and awaited at the end: their finally blocks run, in creation order", async () => {
    const log: string[] = [];
    let end = -1;
    let loop!: EventLoop;
    await runVirtual(async () => {
      loop = getRunningLoop();
      for (const name of ["a", "b"]) {
        createTask(
          async () => {
            try {
              await sleep(1_000_000);
            } catch (e) {
              log.push(`${name} got ${(e as Error).name}`);
              throw e;
            } finally {
              // Cleanup may itself wait: shutdown awaits it.
              await sleep(100);
              log.push(`${name} cleaned up at ${getRunningLoop().time()}`);
              end = getRunningLoop().time();
            }
          },
          { name },
        );
      }
      await sleep(10);
      log.push("main returns");
    });
    assert.deepEqual(log, [
      "main returns",
      "a got CancelledError",
      "b got CancelledError",
      "a cleaned up at 110",
      "b cleaned up at 110",
    ]);
    assert.equal(end, 110);
    assert.equal(loop.isClosed(), true);
  });

  test("tasks created during shutdown are cancelled too", async () => {
    const log: string[] = [];
    await runVirtual(async () => {
      createTask(async () => {
        try {
          await sleep(1_000_000);
        } finally {
          createTask(async () => {
            try {
              await sleep(1_000_000);
            } finally {
              log.push("late task cleaned up");
            }
          });
        }
      });
      await sleep(0);
    });
    assert.deepEqual(log, ["late task cleaned up"]);
  });

  test("tasks still pending when the shutdown rounds run out (each cancelled task starts another) are reported as destroyed while pending", async () => {
    const reports: string[] = [];
    let started = 0;
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler((_loop, context) =>
        reports.push(`${context.message} ${context.task?.name}`),
      );
      const spawn = (k: number): void => {
        started++;
        createTask(
          async () => {
            try {
              await sleep(1_000_000);
            } finally {
              spawn(k + 1);
            }
          },
          { name: `spawner-${k}` },
        );
      };
      spawn(0);
      await sleep(0);
    });
    assert.equal(started, 17, "one task, then one more per shutdown round");
    assert.deepEqual(reports, ["Task was destroyed but it is pending! spawner-16"]);
  });

  test("shutdown cancellations carry a 'shutdown' origin", async () => {
    let seen: unknown;
    await runVirtual(async () => {
      createTask(async () => {
        try {
          await sleep(1_000_000);
        } catch (e) {
          seen = e;
          throw e;
        }
      });
      await sleep(0);
    });
    assert.ok(seen instanceof CancelledError);
    assert.equal(seen.origin?.kind, "shutdown");
  });

  test("errors of leftover tasks and never-retrieved task errors go to the exception handler", async () => {
    const contexts: ExceptionContext[] = [];
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler((_loop, ctx) => contexts.push(ctx));
      createTask(
        async () => {
          try {
            await sleep(1_000_000);
          } finally {
            // biome-ignore lint/correctness/noUnsafeFinally: the scenario is a failing cleanup.
            throw new Error("cleanup failed");
          }
        },
        { name: "bad-cleanup" },
      );
      createTask(
        async () => {
          throw new Error("nobody awaited me");
        },
        { name: "failed-early" },
      );
      const retrieved = createTask(async () => {
        throw new Error("retrieved");
      });
      await sleep(0);
      await sleep(0);
      retrieved.exception();
    });
    const summary = contexts.map((c) => [
      c.message,
      (c.exception as Error).message,
      (c.task as { name: string } | undefined)?.name,
    ]);
    assert.deepEqual(summary, [
      ["unhandled exception during run() shutdown", "cleanup failed", "bad-cleanup"],
      ["Task exception was never retrieved", "nobody awaited me", "failed-early"],
    ]);
  });

  test("a failed Future nobody looked at is reported once at the end", async () => {
    const contexts: ExceptionContext[] = [];
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler((_loop, ctx) => contexts.push(ctx));
      const fut = new Future();
      fut.setException(new TypeError("lost"));
    });
    assert.equal(contexts.length, 1);
    assert.equal(contexts[0].message, "Future exception was never retrieved");
    assert.ok(contexts[0].future instanceof Future);
  });

  test("a never-retrieved task error gives the task as `future` too, and the message names a subclass (asyncio's Future.__del__)", async () => {
    const contexts: ExceptionContext[] = [];
    const printed: string[] = [];
    class MyTask<T> extends Task<T> {}
    class MyFuture<T> extends Future<T> {}
    let task: Task<unknown> | null = null;
    const error = console.error;
    console.error = (...args: unknown[]) => printed.push(args.join(" "));
    try {
      await runVirtual(async () => {
        const loop = getRunningLoop();
        loop.setExceptionHandler((l, ctx) => {
          contexts.push(ctx);
          l.defaultExceptionHandler(ctx);
        });
        task = new MyTask(
          async () => {
            throw new Error("subclass");
          },
          { loop, name: "mine" },
        );
        new MyFuture({ loop }).setException(new Error("future subclass"));
        await sleep(0);
        await sleep(0);
      });
    } finally {
      console.error = error;
    }
    assert.deepEqual(contexts.map((c) => c.message).sort(), [
      "MyFuture exception was never retrieved",
      "MyTask exception was never retrieved",
    ]);
    const ofTask = contexts.find((c) => c.message.startsWith("MyTask"))!;
    const ofFuture = contexts.find((c) => c.message.startsWith("MyFuture"))!;
    assert.equal(ofTask.future, task);
    assert.equal(ofTask.task, task);
    assert.ok(ofFuture.future instanceof MyFuture);
    assert.equal(ofFuture.task, undefined);
    // The default handler prints the task once, not once per key.
    const printedTask = printed.find((p) => p.startsWith("MyTask"))!;
    assert.equal(printedTask.match(/name='mine'/g)?.length, 1);
  });

  test("leaves no timer or immediate behind in this process", async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap");
    await run(
      async () => {
        createTask(() => sleep(1_000_000));
        getRunningLoop().callLater(1_000_000, () => {});
        await sleep(2);
      },
      { handleSignals: false },
    );
    const after = process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap");
    assert.deepEqual(after, before);
  });

  test("the process exits by itself, with code 0, right after run() settles", async () => {
    const result = await runTs(join(FIXTURES, "leftover-tasks.ts"), CHILD_TIMEOUT);
    assert.equal(result.timedOut, false, describeRun("leftover-tasks.ts", result));
    assert.equal(result.code, 0, describeRun("leftover-tasks.ts", result));
    assert.deepEqual(result.stdout.trim().split("\n"), [
      "sleeper finally",
      "future waiter finally",
      "main done",
    ]);
  });
});

describe("deadlock", () => {
  test("when nothing pending can wake main, run() cancels it and rejects with a RuntimeError naming the waiting tasks", async () => {
    const result = await runTs(join(FIXTURES, "deadlock.ts"), CHILD_TIMEOUT);
    assert.equal(result.timedOut, false, describeRun("deadlock.ts", result));
    assert.equal(result.code, 0, describeRun("deadlock.ts", result));
    assert.deepEqual(result.stdout.trim().split("\n"), [
      "main cleanup ran",
      "handler: run() shutdown: tasks did not finish after being cancelled (each waits on something that can never complete):",
      "rejected with RuntimeError: true",
      "true",
      "exited normally",
    ]);
  });

  test("main stuck on a plain promise (out of cancellation's reach) still makes run() reject, not exit with code 13", async () => {
    const result = await runTs(join(FIXTURES, "deadlock-plain.ts"), CHILD_TIMEOUT);
    assert.equal(result.timedOut, false, describeRun("deadlock-plain.ts", result));
    assert.equal(result.code, 0, describeRun("deadlock-plain.ts", result));
    assert.deepEqual(result.stdout.trim().split("\n"), [
      "rejected with RuntimeError: true",
      "true",
      "exited normally",
    ]);
  });
});

/** A child running test/fixtures/sigint.ts in `mode`. */
class SigintChild extends FixtureChild {
  constructor(mode: string) {
    super(join(FIXTURES, "sigint.ts"), [mode], CHILD_TIMEOUT);
  }
}

describe("SIGINT", { concurrency: true }, () => {
  test("the first SIGINT cancels main; run() rejects with KeyboardInterrupt after cleanup", async () => {
    const child = new SigintChild("once");
    await child.waitFor("ready");
    child.child.kill("SIGINT");
    const [code, signal] = await child.exited;
    assert.deepEqual(child.lines(), [
      "ready",
      "main finally",
      "leftover finally",
      "run rejected: KeyboardInterrupt",
    ]);
    assert.equal(signal, null);
    assert.equal(code, 130);
  });

  test("a second SIGINT during cleanup exits at once with code 130", async () => {
    const child = new SigintChild("twice");
    await child.waitFor("ready");
    child.child.kill("SIGINT");
    await child.waitFor("cleanup started");
    child.child.kill("SIGINT");
    const [code] = await child.exited;
    assert.deepEqual(child.lines(), ["ready", "main finally", "cleanup started"]);
    assert.equal(code, 130);
  });

  test("handleSignals: false leaves SIGINT to Node's default (the process dies, no cleanup)", async () => {
    const child = new SigintChild("nohandler");
    await child.waitFor("ready");
    child.child.kill("SIGINT");
    const [code, signal] = await child.exited;
    assert.deepEqual(child.lines(), ["ready"]);
    assert.equal(code, null);
    assert.equal(signal, "SIGINT");
  });

  test("run() installs a SIGINT listener only while it runs", async () => {
    const before = process.listenerCount("SIGINT");
    let during = -1;
    await run(
      () => {
        during = process.listenerCount("SIGINT");
      },
      { clock: "virtual" },
    );
    assert.equal(during, before + 1);
    assert.equal(process.listenerCount("SIGINT"), before);
  });
});

describe("Runner", () => {
  test("runs several functions on one loop; virtual time carries over", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    const loop = runner.getLoop();
    assert.equal(runner.getLoop(), loop);
    const first = await runner.run(async () => {
      assert.equal(getRunningLoop(), loop);
      await sleep(1000);
      return loop.time();
    });
    const second = await runner.run(async () => {
      await sleep(500);
      return loop.time();
    });
    assert.deepEqual([first, second], [1000, 1500]);
    assert.equal(loop.isRunning(), false);
    assert.equal(loop.isClosed(), false);
    await runner.close();
    assert.equal(loop.isClosed(), true);
  });

  test("each run() starts from its caller's AsyncLocalStorage values; what a run sets stays in it", async () => {
    // asyncio shares one contextvars context across a Runner's runs (test_run_keeps_context);
    // AsyncLocalStorage has no shared mutable context, a documented difference.
    const storage = new AsyncLocalStorage<string>();
    await using runner = new Runner({ clock: "virtual", handleSignals: false });
    const seen = await storage.run("caller", async () => {
      const first = await runner.run(async () => {
        const value = storage.getStore();
        await sleep(0);
        storage.enterWith("set in the first run");
        return value;
      });
      const second = await runner.run(() => storage.getStore());
      const child = await runner.run(async () => {
        storage.enterWith("set before createTask");
        return await createTask(() => storage.getStore());
      });
      return [first, second, child];
    });
    assert.deepEqual(seen, ["caller", "caller", "set before createTask"]);
  });

  test("a task left by one run() keeps its state and progresses during the next", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    const log: number[] = [];
    let background!: ReturnType<typeof createTask<void>>;
    await runner.run(async () => {
      background = createTask(async () => {
        for (let i = 0; i < 3; i++) {
          await sleep(100);
          log.push(getRunningLoop().time());
        }
      });
      await sleep(150);
    });
    assert.deepEqual(log, [100]);
    assert.equal(background.done(), false);
    await runner.run(() => background);
    assert.deepEqual(log, [100, 200, 300]);
    await runner.close();
  });

  test("the iteration in which main ends runs to its end before run() returns: a step scheduled in it runs, and its task finishes, in that run (asyncio's run_until_complete)", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    const log: string[] = [];
    let late: Task<unknown> | undefined;
    // Three async frames, so that the task finishes several microtasks after its last step.
    const level3 = async () => {
      await sleep(50);
      await sleep(0); // woken in the iteration that sees main done
      log.push("last step");
    };
    const level2 = async () => {
      await level3();
    };
    const level1 = async () => {
      await level2();
      return "done";
    };
    await runner.run(async () => {
      // Created one iteration after main's sleep: both sleeps end at 50, main's first.
      createTask(() => {
        late = createTask(level1);
      });
      await sleep(50);
    });
    assert.deepEqual(log, ["last step"]);
    assert.equal(late?.done(), true);
    assert.equal(late?.result(), "done");
    await runner.close();
  });

  test("a task created on the loop before run() starts once run() drives the loop", async () => {
    await using runner = new Runner({ clock: "virtual", handleSignals: false });
    const loop = runner.getLoop();
    const log: string[] = [];
    const early = loop.createTask(async () => {
      log.push(`early started at ${loop.time()}`);
      await sleep(100);
      return "early result";
    });
    const fut = loop.createFuture<string>();
    assert.equal(early.done(), false);
    assert.deepEqual(log, [], "nothing runs while the loop is not running");
    const result = await runner.run(async () => {
      getRunningLoop().callLater(10, () => fut.setResult("future result"));
      return [await early, await fut];
    });
    assert.deepEqual(result, ["early result", "future result"]);
    assert.deepEqual(log, ["early started at 0"]);
  });

  test("close() cancels leftover tasks and is safe to call twice", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    const log: string[] = [];
    await runner.run(async () => {
      createTask(async () => {
        try {
          await sleep(1_000_000);
        } finally {
          log.push("cleaned up");
        }
      });
      await sleep(0);
    });
    assert.deepEqual(log, []);
    await runner.close();
    assert.deepEqual(log, ["cleaned up"]);
    await runner.close();
    assert.equal(String(runner), "<Runner closed>");
    assert.throws(() => runner.getLoop(), { name: "RuntimeError", message: "Runner is closed" });
    await assert.rejects(
      runner.run(() => 1),
      { name: "RuntimeError", message: "Runner is closed" },
    );
  });

  test("a close() made while another is still shutting down resolves only once the runner is closed", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    const log: string[] = [];
    await runner.run(() => {
      createTask(async () => {
        try {
          await sleep(1_000_000);
        } finally {
          await sleep(50); // a cleanup that takes a while
          log.push("cleaned up");
        }
      });
    });
    const loop = runner.getLoop();
    const first = runner.close();
    await runner.close();
    assert.deepEqual(log, ["cleaned up"]);
    assert.equal(loop.isClosed(), true);
    assert.equal(String(runner), "<Runner closed>");
    await first;
  });

  test("close() before any run() is fine and creates no loop work", async () => {
    const runner = new Runner();
    await runner.close();
    assert.equal(inspect(runner), "<Runner closed>");
  });

  test("await using closes the runner at the end of the scope", async () => {
    let loop!: EventLoop;
    {
      await using runner = new Runner({ clock: "virtual", handleSignals: false });
      loop = runner.getLoop();
      assert.equal(await runner.run(() => sleep(5, "v")), "v");
    }
    assert.equal(loop.isClosed(), true);
  });

  test("run() while a run() is in progress rejects, and the first run is unaffected", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    const first = runner.run(async () => {
      await sleep(100);
      return "first";
    });
    assert.equal(String(runner), "<Runner running>");
    await assert.rejects(
      runner.run(() => "second"),
      {
        name: "RuntimeError",
        message: "Runner.run() is already running",
      },
    );
    assert.equal(await first, "first");
    await runner.close();
  });

  test("close() while running rejects with RuntimeError", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    const first = runner.run(() => sleep(10));
    await assert.rejects(runner.close(), {
      name: "RuntimeError",
      message: "Runner.close() called while running",
    });
    await first;
    await runner.close();
  });

  test("Runner.run() from inside a running loop rejects with RuntimeError", async () => {
    await runVirtual(async () => {
      const runner = new Runner({ clock: "virtual" });
      await assert.rejects(
        runner.run(() => 1),
        {
          name: "RuntimeError",
          message: /cannot be called from a running event loop/,
        },
      );
    });
  });

  test("the main task may be named", async () => {
    await using runner = new Runner({ clock: "virtual", handleSignals: false });
    assert.equal(await runner.run(() => currentTask()!.name, { name: "entry" }), "entry");
  });

  test("debug option turns on the loop's debug mode", async () => {
    await using runner = new Runner({ clock: "virtual", debug: true, handleSignals: false });
    assert.equal(runner.getLoop().getDebug(), true);
  });
});

describe("a KeyboardInterrupt raised by the program escapes the loop (asyncio's BaseException rule)", () => {
  // asyncio's task step and callback handles re-raise KeyboardInterrupt (and SystemExit) out of
  // the loop: run_until_complete raises it at once, whatever main is doing, and the exception
  // handler never sees it. run() then cancels what is left, main included.

  test("raised by a task: run() rejects with it while main still waits; main is cancelled at shutdown", async () => {
    const interrupt = new KeyboardInterrupt("from a task");
    const { contexts, handler } = collectExceptions();
    const seen: string[] = [];
    const error = await errorOf(
      runVirtual(async () => {
        getRunningLoop().setExceptionHandler(handler);
        createTask(async () => {
          await sleep(50);
          throw interrupt;
        });
        try {
          await sleep(10_000);
        } catch (e) {
          seen.push(`main: ${(e as Error).name} at ${getRunningLoop().time()}`);
          throw e;
        }
      }),
    );
    assert.equal(error, interrupt);
    assert.deepEqual(seen, ["main: CancelledError at 50"]);
    assert.deepEqual(contexts, []);
  });

  test("raised by a callSoon/callLater callback or a done callback: the same, and the handler is not called", async () => {
    for (const schedule of [
      (loop: EventLoop, raise: () => void) => loop.callSoon(raise),
      (loop: EventLoop, raise: () => void) => loop.callLater(20, raise),
      (loop: EventLoop, raise: () => void) => {
        const fut = loop.createFuture<void>();
        fut.addDoneCallback(raise);
        fut.setResult();
      },
    ]) {
      const interrupt = new KeyboardInterrupt();
      const { contexts, handler } = collectExceptions();
      let after = false;
      const error = await errorOf(
        runVirtual(async () => {
          const loop = getRunningLoop();
          loop.setExceptionHandler(handler);
          schedule(loop, () => {
            throw interrupt;
          });
          await sleep(1000);
          after = true;
        }),
      );
      assert.equal(error, interrupt);
      assert.equal(after, false, "main never got past its sleep");
      assert.deepEqual(contexts, []);
    }
  });

  test("with a Runner, the run rejects and the runner stays usable; main of that run goes on in the next run (test_run_until_complete_baseexception)", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    try {
      let first: Task<string> | null = null;
      const error = await errorOf(
        runner.run(async () => {
          first = currentTask() as Task<string>;
          getRunningLoop().callSoon(() => {
            throw new KeyboardInterrupt();
          });
          await sleep(100);
          return "first done";
        }),
      );
      assert.ok(error instanceof KeyboardInterrupt);
      const pending = first as Task<string> | null;
      assert.equal(pending?.done(), false);
      assert.equal(await runner.run(async () => pending as Task<string>), "first done");
      assert.equal(await runner.run(() => "again"), "again");
    } finally {
      await runner.close();
    }
  });

  test("the loop stops in the middle of its iteration: what comes after the interrupt runs in the next run, and main never passes the wait it was resuming from", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    const order: string[] = [];
    try {
      const error = await errorOf(
        runner.run(async () => {
          const loop = getRunningLoop();
          loop.callSoon(() => {
            throw new KeyboardInterrupt();
          });
          loop.callSoon(() => order.push("next callback"));
          await sleep(0); // main's wake-up is queued behind both callbacks
          order.push("main passed sleep(0)");
        }),
      );
      assert.ok(error instanceof KeyboardInterrupt);
      assert.equal(order.length, 0, "nothing after the interrupt ran in this run");
      await runner.run(async () => {
        order.push("second run");
        await sleep(0);
      });
      assert.deepEqual(order, ["next callback", "main passed sleep(0)", "second run"]);
    } finally {
      await runner.close();
    }
    let mainEnd = "";
    await assert.rejects(
      runVirtual(async () => {
        getRunningLoop().callSoon(() => {
          throw new KeyboardInterrupt();
        });
        try {
          await sleep(0);
          mainEnd = "passed sleep(0)";
        } catch (e) {
          mainEnd = (e as Error).name;
          throw e;
        }
      }),
      KeyboardInterrupt,
    );
    assert.equal(mainEnd, "CancelledError", "run()'s shutdown cancels main before it resumes");
  });

  test("a callback scheduled earlier in the interrupted iteration runs once, in the next run", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    let runs = 0;
    try {
      const error = await errorOf(
        runner.run(async () => {
          const loop = getRunningLoop();
          loop.callSoon(() => loop.callSoon(() => runs++)); // queued during the iteration below
          loop.callSoon(() => {
            throw new KeyboardInterrupt();
          });
          await sleep(1000);
        }),
      );
      assert.ok(error instanceof KeyboardInterrupt);
      assert.equal(runs, 0);
      await runner.run(async () => {
        for (let i = 0; i < 3; i++) await sleep(0);
      });
      assert.equal(runs, 1, "kept once when the loop stopped, not twice");
    } finally {
      await runner.close();
    }
  });

  test("thrown by the exception handler (custom or default), it escapes too", async () => {
    for (const install of [
      (loop: EventLoop) =>
        loop.setExceptionHandler(() => {
          throw new KeyboardInterrupt("from the handler");
        }),
      (loop: EventLoop) => {
        loop.defaultExceptionHandler = () => {
          throw new KeyboardInterrupt("from the handler");
        };
      },
    ]) {
      const error = await errorOf(
        runVirtual(async () => {
          const loop = getRunningLoop();
          install(loop);
          loop.callSoon(() => {
            throw new RangeError("an ordinary error");
          });
          await sleep(1000);
        }),
      );
      assert.ok(error instanceof KeyboardInterrupt);
      assert.equal((error as Error).message, "from the handler");
    }
  });

  test("raised by an eager task before its first wait: createTask throws it as well (asyncio's eager start re-raises it)", async () => {
    const interrupt = new KeyboardInterrupt();
    let thrown: unknown = null;
    const error = await errorOf(
      runVirtual(async () => {
        try {
          createTask(
            () => {
              throw interrupt;
            },
            { eagerStart: true },
          );
        } catch (e) {
          thrown = e;
        }
        await sleep(1000);
      }),
    );
    assert.equal(thrown, interrupt);
    assert.equal(error, interrupt);
  });

  test("raised by main itself: run() rejects with it, nothing is reported", async () => {
    const interrupt = new KeyboardInterrupt();
    const { contexts, handler } = collectExceptions();
    const error = await errorOf(
      runVirtual(async () => {
        getRunningLoop().setExceptionHandler(handler);
        await sleep(10);
        throw interrupt;
      }),
    );
    assert.equal(error, interrupt);
    assert.deepEqual(contexts, []);
  });

  test("raised by a task during run()'s shutdown: run() rejects with it once the shutdown is over", async () => {
    const interrupt = new KeyboardInterrupt();
    const { contexts, handler } = collectExceptions();
    const cleaned: string[] = [];
    const error = await errorOf(
      runVirtual(async () => {
        getRunningLoop().setExceptionHandler(handler);
        createTask(async () => {
          try {
            await sleep(10_000);
          } finally {
            cleaned.push("a");
            // biome-ignore lint/correctness/noUnsafeFinally: the scenario under test
            throw interrupt;
          }
        });
        createTask(async () => {
          try {
            await sleep(10_000);
          } finally {
            cleaned.push("b");
          }
        });
        await sleep(0);
        return "main's result";
      }),
    );
    assert.equal(error, interrupt);
    assert.deepEqual(cleaned, ["a", "b"]);
    assert.deepEqual(contexts, []);
  });

  test("raised during a Runner's close(): that close() rejects with it, a second close() resolves", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    await runner.run(() => {
      createTask(async () => {
        try {
          await sleep(10_000);
        } finally {
          // biome-ignore lint/correctness/noUnsafeFinally: the scenario under test
          throw new KeyboardInterrupt();
        }
      });
    });
    const first = runner.close();
    const second = runner.close();
    await assert.rejects(first, KeyboardInterrupt);
    await second;
    await runner.close();
    assert.throws(() => runner.getLoop(), /Runner is closed/);
  });
});

/**
 * timeout() / timeoutAt() / Timeout: the scenarios of CPython's test_timeouts in our own words,
 * plus cancellation provenance, the AbortSignal, cost and bad input. All on the virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  CancelledError,
  createTask,
  currentSignal,
  currentTask,
  type Future,
  getRunningLoop,
  RuntimeError,
  sleep,
  type Task,
  Timeout,
  TimeoutError,
  timeout,
  timeoutAt,
} from "../src/index.ts";
import { now, runVirtual } from "./helpers.ts";

describe("timeout: expiry", () => {
  test("a body that outlives its deadline is cancelled and timeout() rejects with TimeoutError", async () => {
    await runVirtual(async () => {
      let cm: Timeout | undefined;
      await assert.rejects(
        timeout(10, async (c) => {
          cm = c;
          await sleep(10_000);
        }),
        TimeoutError,
      );
      assert.equal(cm!.expired(), true);
      assert.equal(now(), 10);
    });
  });

  test("timeoutAt() expires at the absolute deadline and when() reports it", async () => {
    await runVirtual(async () => {
      await sleep(5);
      const deadline = now() + 10;
      let cm: Timeout | undefined;
      await assert.rejects(
        timeoutAt(deadline, async (c) => {
          cm = c;
          await sleep(10_000);
        }),
        TimeoutError,
      );
      assert.equal(cm!.expired(), true);
      assert.equal(cm!.when(), deadline);
      assert.equal(now(), 15);
    });
  });

  test("the body sees CancelledError and may clean up before TimeoutError comes out", async () => {
    await runVirtual(async () => {
      const seen: string[] = [];
      await assert.rejects(
        timeout(10, async () => {
          try {
            await sleep(10_000);
          } catch (e) {
            seen.push((e as Error).name);
            throw e;
          } finally {
            seen.push("finally");
          }
        }),
        TimeoutError,
      );
      assert.deepEqual(seen, ["CancelledError", "finally"]);
    });
  });

  test("TimeoutError's cause is the CancelledError, whose origin names the expired deadline", async () => {
    await runVirtual(async () => {
      await sleep(3);
      const error = await timeout(7, () => sleep(100)).then(
        () => assert.fail("no timeout"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.message, "timeout expired (deadline 10 ms)");
      const cause = error.cause;
      assert.ok(cause instanceof CancelledError);
      assert.equal(cause.origin?.kind, "timeout");
      assert.equal(cause.origin?.deadline, 10);
      assert.equal(cause.message, "timeout expired (deadline 10 ms)");
      assert.equal(cause.cancelMessage, undefined);
    });
  });

  test("a body stopped through the task's signal (an AbortError) still gives a TimeoutError caused by a CancelledError naming the deadline", async () => {
    await runVirtual(async () => {
      let aborted: unknown;
      const error = await timeout(10, async () => {
        try {
          await delay(60_000, "late", { signal: currentSignal() });
        } catch (e) {
          aborted = e;
          throw e;
        }
      }).then(
        () => assert.fail("no timeout"),
        (e: unknown) => e,
      );
      assert.equal((aborted as Error).name, "AbortError");
      assert.ok(error instanceof TimeoutError);
      const cause = error.cause;
      assert.ok(cause instanceof CancelledError);
      assert.equal(cause.origin?.kind, "timeout");
      assert.equal(cause.origin?.deadline, 10);
      assert.equal(cause.message, "timeout expired (deadline 10 ms)");
      assert.equal(cause.cause, aborted, "the AbortError is kept as the CancelledError's cause");
      assert.equal(currentTask()!.cancelling(), 0);
    });
  });

  test("a timeout of 0 expires on the next iteration even if the body only sleeps 0", async () => {
    await runVirtual(async () => {
      const t0 = now();
      let cm: Timeout | undefined;
      await assert.rejects(
        timeout(0, async (c) => {
          cm = c;
          await sleep(0);
          assert.fail("not reached: the expiry comes first");
        }),
        TimeoutError,
      );
      assert.equal(cm!.expired(), true);
      assert.equal(cm!.when(), t0);
      assert.equal(now(), t0);
    });
  });

  test("a deadline in the past keeps its value and still expires", async () => {
    await runVirtual(async () => {
      await sleep(20);
      let cm: Timeout | undefined;
      await assert.rejects(
        timeout(-11, async (c) => {
          cm = c;
          await sleep(0);
        }),
        TimeoutError,
      );
      assert.equal(cm!.when(), 9);
      assert.equal(cm!.expired(), true);
    });
  });

  test("the task that ran the timeout is not cancelled afterwards", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        await assert.rejects(
          timeout(1, () => sleep(10)),
          TimeoutError,
        );
        assert.equal(currentTask()!.cancelling(), 0);
        await sleep(5); // would throw if a cancellation were still pending
        return "ok";
      });
      assert.equal(await task, "ok");
      assert.equal(task.cancelled(), false);
    });
  });

  test("a body that swallows the cancellation returns normally; expired() is still true", async () => {
    await runVirtual(async () => {
      let cm: Timeout | undefined;
      const value = await timeout(10, async (c) => {
        cm = c;
        try {
          await sleep(100);
        } catch (e) {
          assert.ok(e instanceof CancelledError);
        }
        await sleep(5); // no second cancellation
        return "swallowed";
      });
      assert.equal(value, "swallowed");
      assert.equal(cm!.expired(), true);
      assert.equal(currentTask()!.cancelling(), 0);
      assert.equal(now(), 15);
    });
  });

  test("a body that finishes in time returns its value; expired() is false", async () => {
    await runVirtual(async () => {
      let cm: Timeout | undefined;
      const value = await timeout(10_000, async (c) => {
        cm = c;
        await sleep(10);
        return 42;
      });
      assert.equal(value, 42);
      assert.equal(cm!.expired(), false);
      assert.ok(cm!.when()! > now());
    });
  });

  test("a synchronous body works and its value is returned", async () => {
    await runVirtual(async () => {
      assert.equal(await timeout(5, () => "sync"), "sync");
    });
  });
});

describe("timeout: disabled deadline", () => {
  test("timeout(null) never expires and when() is null", async () => {
    await runVirtual(async () => {
      let cm: Timeout | undefined;
      await timeout(null, async (c) => {
        cm = c;
        await sleep(100_000);
      });
      assert.equal(cm!.expired(), false);
      assert.equal(cm!.when(), null);
    });
  });

  test("timeoutAt(null) never expires", async () => {
    await runVirtual(async () => {
      let cm: Timeout | undefined;
      await timeoutAt(null, async (c) => {
        cm = c;
        await sleep(10);
      });
      assert.equal(cm!.expired(), false);
      assert.equal(cm!.when(), null);
    });
  });

  test("timeout(Infinity) never expires and inserts no timer", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      let inserts = 0;
      const original = loop._pushTimer.bind(loop);
      loop._pushTimer = (e) => {
        inserts++;
        original(e);
      };
      const fut = loop.createFuture<string>();
      loop.callSoon(() => fut.setResult("x"));
      inserts = 0;
      assert.equal(await timeout(Number.POSITIVE_INFINITY, () => fut), "x");
      assert.equal(inserts, 0);
      loop._pushTimer = original;
    });
  });
});

describe("timeout: foreign errors and cancellations", () => {
  test("an error thrown by the body passes through untouched", async () => {
    await runVirtual(async () => {
      let cm: Timeout | undefined;
      await assert.rejects(
        timeout(10, async (c) => {
          cm = c;
          throw new RangeError("mine");
        }),
        { name: "RangeError", message: "mine" },
      );
      assert.equal(cm!.expired(), false);
    });
  });

  test("an error thrown while handling the expiry replaces the TimeoutError", async () => {
    await runVirtual(async () => {
      await assert.rejects(
        timeout(10, async () => {
          try {
            await sleep(1000);
          } finally {
            // biome-ignore lint/correctness/noUnsafeFinally: the scenario under test.
            throw new SyntaxError("crash during cleanup");
          }
        }),
        SyntaxError,
      );
    });
  });

  test("a cancel() of the task before the deadline is a CancelledError, not a TimeoutError", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        let cm: Timeout | undefined;
        try {
          await timeout(10_000, async (c) => {
            cm = c;
            currentTask()!.cancel();
            await sleep(10_000);
          });
        } finally {
          assert.equal(cm!.expired(), false);
        }
      });
      await assert.rejects(async () => await task, CancelledError);
      assert.equal(task.cancelled(), true);
    });
  });

  test("an outside cancel that arrives while the timeout expires wins: CancelledError propagates", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      let cm: Timeout | undefined;
      const task: Task<void> = createTask(async () => {
        await timeout(10, async (c) => {
          cm = c;
          await sleep(1000);
        });
      });
      // Same deadline: both requests land before the task resumes.
      loop.callAt(10, () => task.cancel("from outside"));
      const error = await task.then(
        () => assert.fail("not cancelled"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof CancelledError);
      assert.equal(task.cancelled(), true);
      assert.equal(cm!.expired(), true);
      assert.equal(task.cancelling(), 1);
    });
  });

  test("a cancellation already caught before entering does not stop a later timeout from converting", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        try {
          currentTask()!.cancel();
          await sleep(1000);
        } catch (e) {
          assert.ok(e instanceof CancelledError); // swallowed on purpose
        } finally {
          assert.equal(currentTask()!.cancelling(), 1);
          await assert.rejects(
            timeout(0, () => sleep(1000)),
            TimeoutError,
          );
          assert.equal(currentTask()!.cancelling(), 1);
        }
        return "cleaned up";
      });
      assert.equal(await task, "cleaned up");
    });
  });

  test("a new cancel inside a timeout entered after a caught cancellation propagates as CancelledError", async () => {
    await runVirtual(async () => {
      const task = createTask(async () => {
        try {
          currentTask()!.cancel();
          await sleep(1000);
        } catch {
          // Swallowed on purpose: the scenario is cleanup after a handled cancellation.
        }
        await assert.rejects(
          timeout(1000, async () => {
            currentTask()!.cancel();
            await sleep(2000);
          }),
          CancelledError,
        );
        return currentTask()!.cancelling();
      });
      assert.equal(await task, 2);
    });
  });
});

describe("timeout: nesting", () => {
  test("nested timeouts with the same deadline: only the outermost raises TimeoutError", async () => {
    await runVirtual(async () => {
      const deadline = now() + 10;
      let innerSaw: unknown;
      let inner: Timeout | undefined;
      let outer: Timeout | undefined;
      await assert.rejects(
        timeoutAt(deadline, async (c1) => {
          outer = c1;
          try {
            await timeoutAt(deadline, async (c2) => {
              inner = c2;
              await sleep(10_000);
            });
          } catch (e) {
            innerSaw = e;
            throw e;
          }
        }),
        TimeoutError,
      );
      assert.ok(
        innerSaw instanceof CancelledError,
        "the inner scope lets the cancellation through",
      );
      assert.equal(inner!.expired(), true);
      assert.equal(outer!.expired(), true);
      assert.equal(currentTask()!.cancelling(), 0);
    });
  });

  test("an inner timeout that expires first is caught inside the outer one, which expires later", async () => {
    await runVirtual(async () => {
      const log: string[] = [];
      await assert.rejects(
        timeout(100, async () => {
          await assert.rejects(
            timeout(10, () => sleep(1000)),
            TimeoutError,
          );
          log.push(`inner expired at ${now()}`);
          await sleep(10_000); // interrupted by the outer deadline
        }),
        TimeoutError,
      );
      log.push(`outer expired at ${now()}`);
      assert.deepEqual(log, ["inner expired at 10", "outer expired at 100"]);
    });
  });

  test("an outer timeout that expires first is not turned into TimeoutError by the inner scope", async () => {
    await runVirtual(async () => {
      let innerSaw: unknown;
      await assert.rejects(
        timeout(10, async () => {
          try {
            await timeout(1000, () => sleep(10_000));
          } catch (e) {
            innerSaw = e;
            throw e;
          }
        }),
        TimeoutError,
      );
      assert.ok(innerSaw instanceof CancelledError);
      assert.equal(now(), 10);
    });
  });

  test("a timeout inside the finally of an expired body works on its own", async () => {
    await runVirtual(async () => {
      let innerTimedOut = false;
      await assert.rejects(
        timeout(10, async () => {
          try {
            await sleep(1000);
          } finally {
            try {
              await timeout(10, () => sleep(10_000));
            } catch (e) {
              innerTimedOut = e instanceof TimeoutError;
            }
          }
        }),
        TimeoutError,
      );
      assert.equal(innerTimedOut, true);
      assert.equal(now(), 20);
    });
  });
});

describe("timeout: reschedule and state", () => {
  test("reschedule() from another task moves the deadline, and null removes it", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const entered: Future<Timeout> = loop.createFuture();
      const deadline1 = now() + 10;
      const deadline2 = deadline1 + 20;
      const task = createTask(() =>
        timeoutAt(deadline1, async (cm) => {
          entered.setResult(cm);
          await sleep(50);
        }),
      );
      const cm = await entered;
      assert.equal(cm.when(), deadline1);
      cm.reschedule(deadline2);
      assert.equal(cm.when(), deadline2);
      cm.reschedule(null);
      assert.equal(cm.when(), null);
      task.cancel();
      await assert.rejects(async () => await task, CancelledError);
      assert.equal(cm.expired(), false);
    });
  });

  test("reschedule() to a later deadline lets a slow body finish", async () => {
    await runVirtual(async () => {
      const value = await timeout(10, async (cm) => {
        await sleep(5);
        cm.reschedule(now() + 100);
        await sleep(50);
        return "extended";
      });
      assert.equal(value, "extended");
      assert.equal(now(), 55);
    });
  });

  test("reschedule() to a past deadline expires on the next iteration", async () => {
    await runVirtual(async () => {
      await assert.rejects(
        timeout(1000, async (cm) => {
          await sleep(5);
          cm.reschedule(now() - 100);
          await sleep(500);
        }),
        TimeoutError,
      );
      assert.equal(now(), 5);
    });
  });

  test("the inspect string shows the state as asyncio's repr does", async () => {
    await runVirtual(async () => {
      const seen: string[] = [];
      await timeout(10, (cm) => {
        seen.push(String(cm));
      });
      await timeout(null, (cm) => {
        seen.push(String(cm));
      });
      let expired: Timeout | undefined;
      await timeout(10, async (cm) => {
        expired = cm;
        await sleep(100);
      }).catch(() => {});
      let finished: Timeout | undefined;
      await timeout(10, async (cm) => {
        finished = cm;
        await sleep(0);
      });
      assert.deepEqual(seen, ["<Timeout [active] when=10>", "<Timeout [active] when=null>"]);
      assert.equal(String(expired), "<Timeout [expired]>");
      assert.equal(String(finished), "<Timeout [finished]>");
      assert.equal(new Timeout(5).toString(), "<Timeout [created]>");
    });
  });

  test("the state passes through created, active, expiring and expired", async () => {
    await runVirtual(async () => {
      const cm = new Timeout(now() + 10);
      const states: string[] = [cm.state];
      await cm
        .run(async () => {
          states.push(cm.state);
          try {
            await sleep(100);
          } finally {
            states.push(cm.state);
          }
        })
        .catch(() => {});
      states.push(cm.state);
      assert.deepEqual(states, ["created", "active", "expiring", "expired"]);
    });
  });

  test("reschedule() is refused before entry, while expiring and after the body ended", async () => {
    await runVirtual(async () => {
      assert.throws(() => new Timeout(5).reschedule(10), {
        name: "RuntimeError",
        message: /has not been entered/,
      });
      let done: Timeout | undefined;
      await timeout(10, (cm) => {
        done = cm;
      });
      assert.throws(() => done!.reschedule(20), { name: "RuntimeError", message: /finished/ });
      await timeout(10, async (cm) => {
        try {
          await sleep(100);
        } catch {
          // Expiring now: the deadline can no longer move.
          assert.throws(() => cm.reschedule(now() + 1000), {
            name: "RuntimeError",
            message: "Cannot change state of expiring Timeout",
          });
        }
      });
    });
  });

  test("a Timeout cannot be entered twice, whether nested or after exit", async () => {
    await runVirtual(async () => {
      const cm = new Timeout(now() + 10);
      await cm.run(async () => {
        await assert.rejects(
          cm.run(() => {}),
          { name: "RuntimeError", message: /has already been entered/ },
        );
      });
      await assert.rejects(
        cm.run(() => {}),
        { name: "RuntimeError", message: /has already been entered/ },
      );
    });
  });

  test("timeout() outside a task (in a loop callback) is a RuntimeError that says so", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const result = loop.createFuture<unknown>();
      loop.callSoon(() => {
        timeout(10, () => {}).then(
          () => result.setResult("no error"),
          (e) => result.setResult(e),
        );
      });
      const error = await result;
      assert.ok(error instanceof RuntimeError);
      assert.match((error as Error).message, /inside a task/);
    });
  });

  test("timeout() outside a running loop rejects with RuntimeError", async () => {
    await assert.rejects(
      timeout(10, () => {}),
      { name: "RuntimeError", message: /no running event loop/ },
    );
  });
});

describe("timeout: signal and cost", () => {
  test("on expiry the task's AbortSignal aborts; after the scope the task has a fresh signal", async () => {
    await runVirtual(async () => {
      let inside: AbortSignal | undefined;
      await assert.rejects(
        timeout(10, async () => {
          inside = currentSignal();
          await sleep(100);
        }),
        TimeoutError,
      );
      assert.equal(inside!.aborted, true);
      assert.ok(inside!.reason instanceof CancelledError);
      assert.equal((inside!.reason as CancelledError).origin?.kind, "timeout");
      assert.equal(currentSignal().aborted, false);
    });
  });

  test("a body that finishes in time costs one timer insert, one cancel, and no task", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const fut = loop.createFuture<number>();
      let inserts = 0;
      let cancels = 0;
      const push = loop._pushTimer.bind(loop);
      const cancelled = loop._timerCancelled.bind(loop);
      loop._pushTimer = (e) => {
        inserts++;
        push(e);
      };
      loop._timerCancelled = (e) => {
        cancels++;
        cancelled(e);
      };
      loop.callSoon(() => fut.setResult(7));
      const tasksBefore = loop._tasks.size;
      const value = await timeout(1000, async () => {
        assert.equal(loop._tasks.size, tasksBefore);
        return fut;
      });
      loop._pushTimer = push;
      loop._timerCancelled = cancelled;
      assert.equal(value, 7);
      assert.equal(inserts, 1);
      assert.equal(cancels, 1);
    });
  });
});

describe("timeout: bad input", () => {
  test("a NaN delay or deadline is a RangeError; other types are TypeErrors", async () => {
    await runVirtual(async () => {
      await assert.rejects(
        timeout(Number.NaN, () => {}),
        RangeError,
      );
      await assert.rejects(
        timeoutAt(Number.NaN, () => {}),
        RangeError,
      );
      await assert.rejects(
        timeout("5" as unknown as number, () => {}),
        TypeError,
      );
      await assert.rejects(
        timeoutAt("5" as unknown as number, () => {}),
        TypeError,
      );
      await assert.rejects(timeout(5, "body" as unknown as () => void), {
        name: "TypeError",
        message: /Expected `body` to be a function/,
      });
      assert.throws(() => new Timeout(Number.NaN), RangeError);
      assert.throws(() => new Timeout("1" as unknown as number), TypeError);
    });
  });

  test("reschedule() with a bad value throws and leaves the deadline as it was", async () => {
    await runVirtual(async () => {
      await timeout(10, (cm) => {
        assert.throws(() => cm.reschedule(Number.NaN), RangeError);
        assert.throws(() => cm.reschedule("20" as unknown as number), TypeError);
        assert.equal(cm.when(), 10);
      });
    });
  });
});

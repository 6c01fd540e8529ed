/**
 * TaskGroup / taskGroup(): the scenarios of CPython's test_taskgroups (3.13+ semantics, 3.15's
 * cancel()) in our own words, plus cancellation provenance, KeyboardInterrupt, state strings and
 * bad input. All on the virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CancelledError,
  createTask,
  currentSignal,
  currentTask,
  ExceptionGroup,
  getRunningLoop,
  KeyboardInterrupt,
  RuntimeError,
  sleep,
  type Task,
  TaskGroup,
  TimeoutError,
  taskGroup,
  timeout,
} from "../src/index.ts";
import { collectExceptions, errorOf, now, runVirtual } from "./helpers.ts";

class MyError extends Error {
  override name = "MyError";
}

/** The set of error class names in a group, as CPython's get_error_types. */
function errorTypes(eg: unknown): Set<string> {
  assert.ok(eg instanceof ExceptionGroup, `expected an ExceptionGroup, got ${String(eg)}`);
  return new Set(eg.exceptions.map((e) => (e as Error).name));
}

async function failAfter(ms: number, error: unknown = new MyError(`after ${ms}`)): Promise<never> {
  await sleep(ms);
  throw error;
}

describe("taskGroup: children finishing normally", () => {
  test("the group waits for every child and their results are kept", async () => {
    await runVirtual(async () => {
      let t1: Task<number> | undefined;
      let t2: Task<number> | undefined;
      await taskGroup(async (g) => {
        t1 = g.createTask(() => sleep(100, 42));
        t2 = g.createTask(() => sleep(200, 11));
      });
      assert.equal(t1!.result(), 42);
      assert.equal(t2!.result(), 11);
      assert.equal(now(), 200);
    });
  });

  test("a child created after the body waited is waited for too", async () => {
    await runVirtual(async () => {
      let t2: Task<number> | undefined;
      await taskGroup(async (g) => {
        g.createTask(() => sleep(100, 42));
        await sleep(150);
        t2 = g.createTask(() => sleep(200, 11));
      });
      assert.equal(t2!.result(), 11);
      assert.equal(now(), 350);
    });
  });

  test("a child cancelled explicitly is not an error; the others go on", async () => {
    await runVirtual(async () => {
      let t1: Task<number> | undefined;
      let t2: Task<number> | undefined;
      await taskGroup(async (g) => {
        t1 = g.createTask(() => sleep(1000, 42));
        await sleep(150);
        t1.cancel();
        t2 = g.createTask(() => sleep(200, 11));
      });
      assert.equal(t1!.cancelled(), true);
      assert.equal(t2!.result(), 11);
    });
  });

  test("run() resolves to the body's return value", async () => {
    await runVirtual(async () => {
      const value = await taskGroup(async (g) => {
        const a = g.createTask(() => sleep(10, 2));
        const b = g.createTask(() => sleep(20, 3));
        return (await a) * (await b);
      });
      assert.equal(value, 6);
    });
  });

  test("children can add more children to the group", async () => {
    await runVirtual(async () => {
      const finished: number[] = [];
      await taskGroup(async (g) => {
        g.createTask(async () => {
          await sleep(100);
          g.createTask(async () => {
            await sleep(100);
            finished.push(1);
          });
          g.createTask(async () => {
            await sleep(200);
            finished.push(2);
          });
        });
      });
      assert.deepEqual(finished, [1, 2]);
      assert.equal(now(), 300);
    });
  });

  test("the count of running children drops as they finish", async () => {
    await runVirtual(async () => {
      await taskGroup(async (g) => {
        for (let count = 0; count < 10; count++) {
          await sleep(100);
          g.createTask(() => sleep(300));
          if (count === 5) assert.ok(g.statistics().tasks < 5);
        }
        await sleep(1350);
        assert.equal(g.statistics().tasks, 0);
      });
    });
  });

  test("createTask passes the name and eagerStart options", async () => {
    await runVirtual(async () => {
      let seen: string | undefined;
      let ranEagerly = false;
      await taskGroup(async (g) => {
        const t = g.createTask(
          async () => {
            seen = currentTask()!.name;
          },
          { name: "example name" },
        );
        assert.equal(t.name, "example name");
        g.createTask(
          () => {
            ranEagerly = true;
          },
          { eagerStart: true },
        );
        assert.equal(ranEagerly, true);
      });
      assert.equal(seen, "example name");
    });
  });
});

describe("taskGroup: a child fails", () => {
  test("the other children are cancelled and the error comes out in an ExceptionGroup", async () => {
    await runVirtual(async () => {
      let num = 0;
      let t2Cancelled = false;
      let t2: Task<void> | undefined;
      const runner = createTask(async () => {
        await taskGroup(async (g) => {
          g.createTask(() => failAfter(100, new RangeError("1/0")));
          t2 = g.createTask(async () => {
            try {
              await sleep(1000);
            } catch (e) {
              t2Cancelled = true;
              throw e;
            }
            num += 1;
          });
        });
        num += 10;
      });
      const error = await errorOf(runner);
      assert.deepEqual(errorTypes(error), new Set(["RangeError"]));
      assert.equal((error as ExceptionGroup).message, "unhandled errors in a TaskGroup");
      assert.equal(
        String(error),
        "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)",
      );
      assert.equal(num, 0);
      assert.equal(t2Cancelled, true);
      assert.equal(t2!.cancelled(), true);
    });
  });

  test("the body is cancelled too, and every error of the same moment is collected", async () => {
    await runVirtual(async () => {
      let bodyCancelled = false;
      let siblingCancelled = false;
      const error = await errorOf(
        taskGroup(async (g) => {
          for (let i = 0; i < 3; i++) g.createTask(() => failAfter(100, new RangeError(`${i}`)));
          g.createTask(async () => {
            try {
              await sleep(5000);
            } catch (e) {
              siblingCancelled = true;
              throw e;
            }
          });
          try {
            await sleep(10_000);
          } catch (e) {
            bodyCancelled = true;
            throw e;
          }
        }),
      );
      assert.deepEqual(errorTypes(error), new Set(["RangeError"]));
      assert.equal((error as ExceptionGroup).exceptions.length, 3);
      assert.equal(bodyCancelled, true);
      assert.equal(siblingCancelled, true);
      assert.equal(now(), 100);
    });
  });

  test("the body and the siblings learn from their CancelledError which child failed", async () => {
    await runVirtual(async () => {
      const boom = new Error("boom");
      let bodyError: unknown;
      let siblingError: unknown;
      await errorOf(
        taskGroup(async (g) => {
          g.createTask(() => failAfter(10, boom), { name: "X" });
          g.createTask(async () => {
            try {
              await sleep(1000);
            } catch (e) {
              siblingError = e;
              throw e;
            }
          });
          try {
            await sleep(1000);
          } catch (e) {
            bodyError = e;
            throw e;
          }
        }),
      );
      for (const e of [bodyError, siblingError]) {
        assert.ok(e instanceof CancelledError);
        assert.equal(e.origin?.kind, "taskgroup");
        assert.equal(e.origin?.error, boom);
        assert.equal(e.message, "task group aborted because child 'X' failed: Error('boom')");
        assert.equal(e.cancelMessage, undefined);
      }
    });
  });

  test("an error in the body cancels every child", async () => {
    await runVirtual(async () => {
      let t1: Task<number> | undefined;
      let t2: Task<number> | undefined;
      const error = await errorOf(
        taskGroup(async (g) => {
          t1 = g.createTask(() => sleep(1000, 42));
          t2 = g.createTask(() => sleep(2000, 11));
          await sleep(100);
          throw new RangeError("1/0");
        }),
      );
      assert.deepEqual(errorTypes(error), new Set(["RangeError"]));
      assert.equal(t1!.cancelled(), true);
      assert.equal(t2!.cancelled(), true);
      assert.throws(
        () => t1!.result(),
        (e: unknown) =>
          e instanceof CancelledError &&
          e.message === "task group aborted because its body failed: RangeError('1/0')",
      );
    });
  });

  test("an error thrown by the body before any wait still cancels every child", async () => {
    await runVirtual(async () => {
      let t1: Task<number> | undefined;
      const error = await errorOf(
        taskGroup((g) => {
          t1 = g.createTask(() => sleep(1000, 42));
          throw new RangeError("at once");
        }),
      );
      assert.deepEqual(errorTypes(error), new Set(["RangeError"]));
      assert.equal(t1!.cancelled(), true);
    });
  });

  test("a body that turns its cancellation into another error adds that error to the group", async () => {
    await runVirtual(async () => {
      const error = await errorOf(
        taskGroup(async (g) => {
          g.createTask(() => failAfter(100, new RangeError("child")));
          try {
            await sleep(10_000);
          } finally {
            // biome-ignore lint/correctness/noUnsafeFinally: the scenario under test.
            throw new MyError("from the body");
          }
        }),
      );
      assert.deepEqual(errorTypes(error), new Set(["MyError", "RangeError"]));
    });
  });

  test("no new child can be created once the group is aborting", async () => {
    await runVirtual(async () => {
      let refused: unknown;
      const error = await errorOf(
        taskGroup(async (g) => {
          g.createTask(() => failAfter(1, new RangeError("first")));
          g.createTask(async () => {
            try {
              await sleep(1000);
            } catch {
              try {
                g.createTask(() => failAfter(1));
              } catch (e) {
                refused = e;
              }
            }
          });
        }),
      );
      assert.deepEqual(errorTypes(error), new Set(["RangeError"]));
      assert.ok(refused instanceof RuntimeError);
      assert.match((refused as Error).message, /is shutting down/);
    });
  });

  test("an error in an outer child while an inner group waits: one ExceptionGroup of the outer error", async () => {
    await runVirtual(async () => {
      const error = await errorOf(
        taskGroup(async (g1) => {
          g1.createTask(() => failAfter(100, new RangeError("outer")));
          await taskGroup(async (g2) => {
            g2.createTask(() => failAfter(10_000, new RangeError("inner")));
          });
        }),
      );
      assert.deepEqual(errorTypes(error), new Set(["RangeError"]));
      assert.equal(((error as ExceptionGroup).exceptions[0] as Error).message, "outer");
    });
  });

  test("an error in an inner group comes out as a nested ExceptionGroup", async () => {
    await runVirtual(async () => {
      const error = await errorOf(
        taskGroup(async (g1) => {
          g1.createTask(() => failAfter(10_000, new RangeError("outer")));
          await taskGroup(async (g2) => {
            g2.createTask(() => failAfter(100, new RangeError("inner")));
          });
        }),
      );
      assert.deepEqual(errorTypes(error), new Set(["ExceptionGroup"]));
      const inner = (error as ExceptionGroup).exceptions[0];
      assert.deepEqual(errorTypes(inner), new Set(["RangeError"]));
    });
  });

  test("children that keep spawning children stop when one fails", async () => {
    await runVirtual(async () => {
      let hydras = 0;
      const hydra = async (g: TaskGroup): Promise<void> => {
        hydras++;
        await sleep(10);
        g.createTask(() => hydra(g));
        g.createTask(() => hydra(g));
      };
      const error = await errorOf(
        taskGroup(async (g) => {
          g.createTask(() => hydra(g));
          g.createTask(async () => {
            while (hydras < 10) await sleep(15);
            throw new RangeError("hercules");
          });
        }),
      );
      assert.deepEqual(errorTypes(error), new Set(["RangeError"]));
      assert.ok(hydras >= 10);
    });
  });

  test("an error raised by a context in the body joins the child's error, and cancelling() is 0 (gh-95289)", async () => {
    await runVirtual(async () => {
      class CustomError extends Error {
        override name = "CustomError";
      }
      const task = currentTask()!;
      const error = await errorOf(
        taskGroup(async (tg) => {
          try {
            tg.createTask(async () => {
              throw new CustomError("child");
            });
            await sleep(1000);
          } finally {
            // biome-ignore lint/correctness/noUnsafeFinally: a resource whose cleanup fails.
            throw new CustomError("cleanup");
          }
        }),
      );
      assert.deepEqual(errorTypes(error), new Set(["CustomError"]));
      assert.equal((error as ExceptionGroup).exceptions.length, 2);
      assert.equal(task.cancelling(), 0);
    });
  });

  test("a child created eagerly that creates a failing child is cancelled at its next wait (gh-128550)", async () => {
    await runVirtual(async () => {
      let ran = false;
      const error = await errorOf(
        taskGroup(async (tg) => {
          tg.createTask(
            async () => {
              tg.createTask(
                async () => {
                  throw new MyError("third task failed");
                },
                { eagerStart: true },
              );
              await assert.rejects(async () => {
                await sleep(0);
                await sleep(0);
              }, CancelledError);
              ran = true;
            },
            { eagerStart: true },
          );
        }),
      );
      assert.equal(ran, true);
      assert.deepEqual(errorTypes(error), new Set(["MyError"]));
    });
  });
});

describe("taskGroup: cancellation from outside", () => {
  test("cancelling the parent cancels every child and the CancelledError (with its message) propagates", async () => {
    await runVirtual(async () => {
      let cancelledChildren = 0;
      const runner = createTask(() =>
        taskGroup(async (g) => {
          for (let i = 0; i < 5; i++) {
            g.createTask(async () => {
              try {
                await sleep(5000);
              } catch (e) {
                cancelledChildren++;
                throw e;
              }
            });
          }
        }),
      );
      await sleep(100);
      assert.equal(runner.done(), false);
      runner.cancel("test");
      const error = await errorOf(runner);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "test");
      assert.equal(cancelledChildren, 5);
      assert.equal(runner.cancelled(), true);
    });
  });

  test("cancelling the parent while the body waits cancels the body and the children", async () => {
    await runVirtual(async () => {
      let num = 0;
      const runner = createTask(() =>
        taskGroup(async (g) => {
          for (let i = 0; i < 5; i++) {
            g.createTask(async () => {
              try {
                await sleep(5000);
              } catch (e) {
                num += 1;
                throw e;
              }
            });
          }
          try {
            await sleep(10_000);
          } catch (e) {
            num += 10;
            throw e;
          }
        }),
      );
      await sleep(100);
      runner.cancel();
      assert.ok((await errorOf(runner)) instanceof CancelledError);
      assert.equal(num, 15);
    });
  });

  test("the children's CancelledError says the parent was cancelled, and by whom", async () => {
    await runVirtual(async () => {
      let childError: unknown;
      const runner = createTask(
        () =>
          taskGroup(async (g) => {
            g.createTask(async () => {
              try {
                await sleep(5000);
              } catch (e) {
                childError = e;
                throw e;
              }
            });
            await sleep(10_000);
          }),
        { name: "runner" },
      );
      await sleep(10);
      runner.cancel();
      await errorOf(runner);
      assert.ok(childError instanceof CancelledError);
      assert.equal(childError.origin?.kind, "taskgroup");
      assert.match(
        childError.message,
        /^task group aborted because task 'runner' was cancelled: cancelled by task 'Task-\d+'$/,
      );
    });
  });

  test("the parent cancelled while children fail before the body learns of it: CancelledError('test') wins when the cancel comes first", async () => {
    await runVirtual(async () => {
      const runner = createTask(() =>
        taskGroup(async (g) => {
          for (let i = 0; i < 5; i++) g.createTask(() => failAfter(200));
          await sleep(10_000);
        }),
      );
      await sleep(100);
      runner.cancel("test");
      const error = await errorOf(runner);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "test");
    });
  });

  test("nested groups: cancelling the parent cancels both levels", async () => {
    await runVirtual(async () => {
      const runner = createTask(() =>
        taskGroup(async (g1) => {
          g1.createTask(() => sleep(10_000));
          await taskGroup(async (g2) => {
            for (let i = 0; i < 5; i++) g2.createTask(() => failAfter(1000));
            await sleep(10_000);
          });
        }),
      );
      await sleep(100);
      runner.cancel();
      assert.ok((await errorOf(runner)) instanceof CancelledError);
    });
  });

  test("a child that fails while the body delays an outside cancellation: the error wins over the cancellation", async () => {
    await runVirtual(async () => {
      const runner = createTask(() =>
        taskGroup(async (g) => {
          g.createTask(() => failAfter(300, new RangeError("late")));
          try {
            await sleep(10_000);
          } catch (e) {
            await sleep(500);
            throw e;
          }
        }),
      );
      await sleep(100);
      runner.cancel();
      assert.deepEqual(errorTypes(await errorOf(runner)), new Set(["RangeError"]));
    });
  });

  test("the same when the group runs in a task that another task awaits", async () => {
    await runVirtual(async () => {
      const runner = createTask(async () => {
        const nested = createTask(() =>
          taskGroup(async (g) => {
            g.createTask(() => failAfter(300, new RangeError("late")));
            try {
              await sleep(10_000);
            } catch (e) {
              await sleep(500);
              throw e;
            }
          }),
        );
        await nested;
      });
      await sleep(100);
      runner.cancel();
      assert.deepEqual(errorTypes(await errorOf(runner)), new Set(["RangeError"]));
    });
  });

  test("an empty group whose body is cancelled propagates the cancellation", async () => {
    await runVirtual(async () => {
      let num = 0;
      const runner = createTask(() =>
        taskGroup(async () => {
          try {
            await sleep(10_000);
          } catch (e) {
            num += 10;
            throw e;
          }
        }),
      );
      await sleep(100);
      runner.cancel();
      assert.ok((await errorOf(runner)) instanceof CancelledError);
      assert.equal(num, 10);
    });
  });

  test("a body that turns an outside cancellation into an error yields an ExceptionGroup of it", async () => {
    await runVirtual(async () => {
      let num = 0;
      const runner = createTask(() =>
        taskGroup(async () => {
          try {
            await sleep(10_000);
          } catch {
            num += 10;
            throw new MyError("not a good idea, but supported");
          }
        }),
      );
      await sleep(100);
      runner.cancel();
      assert.deepEqual(errorTypes(await errorOf(runner)), new Set(["MyError"]));
      assert.equal(num, 10);
    });
  });

  test("the parent cancelled while the group waits for its children at exit", async () => {
    await runVirtual(async () => {
      let child: Task<void> | undefined;
      const runner = createTask(() =>
        taskGroup((g) => {
          child = g.createTask(() => sleep(2000));
        }),
      );
      await sleep(50);
      runner.cancel();
      assert.ok((await errorOf(runner)) instanceof CancelledError);
      assert.equal(child!.cancelled(), true);
      assert.equal(now(), 50);
    });
  });

  test("the parent cancelled repeatedly while a child is slow to stop: one CancelledError after the child ends", async () => {
    await runVirtual(async () => {
      const runner = createTask(() =>
        taskGroup((g) => {
          g.createTask(async () => {
            try {
              await sleep(1000);
            } catch (e) {
              await timeout(null, () => sleep(300)); // slow cleanup
              throw e;
            }
          });
        }),
      );
      await sleep(10);
      runner.cancel();
      await sleep(10);
      runner.cancel();
      await sleep(10);
      runner.cancel();
      assert.ok((await errorOf(runner)) instanceof CancelledError);
      assert.equal(now(), 310);
      assert.equal(runner.cancelling(), 3);
    });
  });

  test("an outside cancel together with a child error: the errors win, and the parent is re-cancelled at its next wait", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const started = loop.createFuture<void>();
      const inner = createTask(async () => {
        try {
          await taskGroup(async (tg) => {
            tg.createTask(async () => {
              started.setResult();
              await sleep(0);
              throw new RangeError("child");
            });
            await sleep(1000);
            assert.fail("the sleep in the group should have been cancelled");
          });
        } catch (e) {
          assert.ok(e instanceof ExceptionGroup);
          assert.equal(currentTask()!.cancelling(), 1);
        }
        assert.equal(currentTask()!.cancelling(), 1);
        await sleep(1000);
        assert.fail("the sleep after the group should have been cancelled");
      });
      await started;
      assert.equal(inner.cancelling(), 0);
      inner.cancel();
      assert.equal(inner.cancelling(), 1);
      assert.ok((await errorOf(inner)) instanceof CancelledError);
      assert.equal(inner.cancelled(), true);
    });
  });

  test("a timeout around a group: the group's children are cancelled and TimeoutError comes out", async () => {
    await runVirtual(async () => {
      let child: Task<void> | undefined;
      await assert.rejects(
        timeout(100, () =>
          taskGroup(async (g) => {
            child = g.createTask(() => sleep(10_000));
            await sleep(10_000);
          }),
        ),
        TimeoutError,
      );
      assert.equal(child!.cancelled(), true);
      assert.equal(currentTask()!.cancelling(), 0);
    });
  });

  test("a timeout(-1) around an empty group times out at its first wait", async () => {
    await runVirtual(async () => {
      const error = await errorOf(
        timeout(-1, () =>
          taskGroup(async () => {
            await sleep(0);
          }),
        ),
      );
      assert.ok(error instanceof TimeoutError);
      assert.ok(error.cause instanceof CancelledError);
    });
  });

  test("children's AbortSignals abort when the group aborts", async () => {
    await runVirtual(async () => {
      const signals: AbortSignal[] = [];
      await errorOf(
        taskGroup(async (g) => {
          for (let i = 0; i < 3; i++) {
            g.createTask(async () => {
              signals.push(currentSignal());
              await sleep(1000);
            });
          }
          g.createTask(() => failAfter(10));
        }),
      );
      assert.equal(signals.length, 3);
      for (const s of signals) {
        assert.equal(s.aborted, true);
        assert.equal((s.reason as CancelledError).origin?.kind, "taskgroup");
      }
    });
  });
});

describe("taskGroup: the parent's cancelling() count", () => {
  test("a handled group failure leaves cancelling() at 0 (the 3.13 guarantee)", async () => {
    await runVirtual(async () => {
      try {
        await taskGroup((tg) => {
          tg.createTask(() => failAfter(0, new RangeError("x")));
        });
      } catch (e) {
        assert.ok(e instanceof ExceptionGroup);
      }
      assert.equal(currentTask()!.cancelling(), 0);
      await sleep(0); // no stray cancellation is delivered here
    });
  });

  test("nested groups both failing: the inner failure is handled at level 1, the outer at 0", async () => {
    await runVirtual(async () => {
      try {
        await taskGroup(async (outer) => {
          try {
            await taskGroup((inner) => {
              inner.createTask(() => failAfter(0, new RangeError("inner")));
              outer.createTask(() => failAfter(0, new SyntaxError("outer")));
            });
            assert.fail("no error from the inner group");
          } catch (e) {
            assert.deepEqual(errorTypes(e), new Set(["RangeError"]));
          }
          assert.equal(currentTask()!.cancelling(), 1);
        });
        assert.fail("no error from the outer group");
      } catch (e) {
        assert.deepEqual(errorTypes(e), new Set(["SyntaxError"]));
      }
      assert.equal(currentTask()!.cancelling(), 0);
    });
  });

  test("a cancellation does not leak out of a group that failed", async () => {
    await runVirtual(async () => {
      await errorOf(
        taskGroup((tg) => {
          tg.createTask(async () => {
            throw new MyError("x");
          });
        }),
      );
      await sleep(0);
      await sleep(10);
      assert.equal(currentTask()!.cancelling(), 0);
    });
  });
});

describe("TaskGroup.cancel() (asyncio 3.15)", () => {
  test("cancel() from the body ends the group without error; code after it runs", async () => {
    await runVirtual(async () => {
      let child: Task<void> | undefined;
      let after = false;
      const value = await taskGroup(async (tg) => {
        child = tg.createTask(() => sleep(10_000));
        await sleep(10);
        tg.cancel();
        await sleep(10_000);
        return "unreachable";
      });
      after = true;
      assert.equal(value, undefined);
      assert.equal(after, true);
      assert.equal(child!.cancelled(), true);
      assert.equal(now(), 10);
      assert.equal(currentTask()!.cancelling(), 0);
    });
  });

  test("cancel() from a child ends the group without error", async () => {
    await runVirtual(async () => {
      let bodyError: unknown;
      await taskGroup(async (tg) => {
        tg.createTask(async () => {
          await sleep(50);
          tg.cancel();
        });
        tg.createTask(() => sleep(10_000));
        try {
          await sleep(10_000);
        } catch (e) {
          bodyError = e;
          throw e;
        }
      });
      assert.equal(now(), 50);
      assert.ok(bodyError instanceof CancelledError);
      assert.match(
        bodyError.message,
        /^task group cancelled by tg\.cancel\(\) in task 'Task-\d+'$/,
      );
    });
  });

  test("cancel() after the body returned stops the children still running", async () => {
    await runVirtual(async () => {
      let child: Task<void> | undefined;
      await taskGroup((tg) => {
        child = tg.createTask(() => sleep(10_000));
        getRunningLoop().callLater(30, () => tg.cancel());
      });
      assert.equal(child!.cancelled(), true);
      assert.equal(now(), 30);
    });
  });

  test("cancel() before entering cancels the group as soon as it is entered", async () => {
    await runVirtual(async () => {
      const tg = new TaskGroup();
      tg.cancel();
      let reached = false;
      const value = await tg.run(async () => {
        await sleep(1000);
        reached = true;
        return 1;
      });
      assert.equal(value, undefined);
      assert.equal(reached, false);
      assert.equal(now(), 0);
      assert.equal(currentTask()!.cancelling(), 0);
    });
  });

  test("cancel() is idempotent and does nothing once the group has finished", async () => {
    await runVirtual(async () => {
      const tg = new TaskGroup();
      await tg.run(async () => {
        tg.createTask(() => sleep(100));
        tg.cancel();
        tg.cancel();
      });
      tg.cancel();
      assert.equal(tg.state, "finished");
      assert.equal(currentTask()!.cancelling(), 0);
      await sleep(1);
    });
  });

  test("no child can be created after cancel()", async () => {
    await runVirtual(async () => {
      await taskGroup((tg) => {
        tg.cancel();
        assert.throws(() => tg.createTask(() => sleep(1)), {
          name: "RuntimeError",
          message: /is shutting down/,
        });
      });
    });
  });

  test("an error a child throws while the group is cancelled is still reported", async () => {
    await runVirtual(async () => {
      const error = await errorOf(
        taskGroup(async (tg) => {
          tg.createTask(async () => {
            try {
              await sleep(1000);
            } finally {
              // biome-ignore lint/correctness/noUnsafeFinally: cleanup that fails.
              throw new MyError("cleanup failed");
            }
          });
          await sleep(1); // the child has started (a child cancelled before it starts never runs)
          tg.cancel();
        }),
      );
      assert.deepEqual(errorTypes(error), new Set(["MyError"]));
    });
  });

  test("an outside cancellation during a tg.cancel() still propagates", async () => {
    await runVirtual(async () => {
      const runner = createTask(() =>
        taskGroup(async (tg) => {
          tg.createTask(async () => {
            try {
              await sleep(1000);
            } catch (e) {
              await timeout(null, () => sleep(100));
              throw e;
            }
          });
          await sleep(1);
          tg.cancel();
        }),
      );
      await sleep(10);
      runner.cancel("outside");
      const error = await errorOf(runner);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "outside");
      assert.equal(now(), 101);
    });
  });

  test("a body that fails after tg.cancel() while an outside cancellation is pending raises the ExceptionGroup with its error, and the cancellation comes at the next wait", async () => {
    await runVirtual(async () => {
      const me = currentTask()!;
      const error = await errorOf(
        taskGroup(async (tg) => {
          tg.createTask(() => sleep(100));
          tg.cancel();
          me.cancel("outside");
          throw new MyError("body failed");
        }),
      );
      assert.ok(error instanceof ExceptionGroup, `got ${String(error)}`);
      assert.deepEqual(errorTypes(error), new Set(["MyError"]));
      assert.equal(me.cancelling(), 1);
      const next = await errorOf(sleep(0));
      assert.ok(next instanceof CancelledError);
      assert.equal(next.message, "outside");
      me.uncancel();
    });
  });

  test("a body that fails when tg.cancel() cancels it, while an outside cancellation arrives during the exit, raises the ExceptionGroup with its error", async () => {
    await runVirtual(async () => {
      const runner = createTask(() =>
        taskGroup(async (tg) => {
          tg.createTask(async () => {
            try {
              await sleep(1000);
            } finally {
              await sleep(20);
            }
          });
          tg.createTask(async () => {
            await sleep(10);
            tg.cancel();
          });
          try {
            await sleep(1000);
          } catch {
            throw new MyError("body failed on cancel");
          }
        }),
      );
      await sleep(15);
      runner.cancel("outside");
      const error = await errorOf(runner);
      assert.ok(error instanceof ExceptionGroup, `got ${String(error)}`);
      assert.deepEqual(errorTypes(error), new Set(["MyError"]));
      assert.equal(runner.cancelled(), false);
    });
  });
});

describe("taskGroup: KeyboardInterrupt", () => {
  test("a KeyboardInterrupt thrown by the body escapes unwrapped; the child errors go to the handler", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      const error = await errorOf(
        taskGroup(async (g) => {
          g.createTask(() => failAfter(100, new RangeError("1/0")));
          try {
            await sleep(10_000);
          } finally {
            // biome-ignore lint/correctness/noUnsafeFinally: the scenario under test.
            throw new KeyboardInterrupt();
          }
        }),
      );
      assert.ok(error instanceof KeyboardInterrupt);
    });
    assert.equal(contexts.length, 1);
    assert.equal((contexts[0].exception as Error).message, "1/0");
    assert.match(contexts[0].message, /not propagated/);
  });

  test("a KeyboardInterrupt thrown by a child escapes the loop: run() rejects with it, and the group's body is cancelled at shutdown", async () => {
    const { contexts, handler } = collectExceptions();
    const interrupt = new KeyboardInterrupt();
    const seen: string[] = [];
    const error = await errorOf(
      runVirtual(async () => {
        getRunningLoop().setExceptionHandler(handler);
        try {
          await taskGroup(async (g) => {
            g.createTask(() => failAfter(100, interrupt));
            try {
              await sleep(10_000);
            } finally {
              seen.push(`body finally at ${getRunningLoop().time()}`);
            }
          });
        } catch (e) {
          // run()'s shutdown cancels main; the group re-raises its child's interrupt.
          seen.push(`group: ${(e as Error).name}`);
          throw e;
        }
      }),
    );
    assert.equal(error, interrupt);
    assert.deepEqual(seen, ["body finally at 100", "group: KeyboardInterrupt"]);
    assert.deepEqual(
      contexts.map((c) => c.message),
      [],
      "the interrupt is run()'s error, not an unretrieved one",
    );
  });
});

describe("TaskGroup: states and misuse", () => {
  test("the inspect string and statistics() show the state, children and errors", async () => {
    await runVirtual(async () => {
      const tg = new TaskGroup();
      const seen: string[] = [String(tg)];
      await errorOf(
        tg.run(async () => {
          tg.createTask(() => sleep(100));
          tg.createTask(() => failAfter(10));
          seen.push(String(tg));
          try {
            await sleep(1000);
          } catch (e) {
            seen.push(String(tg));
            assert.deepEqual(tg.statistics(), { state: "aborting", tasks: 1, errors: 1 });
            throw e;
          }
        }),
      );
      seen.push(String(tg));
      assert.deepEqual(seen, [
        "<TaskGroup [created]>",
        "<TaskGroup [active] tasks=2>",
        "<TaskGroup [aborting] tasks=1 errors=1>",
        "<TaskGroup [finished]>",
      ]);
    });
  });

  test("while the group waits for its children, the parent says it waits on the group", async () => {
    await runVirtual(async () => {
      const parent = currentTask()!;
      parent.name = "parent";
      let stack: string[] = [];
      let text = "";
      getRunningLoop().callLater(50, () => {
        stack = parent.getStack();
        text = String(parent);
      });
      await taskGroup((tg) => {
        tg.createTask(() => sleep(100));
      });
      assert.deepEqual(stack, ["waiting on <TaskGroup [exiting] tasks=1>"]);
      assert.equal(text, "<Task pending name='parent' waiting on <TaskGroup [exiting] tasks=1>>");
    });
  });

  test("the state is exiting while the group waits for its children after the body", async () => {
    await runVirtual(async () => {
      const tg = new TaskGroup();
      getRunningLoop().callLater(50, () => {
        assert.equal(tg.state, "exiting");
        assert.equal(String(tg), "<TaskGroup [exiting] tasks=1>");
      });
      await tg.run((g) => {
        g.createTask(() => sleep(100));
      });
      assert.equal(tg.state, "finished");
    });
  });

  test("a group cannot be entered twice, nested or after exit", async () => {
    await runVirtual(async () => {
      const tg = new TaskGroup();
      await tg.run(async () => {
        await assert.rejects(
          tg.run(() => {}),
          { name: "RuntimeError", message: /has already been entered/ },
        );
      });
      await assert.rejects(
        tg.run(() => {}),
        { name: "RuntimeError", message: /has already been entered/ },
      );
    });
  });

  test("createTask is refused before entry and after the group finished", async () => {
    await runVirtual(async () => {
      const tg = new TaskGroup();
      assert.throws(() => tg.createTask(() => sleep(0)), {
        name: "RuntimeError",
        message: /has not been entered/,
      });
      await tg.run(() => {});
      assert.throws(() => tg.createTask(() => sleep(0)), {
        name: "RuntimeError",
        message: /is finished/,
      });
    });
  });

  test("a group needs a parent task: outside a task run() rejects and the group stays unentered", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const tg = new TaskGroup();
      const result = loop.createFuture<unknown>();
      loop.callSoon(() => {
        tg.run(() => {}).then(
          () => result.setResult("no error"),
          (e) => result.setResult(e),
        );
      });
      const error = await result;
      assert.ok(error instanceof RuntimeError);
      assert.match((error as Error).message, /parent task/);
      assert.throws(() => tg.createTask(() => sleep(0)), /has not been entered/);
    });
  });

  test("bad arguments are TypeErrors and leave the group usable", async () => {
    await runVirtual(async () => {
      await taskGroup(async (tg) => {
        assert.throws(() => tg.createTask("work" as unknown as () => void), {
          name: "TypeError",
          message: /Expected `fn` to be a function/,
        });
        assert.throws(() => tg.createTask(() => 1, "name" as never), TypeError);
        assert.throws(() => tg.createTask(() => 1, { name: 5 as unknown as string }), TypeError);
        const t = tg.createTask(() => sleep(1, "still works"));
        assert.equal(await t, "still works");
      });
      await assert.rejects(taskGroup("body" as unknown as () => void), TypeError);
    });
  });
});

describe("taskGroup: scale", () => {
  test("cancelling the parent of a group of 20 000 sleeping children ends them all", async () => {
    await runVirtual(async () => {
      const n = 20_000;
      let cancelled = 0;
      const runner = createTask(() =>
        taskGroup((tg) => {
          for (let i = 0; i < n; i++) {
            tg.createTask(async () => {
              try {
                await sleep(3_600_000);
              } catch (e) {
                cancelled++;
                throw e;
              }
            });
          }
        }),
      );
      await sleep(10);
      runner.cancel();
      assert.ok((await errorOf(runner)) instanceof CancelledError);
      assert.equal(cancelled, n);
      assert.equal(now(), 10);
    });
  });
});

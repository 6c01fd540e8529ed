/**
 * Conformance: TaskGroup scenarios from CPython's test_taskgroups that the main file does not
 * pin, each run twice, with lazily started and with eager children (CPython runs its whole
 * suite a second time with the eager task factory). Written for the virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CancelledError,
  createTask,
  currentTask,
  Event,
  ExceptionGroup,
  sleep,
  type Task,
  type TaskGroup,
  TimeoutError,
  taskGroup,
  timeout,
} from "../src/index.ts";
import { errorOf, now, runVirtual } from "./helpers.ts";

class MyError extends Error {
  override name = "MyError";
}

function errorTypes(eg: unknown): string[] {
  assert.ok(eg instanceof ExceptionGroup, `expected an ExceptionGroup, got ${String(eg)}`);
  return [...new Set(eg.exceptions.map((e) => (e as Error).name))].sort();
}

for (const eager of [false, true]) {
  const mode = eager ? "eager children" : "lazy children";
  const spawn = <T>(tg: TaskGroup, fn: () => T | PromiseLike<T>, name?: string): Task<T> =>
    tg.createTask(fn, name === undefined ? { eagerStart: eager } : { eagerStart: eager, name });

  describe(`conformance taskGroup (${mode})`, () => {
    test("results of children are kept once the group is done (taskgroup_01)", async () => {
      await runVirtual(async () => {
        const tasks: Task<number>[] = [];
        await taskGroup(async (tg) => {
          tasks.push(spawn(tg, () => sleep(100, 42)));
          tasks.push(spawn(tg, () => sleep(200, 11)));
        });
        assert.deepEqual(
          tasks.map((t) => t.result()),
          [42, 11],
        );
        assert.equal(now(), 200);
      });
    });

    test("a child cancelled explicitly does not disturb its siblings (taskgroup_03)", async () => {
      await runVirtual(async () => {
        let t1: Task<number> | undefined;
        let t2: Task<number> | undefined;
        await taskGroup(async (tg) => {
          t1 = spawn(tg, () => sleep(1000, 42));
          await sleep(150);
          t1.cancel();
          t2 = spawn(tg, () => sleep(200, 11));
        });
        assert.equal(t1!.cancelled(), true);
        assert.equal(t2!.result(), 11);
      });
    });

    test("a failing child cancels its sibling; code after the group never runs (taskgroup_04)", async () => {
      await runVirtual(async () => {
        let num = 0;
        let siblingSawCancel = false;
        let t2: Task<void> | undefined;
        const runner = createTask(async () => {
          await taskGroup(async (tg) => {
            spawn(tg, async () => {
              await sleep(100);
              throw new RangeError("div by zero");
            });
            t2 = spawn(tg, async () => {
              try {
                await sleep(1000);
              } catch (e) {
                siblingSawCancel = e instanceof CancelledError;
                throw e;
              }
              num += 1;
            });
          });
          num += 10;
        });
        const error = await errorOf(runner);
        assert.deepEqual(errorTypes(error), ["RangeError"]);
        assert.equal(num, 0);
        assert.equal(siblingSawCancel, true);
        assert.equal(t2!.cancelled(), true);
      });
    });

    test("three children failing at once: only their error type is in the group, the body is cancelled", async () => {
      await runVirtual(async () => {
        let bodyCancelled = false;
        const error = await errorOf(
          taskGroup(async (tg) => {
            for (let i = 0; i < 3; i++) {
              spawn(tg, async () => {
                await sleep(100);
                throw new RangeError(`child ${i}`);
              });
            }
            spawn(tg, () => sleep(5000));
            try {
              await sleep(10_000);
            } catch (e) {
              bodyCancelled = e instanceof CancelledError;
              throw e;
            }
          }),
        );
        assert.deepEqual(errorTypes(error), ["RangeError"]);
        // Children failing at the same moment all make it into the group.
        assert.equal((error as ExceptionGroup).exceptions.length, 3);
        assert.equal(bodyCancelled, true);
        assert.equal(now(), 100);
      });
    });

    test("an outside cancel while children raise in finally: the errors win (taskgroup_08, 3.13+)", async () => {
      await runVirtual(async () => {
        const runner = createTask(() =>
          taskGroup(async (tg) => {
            for (let i = 0; i < 5; i++) {
              spawn(tg, async () => {
                try {
                  await sleep(10_000);
                } finally {
                  // biome-ignore lint/correctness/noUnsafeFinally: the scenario under test
                  throw new RangeError("in finally");
                }
              });
            }
            await sleep(10_000);
          }),
        );
        await sleep(100);
        assert.equal(runner.done(), false);
        runner.cancel();
        const error = await errorOf(runner);
        assert.deepEqual(errorTypes(error), ["RangeError"]);
        assert.equal((error as ExceptionGroup).exceptions.length, 5);
      });
    });

    test("nested groups cancelled from outside, inner children raising in finally: a nested group (taskgroup_11)", async () => {
      await runVirtual(async () => {
        const runner = createTask(() =>
          taskGroup(async () => {
            await taskGroup(async (g2) => {
              for (let i = 0; i < 5; i++) {
                spawn(g2, async () => {
                  try {
                    await sleep(10_000);
                  } finally {
                    // biome-ignore lint/correctness/noUnsafeFinally: the scenario under test
                    throw new RangeError("in finally");
                  }
                });
              }
              await sleep(10_000);
            });
          }),
        );
        await sleep(100);
        runner.cancel();
        const error = await errorOf(runner);
        assert.deepEqual(errorTypes(error), ["ExceptionGroup"]);
        assert.deepEqual(errorTypes((error as ExceptionGroup).exceptions[0]), ["RangeError"]);
      });
    });

    test("the same with a sleeping child in the outer group (taskgroup_12)", async () => {
      await runVirtual(async () => {
        let outerChild: Task<void> | undefined;
        const runner = createTask(() =>
          taskGroup(async (g1) => {
            outerChild = spawn(g1, () => sleep(10_000));
            await taskGroup(async (g2) => {
              for (let i = 0; i < 5; i++) {
                spawn(g2, async () => {
                  try {
                    await sleep(10_000);
                  } finally {
                    // biome-ignore lint/correctness/noUnsafeFinally: the scenario under test
                    throw new RangeError("in finally");
                  }
                });
              }
              await sleep(10_000);
            });
          }),
        );
        await sleep(100);
        runner.cancel();
        const error = await errorOf(runner);
        assert.deepEqual(errorTypes(error), ["ExceptionGroup"]);
        assert.deepEqual(errorTypes((error as ExceptionGroup).exceptions[0]), ["RangeError"]);
        assert.equal(outerChild!.cancelled(), true);
        assert.equal(now(), 100);
      });
    });

    test("an outside cancel, then a child failing during the body's slow cleanup: ExceptionGroup (taskgroup_15)", async () => {
      await runVirtual(async () => {
        const runner = createTask(() =>
          taskGroup(async (tg) => {
            spawn(tg, async () => {
              await sleep(300);
              throw new RangeError("crash soon");
            });
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
        const error = await errorOf(runner);
        assert.deepEqual(errorTypes(error), ["RangeError"]);
        // The child's failure at 300 cancels the body's cleanup sleep too.
        assert.equal(now(), 300);
      });
    });

    test("the group's children count drops as they finish (taskgroup_23)", async () => {
      await runVirtual(async () => {
        await taskGroup(async (tg) => {
          for (let count = 0; count < 10; count++) {
            await sleep(100);
            spawn(tg, () => sleep(300));
            if (count === 5) assert.ok(tg.statistics().tasks < 5);
          }
          await sleep(1350);
          assert.equal(tg.statistics().tasks, 0);
        });
      });
    });

    test("a child can add children to its own group after waiting (taskgroup_24)", async () => {
      await runVirtual(async () => {
        const done: number[] = [];
        await taskGroup(async (tg) => {
          spawn(tg, async () => {
            await sleep(100);
            spawn(tg, async () => {
              await sleep(100);
              done.push(1);
            });
            spawn(tg, async () => {
              await sleep(200);
              done.push(2);
            });
          });
        });
        assert.deepEqual(done, [1, 2]);
        assert.equal(now(), 300);
      });
    });

    test("the child's name is set before it runs (test_name)", async () => {
      await runVirtual(async () => {
        let seen: string | undefined;
        let task: Task<void> | undefined;
        await taskGroup(async (tg) => {
          task = spawn(
            tg,
            () => {
              seen = currentTask()!.name;
            },
            "example name",
          );
          assert.equal(task.name, "example name");
        });
        assert.equal(seen, "example name");
      });
    });

    test("a child that fails before its first wait: the group fails and cancelling() is 0 afterwards", async () => {
      await runVirtual(async () => {
        const error = await errorOf(
          taskGroup(async (tg) => {
            spawn(tg, () => {
              throw new MyError("at once");
            });
          }),
        );
        assert.deepEqual(errorTypes(error), ["MyError"]);
        assert.equal(currentTask()!.cancelling(), 0);
        // No cancellation leaks out of the group: the next wait is not interrupted.
        await sleep(0);
        await sleep(10);
      });
    });

    test("the body waiting on an Event that a failing child set: cancelling() is 1 inside the handler of an outside cancel (test_error_and_cancel)", async () => {
      await runVirtual(async () => {
        const event = new Event();
        const log: string[] = [];
        const inner = createTask(async () => {
          try {
            await taskGroup(async (tg) => {
              spawn(tg, async () => {
                event.set();
                await sleep(0);
                throw new MyError("child");
              });
              await sleep(1000);
              log.push("body slept to the end");
            });
          } catch (e) {
            assert.deepEqual(errorTypes(e), ["MyError"]);
            log.push(`caught, cancelling=${currentTask()!.cancelling()}`);
          }
          await sleep(1000);
          log.push("slept after the group");
        });
        await event.wait();
        assert.equal(inner.cancelling(), 0);
        inner.cancel();
        assert.equal(inner.cancelling(), 1);
        assert.ok((await errorOf(inner)) instanceof CancelledError);
        assert.equal(inner.cancelled(), true);
        assert.deepEqual(log, ["caught, cancelling=1"]);
      });
    });

    test("timeout(-1) around a group whose body yields: TimeoutError caused by a CancelledError", async () => {
      await runVirtual(async () => {
        const error = await errorOf(
          timeout(-1, () =>
            taskGroup(async (tg) => {
              spawn(tg, () => sleep(1000));
              await sleep(0);
            }),
          ),
        );
        assert.ok(error instanceof TimeoutError);
        assert.ok((error as TimeoutError).cause instanceof CancelledError);
        assert.equal(now(), 0);
      });
    });

    test("children of a group cancelled by a timeout see CancelledError and run their cleanup", async () => {
      await runVirtual(async () => {
        const cleaned: number[] = [];
        const error = await errorOf(
          timeout(50, () =>
            taskGroup(async (tg) => {
              for (let i = 0; i < 3; i++) {
                spawn(tg, async () => {
                  try {
                    await sleep(1000);
                  } finally {
                    cleaned.push(i);
                  }
                });
              }
            }),
          ),
        );
        assert.ok(error instanceof TimeoutError);
        assert.deepEqual(cleaned, [0, 1, 2]);
        assert.equal(now(), 50);
      });
    });
  });
}

/**
 * Conformance: context variables across tasks (CPython's test_tasks test_context_1 … 6 and the
 * context side of test_eager_start_*, test_asyncio/test_context.py). asyncio's contextvars map
 * to Node's `AsyncLocalStorage` here: a task starts from the values current at `createTask` (as
 * asyncio copies the context), `storage.enterWith(v)` stands for `cvar.set(v)`, and
 * `AsyncLocalStorage.snapshot()` for a `contextvars.Context` passed as `context=`. Each scenario
 * runs with lazy and eager tasks where both apply. Virtual clock throughout; the suite runs these
 * under both context carriers (promise hooks and AsyncLocalStorage, see src/internal/context.ts).
 *
 * Covered elsewhere: test_context_vars of test_eager_task_factory (an eager step's changes stay
 * in the task) and the context of loop and done callbacks are in context.test.ts; a Runner's
 * runs each starting from their caller's values are in runners.test.ts.
 *
 * Do not apply: test_get_context (no `getContext()`: a task's values are not an object one can
 * hold), test_proper_refcounts (CPython internals). No test_task_run_in_context exists in
 * CPython's test_tasks.
 *
 * Differences, deliberate because AsyncLocalStorage has no mutable Context object:
 * - test_context_4/5/6 read back through the Context what the task set (`ctx.get(cvar)`). A
 *   snapshot cannot be written to: `enterWith` in a task changes the task's own values only. The
 *   same observable sequence is kept with a mutable store object shared through the snapshot.
 * - In asyncio a coroutine awaited directly (not as a task) runs in the caller's context, so
 *   what it sets stays visible to the caller afterwards; a JavaScript async function's
 *   `enterWith` after its first `await` does not reach its caller. asyncio-ts cannot change this.
 */
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { describe, test } from "node:test";
import {
  CancelledError,
  createTask,
  Future,
  gather,
  getRunningLoop,
  sleep,
  type Task,
  taskGroup,
  waitFor,
} from "../src/index.ts";
import { errorOf, now, runVirtual } from "./helpers.ts";

const cvar = new AsyncLocalStorage<string>();

/** A small deterministic pseudo-random sequence (a linear congruential generator). */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

for (const eagerStart of [false, true]) {
  const mode = eagerStart ? "eager" : "lazy";

  describe(`conformance: a task's own values (${mode} tasks)`, () => {
    test("the child sees the value current at createTask, not the creator's later one; its own change stays in it (test_context_1)", async () => {
      await runVirtual(() =>
        cvar.run("nope", async () => {
          const seen: (string | undefined)[] = [];
          const sub = createTask(
            async () => {
              await sleep(10);
              seen.push(cvar.getStore());
              cvar.enterWith("something else");
              seen.push(cvar.getStore());
            },
            { eagerStart },
          );
          cvar.enterWith("yes");
          assert.equal(cvar.getStore(), "yes");
          await sub;
          assert.equal(cvar.getStore(), "yes");
          assert.deepEqual(seen, ["nope", "something else"]);
        }),
      );
      assert.equal(cvar.getStore(), undefined);
    });

    test("a done callback that changes the value does not change the task's; the task keeps its value across each wait (test_context_2)", async () => {
      const seen = await runVirtual(() =>
        cvar.run("nope", () =>
          createTask(
            async () => {
              const loop = getRunningLoop();
              const log: string[] = [];
              for (let j = 0; j < 2; j++) {
                const fut = new Future<void>();
                fut.addDoneCallback(() => {
                  cvar.enterWith("something else");
                  log.push(`callback ${cvar.getStore()}`);
                });
                cvar.enterWith(`yes${j}`);
                loop.callSoon(() => fut.setResult());
                await fut;
                log.push(`${cvar.getStore()}`);
                for (let i = 0; i < 3; i++) {
                  cvar.enterWith(`yes${i}-${j}`);
                  await sleep(1);
                  log.push(`${cvar.getStore()}`);
                }
              }
              return log;
            },
            { eagerStart },
          ),
        ),
      );
      assert.deepEqual(seen, [
        "callback something else",
        "yes0",
        "yes0-0",
        "yes1-0",
        "yes2-0",
        "callback something else",
        "yes1",
        "yes0-1",
        "yes1-1",
        "yes2-1",
      ]);
      assert.equal(cvar.getStore(), undefined);
    });

    test("100 tasks each change their value 10 times across sleeps of random lengths and only ever see their own (test_context_3)", async () => {
      const counter = new AsyncLocalStorage<number>();
      const random = lcg(eagerStart ? 7 : 3);
      const mismatches = await runVirtual(() =>
        counter.run(-1, async () => {
          const wrong: string[] = [];
          const tasks: Task<void>[] = [];
          for (let t = 0; t < 100; t++) {
            const base = Math.floor(random() * 11);
            const delays = Array.from({ length: 10 }, () => 1 + Math.floor(random() * 50));
            tasks.push(
              createTask(
                async () => {
                  for (let i = 0; i < 10; i++) {
                    counter.enterWith(base + i);
                    await sleep(delays[i]!);
                    if (counter.getStore() !== base + i) {
                      wrong.push(`task ${t} step ${i}: ${counter.getStore()}`);
                    }
                  }
                },
                { eagerStart },
              ),
            );
          }
          await gather(tasks);
          assert.equal(counter.getStore(), -1);
          assert.ok(now() > 0);
          return wrong;
        }),
      );
      assert.deepEqual(mismatches, []);
      assert.equal(counter.getStore(), undefined);
    });

    test("a task's finally block, run when it is cancelled, still sees its own values", async () => {
      await runVirtual(async () => {
        let inFinally: string | undefined;
        const task = cvar.run("outer", () =>
          createTask(
            async () => {
              cvar.enterWith("task's own");
              try {
                await sleep(10_000);
              } finally {
                inFinally = cvar.getStore();
              }
            },
            { eagerStart },
          ),
        );
        await sleep(5);
        task.cancel();
        assert.ok((await errorOf(task)) instanceof CancelledError);
        assert.equal(inFinally, "task's own");
      });
    });

    test("task group children start from the body's value at their createTask; later changes of the body do not reach them", async () => {
      await runVirtual(() =>
        cvar.run("body start", async () => {
          const seen: (string | undefined)[] = [];
          await taskGroup(async (tg) => {
            tg.createTask(
              async () => {
                await sleep(1);
                seen.push(`first: ${cvar.getStore()}`);
              },
              { eagerStart },
            );
            cvar.enterWith("body changed");
            tg.createTask(
              async () => {
                await sleep(2);
                seen.push(`second: ${cvar.getStore()}`);
              },
              { eagerStart },
            );
            cvar.enterWith("body changed again");
          });
          assert.deepEqual(seen, ["first: body start", "second: body changed"]);
          assert.equal(cvar.getStore(), "body changed again");
        }),
      );
    });
  });
}

describe("conformance: a given context for the task (test_context_4/5/6)", () => {
  test("tasks started inside a snapshot run with its values, not the creator's current ones", async () => {
    await runVirtual(async () => {
      const snapshot = cvar.run("ctx", () => AsyncLocalStorage.snapshot());
      cvar.enterWith("creator");
      const loop = getRunningLoop();
      const read = async () => {
        await sleep(0);
        return cvar.getStore();
      };
      const tasks = [
        snapshot(() => createTask(read)),
        snapshot(() => createTask(read, { eagerStart: true })),
        snapshot(() => loop.createTask(read)),
        snapshot(() => loop.createTask(read, { eagerStart: true })),
      ];
      assert.deepEqual(await gather(tasks), ["ctx", "ctx", "ctx", "ctx"]);
      assert.equal(cvar.getStore(), "creator");
    });
  });

  test("what a task sets is read back through a mutable store the tasks share: undefined, then 1, then 2", async () => {
    await runVirtual(async () => {
      const shared = new AsyncLocalStorage<Map<string, number>>();
      const ctx = new Map<string, number>();
      const snapshot = shared.run(ctx, () => AsyncLocalStorage.snapshot());
      const ret: (number | undefined)[] = [ctx.get("cvar")];
      for (const [value, eagerStart] of [
        [1, false],
        [2, true],
      ] as const) {
        const task = snapshot(() =>
          createTask(
            async () => {
              await sleep(0);
              shared.getStore()!.set("cvar", value);
            },
            { eagerStart },
          ),
        );
        await task;
        ret.push(ctx.get("cvar"));
      }
      assert.deepEqual(ret, [undefined, 1, 2]);
    });
  });

  test("enterWith in a task started inside a snapshot leaves the snapshot unchanged (no shared mutable Context)", async () => {
    await runVirtual(async () => {
      const snapshot = cvar.run("ctx", () => AsyncLocalStorage.snapshot());
      await snapshot(() =>
        createTask(async () => {
          await sleep(0);
          cvar.enterWith("set by the task");
        }),
      );
      assert.equal(
        snapshot(() => cvar.getStore()),
        "ctx",
      );
    });
  });
});

describe("conformance: per-task settings (test_context.py, decimal context)", () => {
  test("two gathered computations, each with its own precision across a sleep, round with their own", async () => {
    const precision = new AsyncLocalStorage<number>();
    const divide = (x: number, y: number) => (x / y).toFixed(precision.getStore() ?? 20);
    const fractions = (delay: number, digits: number, x: number, y: number) => () =>
      precision.run(digits, async () => {
        const a = divide(x, y);
        await sleep(delay);
        const b = divide(x, y ** 2);
        return [a, b];
      });
    const [r1, r2] = await runVirtual(() =>
      gather([fractions(100, 3, 1, 3), fractions(200, 6, 1, 3)]),
    );
    assert.deepEqual(r1, ["0.333", "0.111"]);
    assert.deepEqual(r2, ["0.333333", "0.111111"]);
  });
});

describe("conformance: what an eager step schedules (eager_start and contextvars)", () => {
  test("callbacks scheduled in an eager step carry the values the step set, and the creator keeps its own", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const seen: string[] = [];
      const fut = new Future<void>();
      await cvar.run("creator", async () => {
        const task = createTask(
          async () => {
            cvar.enterWith("eager step");
            loop.callSoon(() => seen.push(`soon: ${cvar.getStore()}`));
            loop.callLater(5, () => seen.push(`later: ${cvar.getStore()}`));
            fut.addDoneCallback(() => seen.push(`done callback: ${cvar.getStore()}`));
            await sleep(10);
            seen.push(`after sleep: ${cvar.getStore()}`);
          },
          { eagerStart: true },
        );
        seen.push(`creator: ${cvar.getStore()}`);
        fut.setResult();
        await task;
        assert.equal(cvar.getStore(), "creator");
      });
      assert.deepEqual(seen, [
        "creator: creator",
        "soon: eager step",
        "done callback: eager step",
        "later: eager step",
        "after sleep: eager step",
      ]);
    });
  });
});

describe("conformance: a callee's changes (documented difference)", () => {
  test("what an awaited async function, or the function of waitFor, sets after its first await does not reach the caller", async () => {
    // asyncio: a coroutine awaited directly, also through wait_for, sets the caller's variable.
    await runVirtual(async () => {
      cvar.enterWith("caller");
      const callee = async (value: string) => {
        await sleep(0);
        cvar.enterWith(value);
        return cvar.getStore();
      };
      assert.equal(await callee("awaited"), "awaited");
      assert.equal(cvar.getStore(), "caller");
      assert.equal(await waitFor(() => callee("in waitFor"), 100), "in waitFor");
      assert.equal(cvar.getStore(), "caller");
    });
  });
});

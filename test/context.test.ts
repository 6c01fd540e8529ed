/**
 * Async context: a task runs in its own AsyncLocalStorage context inherited from its creator (as
 * asyncio copies the contextvars), `currentTask()` works anywhere in a task's call tree, and loop
 * callbacks run outside any task but in the context of the code that scheduled them (as
 * asyncio's `call_soon` copies the context).
 */
import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { describe, test } from "node:test";
import {
  CancelledError,
  createTask,
  currentSignal,
  currentTask,
  Future,
  getRunningLoop,
  Queue,
  run,
  sleep,
  type Task,
} from "../src/index.ts";
import { als } from "../src/internal/context.ts";
import { runVirtual } from "./helpers.ts";

const requestId = new AsyncLocalStorage<string>();

describe("tasks inherit the creator's AsyncLocalStorage values", () => {
  test("run()'s main task sees the values of run()'s caller", async () => {
    const seen = await requestId.run("caller", () =>
      run(
        async () => {
          await sleep(1);
          return requestId.getStore();
        },
        { clock: "virtual", handleSignals: false },
      ),
    );
    assert.equal(seen, "caller");
  });

  test("lazy and eager tasks see the value current at createTask, across their awaits", async () => {
    const seen = await runVirtual(async () => {
      const log: string[] = [];
      const body = (label: string) => async () => {
        log.push(`${label} start: ${requestId.getStore()}`);
        await sleep(10);
        log.push(`${label} after sleep: ${requestId.getStore()}`);
        const fut = new Future<void>();
        getRunningLoop().callLater(5, () => fut.setResult());
        await fut;
        log.push(`${label} after future: ${requestId.getStore()}`);
        await new Promise((resolve) => setImmediate(resolve));
        log.push(`${label} after plain promise: ${requestId.getStore()}`);
      };
      const lazy = requestId.run("r-lazy", () => createTask(body("lazy")));
      const eager = requestId.run("r-eager", () => createTask(body("eager"), { eagerStart: true }));
      assert.equal(requestId.getStore(), undefined, "the creator's own context is untouched");
      await Promise.all([lazy, eager]);
      return log;
    });
    assert.deepEqual(
      seen.filter((s) => s.startsWith("lazy")),
      [
        "lazy start: r-lazy",
        "lazy after sleep: r-lazy",
        "lazy after future: r-lazy",
        "lazy after plain promise: r-lazy",
      ],
    );
    assert.deepEqual(
      seen.filter((s) => s.startsWith("eager")),
      [
        "eager start: r-eager",
        "eager after sleep: r-eager",
        "eager after future: r-eager",
        "eager after plain promise: r-eager",
      ],
    );
  });

  test("interleaving tasks each keep their own value", async () => {
    const log = await runVirtual(async () => {
      const out: string[] = [];
      const tasks = ["a", "b", "c"].map((id) =>
        requestId.run(id, () =>
          createTask(async () => {
            for (let i = 0; i < 3; i++) {
              await sleep(0);
              out.push(`${id}=${requestId.getStore()}`);
            }
          }),
        ),
      );
      await Promise.all(tasks);
      return out;
    });
    assert.equal(log.length, 9);
    for (const entry of log) {
      const [id, value] = entry.split("=");
      assert.equal(value, id);
    }
  });

  test("a value set inside a task does not leak to its creator or to sibling tasks", async () => {
    await runVirtual(async () => {
      const setter = createTask(async () => {
        requestId.enterWith("set inside");
        await sleep(1);
        return requestId.getStore();
      });
      const sibling = createTask(async () => {
        await sleep(2);
        return requestId.getStore();
      });
      assert.equal(await setter, "set inside");
      assert.equal(await sibling, undefined);
      assert.equal(requestId.getStore(), undefined);
    });
  });

  test("an eager task's first step does not leak its values to its creator either (test_context_vars)", async () => {
    await runVirtual(() =>
      requestId.run("creator", async () => {
        const seen: (string | undefined)[] = [];
        const eager = createTask(
          async () => {
            seen.push(requestId.getStore());
            requestId.enterWith("set by the eager step");
            await sleep(1);
            seen.push(requestId.getStore());
          },
          { eagerStart: true },
        );
        seen.push(requestId.getStore());
        await eager;
        seen.push(requestId.getStore());
        assert.deepEqual(seen, ["creator", "creator", "set by the eager step", "creator"]);
      }),
    );
  });

  test("a child task created inside a task inherits the value current at that point", async () => {
    const seen = await runVirtual(() =>
      requestId.run("parent", () =>
        createTask(async () => {
          await sleep(1);
          const child = requestId.run("child", () => createTask(async () => requestId.getStore()));
          const plain = createTask(async () => requestId.getStore());
          return [await child, await plain];
        }),
      ),
    );
    assert.deepEqual(seen, ["child", "parent"]);
  });
});

describe("currentTask() anywhere in the call tree", () => {
  test("through nested async calls, Promise.all branches and async callbacks of map", async () => {
    await runVirtual(async () => {
      const task = createTask(
        async () => {
          // Names, not tasks: an async function returning a Task would wait for it (thenable).
          const level3 = async () => {
            await sleep(1);
            return currentTask()?.name;
          };
          const level2 = async () => level3();
          const level1 = async () => [await level2(), await level2()];
          const nested = await level1();
          const branches = await Promise.all([1, 2, 3].map(async () => level3()));
          assert.deepEqual([...nested, ...branches], ["deep", "deep", "deep", "deep", "deep"]);
          return currentTask()?.name;
        },
        { name: "deep" },
      );
      assert.equal(await task, "deep");
    });
  });

  test("host callbacks started by a task's code (setTimeout, setImmediate) reach the loop; the task only with the AsyncLocalStorage carrier", async () => {
    await runVirtual(async () => {
      const task = createTask(
        async () => {
          const fromTimeout = await new Promise<[string | undefined, boolean]>((resolve) =>
            setTimeout(() => resolve([currentTask()?.name, getRunningLoop() === loop]), 1),
          );
          // A task created from a host callback runs on the loop.
          const child = await new Promise<Task<string>>((resolve) =>
            setImmediate(() => resolve(createTask(async () => "child"))),
          );
          return [...fromTimeout, await child];
        },
        { name: "host" },
      );
      const loop = getRunningLoop();
      // Node 24's AsyncLocalStorage carries the task into host callbacks; the promise-hook
      // carrier (Node 20) carries it through promises only, so such a callback runs outside any
      // task, as an asyncio call_later callback does.
      const expectedName = als.kind === "als" ? "host" : undefined;
      assert.deepEqual(await task, [expectedName, true, "child"]);
    });
  });

  test("a promise settled by a host callback resumes the task in its own context", async () => {
    await runVirtual(async () => {
      const task = createTask(
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          const afterTimer = currentTask()?.name;
          const signal = currentSignal();
          await new Promise((resolve) => setImmediate(resolve));
          return [afterTimer, currentTask()?.name, signal === currentSignal()];
        },
        { name: "resumed" },
      );
      assert.deepEqual(await task, ["resumed", "resumed", true]);
    });
  });
});

describe("the task across other kinds of continuation", () => {
  test("async generators and for await keep the task, and cancel reaches a wait inside one", async () => {
    await runVirtual(async () => {
      let cleaned = false;
      async function* ticks(): AsyncGenerator<string | undefined> {
        try {
          for (;;) {
            await sleep(10);
            yield currentTask()?.name;
          }
        } finally {
          cleaned = true;
        }
      }
      const seen: (string | undefined)[] = [];
      const task = createTask(
        async () => {
          for await (const name of ticks()) seen.push(name);
        },
        { name: "gen" },
      );
      await sleep(35);
      task.cancel();
      await assert.rejects(async () => task, CancelledError);
      assert.deepEqual(seen, ["gen", "gen", "gen"]);
      assert.equal(cleaned, true);
    });
  });

  test("with two loops running, each task still sees its own loop after host-settled promises", async () => {
    const program = (name: string) => async () => {
      const loop = getRunningLoop();
      const task = createTask(
        async () => {
          await new Promise((resolve) => setImmediate(resolve));
          await new Promise((resolve) => setTimeout(resolve, 1));
          return [currentTask()?.name, getRunningLoop() === loop];
        },
        { name },
      );
      return task;
    };
    const [a, b] = await Promise.all([run(program("a")), run(program("b"))]);
    assert.deepEqual(
      [a, b],
      [
        ["a", true],
        ["b", true],
      ],
    );
  });
});

/** Cancels `task` and checks that the cancellation reached `adopted`, the Future it waits on. */
async function cancelReaches(task: Task<unknown>, adopted: Future<unknown>): Promise<void> {
  await sleep(1);
  assert.equal(task.cancel(), true);
  await assert.rejects(async () => task, CancelledError);
  assert.equal(adopted.cancelled(), true);
}

// A promise resolved with a Future adopts it in a job that calls its `then`; that job must run in
// the awaiting task's context, or the task does not register the wait and its cancellation never
// reaches the Future (the task hung on Node 24 before this was fixed).
describe("a Future adopted by a promise the task awaits is the task's wait", () => {
  test("sleep(0, future)", async () => {
    await runVirtual(async () => {
      const fut = getRunningLoop().createFuture<string>();
      await cancelReaches(
        createTask(async () => sleep(0, fut)),
        fut,
      );
    });
  });

  test("a queue item that is a Future", async () => {
    await runVirtual(async () => {
      const queue = new Queue<Future<string>>();
      const fut = getRunningLoop().createFuture<string>();
      const task = createTask(async () => queue.get());
      await sleep(1);
      queue.putNowait(fut);
      await cancelReaches(task, fut);
    });
  });

  test("the result of a Future, set while the task waits", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const outer = loop.createFuture<Future<string>>();
      const inner = loop.createFuture<string>();
      const task = createTask(async () => outer);
      await sleep(1);
      outer.setResult(inner);
      await cancelReaches(task, inner);
    });
  });

  test("the result of a Future already done when the task awaits it", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const outer = loop.createFuture<Future<string>>();
      const inner = loop.createFuture<string>();
      outer.setResult(inner);
      // Another task awaits the done Future first, so that a shared drain would run in its context.
      const other = createTask(async () => {
        await outer;
      });
      await cancelReaches(
        createTask(async () => outer),
        inner,
      );
      other.cancel();
    });
  });
});

describe("the current-task carrier", () => {
  test("is AsyncLocalStorage where Node implements it with context frames, promise hooks before", () => {
    const major = Number(process.versions.node.split(".")[0]);
    const forced = process.env.ASYNCIO_TS_CONTEXT;
    const expected =
      forced === "als" || forced === "hooks" ? forced : major >= 24 ? "als" : "hooks";
    assert.equal(als.kind, expected);
  });
});

describe("loop callbacks", () => {
  test("callSoon/callLater/callAt callbacks run outside any task, with the scheduler's values", async () => {
    const seen = await runVirtual(async () => {
      const loop = getRunningLoop();
      const log: Array<[string, string | undefined, unknown]> = [];
      const record = (label: string) => () =>
        log.push([label, requestId.getStore(), currentTask()]);
      const task = requestId.run("task ctx", () =>
        createTask(async () => {
          await sleep(1);
          loop.callSoon(record("soon from task"));
          loop.callLater(5, record("later from task"));
          loop.callAt(loop.time() + 10, record("at from task"));
          await sleep(20);
        }),
      );
      requestId.run("main ctx", () => loop.callSoon(record("soon from main")));
      await task;
      return log;
    });
    assert.deepEqual(seen, [
      ["soon from main", "main ctx", null],
      ["soon from task", "task ctx", null],
      ["later from task", "task ctx", null],
      ["at from task", "task ctx", null],
    ]);
  });

  test("a callback scheduled from a task does not see another task's values", async () => {
    const seen = await runVirtual(async () => {
      const loop = getRunningLoop();
      const out: Array<string | undefined> = [];
      // Task "busy" keeps the loop's host immediate armed from its own context.
      const busy = requestId.run("busy", () =>
        createTask(async () => {
          for (let i = 0; i < 5; i++) await sleep(0);
        }),
      );
      const quiet = requestId.run("quiet", () =>
        createTask(async () => {
          await sleep(0);
          loop.callSoon(() => out.push(requestId.getStore()));
          await sleep(0);
        }),
      );
      loop.callSoon(() => out.push(requestId.getStore()));
      await Promise.all([busy, quiet]);
      return out;
    });
    assert.deepEqual(seen, [undefined, "quiet"]);
  });

  test("done callbacks run outside any task", async () => {
    await runVirtual(async () => {
      const seen: unknown[] = [];
      const task = createTask(async () => {
        const fut = new Future();
        fut.addDoneCallback(() => seen.push(currentTask()));
        fut.setResult(1);
        await sleep(0);
      });
      await task;
      task.addDoneCallback(() => seen.push(currentTask()));
      await sleep(0);
      assert.deepEqual(seen, [null, null]);
    });
  });

  test("a done callback sees the values current where it was added (asyncio's add_done_callback context)", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const seen: unknown[] = [];
      const fut = loop.createFuture<number>();
      requestId.run("adder", () => fut.addDoneCallback(() => seen.push(requestId.getStore())));
      fut.addDoneCallback(() => seen.push(requestId.getStore()));
      // Neither the code that completes the Future nor a callback that runs in between lends
      // its values to the done callbacks.
      requestId.run("soon", () => loop.callSoon(() => seen.push(`soon:${requestId.getStore()}`)));
      requestId.run("setter", () => fut.setResult(1));
      await sleep(0);
      await sleep(0);
      assert.deepEqual(seen, ["soon:soon", "adder", undefined]);
      // Already done: scheduled at once, still with the adder's values.
      requestId.run("late", () => fut.addDoneCallback(() => seen.push(requestId.getStore())));
      await sleep(0);
      assert.equal(seen.at(-1), "late");
    });
  });
});

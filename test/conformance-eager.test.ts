/**
 * Conformance: eager tasks (CPython's test_eager_task_factory, the eager_start tests of
 * test_tasks) and awaitables (test_pep492), translated to `createTask(fn, { eagerStart: true })`:
 * each scenario creates its eager tasks explicitly. The task factory itself
 * (`loop.setTaskFactory`, `eagerTaskFactory`, `createEagerTaskFactory`: test_eager_task_factory_set
 * and the custom-task-class variants) is tested in tasks.test.ts ("task factories"). Virtual
 * clock throughout.
 *
 * Covered elsewhere: test_await_future_during_eager_step, test_eager_completion,
 * test_cancellation_after_eager_completion, test_cancellation_after_eager_step_blocks,
 * test_block_after_eager_step, test_current_task, test_all_tasks_with_eager_completion and
 * test_all_tasks_with_blocking are in conformance-tasks.test.ts ("eager start");
 * test_context_vars is in context.test.ts; eager children of task groups in
 * conformance-taskgroups.test.ts. From test_pep492, the lock and semaphore `async with` tests are
 * locks.test.ts and semaphores.test.ts (`await using`), `async for` over a StreamReader is in
 * streams.test.ts, and get_stack() of a running task is in tasks.test.ts.
 *
 * Do not apply: the task-counting factories (the count of lazy tasks becomes the start order
 * below), test_staggered_race_* (no
 * staggered_race in the API), test_issue105987 (C internals), test_iscoroutine*,
 * test_types_coroutine and coroutine origin tracking (no coroutine objects: a JavaScript async
 * function starts when called), test_double_await (a promise may be awaited any number of times;
 * the nearest asyncio-ts fact, several awaiters of one Future, is pinned below).
 *
 * JavaScript differences pinned here (see also SPEC.md, "eagerStart"):
 * - `await x` calls `x.then` in a microtask, so right after `createTask` returns, an eager task
 *   that awaits a Future does not list that Future in `getStack()` yet (asyncio sets
 *   `_fut_waiter` inside the eager step). A cancel made meanwhile still reaches the Future: the
 *   request is kept and delivered when the wait registers.
 * - An async function's completion is seen one microtask late, so an eager task whose async
 *   function returns without waiting is still pending when `createTask` returns; cancelled then,
 *   it ends cancelled (its body has run), where asyncio's task is already done and `cancel()`
 *   returns false. A plain function's result is seen at once, as in asyncio.
 * - For the same reason a tree of eager task groups whose leaves finish without waiting takes a
 *   few loop iterations to close (a group waits for its children's done callbacks), where
 *   asyncio closes it within the first step; the children still all start depth-first, inside
 *   `createTask`, as asyncio's do.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import v8 from "node:v8";
import vm from "node:vm";
import {
  allTasks,
  CancelledError,
  createTask,
  currentTask,
  Future,
  gather,
  getRunningLoop,
  Runner,
  sleep,
  type Task,
  taskGroup,
} from "../src/index.ts";
import { collectExceptions, errorOf, now, runVirtual } from "./helpers.ts";

describe("conformance: eagerStart option (test_eager_start_true/false)", () => {
  test("eagerStart: true with a name: the step sees the name and a plain function's task is done when createTask returns", async () => {
    await runVirtual(async () => {
      let seen: string | undefined;
      const task = createTask(
        () => {
          seen = currentTask()!.name;
        },
        { eagerStart: true, name: "example" },
      );
      assert.equal(task.done(), true);
      assert.equal(seen, "example");
      await task;
      assert.equal(task.result(), undefined);
    });
  });

  test("eagerStart: false with a name: nothing runs until the creator yields, then the task sees its name", async () => {
    await runVirtual(async () => {
      let seen: string | undefined;
      const task = createTask(
        async () => {
          seen = currentTask()!.name;
        },
        { eagerStart: false, name: "example" },
      );
      await Promise.resolve();
      assert.equal(task.done(), false);
      assert.equal(seen, undefined);
      await task;
      assert.equal(seen, "example");
    });
  });

  test("on a Runner's loop that is not running, an eager task starts lazily once the loop runs (asyncio checks is_running)", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    try {
      const loop = runner.getLoop();
      let inside: Task | null | undefined;
      const task = loop.createTask(
        () => {
          inside = currentTask();
          return "started by the loop";
        },
        { eagerStart: true },
      );
      assert.equal(inside, undefined, "the function must not run without a running loop");
      assert.equal(task.done(), false);
      const result = await runner.run(async () => {
        assert.equal(loop.isRunning(), true);
        return await task;
      });
      assert.equal(result, "started by the loop");
      assert.equal(inside, task);
    } finally {
      await runner.close();
    }
  });
});

describe("conformance: what an eager start costs the loop (test_awaitables_chain, test_recursive_*)", () => {
  test("a chain of 100 nested awaited async functions makes no task and gives no callback a turn", async () => {
    await runVirtual(async () => {
      const chain = async (depth: number): Promise<number> =>
        depth === 0 ? 0 : 1 + (await chain(depth - 1));
      const log: string[] = [];
      getRunningLoop().callSoon(() => log.push("callback"));
      const before = allTasks().size;
      let during = 0;
      const depth = await (async () => {
        const result = await chain(100);
        during = allTasks().size;
        return result;
      })();
      log.push(`depth ${depth}`);
      assert.equal(during, before);
      await sleep(0);
      assert.deepEqual(log, ["depth 100", "callback"]);
    });
  });

  /** Runs a tree of task groups `width` wide and `depth` deep and returns the start order. */
  async function groupTree(width: number, depth: number, eager: boolean): Promise<string[]> {
    const order: string[] = [];
    const node = async (path: string, level: number): Promise<void> => {
      order.push(path);
      if (level === 0) return;
      await taskGroup(async (tg) => {
        for (let i = 0; i < width; i++) {
          const child = tg.createTask(() => node(`${path}.${i}`, level - 1), {
            eagerStart: eager,
          });
          // An eager child has started (and logged itself) inside createTask.
          if (eager) assert.equal(order.includes(`${path}.${i}`), true);
          else assert.equal(child.done(), false);
        }
      });
    };
    await node("r", depth);
    return order;
  }

  test("recursive task groups of eager children: all 781 start inside createTask, depth first; lazy ones start breadth first", async () => {
    await runVirtual(async () => {
      const eager = await groupTree(5, 4, true);
      const lazy = await groupTree(5, 4, false);
      assert.equal(eager.length, 781); // 1 + 5 + 5^2 + 5^3 + 5^4
      assert.equal(lazy.length, 781);
      assert.deepEqual(eager.slice(0, 6), [
        "r",
        "r.0",
        "r.0.0",
        "r.0.0.0",
        "r.0.0.0.0",
        "r.0.0.0.1",
      ]);
      assert.deepEqual(lazy.slice(0, 7), ["r", "r.0", "r.1", "r.2", "r.3", "r.4", "r.0.0"]);
      // Depth first: every path comes right after its parent's earlier descendants.
      assert.deepEqual(eager, [...eager].sort());
      assert.deepEqual([...lazy].sort(), [...eager].sort());
      assert.equal(now(), 0);
    });
  });

  test("recursive gather of eager tasks: results in order, every task started depth first inside createTask", async () => {
    await runVirtual(async () => {
      const order: string[] = [];
      const node = async (path: string, level: number): Promise<number> => {
        order.push(path);
        if (level === 0) return 1;
        const children = [0, 1, 2].map((i) =>
          createTask(() => node(`${path}.${i}`, level - 1), { eagerStart: true }),
        );
        const counts = await gather(children);
        return 1 + counts.reduce((a, b) => a + b, 0);
      };
      assert.equal(await node("r", 3), 40); // 1 + 3 + 9 + 27
      assert.equal(order.length, 40);
      assert.deepEqual(order, [...order].sort());
      assert.equal(now(), 0);
    });
  });
});

describe("conformance: eager steps and the loop's order", () => {
  test("awaiting an eager task that already finished does not give a callback scheduled before it a turn", async () => {
    await runVirtual(async () => {
      const log: string[] = [];
      getRunningLoop().callSoon(() => log.push("callback"));
      const plain = createTask(() => 5, { eagerStart: true });
      log.push(`plain ${await plain}`);
      const async_ = createTask(async () => 6, { eagerStart: true });
      log.push(`async ${await async_}`);
      await sleep(0);
      assert.deepEqual(log, ["plain 5", "async 6", "callback"]);
    });
  });

  test("an eager step that yields with sleep(0) resumes after the callbacks scheduled before it, before those scheduled after", async () => {
    await runVirtual(async () => {
      const loop = getRunningLoop();
      const log: string[] = [];
      loop.callSoon(() => log.push("before"));
      const task = createTask(
        async () => {
          log.push("eager step");
          await sleep(0);
          log.push("resumed");
        },
        { eagerStart: true },
      );
      loop.callSoon(() => log.push("after"));
      await task;
      assert.deepEqual(log, ["eager step", "before", "resumed", "after"]);
    });
  });

  test("an eager task created in a loop callback runs there as the current task; the callback has none after", async () => {
    await runVirtual(async () => {
      const seen: unknown[] = [];
      const fut = new Future<Task<void>>();
      getRunningLoop().callSoon(() => {
        const task = createTask(
          () => {
            seen.push(currentTask()?.name);
          },
          { eagerStart: true, name: "from-callback" },
        );
        seen.push(currentTask(), task.done());
        fut.setResult(task);
      });
      // A Future's result that is a Task would be unwrapped by await: check it through result().
      await new Promise<void>((resolve) => fut.addDoneCallback(() => resolve()));
      assert.deepEqual(seen, ["from-callback", null, true]);
      assert.equal(fut.result().result(), undefined);
    });
  });
});

describe("conformance: eager steps that fail or cancel", () => {
  test("an eager task that throws before waiting and is never retrieved is reported once, with the task", async () => {
    const { contexts, handler } = collectExceptions();
    let task: Task<never> | undefined;
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      task = createTask(
        () => {
          throw new RangeError("eager boom");
        },
        { eagerStart: true, name: "thrower" },
      );
      assert.equal(task.done(), true);
      await sleep(0);
    });
    assert.equal(contexts.length, 1);
    assert.match(contexts[0]!.message, /never retrieved/);
    assert.equal((contexts[0]!.exception as Error).message, "eager boom");
    assert.equal((contexts[0] as { task?: unknown }).task, task);
  });

  test("an eager function that throws CancelledError ends cancelled inside createTask", async () => {
    await runVirtual(async () => {
      const task = createTask(
        () => {
          throw new CancelledError("from the step");
        },
        { eagerStart: true },
      );
      assert.equal(task.cancelled(), true);
      const error = await errorOf(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "from the step");
    });
  });

  test("a task that cancels itself in its eager step gets CancelledError at its first wait, without sleeping", async () => {
    await runVirtual(async () => {
      const log: string[] = [];
      const task = createTask(
        async () => {
          currentTask()!.cancel("early");
          log.push("still running");
          try {
            await sleep(1000);
            log.push("slept");
          } catch (e) {
            log.push(`wait threw ${(e as Error).message}`);
            throw e;
          }
        },
        { eagerStart: true },
      );
      assert.ok((await errorOf(task)) instanceof CancelledError);
      assert.deepEqual(log, ["still running", "wait threw early"]);
      assert.equal(now(), 0);
    });
  });

  test("an eager step that cancels its creator: the creator goes on to its next wait, which throws the message", async () => {
    await runVirtual(async () => {
      const log: string[] = [];
      const parent = createTask(async () => {
        const me = currentTask()!;
        createTask(
          () => {
            me.cancel("by the child");
            log.push(`child: parent cancelling ${me.cancelling()}`);
          },
          { eagerStart: true },
        );
        log.push("parent goes on");
        await sleep(10);
        log.push("parent slept");
      });
      const error = await errorOf(parent);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "by the child");
      assert.deepEqual(log, ["child: parent cancelling 1", "parent goes on"]);
      assert.equal(now(), 0);
    });
  });

  test("cancel() right after createTask of an eager task awaiting a Future cancels that Future, though getStack() lists it only a microtask later", async () => {
    await runVirtual(async () => {
      const fut = new Future<void>();
      const task = createTask(
        async () => {
          await fut;
        },
        { eagerStart: true },
      );
      // JavaScript difference: `await` calls fut.then in a microtask.
      assert.deepEqual(task.getStack(), []);
      await Promise.resolve();
      assert.deepEqual(task.getStack(), ["waiting on <Future pending>"]);
      const early = new Future<void>();
      const other = createTask(
        async () => {
          await early;
        },
        { eagerStart: true },
      );
      assert.equal(other.cancel("before the wait registered"), true);
      assert.equal(task.cancel(), true);
      assert.ok((await errorOf(task)) instanceof CancelledError);
      assert.equal(fut.cancelled(), true);
      const error = await errorOf(other);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "before the wait registered");
      assert.equal(early.cancelled(), true);
    });
  });

  test("an eager async function that returns without waiting, cancelled right after createTask: its body ran, the task ends cancelled", async () => {
    // JavaScript difference (see the top of this file): asyncio's task would be done already.
    await runVirtual(async () => {
      let ranToEnd = false;
      const task = createTask(
        async () => {
          ranToEnd = true;
          return "finished without blocking";
        },
        { eagerStart: true },
      );
      assert.equal(ranToEnd, true);
      assert.equal(task.cancel(), true);
      assert.ok((await errorOf(task)) instanceof CancelledError);
      assert.equal(task.cancelled(), true);
    });
  });
});

describe("conformance: what a finished eager task keeps (test_issue122332)", () => {
  test("a finished eager or lazy task no longer references its function", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const refs: WeakRef<object>[] = [];
    const kept: Task<number>[] = [];
    await runVirtual(async () => {
      for (const eagerStart of [true, false]) {
        const fn = async () => {
          await sleep(1);
          return 1;
        };
        refs.push(new WeakRef(fn));
        kept.push(createTask(fn, { eagerStart }));
      }
      for (const task of kept) await task;
    });
    const macrotask = () => new Promise((resolve) => setImmediate(resolve));
    await macrotask();
    gc();
    await macrotask();
    assert.deepEqual(
      kept.map((t) => t.result()),
      [1, 1],
    );
    assert.deepEqual(
      refs.map((ref) => ref.deref() === undefined),
      [true, true],
    );
  });
});

describe("conformance: awaitables (test_pep492)", () => {
  /** A thenable that is neither a promise nor a Future, settled by a loop timer. */
  function lateThenable<T>(delay: number, value: T): PromiseLike<T> {
    return {
      // biome-ignore lint/suspicious/noThenProperty: a foreign thenable is the subject here.
      then<R1 = T, R2 = never>(
        onFulfilled?: ((v: T) => R1 | PromiseLike<R1>) | null,
        onRejected?: ((e: unknown) => R2 | PromiseLike<R2>) | null,
      ): PromiseLike<R1 | R2> {
        return new Promise<T>((resolve) =>
          getRunningLoop().callLater(delay, () => resolve(value)),
        ).then(onFulfilled, onRejected);
      },
    };
  }

  for (const eagerStart of [false, true]) {
    test(`a task whose function returns a foreign thenable gets its value (eagerStart: ${eagerStart})`, async () => {
      await runVirtual(async () => {
        const task = createTask(() => lateThenable(30, "spam"), { eagerStart });
        assert.equal(await task, "spam");
        assert.equal(now(), 30);
      });
    });
  }

  test("a thenable whose then() throws fails the task with that error", async () => {
    await runVirtual(async () => {
      const broken: PromiseLike<never> = {
        // biome-ignore lint/suspicious/noThenProperty: a broken thenable is the subject here.
        then() {
          throw new RangeError("then exploded");
        },
      };
      for (const eagerStart of [false, true]) {
        const task = createTask(async () => await broken, { eagerStart });
        const error = await errorOf(task);
        assert.ok(error instanceof RangeError);
        assert.equal(error.message, "then exploded");
      }
    });
  });

  test("cancelling a task awaiting a foreign thenable: it cannot be interrupted, so the task ends cancelled at its next wait", async () => {
    await runVirtual(async () => {
      const log: string[] = [];
      const task = createTask(async () => {
        log.push(`got ${await lateThenable(50, "late")}`);
        await sleep(0);
        log.push("after the next wait");
      });
      await sleep(10);
      assert.deepEqual(task.getStack(), []);
      task.cancel("stop");
      const error = await errorOf(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "stop");
      assert.deepEqual(log, ["got late"]);
      assert.equal(now(), 50);
    });
  });

  test("nested async functions give the same results in debug mode, and eager tasks then record where they were created", async () => {
    const program = async () => {
      const bar = async () => "spam";
      const foo = async () => bar();
      const eager = createTask(foo, { eagerStart: true });
      return { value: [await foo(), await eager], stack: eager.getCreationStack() };
    };
    const plain = await runVirtual(program);
    const debug = await runVirtual(program, { debug: true });
    assert.deepEqual(plain.value, ["spam", "spam"]);
    assert.deepEqual(debug.value, ["spam", "spam"]);
    assert.equal(plain.stack, undefined);
    assert.match(debug.stack ?? "", /conformance-eager/);
  });

  test("a Future awaited by two tasks gives both its result; cancelling one awaiter cancels the Future for both (as asyncio)", async () => {
    await runVirtual(async () => {
      const shared = new Future<string>();
      const a = createTask(async () => shared, { eagerStart: true });
      const b = createTask(async () => await shared);
      await sleep(0);
      shared.setResult("both");
      assert.deepEqual(await gather([a, b]), ["both", "both"]);

      const again = new Future<string>();
      const c = createTask(async () => await again, { eagerStart: true });
      const d = createTask(async () => await again, { eagerStart: true });
      await sleep(0);
      c.cancel();
      assert.ok((await errorOf(c)) instanceof CancelledError);
      assert.equal(again.cancelled(), true);
      assert.ok((await errorOf(d)) instanceof CancelledError);
      assert.equal(d.cancelled(), true);
    });
  });
});

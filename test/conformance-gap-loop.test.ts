/**
 * Conformance gap audit: scenarios of CPython's test_base_events, test_events (the loop API:
 * handles, closing, the exception handler, debug mode), test_pep492, test_graph
 * (capture_call_graph) and test_tools (ps/pstree) that the other files leave out, written with
 * CPython's own step counts. This file imports the built package by its name, as a program does
 * (so `npm run build` first): what it pins includes how dist/ behaves, with the source maps tsx
 * turns on. Everything runs on the virtual clock.
 *
 * Pinned elsewhere: call order within an iteration, timer order, negative delays, cancelled
 * handles, the exact context of a failing callback, a broken custom or default handler, a
 * callback's async context (event-loop.test.ts, conformance-events.test.ts); slow callbacks and
 * steps, creation stacks in the handler's context (event-loop.test.ts); run() inside a loop,
 * Runner life cycle (runners.test.ts, conformance-runners.test.ts); task factories
 * (tasks.test.ts, conformance-eager.test.ts); test_context.py and the context tests of
 * test_tasks (conformance-context.test.ts); the task table and tree for hand-made snapshots
 * (ps.test.ts).
 *
 * Do not apply, by design: thread checks, call_soon_threadsafe and policies (one thread, no
 * policy); run_forever/run_until_complete/stop and the selector's internals (`_run_once`, the
 * cancelled-timer cleanup, `_process_events`: the loop is driven by Node's); hash and ordering of
 * TimerHandles (no operator overloading); PYTHONASYNCIODEBUG (debug mode is an option of run());
 * generator-based coroutines, `types.coroutine`, `iscoroutine`, coroutine origin tracking and
 * "coroutine is being awaited already" (a promise can be awaited any number of times); async
 * generator finalization by the garbage collector; sockets, pipes and subprocesses (the gap-io
 * file and the I/O conformance files).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  captureCallGraph,
  createTask,
  currentTask,
  type ExceptionContext,
  type FutureCallGraph,
  formatCallGraph,
  gather,
  getRunningLoop,
  type RunOptions,
  run,
  shield,
  sleep,
  Task,
  taskGroup,
  timeout,
  wait,
} from "asyncio-ts";

const THIS_FILE = fileURLToPath(import.meta.url);

/** Runs `main` on a fresh loop of the built package, virtual time, no SIGINT handling. */
function runVirtual<T>(main: () => T | PromiseLike<T>, options: RunOptions = {}): Promise<T> {
  return run(main, { clock: "virtual", handleSignals: false, ...options });
}

async function yields(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await sleep(0);
}

/** The line of the code that calls this (for "created at" checks). */
function callerLine(): number {
  const frame = new Error().stack!.split("\n")[2]!;
  return Number(/:(\d+):\d+\)?$/.exec(frame)![1]);
}

describe("gap: handles in debug mode (test_events HandleTests, TimerTests)", () => {
  test("callSoon, callLater and callAt record the caller's line as their innermost frame, shown in the inspect string and the handler's context (test_handle_source_traceback)", async () => {
    const contexts: ExceptionContext[] = [];
    const expected: number[] = [];
    await runVirtual(
      async () => {
        const loop = getRunningLoop();
        loop.setExceptionHandler((_loop, context) => contexts.push(context));
        function fails() {
          throw new Error("boom");
        }
        expected.push(callerLine() + 1);
        const soon = loop.callSoon(fails);
        expected.push(callerLine() + 1);
        const later = loop.callLater(0, fails);
        expected.push(callerLine() + 1);
        const at = loop.callAt(0, fails);
        [soon, later, at].forEach((handle, i) => {
          assert.ok(
            String(handle).endsWith(
              ` created at ${THIS_FILE}:${expected[i]}:${/:(\d+)>$/.exec(String(handle))?.[1]}>`,
            ),
            String(handle),
          );
        });
        await yields(2);
      },
      { debug: true },
    );
    assert.equal(contexts.length, 3);
    contexts.forEach((context, i) => {
      const top = context.sourceTraceback!.split("\n")[0]!;
      assert.ok(top.includes(`${THIS_FILE}:${expected[i]}:`), top);
    });
  });
});

/** The graph as nested names: `name` for a node nobody awaits, `{ name: [awaiters…] }` else. */
function shape(node: FutureCallGraph): unknown {
  const f = node.future;
  const label = f instanceof Task ? f.name : f.constructor.name;
  return node.awaitedBy.length === 0 ? label : { [label]: node.awaitedBy.map(shape) };
}

describe("gap: capture_call_graph (test_graph)", () => {
  test("a task of a group awaited by two other tasks of the group: its awaiters are the group's task and both, each awaited by the group's task (test_stack_tgroup)", async () => {
    await runVirtual(async () => {
      currentTask()!.name = "main";
      let graph: unknown;
      await taskGroup(async (tg) => {
        const root = tg.createTask(
          async () => {
            await sleep(0);
            graph = shape(captureCallGraph()!);
          },
          { name: "c2_root" },
        );
        tg.createTask(async () => await root, { name: "sub_main_1" });
        tg.createTask(async () => await root, { name: "sub_main_2" });
      });
      assert.deepEqual(graph, {
        c2_root: ["main", { sub_main_1: ["main"] }, { sub_main_2: ["main"] }],
      });
    });
  });

  test("the current task's graph, taken in a function called from an async generator, has no awaiters and a call stack that starts in the program (test_stack_async_gen)", async () => {
    await runVirtual(async () => {
      let graph: FutureCallGraph | null = null;
      function nestedCall() {
        graph = captureCallGraph();
      }
      async function* gen() {
        for (let num = 0; num < 2; num++) {
          yield num;
          if (num === 1) nestedCall();
        }
      }
      for await (const _ of gen()) {
        // drain
      }
      const g = graph as unknown as FutureCallGraph;
      assert.equal(g.future, currentTask());
      assert.deepEqual(g.awaitedBy, []);
      assert.match(g.callStack[0] ?? "", /^nestedCall /);
      assert.ok(g.callStack.some((frame) => /\bgen\b/.test(frame)));
      assert.ok(g.callStack.every((frame) => !frame.includes("/src/introspection/")));
    });
  });

  test("the tasks gather starts for functions are awaited by the task that called gather, not by the gathering Future (test_stack_gather)", async () => {
    await runVirtual(async () => {
      const main = currentTask()!;
      let graph: FutureCallGraph | null = null;
      const deep = async () => {
        await sleep(0);
        graph = captureCallGraph();
      };
      await gather([
        async () => {
          await sleep(0);
          await deep();
        },
        () => sleep(0),
      ]);
      const g = graph as unknown as FutureCallGraph;
      assert.equal(g.awaitedBy.length, 1);
      assert.equal(g.awaitedBy[0]!.future, main);
      assert.deepEqual(g.awaitedBy[0]!.awaitedBy, []);
    });
  });

  for (const withTimeout of [false, true]) {
    test(`a shielded task${withTimeout ? " that runs a timeout scope" : ""} is awaited by the task that called shield (${withTimeout ? "test_stack_timeout" : "test_stack_shield"})`, async () => {
      await runVirtual(async () => {
        const main = currentTask()!;
        let graph: FutureCallGraph | null = null;
        const inner = async () => {
          await sleep(0);
          graph = captureCallGraph();
        };
        const c1 = async () => {
          await sleep(0);
          await inner();
        };
        await shield(
          withTimeout
            ? () =>
                timeout(1000, async () => {
                  await c1();
                })
            : c1,
        );
        const g = graph as unknown as FutureCallGraph;
        assert.deepEqual(
          g.awaitedBy.map((node) => node.future),
          [main],
        );
      });
    });
  }

  test("tasks given to wait() are awaited by the task that called wait (test_stack_wait)", async () => {
    await runVirtual(async () => {
      const main = currentTask()!;
      let graph: FutureCallGraph | null = null;
      const t1 = createTask(async () => {
        await timeout(1000, async () => {
          await sleep(0);
          await (async () => {
            await sleep(0);
            graph = captureCallGraph();
          })();
        });
      });
      const t2 = createTask(async () => {
        for (let i = 0; i < 3; i++) await sleep(0);
      });
      for (;;) {
        const { pending } = await wait([t1, t2]);
        if (pending.size === 0) break;
      }
      const g = graph as unknown as FutureCallGraph;
      assert.deepEqual(
        g.awaitedBy.map((node) => node.future),
        [main],
      );
    });
  });

  test("a task awaited by the task that created it, named 'there there', shows that name and that awaiter (test_stack_task)", async () => {
    await runVirtual(async () => {
      const main = currentTask()!;
      let graph: unknown;
      await createTask(
        async () => {
          await sleep(0);
          graph = captureCallGraph();
        },
        { name: "there there" },
      );
      const g = graph as FutureCallGraph;
      assert.equal((g.future as Task<unknown>).name, "there there");
      assert.deepEqual(
        g.awaitedBy.map((node) => node.future),
        [main],
      );
    });
  });

  test("a Future awaited by two tasks of a group, after five sleep(0)s: both are its awaiters, each awaited by the group's task; its text starts with '* Future(id=' (test_stack_future)", async () => {
    await runVirtual(async () => {
      currentTask()!.name = "main";
      const fut = getRunningLoop().createFuture<void>();
      let graph: unknown;
      let text = "";
      await taskGroup(async (tg) => {
        const a2 = async () => {
          await fut;
        };
        tg.createTask(async () => await a2(), { name: "task A" });
        tg.createTask(async () => await fut, { name: "task B" });
        await yields(5);
        graph = shape(captureCallGraph(fut)!);
        text = formatCallGraph(fut);
        fut.setResult();
      });
      assert.deepEqual(graph, { Future: [{ "task A": ["main"] }, { "task B": ["main"] }] });
      assert.ok(text.startsWith("* Future(id="), text);
    });
  });
});

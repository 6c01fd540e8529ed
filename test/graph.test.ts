/**
 * captureCallGraph / formatCallGraph / printCallGraph (src/introspection/graph.ts): asyncio
 * 3.14's call graph tests in our own words: a task awaiting a task, gather, a task group,
 * shield, wait, nesting, cycles, the current task's own stack, debug-mode wait stacks, and bad
 * input. Virtual clock throughout.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  captureCallGraph,
  createTask,
  currentTask,
  Future,
  type FutureCallGraph,
  formatCallGraph,
  gather,
  getRunningLoop,
  printCallGraph,
  RuntimeError,
  shield,
  sleep,
  type Task,
  taskGroup,
  wait,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

/** Lets the tasks created so far start and register their waits. */
async function settle(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await sleep(0);
}

/** The graph as nested names, for compact assertions: `name <- awaiter <- …`. */
function shape(node: FutureCallGraph): unknown {
  const f = node.future;
  const label = "name" in f ? (f as Task<unknown>).name : f.constructor.name;
  return node.awaitedBy.length === 0 ? label : { [label]: node.awaitedBy.map(shape) };
}

function nameMain(): Task<unknown> {
  const main = currentTask()!;
  main.name = "main";
  return main;
}

describe("captureCallGraph: who awaits whom", () => {
  test("a task awaiting a task is the awaited task's awaiter", async () => {
    await runVirtual(async () => {
      const main = nameMain();
      const child = createTask(() => sleep(100), { name: "child" });
      let graph: FutureCallGraph | null = null;
      createTask(async () => {
        await settle();
        graph = captureCallGraph(child);
      });
      await child;
      assert.ok(graph !== null);
      const g = graph as FutureCallGraph;
      assert.equal(g.future, child);
      assert.deepEqual(g.waitingOn, ["<sleep until 100>"]);
      assert.deepEqual(g.callStack, []); // not in debug mode
      assert.equal(g.awaitedBy.length, 1);
      assert.equal(g.awaitedBy[0].future, main);
      assert.deepEqual(g.awaitedBy[0].waitingOn, ["<Task pending name='child'>"]);
      assert.deepEqual(g.awaitedBy[0].awaitedBy, []);
    });
  });

  test("gather's children are awaited by the task that called gather, as in asyncio 3.14; the gathering Future by the task awaiting it", async () => {
    await runVirtual(async () => {
      nameMain();
      const a = createTask(() => sleep(10), { name: "a" });
      const b = createTask(() => sleep(20), { name: "b" });
      const both = gather([a, b]);
      let graphs: unknown[] = [];
      createTask(async () => {
        await settle();
        graphs = [a, b, both].map((t) => shape(captureCallGraph(t)!));
      });
      await both;
      assert.deepEqual(graphs, [{ a: ["main"] }, { b: ["main"] }, { GatheringFuture: ["main"] }]);
    });
  });

  test("the children of a gather are awaited by its caller even when another task awaits the gather; made outside a task, by the gathering Future", async () => {
    await runVirtual(async () => {
      nameMain();
      const loop = getRunningLoop();
      const a = createTask(() => sleep(10), { name: "a" });
      const b = createTask(() => sleep(10), { name: "b" });
      const byMain = gather([a]);
      createTask(() => byMain, { name: "awaiter" });
      let fromCallback: ReturnType<typeof gather> | null = null;
      loop.callSoon(() => {
        fromCallback = gather([b]);
      });
      await settle();
      const waiter = createTask(() => fromCallback!, { name: "waiter" });
      await settle();
      assert.deepEqual(shape(captureCallGraph(a)!), { a: ["main"] });
      assert.deepEqual(shape(captureCallGraph(byMain)!), { GatheringFuture: ["awaiter"] });
      assert.deepEqual(shape(captureCallGraph(b)!), { b: [{ GatheringFuture: ["waiter"] }] });
      await waiter;
    });
  });

  test("a task group's children are awaited by the task running the group, in the body and on exit", async () => {
    await runVirtual(async () => {
      nameMain();
      const seen: unknown[] = [];
      await taskGroup(async (tg) => {
        const c1 = tg.createTask(() => sleep(10), { name: "c1" });
        const c2 = tg.createTask(() => sleep(20), { name: "c2" });
        await settle(); // the body is still running: main waits on a sleep, not on the group
        seen.push(shape(captureCallGraph(c1)!));
        createTask(async () => {
          await settle();
          seen.push(shape(captureCallGraph(c2)!)); // now main waits in the group's exit
          seen.push(captureCallGraph(c2)!.awaitedBy[0].waitingOn);
        });
      });
      assert.deepEqual(seen, [
        { c1: ["main"] },
        { c2: ["main"] },
        ["<TaskGroup [exiting] tasks=2>"],
      ]);
    });
  });

  test("nested: a grandchild awaited by a group child awaited by main", async () => {
    await runVirtual(async () => {
      nameMain();
      let graph: unknown;
      await taskGroup(async (tg) => {
        tg.createTask(
          async () => {
            const grandchild = createTask(() => sleep(50), { name: "grandchild" });
            createTask(async () => {
              await settle();
              graph = shape(captureCallGraph(grandchild)!);
            });
            await grandchild;
          },
          { name: "worker" },
        );
      });
      assert.deepEqual(graph, { grandchild: [{ worker: ["main"] }] });
    });
  });

  test("shield: the inner task is awaited by the task that called shield", async () => {
    await runVirtual(async () => {
      nameMain();
      const inner = createTask(() => sleep(10), { name: "inner" });
      let graph: unknown;
      createTask(async () => {
        await settle();
        graph = shape(captureCallGraph(inner)!);
      });
      await shield(inner);
      assert.deepEqual(graph, { inner: ["main"] });
    });
  });

  test("wait(): each child is awaited by the task that called wait", async () => {
    await runVirtual(async () => {
      nameMain();
      const x = createTask(() => sleep(10), { name: "x" });
      let graph: unknown;
      createTask(async () => {
        await settle();
        graph = shape(captureCallGraph(x)!);
      });
      await wait([x]);
      assert.deepEqual(graph, { x: ["main"] });
    });
  });

  test("tasks awaiting each other in a cycle are shown once each, not followed forever", async () => {
    await runVirtual(async () => {
      const gate = getRunningLoop().createFuture<void>();
      const holder: { b?: Task<unknown> } = {};
      // a awaits b through shield (so that cancelling a does not travel round the cycle), b awaits a.
      const a = createTask(
        async () => {
          await gate;
          await shield(holder.b!);
        },
        { name: "a" },
      );
      holder.b = createTask(async () => await a, { name: "b" });
      await settle();
      gate.setResult();
      await settle();
      // a <- b <- a (through shield): the second `a` is on the path, so it is not shown again.
      assert.deepEqual(shape(captureCallGraph(a)!), { a: ["b"] });
      a.cancel();
      await settle();
      assert.ok(a.cancelled() && holder.b.cancelled());
    });
  });

  test("a done task has no awaiters and waits on nothing", async () => {
    await runVirtual(async () => {
      const t = createTask(() => 1);
      await t;
      const graph = captureCallGraph(t)!;
      assert.deepEqual(
        { waitingOn: graph.waitingOn, callStack: graph.callStack, awaitedBy: graph.awaitedBy },
        { waitingOn: [], callStack: [], awaitedBy: [] },
      );
    });
  });
});

describe("captureCallGraph: call stacks", () => {
  test("without a future it describes the current task, with the caller's stack", async () => {
    await runVirtual(async () => {
      const main = nameMain();
      const graph = (function whereAmI() {
        return captureCallGraph();
      })();
      assert.ok(graph !== null);
      assert.equal(graph.future, main);
      assert.deepEqual(graph.waitingOn, []);
      assert.match(graph.callStack[0], /^whereAmI /, graph.callStack.join("\n"));
      assert.ok(
        graph.callStack.every((frame) => !frame.includes("introspection")),
        "the frames of the introspection module are dropped",
      );
    });
  });

  test("in debug mode a waiting task's call stack is where its wait began", async () => {
    await runVirtual(
      async () => {
        async function innermost() {
          await sleep(100);
        }
        async function outermost() {
          await innermost();
        }
        const t = createTask(outermost, { name: "deep" });
        await settle();
        const graph = captureCallGraph(t)!;
        assert.match(graph.callStack[0], /^innermost /, graph.callStack.join("\n"));
        assert.match(graph.callStack[1], /^outermost /);
        assert.ok(graph.callStack.every((f) => !f.startsWith("Task._addWaiter")));
        assert.deepEqual(captureCallGraph(t, { limit: 1 })!.callStack, [graph.callStack[0]]);
        assert.deepEqual(captureCallGraph(t, { limit: 0 })!.callStack, []);
        t.cancel();
      },
      { debug: true },
    );
  });

  test("in a loop callback, with no task, it returns null and formats as an empty string", async () => {
    await runVirtual(async () => {
      const results: unknown[] = [];
      getRunningLoop().callSoon(() => {
        results.push(captureCallGraph(), formatCallGraph());
        printCallGraph(undefined, { file: { write: (text: string) => results.push(text) } });
      });
      await settle();
      assert.deepEqual(results, [null, ""]);
    });
  });

  test("outside a loop it needs a future", async () => {
    assert.throws(() => captureCallGraph(), RuntimeError);
    const f = new Future<number>();
    assert.equal(captureCallGraph(f)!.future, f);
    assert.match(formatCallGraph(f), /^\* Future\(id=\d+\)$/);
  });
});

describe("formatCallGraph and printCallGraph", () => {
  test("the text lists each node, what it waits on, and its awaiters indented below", async () => {
    await runVirtual(async () => {
      nameMain();
      const a = createTask(() => sleep(10), { name: "a" });
      const b = createTask(() => sleep(20), { name: "b" });
      const both = gather([a, b]);
      let text = "";
      createTask(
        async () => {
          await settle();
          text = formatCallGraph(a);
        },
        { name: "printer" },
      );
      await both;
      assert.equal(
        text,
        [
          "* Task(name='a', id=2) waiting on <sleep until 10>",
          "  + Awaited by:",
          "    * Task(name='main', id=1) waiting on <GatheringFuture pending children=2 done=0>",
        ].join("\n"),
      );
    });
  });

  test("the current task's text has its call stack", async () => {
    await runVirtual(async () => {
      nameMain();
      const text = (function caller() {
        return formatCallGraph(null, { limit: 1 });
      })();
      assert.match(text, /^\* Task\(name='main', id=1\)\n {2}\+ Call stack:\n {2}\| {3}at caller /);
    });
  });

  test("names with quotes are quoted as Python's repr does", async () => {
    await runVirtual(async () => {
      currentTask()!.name = "it's";
      assert.match(formatCallGraph(), /^\* Task\(name="it's", id=1\)/);
    });
  });

  test("printCallGraph writes the text and a newline to options.file", async () => {
    await runVirtual(async () => {
      nameMain();
      const child = createTask(() => sleep(10), { name: "child" });
      await settle();
      const chunks: string[] = [];
      printCallGraph(child, { file: { write: (text: string) => chunks.push(text) } });
      assert.deepEqual(chunks, ["* Task(name='child', id=2) waiting on <sleep until 10>\n"]);
      await child;
    });
  });
});

describe("call graph: bad input", () => {
  test("a future that is not a Future is a TypeError naming `future`", async () => {
    await runVirtual(async () => {
      for (const bad of [Promise.resolve(1), 42, "task", {}]) {
        assert.throws(() => captureCallGraph(bad as never), {
          name: "TypeError",
          message: /`future`/,
        });
      }
      assert.throws(() => formatCallGraph(7 as never), TypeError);
    });
  });

  test("options and options.limit are checked", async () => {
    await runVirtual(async () => {
      assert.throws(() => captureCallGraph(null, 3 as never), {
        name: "TypeError",
        message: /`options`/,
      });
      assert.throws(() => captureCallGraph(null, { limit: "2" as never }), {
        name: "TypeError",
        message: /`options.limit`/,
      });
      for (const limit of [-1, 1.5, Number.NaN]) {
        assert.throws(() => captureCallGraph(null, { limit }), {
          name: "RangeError",
          message: /`options.limit`/,
        });
      }
      assert.throws(() => printCallGraph(null, { file: {} as never }), {
        name: "TypeError",
        message: /`options.file`/,
      });
      assert.throws(() => printCallGraph(null, { file: null as never }), {
        name: "TypeError",
        message: /`options.file`/,
      });
      // An option of CPython's that asyncio-ts has not, or a misspelling, is refused.
      assert.throws(() => captureCallGraph(null, { depth: 2 } as never), {
        name: "TypeError",
        message: /Unknown option `options.depth`/,
      });
      assert.throws(() => formatCallGraph(null, { file: process.stdout } as never), TypeError);
    });
  });
});

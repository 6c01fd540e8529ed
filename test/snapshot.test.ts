/**
 * captureTasks (src/introspection/snapshot.ts) and the global introspection hook
 * (src/introspection/hook.ts) that `asyncio-ts ps` reads from outside: every pending task with
 * its id, name, what it waits on and its awaiters, as plain JSON-able data. Virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  captureTasks,
  createTask,
  currentTask,
  EventLoop,
  Future,
  gather,
  getRunningLoop,
  type ProcessSnapshot,
  Runner,
  RuntimeError,
  sleep,
  type TaskInfo,
  taskGroup,
} from "../src/index.ts";
import { mergeSnapshots } from "../src/introspection/hook.ts";
import { runVirtual } from "./helpers.ts";

async function settle(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await sleep(0);
}

const HOOK = Symbol.for("asyncio-ts.introspect");

function hook(): ProcessSnapshot {
  return (globalThis as unknown as Record<symbol, () => ProcessSnapshot>)[HOOK]();
}

/** The fields that do not depend on the loop's number in this process. */
function brief(t: TaskInfo): unknown {
  return { id: t.id, name: t.name, waitingOn: t.waitingOn, awaitedBy: t.awaitedBy };
}

describe("captureTasks", () => {
  test("lists every pending task oldest first, with what it waits on and who awaits it", async () => {
    await runVirtual(async () => {
      currentTask()!.name = "main";
      let tasks: TaskInfo[] = [];
      await taskGroup(async (tg) => {
        tg.createTask(() => sleep(100), { name: "sleeper" });
        tg.createTask(() => gather([() => sleep(50), () => sleep(60)]), { name: "gatherer" });
        createTask(
          async () => {
            await settle();
            tasks = captureTasks();
          },
          { name: "observer" },
        );
      });
      assert.deepEqual(tasks.map(brief), [
        { id: 1, name: "main", waitingOn: ["<TaskGroup [exiting] tasks=2>"], awaitedBy: [] },
        {
          id: 2,
          name: "sleeper",
          waitingOn: ["<sleep until 100>"],
          awaitedBy: [{ id: 1, name: "main" }],
        },
        {
          id: 3,
          name: "gatherer",
          waitingOn: ["<GatheringFuture pending children=2 done=0>"],
          awaitedBy: [{ id: 1, name: "main" }],
        },
        { id: 4, name: "observer", waitingOn: [], awaitedBy: [] },
        {
          id: 5,
          name: tasks[4]?.name,
          waitingOn: ["<sleep until 50>"],
          awaitedBy: [{ id: 3, name: "gatherer" }],
        },
        {
          id: 6,
          name: tasks[5]?.name,
          waitingOn: ["<sleep until 60>"],
          awaitedBy: [{ id: 3, name: "gatherer" }],
        },
      ]);
      // gather's children got the default names.
      assert.match(tasks[4].name, /^Task-\d+$/);
      assert.match(tasks[5].name, /^Task-\d+$/);
      assert.ok(
        tasks.every((t) => t.cancelling === 0 && t.stack.length === 0 && t.location === null),
      );
    });
  });

  test("the same task keeps its id from one snapshot to the next", async () => {
    await runVirtual(async () => {
      const a = createTask(() => sleep(10), { name: "a" });
      await settle();
      const first = captureTasks().find((t) => t.name === "a")!;
      createTask(() => sleep(10), { name: "b" });
      await settle();
      const second = captureTasks();
      assert.equal(second.find((t) => t.name === "a")!.id, first.id);
      assert.equal(second.find((t) => t.name === "b")!.id, first.id + 1);
      await a;
    });
  });

  test("a task asked to cancel shows its pending requests", async () => {
    await runVirtual(async () => {
      const t = createTask(
        async () => {
          try {
            await sleep(10);
          } finally {
            // Still pending, with the request counted, while it cleans up.
            const me = captureTasks().find((x) => x.name === "stubborn")!;
            assert.equal(me.cancelling, 1);
          }
        },
        { name: "stubborn" },
      );
      await settle();
      t.cancel();
      await settle();
      assert.ok(t.cancelled());
    });
  });

  test("in debug mode each waiting task has its stack and the program's frame where it waits", async () => {
    await runVirtual(
      async () => {
        async function pollForever() {
          await sleep(1000);
        }
        const t = createTask(pollForever, { name: "poller" });
        await settle();
        const info = captureTasks().find((x) => x.name === "poller")!;
        assert.match(info.location ?? "", /^pollForever /);
        assert.equal(info.stack[0], info.location);
        t.cancel();
      },
      { debug: true },
    );
  });

  test("a wait whose description throws (user code) does not spoil the snapshot", async () => {
    await runVirtual(async () => {
      class Odd extends Future<void> {
        override toString(): string {
          throw new Error("no description");
        }
      }
      const odd = new Odd({ loop: getRunningLoop() });
      const t = createTask(() => odd, { name: "awaits-odd" });
      await sleep(0);
      const info = captureTasks().find((i) => i.name === "awaits-odd");
      assert.ok(info !== undefined);
      assert.match(info.waitingOn[0], /cannot describe itself: no description/);
      odd.setResult();
      await t;
    });
  });

  test("the data survives JSON", async () => {
    await runVirtual(async () => {
      createTask(() => sleep(10), { name: "x" });
      await settle();
      const tasks = captureTasks();
      assert.deepEqual(JSON.parse(JSON.stringify(tasks)), tasks);
    });
  });

  test("takes the loop to describe, running or not", async () => {
    const runner = new Runner({ clock: "virtual", handleSignals: false });
    try {
      const loop = runner.getLoop();
      await runner.run(async () => {
        createTask(() => sleep(1_000), { name: "left over" });
        await sleep(0);
      });
      assert.deepEqual(
        captureTasks(loop).map((t) => t.name),
        ["left over"],
      );
    } finally {
      await runner.close();
    }
  });

  test("outside a loop and without one it is a RuntimeError; a wrong loop is a TypeError", () => {
    assert.throws(() => captureTasks(), RuntimeError);
    assert.throws(() => captureTasks({} as never), { name: "TypeError", message: /`loop`/ });
    assert.deepEqual(captureTasks(new EventLoop()), []);
  });
});

describe("the global introspection hook", () => {
  test("is installed by the package entry point under Symbol.for('asyncio-ts.introspect')", () => {
    const value = (globalThis as unknown as Record<symbol, unknown>)[HOOK];
    assert.equal(typeof value, "function");
    assert.ok(!Object.keys(globalThis).some((k) => k.includes("asyncio")), "not enumerable");
  });

  test("returns every running loop with its tasks, as JSON-able data", async () => {
    assert.deepEqual(hook().loops, []);
    await runVirtual(async () => {
      createTask(() => sleep(10), { name: "inner" });
      await settle();
      const snapshot = hook();
      assert.equal(snapshot.version, 1);
      assert.equal(snapshot.pid, process.pid);
      assert.equal(snapshot.node, process.version);
      assert.equal(snapshot.loops.length, 1);
      const [loop] = snapshot.loops;
      assert.equal(loop.virtualTime, true);
      assert.equal(loop.debug, false);
      assert.equal(typeof loop.time, "number");
      assert.deepEqual(loop.tasks.map((t) => t.name).slice(1), ["inner"]);
      assert.ok(loop.tasks.every((t) => t.loop === loop.loop));
      assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
    });
  });

  test("sees two loops running at once", async () => {
    let seen = 0;
    let release = (): void => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const first = runVirtual(async () => {
      createTask(() => sleep(5), { name: "first" });
      await released;
    });
    await runVirtual(async () => {
      await sleep(0);
      seen = hook().loops.length;
      release();
    });
    await first;
    assert.equal(seen, 2);
  });

  test("merges the snapshots of several copies of the package, renumbering colliding loops", () => {
    const task = (loop: number, id: number): TaskInfo => ({
      loop,
      id,
      name: `t${id}`,
      cancelling: 0,
      waitingOn: [],
      awaitedBy: [],
      stack: [],
      location: null,
    });
    const snap = (loop: number): ProcessSnapshot => ({
      version: 1,
      pid: 1,
      node: "v0",
      loops: [{ loop, time: 0, virtualTime: false, debug: false, tasks: [task(loop, 1)] }],
    });
    const merged = mergeSnapshots([snap(1), snap(1)]);
    assert.deepEqual(
      merged.loops.map((l) => [l.loop, l.tasks[0].loop]),
      [
        [1, 1],
        [2, 2],
      ],
    );
  });
});

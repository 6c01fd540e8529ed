/**
 * formatTaskTable and formatTaskTree (src/introspection/ps.ts), asyncio 3.14's `ps` and
 * `pstree` views: pinned strings for a real program (virtual clock) and for hand-made
 * snapshots (several awaiters, cycles, several loops, debug locations), and bad input.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  captureTasks,
  createTask,
  currentTask,
  formatTaskTable,
  formatTaskTree,
  gather,
  sleep,
  type TaskInfo,
  taskGroup,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

async function settle(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await sleep(0);
}

/** A program with a task group, a gather inside it, and a bystander, captured mid-flight. */
async function capture(): Promise<TaskInfo[]> {
  let tasks: TaskInfo[] = [];
  await runVirtual(async () => {
    currentTask()!.name = "main";
    await taskGroup(async (tg) => {
      tg.createTask(() => sleep(100), { name: "sleeper" });
      tg.createTask(
        () =>
          gather([
            createTask(() => sleep(50), { name: "fetch-1" }),
            createTask(() => sleep(60), { name: "fetch-2" }),
          ]),
        { name: "gatherer" },
      );
      createTask(
        async () => {
          await settle();
          tasks = captureTasks();
        },
        { name: "observer" },
      );
    });
  });
  return tasks;
}

function info(id: number, name: string, more: Partial<TaskInfo> = {}): TaskInfo {
  return {
    loop: 1,
    id,
    name,
    cancelling: 0,
    waitingOn: [],
    awaitedBy: [],
    stack: [],
    location: null,
    ...more,
  };
}

describe("formatTaskTable (ps)", () => {
  test("one row per task and awaiter, under a header and a rule", async () => {
    const tasks = await capture();
    assert.equal(
      formatTaskTable(tasks),
      [
        "loop  task id  task name  state    waiting on                                   awaiter name  awaiter id",
        "--------------------------------------------------------------------------------------------------------",
        "1     1        main       pending  <TaskGroup [exiting] tasks=2>",
        "1     2        sleeper    pending  <sleep until 100>                            main          1",
        "1     3        gatherer   pending  <GatheringFuture pending children=2 done=0>  main          1",
        "1     4        observer   pending",
        "1     5        fetch-1    pending  <sleep until 50>                             gatherer      3",
        "1     6        fetch-2    pending  <sleep until 60>                             gatherer      3",
      ].join("\n"),
    );
  });

  test("a task awaited by two tasks has two rows; a cancelling task says so", () => {
    const tasks = [
      info(1, "a", { waitingOn: ["<Task pending name='shared'>"] }),
      info(2, "b", { waitingOn: ["<Task pending name='shared'>"], cancelling: 2 }),
      info(3, "shared", {
        awaitedBy: [
          { id: 1, name: "a" },
          { id: 2, name: "b" },
        ],
      }),
    ];
    assert.equal(
      formatTaskTable(tasks),
      [
        "loop  task id  task name  state       waiting on                    awaiter name  awaiter id",
        "--------------------------------------------------------------------------------------------",
        "1     1        a          pending     <Task pending name='shared'>",
        "1     2        b          cancelling  <Task pending name='shared'>",
        "1     3        shared     pending                                   a             1",
        "1     3        shared     pending                                   b             2",
      ].join("\n"),
    );
  });

  test("no tasks: the header and the rule", () => {
    assert.equal(
      formatTaskTable([]),
      [
        "loop  task id  task name  state  waiting on  awaiter name  awaiter id",
        "---------------------------------------------------------------------",
      ].join("\n"),
    );
  });
});

describe("formatTaskTree (pstree)", () => {
  test("roots are the tasks nobody awaits; awaited tasks hang below their awaiters", async () => {
    const tasks = await capture();
    assert.equal(
      formatTaskTree(tasks),
      [
        "├── (T) main [1] waiting on <TaskGroup [exiting] tasks=2>",
        "│   ├── (T) sleeper [2] waiting on <sleep until 100>",
        "│   └── (T) gatherer [3] waiting on <GatheringFuture pending children=2 done=0>",
        "│       ├── (T) fetch-1 [5] waiting on <sleep until 50>",
        "│       └── (T) fetch-2 [6] waiting on <sleep until 60>",
        "└── (T) observer [4]",
      ].join("\n"),
    );
  });

  test("a task awaited by two tasks appears under both; debug locations are shown", () => {
    const tasks = [
      info(1, "a", { waitingOn: ["<Task pending name='shared'>"] }),
      info(2, "b", { waitingOn: ["<Task pending name='shared'>"], cancelling: 1 }),
      info(3, "shared", {
        waitingOn: ["<sleep until 5>"],
        location: "poll (file:///app.ts:3:9)",
        awaitedBy: [
          { id: 1, name: "a" },
          { id: 2, name: "b" },
        ],
      }),
    ];
    assert.equal(
      formatTaskTree(tasks),
      [
        "├── (T) a [1] waiting on <Task pending name='shared'>",
        "│   └── (T) shared [3] waiting on <sleep until 5> at poll (file:///app.ts:3:9)",
        "└── (T) b [2] cancelling waiting on <Task pending name='shared'>",
        "    └── (T) shared [3] waiting on <sleep until 5> at poll (file:///app.ts:3:9)",
      ].join("\n"),
    );
  });

  test("tasks awaiting each other in a cycle are shown from the oldest, marked (cycle)", () => {
    const tasks = [
      info(1, "root"),
      info(2, "x", { awaitedBy: [{ id: 3, name: "y" }] }),
      info(3, "y", { awaitedBy: [{ id: 2, name: "x" }] }),
    ];
    assert.equal(
      formatTaskTree(tasks),
      [
        "├── (T) root [1]",
        "└── (T) x [2]",
        "    └── (T) y [3]",
        "        └── (T) x [2] (cycle)",
      ].join("\n"),
    );
  });

  test("with several loops, each has its own tree; unknown awaiters are ignored", () => {
    const tasks = [
      info(1, "main"),
      info(2, "orphan", { awaitedBy: [{ id: 99, name: "gone" }] }),
      { ...info(1, "other-main"), loop: 2 },
    ];
    assert.equal(
      formatTaskTree(tasks),
      ["loop 1", "├── (T) main [1]", "└── (T) orphan [2]", "loop 2", "└── (T) other-main [1]"].join(
        "\n",
      ),
    );
    assert.equal(formatTaskTree([]), "");
  });
});

describe("ps formatters: bad input", () => {
  test("tasks must be an array of TaskInfo", () => {
    for (const format of [formatTaskTable, formatTaskTree]) {
      assert.throws(() => format("tasks" as never), { name: "TypeError", message: /`tasks`/ });
      assert.throws(() => format([{ id: 1 }] as never), {
        name: "TypeError",
        message: /`tasks\[0\]`/,
      });
    }
  });
});

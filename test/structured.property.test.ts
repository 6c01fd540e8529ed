/**
 * Property-based tests of structured concurrency: random trees of task groups, timeouts and
 * gathers, with failures injected at random awaits and outside cancellations of random tasks at
 * random times, always end cleanly:
 *
 * - every task created under the tree is done when the tree's root returns (nothing leaks);
 * - every leaf that started ran its `finally`;
 * - every injected error is reported exactly once: in the root's error (nested ExceptionGroups
 *   flattened) or to the loop's exception handler, and never is a cancellation wrapped as an
 *   error;
 * - the root never ends with a CancelledError it did not ask for;
 * - `cancelling()` is balanced: 0 for the main task and for every task that returned normally.
 *
 * Gathers use `returnExceptions: true` (a gather that fails fast leaves its other children
 * running by design, as in asyncio, so it is not a structured construct); the node then throws
 * the real errors it collected as one ExceptionGroup. When the gather node is cancelled, its
 * results are dropped (asyncio's semantics: a cancellation that arrives after the gather
 * completed replaces its result), so the node reports its children's errors to the loop's
 * exception handler itself, as careful code must.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  CancelledError,
  createTask,
  currentTask,
  ExceptionGroup,
  gather,
  getRunningLoop,
  isCancelledError,
  sleep,
  type Task,
  TimeoutError,
  taskGroup,
  timeout,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

type Node =
  | { kind: "leaf"; delays: number[]; fail: boolean }
  | { kind: "group"; children: Node[]; body: Node | null; cancelAt: number | null }
  | { kind: "timeout"; delay: number; child: Node }
  | { kind: "gather"; children: Node[] };

class LeafError extends Error {
  override name = "LeafError";
  constructor(readonly id: number) {
    super(`leaf ${id} failed`);
  }
}

const delay = fc.integer({ min: 0, max: 40 });

const { node } = fc.letrec<{ node: Node; leaf: Node }>((tie) => ({
  leaf: fc.record({
    kind: fc.constant("leaf" as const),
    delays: fc.array(delay, { maxLength: 3 }),
    fail: fc.boolean(),
  }),
  node: fc.oneof(
    { maxDepth: 3, depthIdentifier: "tree" },
    tie("leaf"),
    fc.record({
      kind: fc.constant("group" as const),
      children: fc.array(tie("node"), { maxLength: 3 }),
      body: fc.option(tie("node"), { nil: null }),
      cancelAt: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null, freq: 4 }),
    }),
    fc.record({
      kind: fc.constant("timeout" as const),
      delay: fc.integer({ min: -5, max: 80 }),
      child: tie("node"),
    }),
    fc.record({
      kind: fc.constant("gather" as const),
      children: fc.array(tie("node"), { maxLength: 3 }),
    }),
  ),
}));

/** When to cancel which task from outside: `pick` indexes the tasks alive at time `at`. */
const cancellations = fc.array(
  fc.record({ at: fc.integer({ min: 0, max: 120 }), pick: fc.nat() }),
  { maxLength: 4 },
);

interface Context {
  nextId: number;
  started: Set<number>;
  finallyRan: Set<number>;
  thrown: Set<LeafError>;
  tasks: Task<unknown>[];
}

function track<T>(ctx: Context, task: Task<T>): Task<T> {
  ctx.tasks.push(task as Task<unknown>);
  return task;
}

async function exec(n: Node, ctx: Context): Promise<void> {
  switch (n.kind) {
    case "leaf": {
      const id = ctx.nextId++;
      ctx.started.add(id);
      try {
        for (const d of n.delays) await sleep(d);
        if (n.fail) {
          const error = new LeafError(id);
          ctx.thrown.add(error);
          throw error;
        }
      } finally {
        ctx.finallyRan.add(id);
      }
      return;
    }
    case "group":
      await taskGroup(async (tg) => {
        if (n.cancelAt !== null) {
          const handle = getRunningLoop().callLater(n.cancelAt, () => tg.cancel());
          // The group may finish first; cancel() on a finished group does nothing anyway.
          void handle;
        }
        for (const c of n.children)
          track(
            ctx,
            tg.createTask(() => exec(c, ctx)),
          );
        if (n.body !== null) await exec(n.body, ctx);
      });
      return;
    case "timeout":
      await timeout(n.delay, () => exec(n.child, ctx));
      return;
    case "gather": {
      const children = n.children.map((c) =>
        track(
          ctx,
          createTask(() => exec(c, ctx)),
        ),
      );
      let results: unknown[];
      try {
        results = (await gather(children, { returnExceptions: true })) as unknown[];
      } catch (e) {
        // Cancelled (the gather itself, or this task after the gather completed): the results,
        // and the errors in them, are dropped, as in asyncio. A careful caller reports them.
        const errors = children
          .filter((c) => c.done() && !c.cancelled() && c.exception() !== null)
          .map((c) => c.exception());
        if (errors.length > 0) {
          getRunningLoop().callExceptionHandler({
            message: "errors of a cancelled gather",
            exception: new ExceptionGroup("errors in a gather", errors),
          });
        }
        throw e;
      }
      const errors = results.filter((r) => r !== undefined && !isCancelledError(r));
      if (errors.length > 0) throw new ExceptionGroup("errors in a gather", errors);
      return;
    }
  }
}

/** The leaf errors inside `error`, nested ExceptionGroups flattened; checks nothing else leaks. */
function collectErrors(error: unknown, out: unknown[]): void {
  if (error instanceof ExceptionGroup) {
    for (const e of error.exceptions) {
      assert.ok(!isCancelledError(e), "a cancellation was wrapped in an ExceptionGroup");
      collectErrors(e, out);
    }
  } else out.push(error);
}

test("random trees of groups, timeouts and gathers with failures and cancellations end cleanly", async () => {
  await fc.assert(
    fc.asyncProperty(node, cancellations, async (tree, plan) => {
      const ctx: Context = {
        nextId: 0,
        started: new Set(),
        finallyRan: new Set(),
        thrown: new Set(),
        tasks: [],
      };
      const reported: unknown[] = [];
      let rootOutcome = { ok: true } as { ok: true } | { ok: false; error: unknown };
      await runVirtual(async () => {
        const loop = getRunningLoop();
        loop.setExceptionHandler((_loop, context) => {
          if ("exception" in context) collectErrors(context.exception, reported);
        });
        const root = createTask(() => exec(tree, ctx), { name: "root" });
        const canceller = createTask(async () => {
          for (const { at, pick } of [...plan].sort((a, b) => a.at - b.at)) {
            await sleep(Math.max(0, at - loop.time()));
            const alive = ctx.tasks.filter((t) => !t.done());
            if (alive.length > 0) alive[pick % alive.length].cancel();
          }
        });
        try {
          await root;
        } catch (e) {
          rootOutcome = { ok: false, error: e };
        }
        canceller.cancel();
        // Nothing leaks: every task of the tree is done once the root is.
        for (const t of ctx.tasks) assert.equal(t.done(), true, `${t} still running`);
        // cancelling() is balanced.
        assert.equal(currentTask()!.cancelling(), 0);
        assert.equal(root.cancelling(), 0);
        for (const t of ctx.tasks) {
          if (!t.cancelled() && t.exception() === null) {
            assert.equal(t.cancelling(), 0, `${t} returned with cancelling() > 0`);
          }
        }
      });
      // Every leaf that started cleaned up.
      assert.deepEqual([...ctx.started].sort(), [...ctx.finallyRan].sort());
      // The root never ends with a cancellation nobody asked it for.
      const fromRoot: unknown[] = [];
      if (!rootOutcome.ok) {
        assert.ok(!(rootOutcome.error instanceof CancelledError), "the root was cancelled");
        collectErrors(rootOutcome.error, fromRoot);
      }
      // Every injected error is reported exactly once; nothing but leaf errors and timeouts.
      const all = [...fromRoot, ...reported];
      for (const e of all) {
        assert.ok(
          e instanceof LeafError || e instanceof TimeoutError,
          `unexpected error ${String(e)}`,
        );
      }
      const leafErrors = all.filter((e): e is LeafError => e instanceof LeafError);
      assert.equal(new Set(leafErrors).size, leafErrors.length, "an error was reported twice");
      assert.deepEqual(
        new Set(leafErrors),
        ctx.thrown,
        `thrown ${[...ctx.thrown].map((e) => e.id)}, reported ${leafErrors.map((e) => e.id)}`,
      );
    }),
    { numRuns: 300 },
  );
});

test("nested timeouts: the outermost scope among those with the earliest deadline raises TimeoutError", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 0, max: 60 }),
      async (deadlines, work) => {
        await runVirtual(async () => {
          const loop = getRunningLoop();
          const seen: string[] = deadlines.map(() => "none");
          const expired: boolean[] = [];
          const level = async (i: number): Promise<string> => {
            if (i === deadlines.length) {
              await sleep(work);
              return "done";
            }
            try {
              return await timeout(deadlines[i], async (cm) => {
                try {
                  return await level(i + 1);
                } finally {
                  expired[i] = cm.expired();
                }
              });
            } catch (e) {
              seen[i] = (e as Error).name;
              throw e;
            }
          };
          const earliest = Math.min(...deadlines);
          const result = await level(0).catch((e: unknown) => e);
          if (work < earliest) {
            assert.equal(result, "done");
            assert.deepEqual(
              seen,
              deadlines.map(() => "none"),
            );
            assert.equal(loop.time(), work);
          } else {
            const k = deadlines.indexOf(earliest);
            assert.ok(result instanceof TimeoutError);
            assert.ok(result.cause instanceof CancelledError);
            assert.deepEqual(
              seen,
              deadlines.map((_, i) => (i <= k ? "TimeoutError" : "CancelledError")),
            );
            assert.equal(loop.time(), earliest);
          }
          assert.deepEqual(
            expired,
            deadlines.map((d) => work >= earliest && d === earliest),
          );
          assert.equal(currentTask()!.cancelling(), 0);
        });
      },
    ),
    { numRuns: 300 },
  );
});

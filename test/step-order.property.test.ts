/**
 * Step order, property-based (fast-check): tasks interleave exactly as asyncio's do.
 *
 * asyncio runs one task step at a time: a step goes from one suspension to the next, through
 * any number of awaits that do not suspend (an async call that returns without waiting, an
 * uncontended lock, a Future that is already done), and a task that yields (`sleep(0)`) goes to
 * the back of the ready queue. With every task yielding only through `sleep(0)`, that is a FIFO
 * queue of tasks, which the model below replays. fast-check generates random scripts of such
 * awaits for 2 to 6 tasks; each task logs before each operation, and the log must be the
 * model's, whatever mix of plain promise turns each step takes.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { createTask, getRunningLoop, Lock, sleep } from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

/** Awaits that do not suspend in asyncio (the step goes on), and ones that yield. */
type Op =
  | { kind: "hops"; n: number } // plain `await Promise.resolve()` × n
  | { kind: "call"; n: number } // `await helper()` whose body takes n plain turns
  | { kind: "doneFuture" } // `await fut` with fut already done
  | { kind: "freeLock" } // acquire and release an uncontended Lock
  | { kind: "yield" } // `await sleep(0)`
  | { kind: "nestedYield" }; // `await helper()` whose body does `await sleep(0)`

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("hops" as const), n: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant("call" as const), n: fc.integer({ min: 0, max: 2 }) }),
  fc.constant({ kind: "doneFuture" as const }),
  fc.constant({ kind: "freeLock" as const }),
  fc.constant({ kind: "yield" as const }),
  fc.constant({ kind: "nestedYield" as const }),
);

const yields = (o: Op) => o.kind === "yield" || o.kind === "nestedYield";

/** asyncio's order: a FIFO of tasks; each step logs its operations up to its next yield. */
function model(scripts: Op[][]): string[] {
  const log: string[] = [];
  const queue = scripts.map((_, i) => ({ task: i, at: 0 }));
  while (queue.length > 0) {
    const entry = queue.shift()!;
    const script = scripts[entry.task];
    while (entry.at < script.length) {
      log.push(`t${entry.task}.${entry.at}`);
      if (yields(script[entry.at++])) break;
    }
    // (A task whose last operation yielded has one more, silent, step: it returns.)
    if (entry.at < script.length) queue.push(entry);
  }
  return log;
}

async function plainTurns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

describe("step order", () => {
  test("random scripts of suspending and non-suspending awaits interleave as asyncio's tasks do", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 6 }),
        async (scripts) => {
          const log: string[] = [];
          await runVirtual(async () => {
            const done = getRunningLoop().createFuture<void>();
            done.setResult();
            const lock = new Lock();
            const tasks = scripts.map((script, i) =>
              createTask(async () => {
                for (let at = 0; at < script.length; at++) {
                  log.push(`t${i}.${at}`);
                  const o = script[at];
                  if (o.kind === "hops") await plainTurns(o.n);
                  else if (o.kind === "call") await (async () => plainTurns(o.n))();
                  else if (o.kind === "doneFuture") await done;
                  else if (o.kind === "freeLock") {
                    await lock.acquire();
                    lock.release();
                  } else if (o.kind === "yield") await sleep(0);
                  else await (async () => sleep(0))();
                }
              }),
            );
            for (const t of tasks) await t;
          });
          assert.deepEqual(log, model(scripts));
        },
      ),
      { numRuns: 200 },
    );
  });
});

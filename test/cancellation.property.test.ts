/**
 * Cancellation at every await point, property-based (fast-check).
 *
 * fast-check generates random programs: nested async calls, `sleep(k)`, `sleep(0)`, awaits of
 * Futures that helper tasks resolve later, awaits of plain promises (which are not waits the
 * runtime can cancel), child tasks awaited by their parent, and try/finally blocks whose cleanup
 * itself sleeps. Each program runs as a task on the virtual clock and is cancelled once, either
 * while it waits at its i-th await point or at a random virtual time. Then:
 *
 * - every `finally` that was entered ran, innermost first;
 * - the task ended cancelled iff `cancel()` returned true, and otherwise returned the value and
 *   took the virtual time a plain interpreter predicts;
 * - `cancelling()` counts exactly the one request;
 * - no task is left pending once the helpers are done (`allTasks()` holds only main).
 *
 * A second property requests the cancellation one to three times back to back while the program
 * waits, in a program that swallows `CancelledError`: it gets exactly one, as in asyncio, and
 * goes on to its end.
 *
 * A third throws a `KeyboardInterrupt` (from a loop callback or from a task of its own) while the
 * program waits at its i-th await point: it escapes the loop, `run()` rejects with it, and the
 * shutdown still runs every `finally` that was entered and leaves no task pending.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  allTasks,
  CancelledError,
  createTask,
  currentTask,
  Future,
  getRunningLoop,
  KeyboardInterrupt,
  sleep,
  type Task,
} from "../src/index.ts";
import { errorOf, runVirtual } from "./helpers.ts";

type Step =
  | { kind: "sleep"; ms: number }
  | { kind: "future"; ms: number }
  | { kind: "plainPromise" }
  | { kind: "call"; body: Step[] }
  | { kind: "try"; body: Step[]; cleanup: number[] }
  | { kind: "child"; body: Step[] };

const delay = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 }));

const { step } = fc.letrec<{ program: Step[]; step: Step }>((tie) => ({
  program: fc.array(tie("step"), { minLength: 0, maxLength: 4 }),
  step: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ kind: fc.constant("sleep" as const), ms: delay }),
    fc.record({ kind: fc.constant("future" as const), ms: delay }),
    fc.record({ kind: fc.constant("plainPromise" as const) }),
    fc.record({ kind: fc.constant("call" as const), body: tie("program") as fc.Arbitrary<Step[]> }),
    fc.record({
      kind: fc.constant("try" as const),
      body: tie("program") as fc.Arbitrary<Step[]>,
      cleanup: fc.array(delay, { maxLength: 2 }),
    }),
    fc.record({
      kind: fc.constant("child" as const),
      body: tie("program") as fc.Arbitrary<Step[]>,
    }),
  ),
}));
/** A whole program: at least one step at the top. */
const program = fc.array(step, { minLength: 1, maxLength: 5 });

/** What a run that is never cancelled returns and how long it takes, computed statically. */
function predict(steps: Step[]): { value: number; time: number; awaits: number } {
  let value = 0;
  let time = 0;
  let awaits = 0;
  for (const s of steps) {
    switch (s.kind) {
      case "sleep":
      case "future":
        value += 1;
        time += s.ms;
        awaits += 1;
        break;
      case "plainPromise":
        value += 1;
        break;
      case "call":
      case "try":
      case "child": {
        const inner = predict(s.body);
        value += inner.value;
        time += inner.time;
        awaits += inner.awaits + (s.kind === "child" ? 1 : 0);
        if (s.kind === "try") {
          for (const ms of s.cleanup) time += ms;
          awaits += s.cleanup.length;
        }
        break;
      }
    }
  }
  return { value, time, awaits };
}

/** Runs programs and records what happened. */
class Interpreter {
  awaitCount = 0;
  /** Await point at which to request the cancellation (1-based), or 0 for none. */
  cancelAtAwait = 0;
  /** Await point at which a KeyboardInterrupt is thrown (1-based), or 0 for none. */
  interruptAtAwait = 0;
  interruptFrom: "callback" | "task" = "callback";
  readonly interrupt = new KeyboardInterrupt("property");
  /** Every task the program made (children and the helpers that resolve Futures). */
  readonly tasks: Task<unknown>[] = [];
  root: Task<number> | null = null;
  cancelResult: boolean | undefined = undefined;
  readonly open: number[] = [];
  readonly entered: number[] = [];
  readonly finished: number[] = [];
  readonly children: Task<number>[] = [];
  nestingOk = true;
  #nextId = 0;

  /** Called right before each await point of the program. */
  beforeAwait(): void {
    this.awaitCount++;
    if (this.awaitCount === this.cancelAtAwait) {
      // Runs on the next iteration, while the program waits at this await.
      getRunningLoop().callSoon(() => this.requestCancel());
    }
    if (this.awaitCount === this.interruptAtAwait) {
      const interrupt = this.interrupt;
      if (this.interruptFrom === "callback") {
        getRunningLoop().callSoon(() => {
          throw interrupt;
        });
      } else {
        this.tasks.push(
          createTask(() => {
            throw interrupt;
          }),
        );
      }
    }
  }

  requestCancel(): void {
    this.cancelResult = this.root!.cancel("property");
  }

  async exec(steps: Step[]): Promise<number> {
    let value = 0;
    for (const s of steps) {
      switch (s.kind) {
        case "sleep":
          this.beforeAwait();
          await sleep(s.ms);
          value += 1;
          break;
        case "future": {
          const fut = new Future<number>();
          this.tasks.push(
            createTask(async () => {
              await sleep(s.ms);
              if (!fut.done()) fut.setResult(1);
            }),
          );
          this.beforeAwait();
          value += await fut;
          break;
        }
        case "plainPromise":
          await Promise.resolve();
          value += 1;
          break;
        case "call":
          value += await this.exec(s.body);
          break;
        case "try": {
          const id = this.#nextId++;
          this.open.push(id);
          this.entered.push(id);
          try {
            value += await this.exec(s.body);
          } finally {
            try {
              for (const ms of s.cleanup) {
                this.beforeAwait();
                await sleep(ms);
              }
            } finally {
              if (this.open.pop() !== id) this.nestingOk = false;
              this.finished.push(id);
            }
          }
          break;
        }
        case "child": {
          const child = createTask(() => this.exec(s.body));
          this.children.push(child);
          this.tasks.push(child);
          this.beforeAwait();
          value += await child;
          break;
        }
      }
    }
    return value;
  }
}

interface Outcome {
  cancelResult: boolean | undefined;
  cancelled: boolean;
  error: unknown;
  value: number | undefined;
  elapsed: number;
  cancelling: number;
  entered: number[];
  finished: number[];
  nestingOk: boolean;
  leftover: number;
  childrenPending: number;
}

async function runProgram(
  steps: Step[],
  cancel: { atAwait: number } | { atTime: number },
): Promise<Outcome> {
  return runVirtual(async () => {
    const loop = getRunningLoop();
    const interp = new Interpreter();
    const start = loop.time();
    const root = createTask(() => interp.exec(steps));
    interp.root = root;
    if ("atAwait" in cancel) interp.cancelAtAwait = cancel.atAwait;
    else loop.callAt(start + cancel.atTime, () => interp.requestCancel());
    let value: number | undefined;
    let error: unknown;
    try {
      value = await root;
    } catch (e) {
      error = e;
    }
    const elapsed = loop.time() - start;
    // Let helper tasks (which resolve Futures) and any pending cancel timer finish.
    await sleep(10_000);
    const main = currentTask();
    return {
      cancelResult: interp.cancelResult,
      cancelled: root.cancelled(),
      error,
      value,
      elapsed,
      cancelling: root.cancelling(),
      entered: interp.entered,
      finished: interp.finished,
      nestingOk: interp.nestingOk,
      leftover: [...allTasks()].filter((t) => t !== main).length,
      childrenPending: interp.children.filter((c) => !c.done()).length,
    };
  });
}

function checkInvariants(steps: Step[], outcome: Outcome): void {
  const expected = predict(steps);
  // Every finally that was entered ran, innermost first.
  assert.deepEqual([...outcome.finished].sort(), [...outcome.entered].sort());
  assert.equal(outcome.nestingOk, true, "finally blocks ran innermost first");
  assert.equal(outcome.leftover, 0, "no task left pending");
  assert.equal(outcome.childrenPending, 0);
  if (outcome.cancelResult === true) {
    assert.equal(outcome.cancelled, true, "a successful cancel() ends the task cancelled");
    assert.ok(outcome.error instanceof CancelledError);
    assert.equal((outcome.error as CancelledError).message, "property");
    assert.equal(outcome.cancelling, 1);
    assert.ok(outcome.elapsed <= expected.time);
  } else {
    // Never cancelled, or cancel() came after the end and returned false.
    assert.equal(outcome.cancelled, false);
    assert.equal(outcome.error, undefined);
    assert.equal(outcome.value, expected.value);
    assert.equal(outcome.elapsed, expected.time);
    assert.equal(outcome.cancelling, 0);
  }
}

describe("cancellation at every await point", () => {
  test("cancelling a random program at its i-th await point: cleanup runs, it ends cancelled, nothing leaks", async () => {
    await fc.assert(
      fc.asyncProperty(program, fc.nat({ max: 40 }), async (steps, pick) => {
        const { awaits } = predict(steps);
        // 1..awaits hits an await point; awaits+1 means "never cancelled".
        const atAwait = (pick % (awaits + 1)) + 1;
        const outcome = await runProgram(steps, { atAwait });
        checkInvariants(steps, outcome);
        if (atAwait <= awaits) {
          assert.equal(outcome.cancelResult, true, "the task was waiting, so cancel() succeeds");
        } else {
          assert.equal(outcome.cancelResult, undefined);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("every await point of one fixed program, exhaustively", async () => {
    const steps: Step[] = [
      { kind: "sleep", ms: 0 },
      {
        kind: "try",
        body: [
          { kind: "future", ms: 5 },
          { kind: "plainPromise" },
          {
            kind: "child",
            body: [
              { kind: "try", body: [{ kind: "sleep", ms: 3 }], cleanup: [0, 2] },
              { kind: "sleep", ms: 0 },
            ],
          },
        ],
        cleanup: [1],
      },
      { kind: "call", body: [{ kind: "future", ms: 0 }] },
    ];
    const { awaits } = predict(steps);
    assert.equal(awaits, 9);
    for (let atAwait = 1; atAwait <= awaits + 1; atAwait++) {
      const outcome = await runProgram(steps, { atAwait });
      checkInvariants(steps, outcome);
      assert.equal(outcome.cancelResult, atAwait <= awaits ? true : undefined);
    }
  });

  test("cancelling a random program at a random virtual time: the same invariants hold", async () => {
    await fc.assert(
      fc.asyncProperty(program, fc.nat({ max: 300 }), async (steps, atTime) => {
        const outcome = await runProgram(steps, { atTime });
        checkInvariants(steps, outcome);
        const { time } = predict(steps);
        if (atTime > time) {
          assert.equal(outcome.cancelResult, false, "a cancel after the end returns false");
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("several cancel() calls at one await point", () => {
  type Wait =
    | { kind: "sleep"; ms: number }
    | { kind: "future"; ms: number }
    | { kind: "child"; ms: number };
  const wait: fc.Arbitrary<Wait> = fc.record({
    kind: fc.constantFrom("sleep" as const, "future" as const, "child" as const),
    ms: delay,
  });

  test("are delivered as one CancelledError: a program that swallows it goes on to the end", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(wait, { minLength: 1, maxLength: 5 }),
        fc.nat({ max: 20 }),
        fc.integer({ min: 1, max: 3 }),
        async (waits, pick, times) => {
          const at = pick % waits.length;
          const outcome = await runVirtual(async () => {
            const loop = getRunningLoop();
            let caught = 0;
            let completed = 0;
            const root: Task<string> = createTask(async () => {
              for (let i = 0; i < waits.length; i++) {
                const w = waits[i]!;
                if (i === at) {
                  // While the program waits here, `times` requests arrive back to back.
                  loop.callSoon(() => {
                    for (let k = 0; k < times; k++) root.cancel();
                  });
                }
                try {
                  if (w.kind === "sleep") await sleep(w.ms);
                  else if (w.kind === "future") {
                    const fut = new Future<void>();
                    createTask(async () => {
                      await sleep(w.ms);
                      if (!fut.done()) fut.setResult();
                    });
                    await fut;
                  } else await createTask(() => sleep(w.ms));
                  completed++;
                } catch (error) {
                  if (!(error instanceof CancelledError)) throw error;
                  caught++;
                }
              }
              return "finished";
            });
            const result = await root;
            await sleep(10_000);
            const main = currentTask();
            return {
              result,
              caught,
              completed,
              cancelling: root.cancelling(),
              leftover: [...allTasks()].filter((t) => t !== main).length,
            };
          });
          assert.equal(outcome.result, "finished");
          assert.equal(outcome.caught, 1, "one CancelledError, however many requests");
          assert.equal(outcome.completed, waits.length - 1);
          assert.equal(outcome.cancelling, times);
          assert.equal(outcome.leftover, 0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("a KeyboardInterrupt at every await point", () => {
  test("thrown while a random program waits at its i-th await point: run() rejects with it, cleanup runs, nothing is left pending", async () => {
    await fc.assert(
      fc.asyncProperty(
        program,
        fc.nat({ max: 40 }),
        fc.constantFrom("callback" as const, "task" as const),
        async (steps, pick, from) => {
          const expected = predict(steps);
          // 1..awaits hits an await point; awaits+1 means "never interrupted".
          const atAwait = (pick % (expected.awaits + 1)) + 1;
          const interp = new Interpreter();
          interp.interruptAtAwait = atAwait;
          interp.interruptFrom = from;
          let root: Task<number> | null = null;
          const reported: string[] = [];
          const outcome = runVirtual(async () => {
            getRunningLoop().setExceptionHandler((_loop, context) =>
              reported.push(context.message),
            );
            root = createTask(() => interp.exec(steps));
            interp.root = root;
            return root;
          });
          if (atAwait <= expected.awaits) {
            assert.equal(await errorOf(outcome), interp.interrupt);
          } else {
            assert.equal(await outcome, expected.value);
          }
          assert.deepEqual([...interp.finished].sort(), [...interp.entered].sort());
          assert.equal(interp.nestingOk, true, "finally blocks ran innermost first");
          const tasks = [root as Task<number> | null, ...interp.tasks];
          assert.deepEqual(
            tasks.filter((t) => t !== null && !t.done()),
            [],
            "no task left pending",
          );
          assert.deepEqual(reported, [], "the interrupt never reaches the exception handler");
        },
      ),
      { numRuns: 200 },
    );
  });
});

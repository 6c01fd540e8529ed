/**
 * The synchronisation primitives under random programs with cancellations, property-based
 * (fast-check), on the virtual clock.
 *
 * fast-check generates a few tasks, each running a random script of operations on one primitive
 * (acquire/hold/release, wait/notify, put/get and their `Nowait` forms), with short random sleeps
 * so that many things happen at the same virtual instant. Cancellations are injected two ways:
 * at random virtual times, and synchronously right after a release or a put/get (which is when a
 * waiter has been woken but has not resumed: the window where a primitive must pass the turn on).
 * Every program then checks:
 *
 * - safety: mutual exclusion (Lock, Condition), at most `n` holders (Semaphore), at most
 *   `maxsize` items (Queue), and the lock is held when `Condition.wait()` returns or throws;
 * - conservation: no permit leaked or invented (a BoundedSemaphore would throw), no item lost or
 *   duplicated, a cancelled `put()` never inserted, a cancelled `get()` never took;
 * - liveness: when everything is quiet, nobody waits while they could proceed (a free lock, a
 *   free permit, an item, a free slot), and no program deadlocks (a virtual-time watchdog).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  BoundedSemaphore,
  CancelledError,
  Condition,
  createTask,
  currentTask,
  getRunningLoop,
  Lock,
  PriorityQueue,
  Queue,
  QueueShutDown,
  sleep,
  type Task,
} from "../src/index.ts";
import { runVirtual } from "./helpers.ts";

const NUM_RUNS = 150;
const QUIET_AT = 500; // every scripted event happens before this virtual time
const WATCHDOG_AT = 100_000;

const ms = fc.integer({ min: 0, max: 3 });
/** Which other task to cancel synchronously at a hand-over point, if any. */
const cancelTarget = fc.option(fc.nat({ max: 7 }), { freq: 3 });
const externalCancels = fc.array(
  fc.record({ at: fc.integer({ min: 0, max: 60 }), task: fc.nat({ max: 7 }) }),
  {
    maxLength: 4,
  },
);

/** One step of a Lock or Semaphore script: hold it for `ms` (then maybe cancel a task), or sleep. */
type HoldOp = { kind: "hold"; ms: number; cancel: number | null } | { kind: "sleep"; ms: number };

/** Scripts for 2 to `maxTasks` tasks, each of 1 to 5 steps. */
function holdScripts(maxTasks: number): fc.Arbitrary<HoldOp[][]> {
  const op: fc.Arbitrary<HoldOp> = fc.oneof(
    fc.record({ kind: fc.constant("hold" as const), ms, cancel: cancelTarget }),
    fc.record({ kind: fc.constant("sleep" as const), ms }),
  );
  return fc.array(fc.array(op, { minLength: 1, maxLength: 5 }), {
    minLength: 2,
    maxLength: maxTasks,
  });
}

function isCancellation(error: unknown): boolean {
  return error instanceof CancelledError;
}

/** Runs `tasks` with the external cancellations and a watchdog; returns whether it deadlocked. */
async function drive(
  tasks: Task<unknown>[],
  cancels: { at: number; task: number }[],
  atQuiet: () => void,
  finish: () => void,
): Promise<void> {
  const loop = getRunningLoop();
  for (const c of cancels) loop.callLater(c.at, () => tasks[c.task % tasks.length].cancel());
  await sleep(QUIET_AT);
  for (let i = 0; i < 5; i++) await sleep(0);
  atQuiet();
  finish();
  let deadlocked = false;
  const watchdog = loop.callLater(WATCHDOG_AT, () => {
    deadlocked = true;
    for (const t of tasks) t.cancel("watchdog");
  });
  const results = await Promise.allSettled(tasks);
  watchdog.cancel();
  assert.equal(deadlocked, false, "the program deadlocked");
  for (const r of results) {
    if (
      r.status === "rejected" &&
      !isCancellation(r.reason) &&
      !(r.reason instanceof QueueShutDown)
    ) {
      throw r.reason;
    }
  }
}

describe("Lock, property-based", () => {
  const scripts = holdScripts(6);

  test("mutual exclusion, no lost hand-over and no deadlock under random cancellations", async () => {
    await fc.assert(
      fc.asyncProperty(scripts, externalCancels, fc.boolean(), async (plans, cancels, useHold) => {
        await runVirtual(async () => {
          const lock = new Lock();
          let inside = 0;
          const tasks: Task<unknown>[] = [];
          const critical = async (o: Extract<HoldOp, { kind: "hold" }>) => {
            inside++;
            assert.equal(inside, 1, "two tasks hold the lock");
            assert.equal(lock.statistics().owner, currentTask());
            try {
              await sleep(o.ms);
            } finally {
              inside--;
            }
          };
          for (const plan of plans) {
            tasks.push(
              createTask(async () => {
                for (const o of plan) {
                  if (o.kind === "sleep") {
                    await sleep(o.ms);
                  } else if (useHold) {
                    await lock.hold(() => critical(o));
                    if (o.cancel !== null) tasks[o.cancel % tasks.length].cancel();
                  } else {
                    {
                      await using _ = await lock.acquire();
                      await critical(o);
                    }
                    // Right after the release: the next waiter is woken, not yet resumed.
                    if (o.cancel !== null) tasks[o.cancel % tasks.length].cancel();
                  }
                }
              }),
            );
          }
          await drive(
            tasks,
            cancels,
            () => {
              const s = lock.statistics();
              if (s.waiters > 0) assert.equal(s.locked, true, "someone waits on a free lock");
            },
            () => {},
          );
          assert.deepEqual(lock.statistics(), { locked: false, owner: null, waiters: 0 });
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe("Semaphore, property-based", () => {
  const scripts = holdScripts(8);

  test("at most n holders, no permit leaked or invented, nobody left waiting for a free permit", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        scripts,
        externalCancels,
        async (permits, plans, cancels) => {
          await runVirtual(async () => {
            // Bounded: a permit released twice (invented) would throw RangeError.
            const sem = new BoundedSemaphore(permits);
            let holders = 0;
            const tasks: Task<unknown>[] = [];
            for (const plan of plans) {
              tasks.push(
                createTask(async () => {
                  for (const o of plan) {
                    if (o.kind === "sleep") {
                      await sleep(o.ms);
                      continue;
                    }
                    {
                      await using _ = await sem.acquire();
                      holders++;
                      assert.ok(holders <= permits, "more holders than permits");
                      try {
                        await sleep(o.ms);
                      } finally {
                        holders--;
                      }
                    }
                    if (o.cancel !== null) tasks[o.cancel % tasks.length].cancel();
                  }
                }),
              );
            }
            await drive(
              tasks,
              cancels,
              () => {
                const s = sem.statistics();
                if (s.waiters > 0) assert.equal(s.value, 0, "someone waits while a permit is free");
              },
              () => {},
            );
            assert.deepEqual(sem.statistics(), { value: permits, locked: false, waiters: 0 });
          });
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});

describe("Condition, property-based", () => {
  type Op =
    | { kind: "waitFor"; threshold: number }
    | { kind: "bump"; notify: "one" | "all"; cancel: number | null }
    | { kind: "sleep"; ms: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant("waitFor" as const), threshold: fc.integer({ min: 0, max: 4 }) }),
    fc.record({
      kind: fc.constant("bump" as const),
      notify: fc.constantFrom("one" as const, "all" as const),
      cancel: cancelTarget,
    }),
    fc.record({ kind: fc.constant("sleep" as const), ms }),
  );
  const scripts = fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), {
    minLength: 2,
    maxLength: 6,
  });

  test("the lock is held after every wait, normal or cancelled, and holders exclude each other", async () => {
    await fc.assert(
      fc.asyncProperty(scripts, externalCancels, async (plans, cancels) => {
        await runVirtual(async () => {
          const cond = new Condition();
          let counter = 0;
          let inside = 0;
          const ownsLock = () => cond.statistics().lock.owner === currentTask();
          const tasks: Task<unknown>[] = [];
          for (const plan of plans) {
            tasks.push(
              createTask(async () => {
                for (const o of plan) {
                  if (o.kind === "sleep") {
                    await sleep(o.ms);
                  } else if (o.kind === "waitFor") {
                    await cond.hold(async () => {
                      inside++;
                      assert.equal(inside, 1);
                      inside--;
                      try {
                        await cond.waitFor(() => counter >= o.threshold);
                      } finally {
                        assert.ok(ownsLock(), "wait() returned or threw without the lock");
                        inside++;
                        assert.equal(inside, 1, "two tasks hold the condition's lock");
                        inside--;
                      }
                    });
                  } else {
                    await cond.hold(() => {
                      counter++;
                      if (o.notify === "all") cond.notifyAll();
                      else cond.notify();
                    });
                    if (o.cancel !== null) tasks[o.cancel % tasks.length].cancel();
                  }
                }
              }),
            );
          }
          await drive(
            tasks,
            cancels,
            () => {
              assert.equal(cond.locked(), false, "the lock is free when all is quiet");
            },
            () => {
              // Release whoever still waits: raise the counter beyond every threshold.
              counter = 100;
              getRunningLoop().callSoon(() => {
                void cond.hold(() => cond.notifyAll());
              });
            },
          );
          assert.equal(cond.statistics().waiters, 0);
          assert.equal(cond.locked(), false);
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe("Queue, property-based", () => {
  type Op =
    | { kind: "put"; nowait: boolean; cancel: number | null }
    | { kind: "get"; nowait: boolean; cancel: number | null }
    | { kind: "sleep"; ms: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant("put" as const), nowait: fc.boolean(), cancel: cancelTarget }),
    fc.record({ kind: fc.constant("get" as const), nowait: fc.boolean(), cancel: cancelTarget }),
    fc.record({ kind: fc.constant("sleep" as const), ms }),
  );
  const scripts = fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), {
    minLength: 2,
    maxLength: 8,
  });

  test("no item lost or duplicated, cancelled puts insert nothing, nobody waits who could proceed", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 }),
        scripts,
        externalCancels,
        fc.boolean(),
        async (maxsize, plans, cancels, immediate) => {
          await runVirtual(async () => {
            const q = new Queue<number>(maxsize);
            const limit = maxsize === 0 ? Number.POSITIVE_INFINITY : maxsize;
            let nextId = 0;
            const inserted: number[] = [];
            const neverInserted: number[] = [];
            const taken: number[] = [];
            const tasks: Task<unknown>[] = [];
            const checkSize = () => assert.ok(q.qsize() <= limit, "more items than maxsize");
            for (const plan of plans) {
              tasks.push(
                createTask(async () => {
                  for (const o of plan) {
                    if (o.kind === "sleep") {
                      await sleep(o.ms);
                      continue;
                    }
                    if (o.kind === "put") {
                      const id = nextId++;
                      if (o.nowait) {
                        if (q.full()) continue;
                        q.putNowait(id);
                        inserted.push(id);
                      } else {
                        try {
                          await q.put(id);
                        } catch (error) {
                          neverInserted.push(id);
                          throw error;
                        }
                        inserted.push(id);
                      }
                    } else if (o.nowait) {
                      if (q.empty()) continue;
                      taken.push(q.getNowait());
                    } else {
                      taken.push(await q.get());
                    }
                    checkSize();
                    if (o.cancel !== null) tasks[o.cancel % tasks.length].cancel();
                  }
                }),
              );
            }
            let droppedCount = 0;
            await drive(
              tasks,
              cancels,
              () => {
                const s = q.statistics();
                if (s.getters > 0) assert.equal(s.qsize, 0, "a getter waits while items wait");
                if (s.putters > 0) assert.ok(q.full(), "a putter waits while a slot is free");
                assert.equal(taken.length + s.qsize, inserted.length, "items lost or invented");
                assert.equal(s.unfinishedTasks, inserted.length);
              },
              () => {
                if (immediate) droppedCount = q.qsize();
                q.shutdown(immediate);
              },
            );
            const remaining = drain(q);
            assert.equal(taken.length + remaining.length + droppedCount, inserted.length);
            const seen = new Set([...taken, ...remaining]);
            assert.equal(seen.size, taken.length + remaining.length, "an item came out twice");
            for (const id of seen) assert.ok(inserted.includes(id), `item ${id} was never put`);
            for (const id of neverInserted) {
              assert.ok(
                !taken.includes(id) && !remaining.includes(id),
                `cancelled put ${id} inserted`,
              );
            }
            const s = q.statistics();
            assert.equal(s.getters + s.putters, 0);
          });
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});

function drain(q: Queue<number>): number[] {
  const out: number[] = [];
  while (!q.empty()) out.push(q.getNowait());
  return out;
}

/**
 * CPython's heapq (Lib/heapq.py) transliterated: `heappush` and `heappop` with `_siftdown` and
 * `_siftup`, using only `<`. The reference for the order in which PriorityQueue hands out items
 * that compare equal.
 */
function heapqPush<T>(heap: T[], item: T, lt: (a: T, b: T) => boolean): void {
  heap.push(item);
  siftdown(heap, 0, heap.length - 1, lt);
}
function heapqPop<T>(heap: T[], lt: (a: T, b: T) => boolean): T {
  const last = heap.pop() as T;
  if (heap.length === 0) return last;
  const top = heap[0];
  heap[0] = last;
  const end = heap.length;
  let pos = 0;
  let child = 1;
  while (child < end) {
    const right = child + 1;
    if (right < end && !lt(heap[child], heap[right])) child = right;
    heap[pos] = heap[child];
    pos = child;
    child = 2 * pos + 1;
  }
  heap[pos] = last;
  siftdown(heap, 0, pos, lt);
  return top;
}
function siftdown<T>(heap: T[], start: number, pos: number, lt: (a: T, b: T) => boolean): void {
  const item = heap[pos];
  while (pos > start) {
    const parent = (pos - 1) >> 1;
    if (!lt(item, heap[parent])) break;
    heap[pos] = heap[parent];
    pos = parent;
  }
  heap[pos] = item;
}

describe("PriorityQueue, property-based", () => {
  type Entry = { priority: number; id: number };
  const op = fc.oneof(
    fc.record({ kind: fc.constant("put" as const), priority: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ kind: fc.constant("get" as const) }),
  );

  test("items that compare equal come out in heapq's order, as from asyncio's PriorityQueue", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const byPriority = (a: Entry, b: Entry) => a.priority - b.priority;
        const q = new PriorityQueue<Entry>(0, { comparator: byPriority });
        const reference: Entry[] = [];
        const lt = (a: Entry, b: Entry) => a.priority < b.priority;
        let id = 0;
        for (const o of ops) {
          if (o.kind === "put") {
            const entry = { priority: o.priority, id: id++ };
            q.putNowait(entry);
            heapqPush(reference, entry, lt);
          } else if (reference.length > 0) {
            assert.equal(q.getNowait().id, heapqPop(reference, lt).id);
          }
        }
        while (reference.length > 0) assert.equal(q.getNowait().id, heapqPop(reference, lt).id);
        assert.equal(q.qsize(), 0);
      }),
      { numRuns: 300 },
    );
  });

  test("a comparator that throws at any comparison leaves the queue exactly as it was", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 40 }),
        op,
        fc.nat({ max: 12 }),
        (values, last, failAt) => {
          let calls = 0;
          let armed = false;
          const q = new PriorityQueue<number>(0, {
            comparator: (a, b) => {
              if (armed && calls++ === failAt) throw new Error("comparator failed");
              return (a >> 1) - (b >> 1);
            },
          });
          const twin = new PriorityQueue<number>(0, { comparator: (a, b) => (a >> 1) - (b >> 1) });
          for (const v of values) {
            q.putNowait(v);
            twin.putNowait(v);
          }
          armed = true;
          let threw = false;
          try {
            if (last.kind === "put") q.putNowait(last.priority);
            else q.getNowait();
          } catch (e) {
            assert.match((e as Error).message, /comparator failed/);
            threw = true;
          }
          armed = false;
          if (!threw) {
            if (last.kind === "put") twin.putNowait(last.priority);
            else twin.getNowait();
          }
          assert.equal(q.qsize(), twin.qsize());
          assert.equal(q.statistics().unfinishedTasks, twin.statistics().unfinishedTasks);
          while (!twin.empty()) assert.equal(q.getNowait(), twin.getNowait());
        },
      ),
      { numRuns: 500 },
    );
  });
});

/**
 * The timer heap against a plain sorted list: whatever the pushes, cancellations and pops, due
 * entries come out by deadline, then in the order they were pushed, and cancelled ones never.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type TimerEntry, TimerHeap } from "../src/loop/timer-heap.ts";

interface Entry extends TimerEntry {
  id: number;
}

function entry(id: number, when: number): Entry {
  return { id, _when: when, _seq: -1, _cancelled: false, _run() {} };
}

// Few distinct deadlines, so that ties (decided by insertion order) are common; more cancels
// than pops, so that the heap's compaction (past 64 cancelled entries) runs too.
const op = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("push" as const),
      when: fc.integer({ min: -5, max: 40 }),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }), weight: 3 },
  {
    arbitrary: fc.record({
      kind: fc.constant("pop" as const),
      now: fc.integer({ min: -5, max: 45 }),
    }),
    weight: 1,
  },
);

test("the heap pops due entries by deadline then insertion order, never a cancelled one", () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 50, maxLength: 600, size: "max" }), (ops) => {
      const heap = new TimerHeap();
      // The reference: live entries in push order.
      let live: Entry[] = [];
      let next = 0;
      for (const o of ops) {
        if (o.kind === "push") {
          const e = entry(next++, o.when);
          heap.push(e);
          live.push(e);
        } else if (o.kind === "cancel") {
          if (live.length === 0) continue;
          const e = live[o.pick % live.length]!;
          e._cancelled = true;
          heap.noteCancelled();
          live = live.filter((x) => x !== e);
        } else {
          const expected = live
            .filter((e) => e._when <= o.now)
            .sort((a, b) => a._when - b._when || a.id - b.id);
          const got: Entry[] = [];
          for (let e = heap.popDue(o.now); e !== undefined; e = heap.popDue(o.now)) {
            got.push(e as Entry);
            assert.equal(e._seq, -1, "a popped entry is marked out of the heap");
          }
          assert.deepEqual(
            got.map((e) => e.id),
            expected.map((e) => e.id),
          );
          live = live.filter((e) => !got.includes(e));
        }
        assert.equal(heap.size, live.length);
        const top = heap.peek();
        const earliest = [...live].sort((a, b) => a._when - b._when || a.id - b.id)[0];
        assert.equal(top, earliest);
      }
    }),
    { numRuns: 200 },
  );
});

test("cancelling most of a large heap compacts it, and the survivors still pop in order", () => {
  const timer = fc.record({
    when: fc.integer({ min: 0, max: 50 }),
    // Three in four are cancelled.
    cancel: fc.integer({ min: 0, max: 3 }).map((n) => n !== 0),
  });
  fc.assert(
    fc.property(fc.array(timer, { minLength: 140, maxLength: 400 }), (timers) => {
      const heap = new TimerHeap();
      const entries = timers.map((t, id) => entry(id, t.when));
      for (const e of entries) heap.push(e);
      entries.forEach((e, id) => {
        if (!timers[id]!.cancel) return;
        e._cancelled = true;
        heap.noteCancelled();
      });
      const live = entries.filter((e) => !e._cancelled);
      assert.equal(heap.size, live.length);
      const got: number[] = [];
      for (let e = heap.popDue(50); e !== undefined; e = heap.popDue(50)) got.push((e as Entry).id);
      const expected = live.sort((a, b) => a._when - b._when || a.id - b.id).map((e) => e.id);
      assert.deepEqual(got, expected);
    }),
    { numRuns: 100 },
  );
});

/**
 * The error classes of src/exceptions.ts: asyncio names, inheritance, structured fields,
 * ExceptionGroup's shape, and the cancellation helpers.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import {
  BrokenBarrierError,
  CancelledError,
  ExceptionGroup,
  IncompleteReadError,
  InvalidStateError,
  isCancelledError,
  KeyboardInterrupt,
  LimitOverrunError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  RuntimeError,
  rethrowIfCancelled,
  TimeoutError,
} from "../src/index.ts";

describe("names and classes", () => {
  const cases: Array<[string, Error]> = [
    ["CancelledError", new CancelledError()],
    ["TimeoutError", new TimeoutError()],
    ["InvalidStateError", new InvalidStateError()],
    ["RuntimeError", new RuntimeError()],
    ["KeyboardInterrupt", new KeyboardInterrupt()],
    ["ExceptionGroup", new ExceptionGroup("g", [new Error("e")])],
    ["QueueEmpty", new QueueEmpty()],
    ["QueueFull", new QueueFull()],
    ["QueueShutDown", new QueueShutDown()],
    ["BrokenBarrierError", new BrokenBarrierError()],
    ["IncompleteReadError", new IncompleteReadError(new Uint8Array(0), 1)],
    ["LimitOverrunError", new LimitOverrunError("m", 0)],
  ];
  for (const [name, error] of cases) {
    test(`${name}: .name is its asyncio name, it is an Error with a stack, and toString shows the name`, () => {
      assert.equal(error.name, name);
      assert.ok(error instanceof Error);
      assert.equal(typeof error.stack, "string");
      assert.ok(String(error).startsWith(name));
      assert.ok(inspect(error).includes(name));
    });
  }

  test("the classes are distinct: none is an instance of another, except BrokenBarrierError of RuntimeError", () => {
    assert.ok(new BrokenBarrierError() instanceof RuntimeError);
    assert.ok(!(new RuntimeError() instanceof BrokenBarrierError));
    assert.ok(!(new CancelledError() instanceof RuntimeError));
    assert.ok(!(new TimeoutError() instanceof CancelledError));
    assert.ok(!(new CancelledError() instanceof TimeoutError));
    assert.ok(!(new QueueEmpty() instanceof QueueFull));
    assert.ok(new ExceptionGroup("g", [1]) instanceof AggregateError);
  });

  test("messages are kept; KeyboardInterrupt has a default message", () => {
    assert.equal(new RuntimeError("misuse").message, "misuse");
    assert.equal(new TimeoutError("late").message, "late");
    assert.equal(new KeyboardInterrupt().message, "interrupted (SIGINT)");
    assert.equal(new KeyboardInterrupt("custom").message, "custom");
  });

  test("TimeoutError can carry the CancelledError it replaced as cause", () => {
    const cancelled = new CancelledError();
    const timeout = new TimeoutError("deadline", { cause: cancelled });
    assert.equal(timeout.cause, cancelled);
  });
});

describe("CancelledError", () => {
  test("message is the cancel message; cancelMessage keeps the raw value", () => {
    const e = new CancelledError("stop");
    assert.equal(e.message, "stop");
    assert.equal(e.cancelMessage, "stop");
    assert.equal(e.origin, undefined);
    const empty = new CancelledError();
    assert.equal(empty.message, "");
    assert.equal(empty.cancelMessage, undefined);
  });

  test("without a message, the origin's description explains who cancelled", () => {
    const origin = {
      kind: "timeout" as const,
      requester: null,
      deadline: 500,
      description: "timeout expired at 500",
    };
    const e = new CancelledError(undefined, { origin });
    assert.equal(e.message, "timeout expired at 500");
    assert.equal(e.cancelMessage, undefined);
    assert.equal(e.origin, origin);
    const withMessage = new CancelledError("explicit", { origin });
    assert.equal(withMessage.message, "explicit");
  });

  test("a cause can be given", () => {
    const cause = new Error("abort");
    assert.equal(new CancelledError("m", { cause }).cause, cause);
    assert.equal("cause" in new CancelledError("m"), false);
  });
});

describe("ExceptionGroup", () => {
  test("is built as new ExceptionGroup(message, errors); .exceptions and .errors are the same array", () => {
    const a = new Error("a");
    const b = new TypeError("b");
    const input = [a, b];
    const group = new ExceptionGroup("two failures", input);
    assert.ok(group instanceof AggregateError);
    assert.equal(group.exceptions, group.errors);
    assert.deepEqual(group.exceptions, [a, b]);
    assert.notEqual(group.errors, input, "the group keeps its own copy");
    input.push(new Error("later"));
    assert.equal(group.exceptions.length, 2);
    assert.equal(group.groupMessage, "two failures");
    // As Python: `.message` is the bare message, `str()` adds the count.
    assert.equal(group.message, "two failures");
    assert.equal(String(group), "ExceptionGroup: two failures (2 sub-exceptions)");
    assert.equal(String(new ExceptionGroup("one", [a])), "ExceptionGroup: one (1 sub-exception)");
  });

  test("rejects a non-string message, a non-array, or no errors", () => {
    assert.throws(() => new ExceptionGroup(5 as unknown as string, [new Error()]), {
      name: "TypeError",
      message: /`message`/,
    });
    assert.throws(() => new ExceptionGroup("m", "x" as unknown as unknown[]), {
      name: "TypeError",
      message: /`errors`/,
    });
    assert.throws(() => new ExceptionGroup("m", []), { name: "RangeError", message: /`errors`/ });
  });

  test("split and subgroup take an error class, as Python takes a type, or a predicate", () => {
    const group = new ExceptionGroup("m", [new RangeError("a"), new TypeError("b")]);
    const [ranges, rest] = group.split(RangeError);
    assert.deepEqual(
      ranges?.exceptions.map((e) => (e as Error).message),
      ["a"],
    );
    assert.deepEqual(
      rest?.exceptions.map((e) => (e as Error).message),
      ["b"],
    );
    assert.equal(group.subgroup(QueueEmpty), null);
    assert.equal(group.subgroup(Error)?.exceptions.length, 2);
    assert.equal(group.subgroup((e) => e instanceof TypeError)?.exceptions.length, 1);
    assert.throws(() => group.split("x" as never), { name: "TypeError", message: /`condition`/ });
  });

  test("split and subgroup keep nesting and the message", () => {
    const a = new TypeError("a");
    const b = new RangeError("b");
    const c = new TypeError("c");
    const group = new ExceptionGroup("outer", [a, new ExceptionGroup("inner", [b, c])]);
    const [match, rest] = group.split((e) => e instanceof TypeError);
    assert.ok(match !== null && rest !== null);
    assert.equal(match.groupMessage, "outer");
    assert.equal(match.exceptions[0], a);
    const nested = match.exceptions[1] as ExceptionGroup;
    assert.equal(nested.groupMessage, "inner");
    assert.deepEqual(nested.exceptions, [c]);
    assert.deepEqual((rest.exceptions[0] as ExceptionGroup).exceptions, [b]);
    assert.equal(
      group.subgroup((e) => e instanceof SyntaxError),
      null,
    );
    assert.equal(group.subgroup(() => true)?.exceptions.length, 2);
  });

  test("the condition is tried on the group itself and on nested groups, as in Python", () => {
    const inner = new ExceptionGroup("inner", [new TypeError("b")]);
    const group = new ExceptionGroup("outer", [new RangeError("a"), inner]);
    // The whole group matches: it is returned as it is.
    assert.deepEqual(group.split(ExceptionGroup), [group, null]);
    assert.equal(
      group.subgroup(() => true),
      group,
    );
    assert.equal(group.subgroup(Error), group);
    // A nested group that matches as a whole is kept whole.
    const [match, rest] = group.split((e) => e instanceof ExceptionGroup && e.message === "inner");
    assert.equal(match?.exceptions[0], inner);
    assert.deepEqual(
      rest?.exceptions.map((e) => (e as Error).message),
      ["a"],
    );
    // Matching every leaf by type still builds a new group (the group is not a RangeError).
    const ranges = new ExceptionGroup("r", [new RangeError("x")]);
    const [all, none] = ranges.split(RangeError);
    assert.notEqual(all, ranges);
    assert.equal(none, null);
  });

  test("the parts keep the group's cause and stack and are built by derive()", () => {
    const cause = new Error("root");
    class Tagged extends ExceptionGroup {
      constructor(
        readonly tag: string,
        errors: readonly unknown[],
      ) {
        super(`tagged ${tag}`, errors);
      }
      override derive(errors: readonly unknown[]): ExceptionGroup {
        return new Tagged(this.tag, errors);
      }
    }
    const group = new Tagged("t", [new RangeError("a"), new TypeError("b")]);
    Object.defineProperty(group, "cause", { value: cause, configurable: true, writable: true });
    const [match, rest] = group.split(RangeError);
    for (const part of [match, rest]) {
      assert.ok(part instanceof Tagged);
      assert.equal(part.tag, "t");
      assert.equal(part.cause, cause);
      assert.equal(part.stack, group.stack);
    }
    const plain = new ExceptionGroup("p", [new RangeError("a")]);
    assert.equal("cause" in (plain.subgroup(RangeError) as ExceptionGroup), false);
  });
});

describe("stream errors", () => {
  test("IncompleteReadError has partial and expected, and a message saying both", () => {
    const partial = new Uint8Array([1, 2, 3]);
    const e = new IncompleteReadError(partial, 10);
    assert.equal(e.partial, partial);
    assert.equal(e.expected, 10);
    assert.equal(e.message, "3 bytes read on a total of 10 expected bytes");
    const untilSeparator = new IncompleteReadError(partial, null);
    assert.equal(untilSeparator.expected, null);
    assert.equal(untilSeparator.message, "3 bytes read on a total of undefined expected bytes");
  });

  test("LimitOverrunError has consumed", () => {
    const e = new LimitOverrunError("Separator is not found, and chunk exceed the limit", 17);
    assert.equal(e.consumed, 17);
    assert.equal(e.message, "Separator is not found, and chunk exceed the limit");
  });

  test("LimitOverrunError is a RangeError, so readline()'s error also matches asyncio's ValueError", () => {
    assert.ok(new LimitOverrunError("m", 0) instanceof RangeError);
  });
});

describe("cancellation helpers", () => {
  test("rethrowIfCancelled rethrows cancellations and returns for other errors", () => {
    const cancelled = new CancelledError();
    assert.throws(
      () => rethrowIfCancelled(cancelled),
      (e) => e === cancelled,
    );
    const abort = new DOMException("aborted", "AbortError");
    Object.defineProperty(abort, "cause", { value: cancelled });
    assert.throws(
      () => rethrowIfCancelled(abort),
      (e) => e === abort,
    );
    assert.equal(rethrowIfCancelled(new Error("ordinary")), undefined);
    assert.equal(rethrowIfCancelled(new TimeoutError()), undefined);
  });

  test("isCancelledError recognises only cancellations", () => {
    assert.equal(isCancelledError(new CancelledError()), true);
    assert.equal(isCancelledError(new TimeoutError()), false);
    assert.equal(isCancelledError(new KeyboardInterrupt()), false);
    assert.equal(isCancelledError(undefined), false);
    assert.equal(isCancelledError({ name: "CancelledError" }), false);
  });
});

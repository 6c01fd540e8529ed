/**
 * Conformance: Future scenarios from CPython's test_futures and test_futures2 that the main
 * files (futures.test.ts, conformance-tasks.test.ts) do not pin. Virtual clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { inspect } from "node:util";
import {
  allTasks,
  createTask,
  currentTask,
  Future,
  getRunningLoop,
  sleep,
  type Task,
} from "../src/index.ts";
import { collectExceptions, runVirtual } from "./helpers.ts";

describe("conformance: never-retrieved reports (test_futures tb_logger)", () => {
  test("a Future that failed and was then asked to cancel is not reported (test_tb_logger_not_called_after_cancel)", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(() => {
      getRunningLoop().setExceptionHandler(handler);
      const fut = new Future<number>();
      fut.setException(new RangeError("boom"));
      // cancel() is refused (the Future is done), but asyncio's cancel() first turns off the
      // traceback logging: asking to cancel means nobody wants the outcome.
      assert.equal(fut.cancel(), false);
      assert.equal(fut.cancelled(), false);
    });
    assert.deepEqual(contexts, []);
  });

  test("a task that failed and was then asked to cancel is not reported either (Task.cancel)", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(async () => {
      getRunningLoop().setExceptionHandler(handler);
      const task = createTask(async () => {
        throw new RangeError("task boom");
      });
      await sleep(0);
      assert.equal(task.done(), true);
      assert.equal(task.cancel(), false);
    });
    assert.deepEqual(contexts, []);
  });

  test("a pending Future nobody completes and a finished one nobody reads are not reported (test_tb_logger_abandoned, test_tb_logger_result_unretrieved)", async () => {
    const { contexts, handler } = collectExceptions();
    await runVirtual(() => {
      getRunningLoop().setExceptionHandler(handler);
      new Future<number>();
      new Future<number>().setResult(42);
    });
    assert.deepEqual(contexts, []);
  });
});

describe("conformance: inspect strings", () => {
  test("a task whose result contains the task itself shows it as '...' instead of recursing (test_recursive_repr_for_pending_tasks)", async () => {
    await runVirtual(async () => {
      const main = currentTask()!;
      const task = createTask(() => allTasks(), { name: "lister" });
      const result = await task;
      assert.ok(result.has(task as Task<unknown>));
      const expected = `<Task finished name='lister' result=Set(2) { <Task pending name='${main.name}'>, ... }>`;
      assert.equal(String(task), expected);
      assert.equal(inspect(task), expected);
      // The same guard covers a Future whose result holds it.
      const fut = new Future<unknown[]>();
      fut.setResult([fut]);
      assert.equal(String(fut), "<Future finished result=[ ... ]>");
    });
  });
});

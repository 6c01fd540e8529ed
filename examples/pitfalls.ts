/**
 * Five common mistakes, each as a broken/fixed pair you can run. docs/guide/pitfalls.md explains
 * them; every pair runs in its own `run()`, so one cannot disturb the next.
 *
 * 1. `createTask(work())` instead of `createTask(() => work())`.
 * 2. Returning a Task from an async function: the promise adopts it and you get its result.
 * 3. Swallowing `CancelledError` in a broad `catch`.
 * 4. Awaiting a plain promise: cancellation waits for it unless it gets the task's signal.
 * 5. Forgetting to await a task: `run()` cancels it when `main` returns.
 */
import { setTimeout as delay } from "node:timers/promises";
import {
  createTask,
  currentSignal,
  isCancelledError,
  rethrowIfCancelled,
  run,
  sleep,
  Task,
} from "asyncio-ts";

async function work(): Promise<number> {
  await sleep(10);
  return 42;
}

/** Awaits `task`, treating cancellation as an expected outcome. */
async function settle(task: Task<unknown>): Promise<void> {
  try {
    await task;
  } catch (error) {
    if (!isCancelledError(error)) throw error;
  }
}

// 1. createTask takes a function. A called async function is already running: the loop could
//    neither delay its start nor cancel it. TypeScript rejects it, and so does the runtime.
await run(async () => {
  const promise = work();
  try {
    // @ts-expect-error: a promise is not a function
    createTask(promise);
  } catch (error) {
    const { name, message } = error as Error;
    console.log(`1 broken: ${name}: ${message.split(":")[0]}`);
  }
  await promise; // it runs anyway, outside any task of its own

  const task = createTask(() => work());
  task.cancel(); // under the loop's control: cancelled before it started, it never runs
  await settle(task);
  console.log(`1 fixed: the loop controls the task, cancelled before it ran: ${task.cancelled()}`);
});

// 2. A Task is a thenable, so an async function that returns one resolves to the task's
//    result, not to the task. Return it from a plain function, or inside an object.
await run(async () => {
  async function startBroken() {
    return createTask(async () => 42);
  }
  const got = await startBroken();
  console.log(`2 broken: got the task's result ${got}, not the task`);

  function startFixed(): Task<number> {
    return createTask(async () => 42);
  }
  const task = startFixed();
  await task;
  console.log(`2 fixed: got a Task, done: ${task instanceof Task && task.done()}`);
});

// 3. A broad catch also catches CancelledError; swallowing it keeps the task running.
await run(async () => {
  const broken = createTask(async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await sleep(50);
      } catch {
        // "retry on any error": also retries after a cancellation
      }
    }
    return "finished anyway";
  });
  await sleep(10);
  broken.cancel();
  await broken;
  console.log(
    `3 broken: the worker swallowed the cancellation and kept running (${broken.result()})`,
  );

  const fixed = createTask(async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await sleep(50);
      } catch (error) {
        rethrowIfCancelled(error); // never swallow cancellation
      }
    }
    return "finished anyway";
  });
  await sleep(10);
  fixed.cancel();
  await settle(fixed);
  console.log(`3 fixed: cancelled: ${fixed.cancelled()}`);
});

// 4. A plain promise cannot be cancelled. A cancel that arrives while the task awaits one is
//    delivered at the task's next wait, after the promise has settled. Give signal-aware APIs
//    the task's signal and they stop at once.
await run(async () => {
  const steps: string[] = [];
  const broken = createTask(async () => {
    await delay(100); // no signal: keeps waiting after cancel()
    steps.push("ran to the end");
    await sleep(0); // the next wait: the cancellation is delivered here
    steps.push("never reached");
  });
  await sleep(10);
  broken.cancel();
  await settle(broken);
  console.log(`4 broken: the plain promise kept running after cancel: ${steps.join(", ")}`);

  const fixed = createTask(async () => {
    await delay(100, undefined, { signal: currentSignal() });
  });
  await sleep(10);
  fixed.cancel();
  await settle(fixed);
  console.log(`4 fixed: the signal stopped the timer: ${fixed.cancelled()}`);
});

// 5. A task nobody awaits may not finish: when `main` returns, run() cancels what is left.
let saved = false;
await run(async () => {
  createTask(async () => {
    await sleep(10);
    saved = true;
  });
  // forgot `await`: main returns at once
});
console.log(`5 broken: run() cancelled the unawaited task, saved = ${saved}`);

await run(async () => {
  const task = createTask(async () => {
    await sleep(10);
    saved = true;
  });
  await task;
  console.log(`5 fixed: awaited, saved = ${task.done() && saved}`);
});

/**
 * Cancelling tasks: what the cancelled task sees, what the awaiter sees, and how the task's
 * AbortSignal stops signal-aware Node APIs too.
 *
 * - `task.cancel(msg)` throws `CancelledError(msg)` into the task where it waits. `finally`
 *   blocks run, and may themselves await: the request is delivered once.
 * - Whoever awaits the cancelled task gets a `CancelledError` too; `task.cancelled()` is true.
 * - A task cancelled before it started never runs its function.
 * - `currentSignal()` (or `task.signal`) is aborted on cancel, so `fetch`, `fs/promises` or
 *   `timers/promises` given that signal stop at once.
 * - Each `cancel()` call counts one request: `task.cancelling()`.
 */
import { setTimeout as delay } from "node:timers/promises";
import {
  CancelledError,
  createTask,
  currentSignal,
  isCancelledError,
  run,
  sleep,
} from "asyncio-ts";

async function worker(): Promise<void> {
  console.log("worker: started");
  try {
    await sleep(60_000); // a long wait: cancellation interrupts it
  } finally {
    console.log("worker: cleaning up");
    await sleep(10); // cleanup may await (flush a buffer, close a connection…)
    console.log("worker: cleanup done");
  }
}

async function main(): Promise<void> {
  // 1. Cancel a running task with a message.
  const task = createTask(worker, { name: "worker" });
  await sleep(100);
  console.log("main: cancelling the worker");
  task.cancel("enough");
  try {
    await task;
  } catch (error) {
    if (!(error instanceof CancelledError)) throw error;
    console.log(`main: worker ended cancelled: ${task.cancelled()}`);
    console.log(`main: CancelledError message: ${error.message}`);
  }

  // 2. A task cancelled before its first step never runs.
  let ran = false;
  const early = createTask(() => {
    ran = true;
  });
  early.cancel();
  await early.then(
    () => {},
    (error: unknown) => {
      if (!isCancelledError(error)) throw error;
    },
  );
  console.log(`main: a task cancelled before it started ran: ${ran}`);

  // 3. The task's signal stops a signal-aware API (here a Node timer promise).
  const timer = createTask(async () => {
    try {
      await delay(60_000, undefined, { signal: currentSignal() });
    } catch (error) {
      if ((error as Error).name === "AbortError")
        console.log("timer: aborted by the task's signal");
      throw error; // an AbortError caused by the task's signal counts as cancellation
    }
  });
  await sleep(10);
  timer.cancel();
  try {
    await timer;
  } catch (error) {
    if (!isCancelledError(error)) throw error;
  }
  console.log(`main: timer task cancelled: ${timer.cancelled()}`);

  // 4. Requests are counted until the task ends.
  const sleeper = createTask(() => sleep(60_000));
  await sleep(0);
  sleeper.cancel();
  sleeper.cancel();
  console.log(`main: two requests, cancelling() = ${sleeper.cancelling()}`);
  try {
    await sleeper;
  } catch (error) {
    if (!isCancelledError(error)) throw error;
  }
  console.log(`main: sleeper cancelled: ${sleeper.cancelled()}`);
}

await run(main);

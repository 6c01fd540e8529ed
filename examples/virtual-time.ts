/**
 * Virtual time: `run(main, { clock: "virtual" })` starts the clock at 0 and, whenever no
 * callback is ready and the host has had a turn without progress, jumps straight to the next
 * timer deadline. An hour of sleeps runs in milliseconds, in the same order every time, which is
 * what tests want.
 *
 * The same program runs unchanged on the real clock; only the `clock` option differs.
 */
import { createTask, getRunningLoop, Runner, run, sleep, VirtualClock } from "asyncio-ts";

/** Logs with the loop's time (ms), so the output shows what the virtual clock did. */
function log(message: string): void {
  console.log(`t=${getRunningLoop().time()} ms: ${message}`);
}

async function main(): Promise<void> {
  log("start");
  const ticker = createTask(async () => {
    for (let i = 1; i <= 3; i++) {
      await sleep(1000);
      log(`tick ${i}`);
    }
  });
  await ticker;
  await sleep(3_600_000 - 3000);
  log("an hour later");

  // Equal deadlines fire in the order the timers were created: deterministic interleaving.
  const order: string[] = [];
  const a = createTask(async () => {
    await sleep(500);
    order.push("a");
  });
  const b = createTask(async () => {
    await sleep(500);
    order.push("b");
  });
  await a;
  await b;
  log(`same deadline, creation order: ${order.join(",")}`);
}

const realStart = performance.now();
await run(main, { clock: "virtual" });
const realMs = performance.now() - realStart;
console.log(`virtual hour took less than a minute of real time: ${realMs < 60_000}`);

// A VirtualClock object lets a test start at a chosen time, and a Runner keeps one loop (and
// one clock) across several runs.
const clock = new VirtualClock(10_000);
{
  await using runner = new Runner({ clock });
  await runner.run(() => sleep(250));
  await runner.run(() => sleep(250));
  console.log(`after two runs of 250 ms on a clock that started at 10000: ${clock.now()}`);
}

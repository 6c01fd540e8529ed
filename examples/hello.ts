/**
 * The seed example: two tasks that sleep concurrently, so the program takes two seconds, not
 * three. Python's original:
 *
 *     async def say_after(delay, message):
 *         await asyncio.sleep(delay)
 *         print(message)
 *
 *     async def main():
 *         print(f"Started at {time.strftime('%X')}")
 *         task1 = asyncio.create_task(say_after(1, 'Hello'))
 *         task2 = asyncio.create_task(say_after(2, 'World'))
 *         await task1
 *         await task2
 *         print(f"Finished at {time.strftime('%X')}")
 *
 *     asyncio.run(main())
 */
import { createTask, run, sleep } from "asyncio-ts";

/** `%X` in Python: the local time as HH:MM:SS. */
function now(): string {
  return new Date().toTimeString().slice(0, 8);
}

// A coroutine is an async function; `await` suspends it without blocking the loop.
async function sayAfter(delay: number, message: string): Promise<void> {
  await sleep(delay); // milliseconds: 1000 is one second
  console.log(message);
}

async function main(): Promise<void> {
  console.log(`Started at ${now()}`);

  // Tasks run concurrently on the event loop.
  const task1 = createTask(() => sayAfter(1000, "Hello"));
  const task2 = createTask(() => sayAfter(2000, "World"));

  // Wait until both are complete: two seconds in all, not three.
  await task1;
  await task2;

  console.log(`Finished at ${now()}`);
}

// Start the event loop with `main` as its first task.
await run(main);

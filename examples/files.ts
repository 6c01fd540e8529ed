/**
 * Files, concurrently and safely: write and read many files at once, then let a timeout stop a
 * batch of slow writes half-way, and check that no half-written file is left behind.
 *
 * - Every write goes to a temporary name and is renamed into place only when complete, so a
 *   reader never sees a partial file; the `finally` of a cancelled writer closes its handle and
 *   deletes its temporary file. That is what "cancellation is clean" means in practice.
 * - `currentSignal()` is passed to `fs/promises` calls that take a signal, so a cancelled task
 *   stops its I/O too.
 * - Part 1: 100 files written under a TaskGroup, then read back with `gather`.
 * - Part 2: 20 writers, half of them slow (many small chunks), under `timeout(300, …)`: the fast
 *   ones finish, the slow ones are cancelled at the deadline and clean up.
 *
 * Run with `npx tsx examples/files.ts`.
 */
import { mkdtemp, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  currentSignal,
  gather,
  getRunningLoop,
  run,
  sleep,
  TimeoutError,
  taskGroup,
  timeout,
} from "asyncio-ts";

const FILES = 100;
const WRITERS = 20;
const DEADLINE_MS = 300;

/** Writes `data` to `path` atomically: a temporary file, renamed into place once complete. */
async function writeAtomically(path: string, data: string): Promise<void> {
  const temp = `${path}.tmp`;
  let renamed = false;
  try {
    await writeFile(temp, data, { signal: currentSignal() });
    await rename(temp, path);
    renamed = true;
  } finally {
    if (!renamed) await rm(temp, { force: true });
  }
}

/** Writes `chunks` chunks with a pause between them (a slow producer), atomically. */
async function writeSlowly(path: string, chunks: number): Promise<void> {
  const temp = `${path}.tmp`;
  const handle = await open(temp, "w");
  let renamed = false;
  try {
    for (let i = 0; i < chunks; i++) {
      await handle.write(`chunk ${i}\n`);
      await sleep(20); // where a cancellation lands
    }
    await handle.close();
    await rename(temp, path);
    renamed = true;
  } finally {
    if (!renamed) {
      await handle.close(); // closing twice is harmless
      await rm(temp, { force: true });
    }
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "asyncio-ts-files-"));
  const loop = getRunningLoop();
  try {
    // Part 1: many files at once.
    const content = (n: number) => `file ${n}\n`.padEnd(1024, ".");
    const t0 = loop.time();
    await taskGroup((tg) => {
      for (let n = 0; n < FILES; n++) {
        tg.createTask(() => writeAtomically(join(dir, `file-${n}.txt`), content(n)));
      }
    });
    const texts = await gather(
      Array.from(
        { length: FILES },
        (_, n) => () =>
          readFile(join(dir, `file-${n}.txt`), { encoding: "utf8", signal: currentSignal() }),
      ),
    );
    const intact = texts.filter((text, n) => text === content(n)).length;
    const bytes = texts.reduce((sum, text) => sum + text.length, 0);
    console.log(`wrote ${FILES} files and read them back: ${intact} intact, ${bytes} bytes`);
    console.log(`(${Math.round(loop.time() - t0)} ms, all at once)`);

    // Part 2: a deadline stops the slow writers half-way.
    try {
      await timeout(DEADLINE_MS, () =>
        taskGroup((tg) => {
          for (let n = 0; n < WRITERS; n++) {
            const chunks = n % 2 === 0 ? 2 : 100; // odd writers need 2 s: far too slow
            tg.createTask(() => writeSlowly(join(dir, `slow-${n}.txt`), chunks));
          }
        }),
      );
      console.log("no timeout?");
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      console.log(`timeout after ${DEADLINE_MS} ms: ${error.message.split(" (")[0]}`);
    }
    const names = await readdir(dir);
    const complete = names.filter((name) => name.startsWith("slow-") && name.endsWith(".txt"));
    const partial = names.filter((name) => name.endsWith(".tmp"));
    console.log(
      `slow writers: ${complete.length} complete, ${WRITERS - complete.length} cancelled, ` +
        `${partial.length} partial files left`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await run(main);

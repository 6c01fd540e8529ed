/**
 * Seeing what the tasks do: a snapshot of every task (`captureTasks`, shown as asyncio's `ps`
 * table and `pstree` tree), the call graph of one task (who awaits it, up to `main`), and a
 * timeline trace of the whole run, exported for Perfetto and as a self-contained HTML page.
 *
 * The program: `main` fetches three "pages" in a task group; one fetch is slow and a timeout
 * cancels it; another gathers two sub-requests. It runs on the virtual clock, so the output is
 * the same every time. From outside the process, `npx asyncio-ts ps <pid>` prints the same table
 * for a program running on the real clock.
 *
 * Run `node --import tsx examples/trace.ts out/` to write out/trace.json (open it in Perfetto or
 * chrome://tracing) and out/trace.html (a self-contained timeline).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  captureTasks,
  createTask,
  currentTask,
  formatCallGraph,
  formatTaskTable,
  formatTaskTree,
  gather,
  run,
  sleep,
  startTrace,
  type Task,
  TimeoutError,
  taskGroup,
  timeout,
} from "asyncio-ts";

async function fetchPage(delay: number): Promise<string> {
  await sleep(delay); // stands in for a request
  return `page after ${delay} ms`;
}

/** Prints the snapshots from a task of its own, while the others wait. */
function report(worker: Task<unknown>): Task<void> {
  return createTask(
    async () => {
      await sleep(5); // let every fetch start waiting
      console.log("--- ps ---");
      console.log(formatTaskTable(captureTasks()));
      console.log("--- pstree ---");
      console.log(formatTaskTree(captureTasks()));
      console.log("--- call graph of one fetch ---");
      console.log(formatCallGraph(worker));
    },
    { name: "reporter" },
  );
}

async function main(): Promise<void> {
  currentTask()!.name = "main";
  await taskGroup(async (tg) => {
    const fast = tg.createTask(() => fetchPage(20), { name: "fetch-fast" });
    tg.createTask(
      async () => {
        try {
          await timeout(50, () => fetchPage(1000));
        } catch (error) {
          if (!(error instanceof TimeoutError)) throw error;
          console.log("fetch-slow: gave up after 50 ms");
        }
      },
      { name: "fetch-slow" },
    );
    tg.createTask(
      () =>
        gather([
          createTask(() => fetchPage(30), { name: "part-1" }),
          createTask(() => fetchPage(40), { name: "part-2" }),
        ]),
      { name: "fetch-parts" },
    );
    report(fast);
  });
}

const trace = startTrace();
await run(main, { clock: "virtual" });
trace.stop();

const tasks = trace.tasks();
console.log("--- trace ---");
for (const t of tasks) {
  const waits = t.segments.filter((s) => s.kind === "waiting").length;
  const cancels = t.cancels.length > 0 ? `, cancel requested at ${t.cancels[0].time} ms` : "";
  console.log(`${t.name}: ${t.created}-${t.ended} ms, ${waits} waits, ${t.outcome}${cancels}`);
}
const chrome = trace.toChromeTrace();
const html = trace.toHTML({ title: "examples/trace.ts" });
console.log(
  `chrome trace: ${chrome.traceEvents.length} events; html timeline: ${html.length} bytes`,
);
// `node --import tsx examples/trace.ts out/` writes them: open trace.json in ui.perfetto.dev or
// chrome://tracing, trace.html in a browser (it is self-contained).
const dir = process.argv[2];
if (dir !== undefined) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "trace.json"), JSON.stringify(chrome));
  writeFileSync(join(dir, "trace.html"), html);
  console.log(`wrote ${join(dir, "trace.json")} and ${join(dir, "trace.html")}`);
}

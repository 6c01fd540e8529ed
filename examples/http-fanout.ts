/**
 * HTTP fan-out: fetch 200 URLs at once under a TaskGroup, each with its own timeout, the whole
 * batch under an overall deadline, and show that a timed-out request is really stopped.
 *
 * - A local HTTP server on 127.0.0.1 (port 0: the OS picks a free port) answers /item/N after
 *   a latency that depends on N: most take 10–99 ms, every tenth one (N % 10 === 7) 3 s.
 * - Each request runs in `timeout(PER_REQUEST_MS, …)` and passes `currentSignal()` to `fetch`:
 *   when the deadline passes, the task is cancelled, its signal aborts, `fetch` closes the
 *   connection, and `timeout` raises `TimeoutError`. The server counts the requests whose
 *   connection closed before it answered: they are the timed-out ones, not left running.
 * - The batch runs in `taskGroup` inside `timeout(OVERALL_DEADLINE_MS, …)`: had anything gone
 *   wrong, every request still in flight would have been cancelled too.
 * - For comparison, a few requests are fetched one by one and the time extrapolated to 200.
 *
 * Run with `npx tsx examples/http-fanout.ts`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type CancelledError,
  currentSignal,
  getRunningLoop,
  run,
  sleep,
  TimeoutError,
  taskGroup,
  timeout,
} from "asyncio-ts";

const URLS = 200;
const PER_REQUEST_MS = 1000;
const OVERALL_DEADLINE_MS = 10_000;
const SLOW_MS = 3000;
const SAMPLE = 10;

const isSlow = (n: number) => n % 10 === 7;
const latencyOf = (n: number) => (isSlow(n) ? SLOW_MS : 10 + ((n * 37) % 90));

/** A server whose /item/N answers after latencyOf(N) ms; counts answers and early closes. */
function startServer() {
  const stats = { answered: 0, closedEarly: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const n = Number(/^\/item\/(\d+)$/.exec(req.url ?? "")?.[1] ?? -1);
    const timer = setTimeout(() => {
      stats.answered++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ item: n, latency: latencyOf(n) }));
    }, latencyOf(n));
    res.on("close", () => {
      clearTimeout(timer);
      if (!res.writableFinished) stats.closedEarly++; // the client gave up on this request
    });
  });
  return new Promise<{ server: typeof server; base: string; stats: typeof stats }>((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, base: `http://127.0.0.1:${port}`, stats });
    });
  });
}

/** Fetches one item with its own deadline; null if it timed out. */
async function fetchItem(base: string, n: number): Promise<{ item: number } | null> {
  try {
    return await timeout(PER_REQUEST_MS, async () => {
      // The task's signal aborts when the timeout cancels the task: fetch stops for real.
      const response = await fetch(`${base}/item/${n}`, { signal: currentSignal() });
      return (await response.json()) as { item: number };
    });
  } catch (error) {
    if (error instanceof TimeoutError) {
      if (n === 7) {
        const cause = error.cause as CancelledError;
        console.log(`item 7 timed out; its CancelledError says: ${cause.message}`);
      }
      return null;
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const { server, base, stats } = await startServer();
  const loop = getRunningLoop();
  try {
    const slow = Array.from({ length: URLS }, (_, n) => n).filter(isSlow).length;
    console.log(`server: ${URLS} URLs on 127.0.0.1 (${slow} slow ones take ${SLOW_MS} ms)`);

    // Node loads its fetch implementation on the first call, which takes a while on a busy
    // machine: do that before the per-request deadlines start counting.
    await (await fetch(`${base}/item/0`)).json();

    // All at once, under a TaskGroup, with an overall deadline around the whole batch.
    const t0 = loop.time();
    const results = await timeout(OVERALL_DEADLINE_MS, () =>
      taskGroup((tg) => {
        const tasks = Array.from({ length: URLS }, (_, n) =>
          tg.createTask(() => fetchItem(base, n), { name: `fetch-${n}` }),
        );
        return tasks;
      }),
    );
    const concurrentMs = loop.time() - t0;
    const fetched = results!.filter((t) => t.result() !== null).length;
    console.log(
      `fetched ${fetched} of ${URLS} within the per-request timeout of ${PER_REQUEST_MS} ms; ` +
        `${URLS - fetched} timed out`,
    );

    // The server sees the aborted connections close (give the close events a moment to arrive).
    for (let i = 0; i < 100 && stats.closedEarly < URLS - fetched; i++) await sleep(10);
    console.log(
      `server saw ${stats.closedEarly} requests closed early by the client (aborted, not left running)`,
    );

    // One by one, for comparison: a sample of fast items, extrapolated to the whole batch.
    const sample = Array.from({ length: URLS }, (_, n) => n)
      .filter((n) => !isSlow(n))
      .slice(0, SAMPLE);
    const t1 = loop.time();
    for (const n of sample) await fetchItem(base, n);
    const perRequest = (loop.time() - t1) / sample.length;
    const sequentialMs = perRequest * fetched + PER_REQUEST_MS * (URLS - fetched);
    console.log(`all ${URLS} concurrently: ${Math.round(concurrentMs)} ms`);
    console.log(
      `one by one: about ${Math.round(sequentialMs)} ms (${sample.length} requests measured, ` +
        `extrapolated); speed-up about ${Math.round(sequentialMs / concurrentMs)}x`,
    );
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

await run(main);

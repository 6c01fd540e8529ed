/**
 * A polite web crawler: many workers, at most two requests at a time per host.
 *
 * - Two local HTTP servers on 127.0.0.1 (port 0: the OS picks free ports) stand in for two
 *   sites that link to each other; each server counts how many requests it serves at once.
 * - Workers take URLs from a `Queue`; a `Semaphore(2)` per host (`host:port`) keeps each site
 *   at two concurrent requests however many workers there are. `fetch` gets the task's
 *   `currentSignal()`, so cancelling a worker aborts its request.
 * - The crawl ends on its own: `queue.join()` returns once every URL found has been handled,
 *   and `queue.shutdown()` ends the workers' loops.
 * - Ctrl-C stops it cleanly: `run()` cancels `main`, the task group cancels the workers, their
 *   requests are aborted, the `finally` closes the servers, and `run()` rejects with
 *   `KeyboardInterrupt`, which we turn into exit code 130, as Python does.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  currentSignal,
  getRunningLoop,
  KeyboardInterrupt,
  Queue,
  rethrowIfCancelled,
  run,
  Semaphore,
  taskGroup,
} from "asyncio-ts";

const PAGES_PER_SITE = 25;
const WORKERS = 8;
const PER_HOST = 2;

interface Site {
  server: Server;
  origin: string;
  active: number;
  peak: number;
  served: number;
}

/** Serves /page/N for N < PAGES_PER_SITE, each linking to a few pages here and on `peer`. */
function startSite(name: string, peer: () => string): Promise<Site> {
  const site: Site = { server: createServer(), origin: "", active: 0, peak: 0, served: 0 };
  site.server.on("request", (req, res) => {
    const n = Number(/^\/page\/(\d+)$/.exec(req.url ?? "")?.[1] ?? Number.NaN);
    site.active++;
    site.peak = Math.max(site.peak, site.active);
    // A slow site: 20–50 ms per page.
    const timer = setTimeout(
      () => {
        site.active--;
        site.served++;
        if (!(n >= 0 && n < PAGES_PER_SITE)) {
          res.writeHead(404).end();
          return;
        }
        const links = [2 * n + 1, 2 * n + 2, n + 7]
          .filter((k) => k < PAGES_PER_SITE)
          .map((k) => `<a href="/page/${k}">${name} ${k}</a>`);
        links.push(`<a href="${peer()}/page/${(n * 3) % PAGES_PER_SITE}">elsewhere</a>`);
        res.writeHead(200, { "content-type": "text/html" }).end(links.join("\n"));
      },
      20 + ((n * 7) % 31),
    );
    req.on("close", () => clearTimeout(timer));
  });
  return new Promise((resolve) => {
    site.server.listen(0, "127.0.0.1", () => {
      site.origin = `http://127.0.0.1:${(site.server.address() as AddressInfo).port}`;
      resolve(site);
    });
  });
}

async function crawl(start: string): Promise<Map<string, number>> {
  const loop = getRunningLoop();
  const queue = new Queue<string>();
  const seen = new Set<string>([start]);
  const perHost = new Map<string, Semaphore>();
  const fetched = new Map<string, number>(); // host → pages fetched
  queue.putNowait(start);

  const limitFor = (host: string): Semaphore => {
    let sem = perHost.get(host);
    if (sem === undefined) perHost.set(host, (sem = new Semaphore(PER_HOST)));
    return sem;
  };

  const worker = async (): Promise<void> => {
    for await (const url of queue) {
      try {
        const host = new URL(url).host;
        const body = await limitFor(host).hold(async () => {
          const response = await fetch(url, { signal: currentSignal() });
          return response.ok ? response.text() : "";
        });
        fetched.set(host, (fetched.get(host) ?? 0) + 1);
        for (const [, href] of body.matchAll(/href="([^"]+)"/g)) {
          const next = new URL(href, url).href;
          if (!seen.has(next)) {
            seen.add(next);
            queue.putNowait(next);
          }
        }
      } catch (error) {
        rethrowIfCancelled(error); // never swallow a cancellation (Ctrl-C)
        console.log(`failed: ${url}: ${String(error)}`);
      } finally {
        queue.taskDone();
      }
    }
  };

  const t0 = loop.time();
  await taskGroup(async (tg) => {
    for (let i = 0; i < WORKERS; i++) tg.createTask(worker, { name: `worker-${i}` });
    await queue.join(); // every URL found has been fetched (or failed)
    queue.shutdown(); // the workers' `for await` loops end
  });
  console.log(`crawled ${seen.size} pages in ${(loop.time() - t0).toFixed(0)} ms`);
  return fetched;
}

async function main(): Promise<void> {
  let b: Site | null = null;
  const a = await startSite("a", () => b!.origin);
  b = await startSite("b", () => a.origin);
  try {
    const fetched = await crawl(`${a.origin}/page/0`);
    for (const site of [a, b]) {
      const host = new URL(site.origin).host;
      console.log(
        `${host}: ${fetched.get(host) ?? 0} pages, at most ${site.peak} requests at once (limit ${PER_HOST})`,
      );
    }
  } finally {
    // Runs on Ctrl-C too: the servers close and the process can exit.
    a.server.closeAllConnections();
    b.server.closeAllConnections();
    a.server.close();
    b.server.close();
  }
}

try {
  await run(main);
} catch (error) {
  if (!(error instanceof KeyboardInterrupt)) throw error;
  console.log("interrupted: stopped cleanly");
  process.exitCode = 130;
}

/**
 * A three-stage pipeline on bounded queues: a fast producer, three slower workers, one writer.
 *
 * - Backpressure: `put()` on a full `Queue` waits, so the producer can run at most `maxsize`
 *   items ahead of the workers, however fast it is. The numbers printed show it: the producer's
 *   waits grow, and the queue never holds more than its `maxsize`.
 * - Graceful shutdown, stage by stage: `join()` waits until every item put has been marked done
 *   with `taskDone()`; `shutdown()` then ends the consumers' `for await` loops, so every task
 *   returns on its own and nothing is dropped.
 *
 * Python's equivalent uses asyncio.Queue(maxsize), queue.join() and (3.13) queue.shutdown().
 */
import { getRunningLoop, Queue, run, sleep, taskGroup } from "asyncio-ts";

interface Job {
  id: number;
  size: number;
}
interface Result {
  id: number;
  worker: string;
  digest: number;
}

const JOBS = 30;
const RAW_MAXSIZE = 5;
const RESULTS_MAXSIZE = 3;

async function main(): Promise<void> {
  const loop = getRunningLoop();
  const raw = new Queue<Job>(RAW_MAXSIZE);
  const results = new Queue<Result>(RESULTS_MAXSIZE);
  let peakRaw = 0;
  let peakResults = 0;
  let totalWaitMs = 0;
  const written: number[] = [];

  await taskGroup(async (tg) => {
    // Stage 1: produces a job every 2 ms, much faster than the workers can take them.
    tg.createTask(
      async () => {
        for (let id = 0; id < JOBS; id++) {
          const t0 = loop.time();
          await raw.put({ id, size: 1 + (id % 4) });
          const waited = loop.time() - t0;
          totalWaitMs += waited;
          peakRaw = Math.max(peakRaw, raw.qsize());
          if (id % 5 === 4) {
            console.log(
              `producer: job ${String(id).padStart(2)} queued after waiting ${waited.toFixed(0).padStart(3)} ms` +
                ` (raw queue ${raw.qsize()}/${raw.maxsize})`,
            );
          }
          await sleep(2);
        }
        console.log("producer: all jobs queued; waiting until the workers have taken them all");
        await raw.join(); // every job taken and marked done
        raw.shutdown(); // the workers' `for await` loops end
      },
      { name: "producer" },
    );

    // Stage 2: three workers, each ~10 ms per unit of work.
    for (const worker of ["w1", "w2", "w3"]) {
      tg.createTask(
        async () => {
          for await (const job of raw) {
            await sleep(10 * job.size);
            await results.put({ id: job.id, worker, digest: job.id * 31 + job.size });
            peakResults = Math.max(peakResults, results.qsize());
            raw.taskDone();
          }
        },
        { name: worker },
      );
    }

    // Stage 3: one writer, shut down once the workers are done.
    tg.createTask(
      async () => {
        for await (const result of results) {
          await sleep(3);
          written.push(result.id);
          results.taskDone();
        }
      },
      { name: "writer" },
    );
    tg.createTask(
      async () => {
        await raw.join();
        // The workers finish their last put() before marking the job done, so once `raw` has
        // joined, every result is in `results`: drain it, then end the writer.
        await results.join();
        results.shutdown();
      },
      { name: "closer" },
    );
  });

  console.log(
    `written: ${written.length} of ${JOBS} results, each once: ${new Set(written).size === JOBS}`,
  );
  console.log(
    `peak raw queue: ${peakRaw} (maxsize ${RAW_MAXSIZE}), peak results queue: ${peakResults} (maxsize ${RESULTS_MAXSIZE})`,
  );
  console.log(`backpressure: the producer spent ${totalWaitMs.toFixed(0)} ms waiting for room`);
  console.log(`raw: ${raw}`);
  console.log(`results: ${results}`);
}

await run(main);

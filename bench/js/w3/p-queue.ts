import PQueue from "p-queue";
import type { BenchFn } from "../../lib/contender.ts";
import { checkSum, shape } from "./shape.ts";

// p-queue is a job queue, not a channel. The analogue: each item is a job; "consumers" are the
// concurrency; producers keep at most 100 jobs waiting (onSizeLessThan(100)) before adding more.
const bench: BenchFn = async (n, params) => {
  const { producers, consumers, perProducer, expectedSum } = shape(n, params);
  const queue = new PQueue({ concurrency: consumers });
  let sum = 0;
  const t0 = performance.now();
  const work: Promise<void>[] = [];
  for (let p = 0; p < producers; p++) {
    work.push(
      (async () => {
        for (let i = 0; i < perProducer; i++) {
          if (queue.size >= 100) await queue.onSizeLessThan(100);
          const item = i;
          void queue.add(async () => {
            sum += item;
          });
        }
      })(),
    );
  }
  for (const w of work) await w;
  await queue.onIdle();
  const ms = performance.now() - t0;
  checkSum([sum], expectedSum);
  return { ms };
};
export default bench;

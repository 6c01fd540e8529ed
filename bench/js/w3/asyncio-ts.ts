import { createTask, Queue, run, type Task } from "asyncio-ts";
import type { BenchFn } from "../../lib/contender.ts";
import { checkSum, shape } from "./shape.ts";

const bench: BenchFn = (n, params) =>
  run(async () => {
    const { producers, consumers, perProducer, perConsumer, expectedSum } = shape(n, params);
    const queue = new Queue<number>(100);
    const t0 = performance.now();
    const tasks: Task<unknown>[] = [];
    for (let p = 0; p < producers; p++) {
      tasks.push(
        createTask(async () => {
          for (let i = 0; i < perProducer; i++) await queue.put(i);
        }),
      );
    }
    for (let c = 0; c < consumers; c++) {
      tasks.push(
        createTask(async () => {
          let sum = 0;
          for (let i = 0; i < perConsumer; i++) sum += await queue.get();
          return sum;
        }),
      );
    }
    const sums: unknown[] = [];
    for (const t of tasks) sums.push(await t);
    const ms = performance.now() - t0;
    checkSum(sums, expectedSum);
    return { ms };
  });
export default bench;

import { run, sleep, spawn, type Task, withResolvers } from "effection";
import { type BenchFn, fullGc } from "../../lib/contender.ts";

const bench: BenchFn = (n) =>
  run(function* () {
    const resolvers = withResolvers<void>();
    const wait = () => resolvers.operation;
    const tasks: Task<void>[] = new Array(n).fill(null);
    fullGc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < n; i++) tasks[i] = yield* spawn(wait);
    // Let every task start and block.
    yield* sleep(1);
    fullGc();
    const after = process.memoryUsage().heapUsed;
    resolvers.resolve();
    for (const t of tasks) yield* t;
    return { bytesPerTask: (after - before) / n };
  });
export default bench;

import {
  createTask,
  openConnection,
  run,
  type StreamReader,
  type StreamWriter,
  startServer,
  type Task,
} from "asyncio-ts";
import type { BenchFn } from "../../lib/contender.ts";

async function echo(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for (;;) {
    const data = await reader.read(65536);
    if (data.length === 0) break;
    writer.write(data);
    await writer.drain();
  }
  writer.close();
}

const bench: BenchFn = (n, params) =>
  run(async () => {
    const connections = Number(params.connections);
    const size = Number(params.size);
    const rounds = Math.ceil(n / connections);
    const server = await startServer(echo, "127.0.0.1", 0);
    const port = server.sockets[0].port;
    const message = Buffer.alloc(size, 97);
    const pairs: [StreamReader, StreamWriter][] = [];
    for (let c = 0; c < connections; c++) pairs.push(await openConnection("127.0.0.1", port));
    const t0 = performance.now();
    const clients: Task<void>[] = pairs.map(([reader, writer]) =>
      createTask(async () => {
        for (let i = 0; i < rounds; i++) {
          writer.write(message);
          await reader.readexactly(size);
        }
      }),
    );
    for (const c of clients) await c;
    const ms = performance.now() - t0;
    for (const [, writer] of pairs) {
      writer.close();
      await writer.waitClosed();
    }
    server.close();
    await server.waitClosed();
    return { ms: (ms * n) / (rounds * connections) };
  });
export default bench;

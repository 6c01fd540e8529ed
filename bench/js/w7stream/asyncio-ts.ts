import { getRunningLoop, openConnection, run, startServer } from "asyncio-ts";
import type { BenchFn } from "../../lib/contender.ts";

const bench: BenchFn = (n, params) =>
  run(async () => {
    const chunkSize = Number(params.chunk);
    const received = getRunningLoop().createFuture<number>();
    const server = await startServer(
      async (reader, writer) => {
        let total = 0;
        for (;;) {
          const data = await reader.read(65536);
          if (data.length === 0) break;
          total += data.length;
        }
        received.setResult(total);
        writer.close();
      },
      "127.0.0.1",
      0,
    );
    const [, writer] = await openConnection("127.0.0.1", server.sockets[0].port);
    const chunk = Buffer.alloc(chunkSize, 97);
    const t0 = performance.now();
    for (let sent = 0; sent < n; sent += chunkSize) {
      writer.write(sent + chunkSize <= n ? chunk : chunk.subarray(0, n - sent));
      await writer.drain();
    }
    writer.close();
    const total = await received;
    const ms = performance.now() - t0;
    if (total !== n) throw new Error(`received ${total} bytes of ${n}`);
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
    return { ms };
  });
export default bench;

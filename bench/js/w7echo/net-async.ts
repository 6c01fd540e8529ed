import { once } from "node:events";
import net from "node:net";
import type { BenchFn } from "../../lib/contender.ts";

// Node's net module driven with async iteration over the sockets (Readable's async iterator).
const bench: BenchFn = async (n, params) => {
  const connections = Number(params.connections);
  const size = Number(params.size);
  const rounds = Math.ceil(n / connections);
  const server = net.createServer({ noDelay: true }, async (socket) => {
    try {
      for await (const chunk of socket) {
        if (!socket.write(chunk as Buffer)) await once(socket, "drain");
      }
      socket.end();
    } catch {
      // The client went away: nothing to echo to.
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const sockets: net.Socket[] = [];
  for (let c = 0; c < connections; c++) {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    await once(socket, "connect");
    sockets.push(socket);
  }
  const message = Buffer.alloc(size, 97);
  const t0 = performance.now();
  await Promise.all(
    sockets.map(async (socket) => {
      const chunks = socket[Symbol.asyncIterator]();
      let received = 0;
      for (let i = 0; i < rounds; i++) {
        socket.write(message);
        while (received < size) received += ((await chunks.next()).value as Buffer).length;
        received -= size;
      }
    }),
  );
  const ms = performance.now() - t0;
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
  return { ms: (ms * n) / (rounds * connections) };
};
export default bench;

import net from "node:net";
import type { BenchFn } from "../../lib/contender.ts";

// Node's net module with plain 'data' callbacks: the least an echo round trip can cost in Node.
const bench: BenchFn = async (n, params) => {
  const connections = Number(params.connections);
  const size = Number(params.size);
  const rounds = Math.ceil(n / connections);
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on("data", (data) => socket.write(data));
    socket.on("end", () => socket.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const sockets: net.Socket[] = [];
  for (let c = 0; c < connections; c++) {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    await new Promise((resolve) => socket.once("connect", resolve));
    sockets.push(socket);
  }
  const message = Buffer.alloc(size, 97);
  const t0 = performance.now();
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          let received = 0;
          let done = 0;
          socket.on("data", (data) => {
            received += data.length;
            while (received >= size) {
              received -= size;
              if (++done === rounds) return resolve();
              socket.write(message);
            }
          });
          socket.write(message);
        }),
    ),
  );
  const ms = performance.now() - t0;
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
  return { ms: (ms * n) / (rounds * connections) };
};
export default bench;

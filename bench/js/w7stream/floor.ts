import net from "node:net";
import { Readable } from "node:stream";
import type { BenchFn } from "../../lib/contender.ts";

// Raw Node: a Readable of 64 KiB chunks piped into the socket; the server counts 'data' bytes.
const bench: BenchFn = async (n, params) => {
  const chunkSize = Number(params.chunk);
  let resolveReceived!: (total: number) => void;
  const received = new Promise<number>((resolve) => {
    resolveReceived = resolve;
  });
  const server = net.createServer((socket) => {
    let total = 0;
    socket.on("data", (data) => {
      total += data.length;
    });
    socket.on("end", () => {
      resolveReceived(total);
      socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const socket = net.connect({
    port: (server.address() as net.AddressInfo).port,
    host: "127.0.0.1",
  });
  await new Promise((resolve) => socket.once("connect", resolve));
  const chunk = Buffer.alloc(chunkSize, 97);
  let sent = 0;
  const source = new Readable({
    read() {
      if (sent >= n) {
        this.push(null);
        return;
      }
      const piece = sent + chunkSize <= n ? chunk : chunk.subarray(0, n - sent);
      sent += piece.length;
      this.push(piece);
    },
  });
  const t0 = performance.now();
  source.pipe(socket);
  const total = await received;
  const ms = performance.now() - t0;
  if (total !== n) throw new Error(`received ${total} bytes of ${n}`);
  socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  return { ms };
};
export default bench;

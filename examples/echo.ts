/**
 * An echo server and its client in one process: asyncio's classic streams example.
 *
 *     async def handle_echo(reader, writer):
 *         data = await reader.read(100)
 *         writer.write(data)
 *         await writer.drain()
 *         writer.close()
 *         await writer.wait_closed()
 *
 *     server = await asyncio.start_server(handle_echo, '127.0.0.1', 8888)
 *
 * Here the server listens on a free port, three clients talk to it at once, then the server
 * closes (`await using`), waiting until its connections have ended.
 */
import {
  createTask,
  gather,
  openConnection,
  run,
  type StreamReader,
  type StreamWriter,
  startServer,
} from "asyncio-ts";

async function handleEcho(reader: StreamReader, writer: StreamWriter): Promise<void> {
  const [host, port] = writer.getExtraInfo("peername") ?? ["?", 0];
  for await (const line of reader) {
    console.log(`server: received ${JSON.stringify(line.toString().trim())} from ${host}:${port}`);
    writer.write(line);
    await writer.drain();
  }
  writer.close();
  await writer.waitClosed();
}

async function client(port: number, name: string): Promise<string[]> {
  const [reader, writer] = await openConnection("127.0.0.1", port);
  const answers: string[] = [];
  for (const word of ["hello", "world"]) {
    writer.write(`${name}: ${word}\n`);
    await writer.drain();
    answers.push((await reader.readline()).toString().trim());
  }
  writer.close();
  await writer.waitClosed();
  return answers;
}

await run(async () => {
  await using server = await startServer(handleEcho, "127.0.0.1", 0);
  const { address, port } = server.sockets[0];
  console.log(`Serving on ${address}:${port}`);
  const answers = await gather(
    ["alice", "bob", "carol"].map((name) => createTask(() => client(port, name))),
  );
  for (const lines of answers) console.log(`client got back: ${lines.join(" | ")}`);
});
console.log("echo server closed");

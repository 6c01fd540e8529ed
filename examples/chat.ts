/**
 * A line-based chat server: every line a client sends is broadcast to the other clients.
 * Three scripted clients join, talk and leave; the server announces arrivals and departures.
 *
 * Shows: one task per connection (the server's handler), a shared registry of writers,
 * `for await` over a reader's lines, `writeEof()` (half-close) to say "I am done talking" while
 * still reading, and closing the server once everyone has left.
 */
import {
  Event,
  openConnection,
  run,
  type StreamReader,
  type StreamWriter,
  sleep,
  startServer,
} from "asyncio-ts";

const members = new Map<StreamWriter, string>();

function broadcast(from: StreamWriter | null, text: string): void {
  for (const [writer] of members) if (writer !== from) writer.write(`${text}\n`);
}

async function handleClient(reader: StreamReader, writer: StreamWriter): Promise<void> {
  const name = (await reader.readline()).toString().trim();
  members.set(writer, name);
  broadcast(writer, `* ${name} joined`);
  try {
    for await (const line of reader) broadcast(writer, `<${name}> ${line.toString().trim()}`);
  } finally {
    members.delete(writer);
    broadcast(null, `* ${name} left`);
    writer.close();
  }
}

async function chatter(port: number, name: string, lines: string[], ready: Event, go: Event) {
  const [reader, writer] = await openConnection("127.0.0.1", port);
  writer.write(`${name}\n`);
  ready.set();
  await go.wait();
  for (const line of lines) {
    writer.write(`${line}\n`);
    await writer.drain();
    await sleep(20);
  }
  writer.writeEof(); // done talking; keep listening until the server closes this connection
  const heard: string[] = [];
  for await (const line of reader) heard.push(line.toString().trim());
  console.log(`${name} heard:\n  ${heard.join("\n  ")}`);
  writer.close();
}

await run(async () => {
  const server = await startServer(handleClient, "127.0.0.1", 0);
  const port = server.sockets[0].port;
  console.log(`chat server on port ${port}`);
  const go = new Event();
  const scripts: Array<[string, string[]]> = [
    ["ada", ["hi all", "anyone here?"]],
    ["bob", ["hello ada"]],
    ["cy", ["hey!", "bye"]],
  ];
  const readies = scripts.map(() => new Event());
  const talkers = scripts.map(([name, lines], i) => chatter(port, name, lines, readies[i], go));
  for (const ready of readies) await ready.wait();
  while (members.size < scripts.length) await sleep(5); // every name registered
  go.set();
  // Everyone half-closes after talking; the server then ends each connection.
  server.close();
  await Promise.all(talkers);
  await server.waitClosed();
  console.log("chat server closed");
});

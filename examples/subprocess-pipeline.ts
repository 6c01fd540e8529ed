/**
 * A shell pipeline built from asyncio subprocesses: `awk` generates 200,000 random words,
 * `sort | uniq -c | sort -rn` counts them, and this program pumps the bytes from each stage's
 * stdout into the next stage's stdin itself, with backpressure (`drain()`), as
 * `generate | sort | uniq -c | sort -rn` would. Then it prints the top five words.
 *
 * Shows: createSubprocessExec with PIPE, StreamReader.read(n) → StreamWriter.write/drain between
 * processes, writeEof/close to end a stage's input, communicate() for the last stage, and
 * return codes.
 */
import {
  createSubprocessExec,
  PIPE,
  type Process,
  run,
  type StreamReader,
  type StreamWriter,
  taskGroup,
} from "asyncio-ts";

/** Copies `from` to `to` until EOF, then closes `to`; returns the byte count. */
async function pump(from: StreamReader, to: StreamWriter): Promise<number> {
  let bytes = 0;
  for (;;) {
    const chunk = await from.read(65536);
    if (chunk.length === 0) break;
    bytes += chunk.length;
    to.write(chunk);
    await to.drain(); // the next stage is slower? then we wait, and so does the previous one
  }
  to.close();
  return bytes;
}

await run(async () => {
  const generate = await createSubprocessExec(
    "awk",
    ['BEGIN { srand(7); for (i = 0; i < 200000; i++) print "word" int(rand() * rand() * 40) }'],
    { stdout: PIPE },
  );
  const stages: Process[] = [generate];
  for (const [program, args] of [
    ["sort", []],
    ["uniq", ["-c"]],
    ["sort", ["-rn"]],
  ] as const) {
    stages.push(await createSubprocessExec(program, [...args], { stdin: PIPE, stdout: PIPE }));
  }
  const last = stages[stages.length - 1];
  const outcome = await taskGroup(async (tg) => {
    const pumps = stages
      .slice(0, -1)
      .map((stage, i) => tg.createTask(() => pump(stage.stdout!, stages[i + 1].stdin!)));
    const output = tg.createTask(() => last.stdout!.read());
    return [await output, await pumps[0]] as const;
  });
  const [counts, bytes] = outcome!; // undefined only if the group were cancelled with tg.cancel()
  const codes = await Promise.all(stages.map((stage) => stage.wait()));
  console.log(`generated ${bytes} bytes; exit codes ${codes.join(", ")}`);
  console.log("top five words:");
  for (const line of counts.toString().trim().split("\n").slice(0, 5)) {
    const [count, word] = line.trim().split(/\s+/);
    console.log(`  ${word.padEnd(8)} ${count}`);
  }
});

#!/usr/bin/env node
/**
 * The executable of the `asyncio-ts` command (package.json `bin`): runs cli.ts's `main` with the
 * process's arguments and exits with its code.
 *
 * @module
 */
import { main } from "./cli.ts";

main(
  process.argv.slice(2),
  (text) => process.stdout.write(`${text}\n`),
  (text) => process.stderr.write(`${text}\n`),
).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`asyncio-ts: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);

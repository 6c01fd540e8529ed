/**
 * Where Futures, Tasks and Handles were created, recorded in debug mode only: asyncio's
 * `_source_traceback`. The stacks live in a WeakMap, so an object made outside debug mode carries
 * no field for it, and a recorded stack goes away with its object.
 *
 * A recorded stack leaves out the runtime's own frames (the `Future` and `Task` constructors,
 * `createTask`, `callSoon`, the loop that runs the program): it starts at the program's code
 * that asked for the object.
 *
 * @module
 */
import { fileURLToPath, pathToFileURL } from "node:url";

const stacks = new WeakMap<object, string>();

// This file is `<package>/src/internal/` (or `dist/internal/`): the runtime's frames are those
// whose file lies under its parent, as a path or as a file URL. When dist/ runs with source maps
// (`node --enable-source-maps`, tsx), V8 names its frames by their source in src/, so both
// directories are the runtime's.
const RUNTIME_DIR = fileURLToPath(new URL("..", import.meta.url));
const RUNTIME_DIRS: readonly string[] = /[\\/](?:src|dist)[\\/]$/.test(RUNTIME_DIR)
  ? [
      RUNTIME_DIR,
      ...["src", "dist"].map((dir) => fileURLToPath(new URL(`../../${dir}/`, import.meta.url))),
    ]
  : [RUNTIME_DIR];

/** The runtime's own directories, as paths and as file URLs, to tell its stack frames apart. */
const RUNTIME_MARKERS: readonly string[] = [...new Set(RUNTIME_DIRS)].flatMap((dir) => [
  dir,
  pathToFileURL(dir).href,
]);

/** Whether a stack line is in the runtime's own code (src/ or dist/ of this package). */
export function isRuntimeFrame(line: string): boolean {
  return RUNTIME_MARKERS.some((marker) => line.includes(marker));
}

/** The current stack's frames, the runtime's own left out, one `at …` line each. */
export function programStack(): string {
  const limit = Error.stackTraceLimit;
  // Room for the runtime's frames on top of the program's usual ten.
  if (limit < 25) Error.stackTraceLimit = 25;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  return stack
    .split("\n")
    .slice(1)
    .filter((line) => !isRuntimeFrame(line))
    .map((line) => line.trim())
    .join("\n");
}

/** Records where `obj` is being created (call it in debug mode only). */
export function recordCreation(obj: object): void {
  stacks.set(obj, programStack());
}

/** Where `obj` was created, if it was made in debug mode. */
export function creationStackOf(obj: object): string | undefined {
  return stacks.get(obj);
}

/**
 * The place `obj` was created, as asyncio's reprs show it (`created at file:line:col`), or an
 * empty string if it was not made in debug mode.
 */
export function createdAt(obj: object): string {
  const stack = stacks.get(obj);
  if (stack === undefined || stack === "") return "";
  const top = stack.split("\n", 1)[0]!;
  // `at fn (file:line:col)` or `at file:line:col`.
  const open = top.lastIndexOf("(");
  const where = open >= 0 ? top.slice(open + 1, top.endsWith(")") ? -1 : undefined) : top.slice(3);
  return ` created at ${where}`;
}

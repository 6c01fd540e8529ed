/**
 * Runs a TypeScript file in a child `node --import tsx` process, for the tests that keep the
 * examples and the documentation honest (test/examples.test.ts, test/doc-examples.test.ts).
 *
 * The child runs with the repository root as its working directory, so `import … from
 * "asyncio-ts"` resolves through the package's own `exports` to `dist/` (`npm test` builds it
 * first). A hang guard kills the child after `timeoutMs`; the result says so instead of the test
 * hanging.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (the directory holding package.json). */
export const ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..");

/** What a child process did. */
export interface NodeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True if the hang guard killed the child. */
  timedOut: boolean;
}

/** Runs `node --import tsx <file> ...args` from the repository root (see {@link runNodeWithDist}). */
export function runTs(file: string, timeoutMs: number, args: string[] = []): Promise<NodeResult> {
  return runNodeWithDist(["--import", "tsx", file, ...args], timeoutMs);
}

/**
 * Runs `node ...argv` like {@link runNode}, for a child that imports the built package.
 *
 * Several people share one working tree, and `npm run build` starts with `rm -rf dist`: a child
 * that starts in that window cannot find the package. Such a run is repeated once, after dist/
 * is back and complete (waiting at most a minute); a dist/ that stays missing still fails.
 */
export async function runNodeWithDist(argv: string[], timeoutMs: number): Promise<NodeResult> {
  const result = await runNode(argv, timeoutMs);
  if (result.code === 0 || !lostDist(result)) return result;
  await waitForDist(60_000);
  return runNode(argv, timeoutMs);
}

function lostDist(result: NodeResult): boolean {
  const output = result.stdout + result.stderr;
  return (
    (output.includes("ERR_MODULE_NOT_FOUND") && output.includes(join(ROOT, "dist"))) ||
    output.includes("Cannot find module 'asyncio-ts'")
  );
}

/** Waits until dist/index.js exists and dist/ has stopped changing (tsc writes file by file). */
async function waitForDist(limitMs: number): Promise<void> {
  const until = Date.now() + limitMs;
  let last = "";
  let stableChecks = 0;
  while (Date.now() < until && stableChecks < 3) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const listing = existsSync(join(ROOT, "dist", "index.js"))
      ? readdirSync(join(ROOT, "dist"), { recursive: true }).join("\n")
      : "";
    stableChecks = listing !== "" && listing === last ? stableChecks + 1 : 0;
    last = listing;
  }
}

/** Runs `node ...argv` from the repository root, killing it after `timeoutMs`. */
export function runNode(argv: string[], timeoutMs: number): Promise<NodeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: "", FORCE_COLOR: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const guard = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(guard);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** A one-paragraph account of a failed run, for assertion messages. */
export function describeRun(what: string, result: NodeResult): string {
  const how = result.timedOut
    ? "was killed by the hang guard"
    : `exited with code ${result.code}${result.signal ? ` (signal ${result.signal})` : ""}`;
  return [
    `${what} ${how}`,
    `--- stdout ---\n${result.stdout.trimEnd()}`,
    `--- stderr ---\n${result.stderr.trimEnd()}`,
  ].join("\n");
}

/**
 * Throws a clear error when `dist/` is missing (the child processes import the built package),
 * after waiting up to a minute in case a concurrent build is rewriting it.
 */
export async function assertBuilt(): Promise<void> {
  if (existsSync(join(ROOT, "dist", "index.js"))) return;
  await waitForDist(60_000);
  if (!existsSync(join(ROOT, "dist", "index.js"))) {
    throw new Error("dist/index.js is missing: run `npm run build` first (npm test does)");
  }
}

/**
 * A long-running child `node --import tsx <file> ...args`, for tests that talk to it while it
 * runs (send it signals once it printed a marker line). stderr lines are kept in `stdout` too,
 * prefixed with `[stderr]`. A hang guard kills it after `timeoutMs`.
 */
export class FixtureChild {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = "";
  readonly #guard: NodeJS.Timeout;
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;

  constructor(file: string, args: string[], timeoutMs: number) {
    this.child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    this.child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      this.stdout += chunk;
    });
    this.child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      this.stdout += `[stderr] ${chunk}`;
    });
    this.#guard = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    this.exited = once(this.child, "exit").then((args) => {
      clearTimeout(this.#guard);
      return args as [number | null, NodeJS.Signals | null];
    });
  }

  /** Resolves once `marker` appears as a line of the child's stdout. */
  async waitFor(marker: string): Promise<void> {
    while (!this.stdout.split("\n").includes(marker)) {
      const [code] = await Promise.race([
        once(this.child.stdout, "data").then(() => [undefined]),
        this.exited,
      ]);
      if (code !== undefined) {
        throw new Error(`child exited before printing ${marker}:\n${this.stdout}`);
      }
    }
  }

  lines(): string[] {
    return this.stdout.trim().split("\n");
  }
}

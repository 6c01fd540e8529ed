/**
 * Runs a TypeScript file in a child `node --import tsx` process, for the tests that keep the
 * examples and the documentation honest (test/examples.test.ts, test/doc-examples.test.ts).
 *
 * The child runs with the repository root as its working directory, so `import … from
 * "asyncio-ts"` resolves through the package's own `exports` to `dist/` (`npm test` builds it
 * first). A hang guard kills the child after `timeoutMs`; the result says so instead of the test
 * hanging.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
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

/** Runs `node --import tsx <file> ...args` from the repository root. */
export function runTs(file: string, timeoutMs: number, args: string[] = []): Promise<NodeResult> {
  return runNode(["--import", "tsx", file, ...args], timeoutMs);
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

/** Throws a clear error when `dist/` is missing (the child processes import the built package). */
export function assertBuilt(): void {
  if (!existsSync(join(ROOT, "dist", "index.js"))) {
    throw new Error("dist/index.js is missing: run `npm run build` first (npm test does)");
  }
}

/**
 * Checks that the benchmark code still works: a `--quick` run of one workload, with tiny sizes.
 * Times nothing and asserts no figure: performance is measured by `npm run bench`, never by tests.
 * Needs the built `dist/` (as `npm test` does first).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { uniformDelays } from "../bench/lib/rng.ts";

const ROOT = new URL("..", import.meta.url).pathname;

function bench(...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "bench/run.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
}

test("a --quick run of W1 measures asyncio-ts and its JS peers and says what it skipped", () => {
  const r = bench("--quick", "--n", "200", "--no-python", "--no-save", "W1");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /### W1: spawn\/join/);
  for (const label of ["asyncio-ts", "floor \\(raw promises\\)", "Effect 4", "Effection 4"]) {
    assert.match(r.stdout, new RegExp(`^\\| ${label} \\| \\d[\\d .k]*\\|`, "m"), label);
  }
  assert.match(r.stdout, /Target ≥ Effect 4's tasks\/s: \*\*(✅ met|❌ missed)\*\*/);
  assert.match(r.stdout, /Skipped:\n- W1 Python asyncio: --no-python\n- W1 uvloop: --no-python/);
});

test("an unknown workload is refused with the list of known ones", () => {
  const r = bench("--quick", "W99");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown workload W99; known: W1 /);
});

test("the Python side draws the same seeded delays as the TypeScript side", (t) => {
  const script = "from common import uniform_delays; print(uniform_delays(1000, 1000, 42))";
  const r = spawnSync("python3", ["-c", script], { cwd: `${ROOT}bench/py`, encoding: "utf8" });
  if (r.error !== undefined || r.status !== 0) {
    t.skip("python3 not available");
    return;
  }
  assert.deepEqual(JSON.parse(r.stdout), uniformDelays(1000, 1000, 42));
});

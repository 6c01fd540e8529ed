/**
 * The benchmark suite's orchestrator: runs every selected workload for asyncio-ts and its peers
 * in one run, each contender in a child process of its own (fresh heap, no library's global
 * state touching another's figures), several repetitions in round-robin order (so that a burst
 * of load on a shared machine hits every contender alike), and reports the medians, the ratios
 * to the floor and to asyncio-ts, and whether the project's targets are met.
 *
 * Usage: npm run bench -- [WORKLOAD…] [options]      (run `npm run build` first)
 *        bench/snapshot.sh [WORKLOAD…] [options]   (the last commit, in a private copy)
 *
 *   WORKLOAD        a workload id or group (W1 W2 W3 W4 W5 W6 W6-TG T1 W7); default: all
 *   --quick         small sizes, one repetition: a smoke run that checks the code works
 *   --reps N        repetitions per contender (default 5; 1 with --quick)
 *   --n N           override the workload size
 *   --node PATH     run the JavaScript contenders with this Node binary
 *   --no-python     skip the Python contenders
 *   --contenders a,b  only these contender ids (asyncio-ts, floor, effect, python, …)
 *   --cpu-prof      write V8 CPU profiles of the JS children to bench/results/profiles/
 *   --no-save       do not write bench/results/*.json and *.md
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, range, relativeSpread } from "./lib/stats.ts";
import { type Contender, type Target, WORKLOADS, type Workload } from "./lib/workloads.ts";

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const CHILD_TIMEOUT_MS = 600_000;

// ---- command line ----

interface Options {
  selected: string[];
  quick: boolean;
  reps: number;
  n: number | null;
  node: string;
  python: boolean;
  contenders: Set<string> | null;
  cpuProf: boolean;
  save: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    selected: [],
    quick: false,
    reps: Number.NaN,
    n: null,
    node: process.execPath,
    python: true,
    contenders: null,
    cpuProf: false,
    save: true,
  };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") o.quick = true;
    else if (a === "--no-python") o.python = false;
    else if (a === "--cpu-prof") o.cpuProf = true;
    else if (a === "--no-save") o.save = false;
    else if (a === "--reps") o.reps = positiveInt(value(i++, a), a);
    else if (a === "--n") o.n = positiveInt(value(i++, a), a);
    else if (a === "--node") o.node = value(i++, a);
    else if (a === "--contenders") o.contenders = new Set(value(i++, a).split(","));
    else if (a === "--help" || a === "-h") {
      const text = readFileSync(fileURLToPath(import.meta.url), "utf8");
      console.log(
        text.slice(text.indexOf("Usage:"), text.indexOf("@module")).replace(/^ \* ?/gm, ""),
      );
      process.exit(0);
    } else if (a.startsWith("-")) throw new Error(`unknown option ${a} (see --help)`);
    else o.selected.push(a.toUpperCase());
  }
  if (Number.isNaN(o.reps)) o.reps = o.quick ? 1 : 5;
  return o;
}

function positiveInt(text: string, flag: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`${flag} expects a positive integer, got ${text}`);
  return v;
}

function selectWorkloads(selected: string[]): Workload[] {
  if (selected.length === 0) return [...WORKLOADS];
  const known = new Set(WORKLOADS.flatMap((w) => [w.id.toUpperCase(), w.group.toUpperCase()]));
  for (const s of selected) {
    if (!known.has(s)) throw new Error(`unknown workload ${s}; known: ${[...known].join(" ")}`);
  }
  return WORKLOADS.filter(
    (w) => selected.includes(w.id.toUpperCase()) || selected.includes(w.group.toUpperCase()),
  );
}

// ---- environment ----

interface Environment {
  date: string;
  commit: string;
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  nodeBinary: string;
  python: string | null;
  pythonVersion: string | null;
  uvloop: string | null;
  libraries: Record<string, string>;
  asyncioExports: Set<string>;
}

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8" });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}`.trim() };
}

function packageVersion(name: string): string {
  const file = join(ROOT, "node_modules", name, "package.json");
  return existsSync(file)
    ? (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version
    : "missing";
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

async function detectEnvironment(o: Options): Promise<Environment> {
  const dist = join(ROOT, "dist", "index.js");
  if (!existsSync(dist)) throw new Error("dist/ is missing: run `npm run build` first");
  if (newestMtime(join(ROOT, "src")) > statSync(dist).mtimeMs) {
    console.warn("warning: src/ is newer than dist/: run `npm run build` to bench the latest code");
  }
  const asyncioExports = new Set(Object.keys(await import("asyncio-ts")));
  const node = run(o.node, ["-p", "process.version"]);
  if (!node.ok) throw new Error(`cannot run Node at ${o.node}`);
  let python: string | null = null;
  let pythonVersion: string | null = null;
  let uvloop: string | null = null;
  if (o.python) {
    const venv = join(BENCH, ".venv", "bin", "python");
    for (const candidate of [venv, "python3"]) {
      const v = run(candidate, ["-c", "import sys; print(sys.version.split()[0])"]);
      if (v.ok) {
        python = candidate;
        pythonVersion = v.out;
        break;
      }
    }
    if (python !== null) {
      const u = run(python, ["-c", "import uvloop; print(uvloop.__version__)"]);
      if (u.ok) uvloop = u.out;
    }
  }
  const cpuInfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuInfo)?.[1] ?? cpus()[0]?.model ?? "unknown";
  const git = run("git", ["rev-parse", "--short", "HEAD"]);
  return {
    date: new Date().toISOString(),
    commit: process.env.BENCH_COMMIT ?? (git.ok ? git.out : "unknown"),
    cpu: model,
    cores: cpus().length,
    ramGiB: Math.round(totalmem() / 2 ** 30),
    node: node.out,
    nodeBinary: o.node,
    python,
    pythonVersion,
    uvloop,
    libraries: Object.fromEntries(
      ["effect", "effection", "p-limit", "p-queue", "tsx"].map((n) => [n, packageVersion(n)]),
    ),
    asyncioExports,
  };
}

/** Why a contender cannot run here, or null if it can. */
function skipReason(c: Contender, env: Environment, o: Options): string | null {
  if (o.contenders !== null && !o.contenders.has(c.id)) return "not selected (--contenders)";
  const missing = (c.requires ?? []).filter((name) => !env.asyncioExports.has(name));
  if (missing.length > 0) return `${missing.join(", ")} not available in asyncio-ts yet`;
  if (c.kind === "python") {
    if (!o.python) return "--no-python";
    if (env.python === null) return "no python3 found";
    if (c.loop === "uvloop" && env.uvloop === null) {
      return "uvloop not installed (python3 -m venv bench/.venv && bench/.venv/bin/pip install uvloop)";
    }
  }
  return null;
}

// ---- running the children ----

interface Sample {
  raw: Record<string, number>;
  value: number;
}

function runChild(
  w: Workload,
  c: Contender,
  n: number,
  env: Environment,
  o: Options,
): Sample | { error: string } {
  const warmN = Math.max(1, Math.floor(n / 10));
  const params = JSON.stringify(w.params ?? {});
  let cmd: string;
  let args: string[];
  if (c.kind === "js") {
    cmd = o.node;
    args = [...(w.nodeFlags ?? []), "--expose-gc", "--import", "tsx"];
    if (o.cpuProf) {
      const dir = join(BENCH, "results", "profiles");
      mkdirSync(dir, { recursive: true });
      args.push(
        "--cpu-prof",
        "--cpu-prof-dir",
        dir,
        "--cpu-prof-name",
        `${w.id}-${c.id}-${Date.now()}.cpuprofile`,
      );
    }
    args.push(join(BENCH, "child.ts"), c.file, String(n), String(warmN), params);
  } else {
    cmd = env.python!;
    args = [
      join(BENCH, "py", "harness.py"),
      c.file,
      c.loop ?? "asyncio",
      String(n),
      String(warmN),
      params,
    ];
  }
  const r = spawnSync(cmd, args, {
    cwd: ROOT,
    encoding: "utf8",
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = `${r.stdout ?? ""}`.split("\n").find((l) => l.startsWith("RESULT "));
  if (r.status !== 0 || line === undefined) {
    const why = r.error?.message ?? `${r.stderr ?? ""}`.trim().split("\n").slice(-6).join("\n");
    return { error: `exit ${r.status ?? r.signal}: ${why}` };
  }
  const raw = JSON.parse(line.slice("RESULT ".length)) as Record<string, number>;
  return { raw, value: w.metric.derive(raw, n) };
}

// ---- reporting ----

interface ContenderResult {
  id: string;
  label: string;
  note?: string;
  skipped?: string;
  errors: string[];
  values: number[];
  raws: Record<string, number>[];
  median?: number;
}

interface TargetResult {
  text: string;
  status: "met" | "missed" | "n/a";
  detail: string;
}

/** The results of one workload, as saved in bench/results/*.json (read by report.ts). */
export interface WorkloadResult {
  id: string;
  title: string;
  description: string;
  n: number;
  metric: string;
  better: string;
  contenders: ContenderResult[];
  targets: TargetResult[];
}

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 100_000) return `${(v / 1000).toFixed(0)}k`.replace(/\B(?=(\d{3})+k)/g, " ");
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a / b) || b === 0) return "–";
  const r = a / b;
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`;
}

function evaluate(t: Target, byId: Map<string, ContenderResult>): TargetResult {
  const s = byId.get(t.subject)?.median;
  const p = byId.get(t.peer)?.median;
  const peerLabel = byId.get(t.peer)?.label ?? t.peer;
  if (s === undefined || p === undefined) {
    const missing = s === undefined ? t.subject : peerLabel;
    return { text: t.text, status: "n/a", detail: `${missing} not measured in this run` };
  }
  const r = s / p;
  const met = t.op === ">=" ? r >= t.factor : r <= t.factor;
  const need = `needs ${t.op === ">=" ? "≥" : "≤"} ${t.factor}×`;
  let detail = `${t.subject} = ${r.toFixed(2)}× ${peerLabel} (${need})`;
  if (!met) {
    const gap = t.op === ">=" ? 1 - r / t.factor : r / t.factor - 1;
    detail += `, short by ${(gap * 100).toFixed(0)} %`;
  }
  return { text: t.text, status: met ? "met" : "missed", detail };
}

function table(r: WorkloadResult): string {
  const floor = r.contenders.find((c) => c.id === "floor")?.median;
  const ats = r.contenders.find((c) => c.id === "asyncio-ts")?.median;
  const lines = [
    `| contender | ${r.metric} (median) | min – max | spread | × floor | asyncio-ts ÷ this |`,
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const c of r.contenders) {
    if (c.skipped !== undefined) {
      lines.push(`| ${c.label} | skipped: ${c.skipped} | | | | |`);
      continue;
    }
    if (c.values.length === 0) {
      lines.push(`| ${c.label} | failed: ${c.errors[0]?.split("\n")[0] ?? "?"} | | | | |`);
      continue;
    }
    const [lo, hi] = range(c.values);
    const spread = relativeSpread(c.values);
    lines.push(
      `| ${c.label} | ${fmt(c.median)} | ${fmt(lo)} – ${fmt(hi)} | ${Number.isNaN(spread) ? "–" : `±${(spread * 100).toFixed(0)} %`} | ${ratio(c.median, floor)} | ${ratio(ats, c.median)} |`,
    );
  }
  return lines.join("\n");
}

function report(r: WorkloadResult): string {
  const out = [
    `### ${r.id}: ${r.title}`,
    "",
    `${r.description} N = ${r.n.toLocaleString("en-US")}; ${r.metric}, ${r.better} is better.`,
    "",
    table(r),
    "",
  ];
  for (const t of r.targets) {
    const mark = t.status === "met" ? "✅ met" : t.status === "missed" ? "❌ missed" : "➖ n/a";
    out.push(`- Target ${t.text}: **${mark}** — ${t.detail}`);
  }
  if (r.targets.length > 0) out.push("");
  return out.join("\n");
}

// ---- main ----

let stem: string | null = null;

/** Writes the results so far to bench/results/<date>-node<major>.json and .md; returns the stem. */
function save(env: Environment, o: Options, header: string[], results: WorkloadResult[]): string {
  const dir = join(BENCH, "results");
  mkdirSync(dir, { recursive: true });
  stem ??= `${env.date.replace(/[:.]/g, "-")}-node${env.node.replace(/^v/, "").split(".")[0]}`;
  const json = { env: { ...env, asyncioExports: [...env.asyncioExports] }, options: o, results };
  writeFileSync(
    join(dir, `${stem}.json`),
    JSON.stringify(json, (_k, v) => (v instanceof Set ? [...v] : v), 2),
  );
  const shown = results.filter((r) => r.contenders.some((c) => c.median !== undefined));
  const md = [header.join("  \n"), "", ...shown.map(report)].join("\n");
  writeFileSync(join(dir, `${stem}.md`), `${md}\n`);
  return `bench/results/${stem}`;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const workloads = selectWorkloads(o.selected);
  const env = await detectEnvironment(o);
  const header = [
    `Node ${env.node} (${env.nodeBinary}), Python ${env.pythonVersion ?? "–"}, uvloop ${env.uvloop ?? "–"}, ` +
      Object.entries(env.libraries)
        .map(([k, v]) => `${k} ${v}`)
        .join(", "),
    `${env.cpu}, ${env.cores} cores, ${env.ramGiB} GiB; ${o.reps} repetition(s)${o.quick ? ", --quick sizes" : ""}; commit ${env.commit}; ${env.date}`,
  ];
  console.log(header.join("\n"));
  const results: WorkloadResult[] = [];
  const skippedAll: string[] = [];
  for (const w of workloads) {
    const n = o.n ?? (o.quick ? w.quickN : w.n);
    const rows: ContenderResult[] = w.contenders.map((c) => {
      const row: ContenderResult = { id: c.id, label: c.label, errors: [], values: [], raws: [] };
      if (c.note !== undefined) row.note = c.note;
      const why = skipReason(c, env, o);
      if (why !== null) {
        row.skipped = why;
        if (!why.startsWith("not selected")) skippedAll.push(`${w.id} ${c.label}: ${why}`);
      }
      return row;
    });
    const subject = rows.find((r) => r.id === "asyncio-ts");
    if (subject?.skipped !== undefined) {
      console.log(`\n${w.id} ${w.title}: skipped: ${subject.skipped}`);
    } else {
      console.error(`\n${w.id} ${w.title}, N = ${n}`);
      for (let rep = 0; rep < o.reps; rep++) {
        for (const [i, c] of w.contenders.entries()) {
          const row = rows[i];
          if (row.skipped !== undefined) continue;
          const started = performance.now();
          const s = runChild(w, c, n, env, o);
          const took = `(process ${((performance.now() - started) / 1000).toFixed(1)} s)`;
          if ("error" in s) {
            row.errors.push(s.error);
            console.error(`  ${c.label} #${rep + 1}: FAILED ${took} ${s.error}`);
          } else {
            row.values.push(s.value);
            row.raws.push(s.raw);
            console.error(`  ${c.label} #${rep + 1}: ${fmt(s.value)} ${w.metric.label} ${took}`);
          }
        }
      }
    }
    for (const row of rows) if (row.values.length > 0) row.median = median(row.values);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const result: WorkloadResult = {
      id: w.id,
      title: w.title,
      description: w.description,
      n,
      metric: w.metric.label,
      better: w.metric.better,
      contenders: rows,
      targets: subject?.skipped !== undefined ? [] : w.targets.map((t) => evaluate(t, byId)),
    };
    results.push(result);
    if (subject?.skipped === undefined) console.log(`\n${report(result)}`);
    if (o.save) save(env, o, header, results); // after each workload: a long run keeps what it has
  }
  if (skippedAll.length > 0) {
    console.log(`\nSkipped:\n${skippedAll.map((s) => `- ${s}`).join("\n")}`);
  }
  const failed = results.flatMap((r) => r.contenders.filter((c) => c.errors.length > 0));
  if (o.save) console.log(`\nSaved ${save(env, o, header, results)} (.json and .md)`);
  if (failed.length > 0) process.exitCode = 1;
}

try {
  await main();
} catch (error) {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}

/**
 * Merges saved results (one `bench/results/*.json` per Node version) into the Markdown tables of
 * docs/performance.md: per workload, one row per contender with each run's median and ratios,
 * then each target's status per run.
 *
 * Usage: npx tsx bench/report.ts bench/results/<node20>.json… bench/results/<node24>.json…
 *
 * @module
 */
import { readFileSync } from "node:fs";
import type { WorkloadResult } from "./run.ts";

interface Saved {
  env: { node: string; date: string; commit: string };
  options: { reps: number };
  results: WorkloadResult[];
}

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1_000_000) return `${(v / 1_000_000).toFixed(2)} M`;
  if (a >= 100_000) return `${(v / 1000).toFixed(0)} k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0 || !Number.isFinite(a / b)) return "–";
  const r = a / b;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: tsx bench/report.ts <results.json>…");
  process.exit(2);
}
// Files of the same Node major are merged, workload by workload (a later file wins), so that a
// run of a few workloads can complete an earlier one.
const runs: Saved[] = [];
for (const f of files) {
  const saved = JSON.parse(readFileSync(f, "utf8")) as Saved;
  const major = saved.env.node.split(".")[0];
  const same = runs.find((r) => r.env.node.split(".")[0] === major);
  if (same === undefined) runs.push(saved);
  else {
    for (const w of saved.results) {
      const i = same.results.findIndex((x) => x.id === w.id);
      if (i >= 0) same.results[i] = w;
      else same.results.push(w);
    }
  }
}
const ids = [...new Set(runs.flatMap((r) => r.results.map((w) => w.id)))];
const heads = runs.map((r) => `Node ${r.env.node.split(".")[0].replace("v", "")}`);
const out: string[] = [];

// The summary: one row per target, its status on each run.
out.push(
  `| workload | target | ${heads.join(" | ")} |`,
  `| --- | --- |${heads.map(() => " --- |").join("")}`,
);
for (const id of ids) {
  const per = runs.map((r) => r.results.find((w) => w.id === id));
  const first = per.find((w) => w !== undefined)!;
  for (const [t, target] of first.targets.entries()) {
    const cells = per.map((w) => {
      const r = w?.targets[t];
      if (r === undefined) return "–";
      const mark = r.status === "met" ? "✅" : r.status === "missed" ? "❌" : "➖";
      const figure = /= ([\d.]+×)/.exec(r.detail)?.[1] ?? r.detail;
      return `${mark} ${figure}`;
    });
    out.push(`| ${first.id} ${first.title} | ${target.text} | ${cells.join(" | ")} |`);
  }
}
out.push("");
for (const id of ids) {
  const per = runs.map((r) => r.results.find((w) => w.id === id));
  const first = per.find((w) => w !== undefined)!;
  out.push(`### ${first.id}: ${first.title}`, "");
  out.push(
    `${first.description} N = ${first.n.toLocaleString("en-US")}; ${first.metric}, ${first.better} is better.`,
    "",
  );
  out.push(
    `| contender | ${heads.map((h) => `${h}: ${first.metric} | × floor | asyncio-ts ÷ this`).join(" | ")} |`,
    `| --- |${heads.map(() => " ---: | ---: | ---: |").join("")}`,
  );
  const notes: string[] = [];
  for (const c of first.contenders) {
    const cells: string[] = [];
    for (const w of per) {
      const row = w?.contenders.find((x) => x.id === c.id);
      const floor = w?.contenders.find((x) => x.id === "floor")?.median;
      const ats = w?.contenders.find((x) => x.id === "asyncio-ts")?.median;
      if (row === undefined) cells.push("–", "", "");
      else if (row.skipped !== undefined) cells.push(`skipped (${row.skipped})`, "", "");
      else if (row.median === undefined) cells.push("failed", "", "");
      else cells.push(fmt(row.median), ratio(row.median, floor), ratio(ats, row.median));
    }
    out.push(`| ${c.label} | ${cells.join(" | ")} |`);
    if (c.note !== undefined) notes.push(`${c.label}: ${c.note}`);
  }
  out.push("");
  for (const [i, w] of per.entries()) {
    for (const t of w?.targets ?? []) {
      const mark = t.status === "met" ? "✅ met" : t.status === "missed" ? "❌ missed" : "➖ n/a";
      out.push(`- ${heads[i]}, target ${t.text}: **${mark}** (${t.detail})`);
    }
  }
  if (notes.length > 0) out.push("", `<details><summary>How each contender does it</summary>`, "");
  for (const note of notes) out.push(`- ${note.replaceAll("|", "\\|")}`);
  if (notes.length > 0) out.push("", "</details>");
  out.push("");
}
console.log(out.join("\n"));

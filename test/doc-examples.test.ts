/**
 * The code in the documentation runs. Every ```ts block of README.md and docs/**\/*.md, and every
 * ```ts block inside a TSDoc `@example` in src/**\/*.ts, is written to a file under
 * `.doc-examples/<pid>/` (inside the repository, so `import … from "asyncio-ts"` resolves to the
 * built package), type-checked against the published types (dist/*.d.ts) in one `tsc` run, and
 * run with tsx as a child process, two at a time, with a hang guard. A snippet passes if it
 * type-checks, exits with code 0, and every `console.log(x); // value` line whose comment is a
 * literal value (a number, `true`, a quoted string, `[…]`, `{…}`, `<…>`) printed that value.
 *
 * Opting out, for the rare block that cannot run (it needs a server, shows a fragment…):
 * `<!-- not-runnable -->` on the line before the fence in Markdown, ```` ```ts not-runnable ````
 * in TSDoc. The conventions are stated in docs/guide.md for the authors of the pages.
 *
 * The same file checks that relative links in the documentation point at files that exist and
 * that the guide's index links every page of docs/guide/.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { assertBuilt, describeRun, ROOT, runNodeWithDist, runTs } from "./run-node.ts";

const SNIPPET_TIMEOUT_MS = 60_000;
const TYPECHECK_TIMEOUT_MS = 180_000;

/** One ```ts block found in the documentation. */
export interface Snippet {
  /** Repository-relative file the block comes from. */
  file: string;
  /** 1-based line, in that file, of the block's first code line. */
  line: number;
  code: string;
  runnable: boolean;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)\s*(.*)$/;
const TS_LANGS = new Set(["ts", "typescript"]);

/**
 * The ```ts blocks of a Markdown text. A block preceded (blank lines aside) by
 * `<!-- not-runnable -->`, or with `not-runnable` in its info string, is not runnable.
 */
export function extractMarkdown(text: string, file: string): Snippet[] {
  const lines = text.split("\n");
  const snippets: Snippet[] = [];
  let lastNonBlank = "";
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (open === null) {
      if (lines[i].trim() !== "") lastNonBlank = lines[i].trim();
      continue;
    }
    const [, indent, fence, lang, info] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const trimmed = lines[j].trim();
      if (trimmed.startsWith(fence) && /^[`~]+$/.test(trimmed) && trimmed.length >= fence.length) {
        break;
      }
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
    }
    if (TS_LANGS.has(lang)) {
      const runnable = lastNonBlank !== "<!-- not-runnable -->" && !/\bnot-runnable\b/.test(info);
      snippets.push({ file, line: i + 2, code: `${body.join("\n")}\n`, runnable });
    }
    lastNonBlank = "";
    i = j;
  }
  return snippets;
}

/** The ```ts blocks inside the `@example` sections of the TSDoc comments of a source file. */
export function extractTsdoc(text: string, file: string): Snippet[] {
  const snippets: Snippet[] = [];
  for (const match of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    const firstLine = text.slice(0, match.index).split("\n").length;
    const lines = match[1].split("\n").map((line) => line.replace(/^\s*\* ?/, ""));
    let inExample = false;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (/^@\w+/.test(line)) {
        inExample = line.startsWith("@example");
        continue;
      }
      const open = FENCE.exec(line);
      if (open === null) continue;
      const [, indent, fence, lang, info] = open;
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        const trimmed = lines[j].trim();
        if (trimmed.startsWith(fence) && /^[`~]+$/.test(trimmed)) break;
        body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
      }
      if (inExample && TS_LANGS.has(lang)) {
        snippets.push({
          file,
          line: firstLine + i + 1,
          code: `${body.join("\n")}\n`,
          runnable: !/\bnot-runnable\b/.test(info),
        });
      }
      i = j;
    }
  }
  return snippets;
}

const VALUE_COMMENT =
  /^(?:-?\d[\d_.e+-]*n?|true|false|null|undefined|NaN|-?Infinity|"[^"]*"|'[^']*'|\[.*\]|\{.*\}|<.*>)$/;

/** The values promised by `console.log(x); // value` lines, as console.log would print them. */
export function expectedOutputs(code: string): string[] {
  const values: string[] = [];
  for (const line of code.split("\n")) {
    const match = /^\s*console\.log\(.*\)\s*;?\s*\/\/\s*(.+?)\s*$/.exec(line);
    if (match === null || !VALUE_COMMENT.test(match[1])) continue;
    const value = match[1];
    // console.log prints a string without its quotes.
    values.push(/^(["']).*\1$/.test(value) ? value.slice(1, -1) : value);
  }
  return values;
}

/** Quote style does not matter, nor do runs of whitespace. */
function normalize(text: string): string {
  return text.replace(/\s+/g, " ").trim().replace(/'/g, '"');
}

/**
 * Whether a printed line shows the promised value: the whole line (spacing aside, so `[1, 2]`
 * matches `[ 1, 2 ]`), or its end after a space, for `console.log("label:", value); // value`.
 */
function shows(line: string, value: string): boolean {
  const l = normalize(line);
  const v = normalize(value);
  return l.replace(/ /g, "") === v.replace(/ /g, "") || l.endsWith(` ${v}`);
}

/** The promised values that no line of `stdout` printed (each line matches at most once). */
export function missingOutputs(stdout: string, expected: string[]): string[] {
  const lines = stdout.split("\n");
  const used = new Set<number>();
  const missing: string[] = [];
  for (const value of expected) {
    const at = lines.findIndex((line, i) => !used.has(i) && shows(line, value));
    if (at < 0) missing.push(value);
    else used.add(at);
  }
  return missing;
}

function walk(dir: string, keep: (path: string) => boolean, skip: Set<string>): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skip.has(relative(ROOT, path))) out.push(...walk(path, keep, skip));
    } else if (keep(path)) out.push(path);
  }
  return out.sort();
}

/** README.md and the Markdown under docs/ (the generated API reference aside). */
function markdownFiles(): string[] {
  return [
    join(ROOT, "README.md"),
    ...walk(join(ROOT, "docs"), (p) => p.endsWith(".md"), new Set(["docs/api"])),
  ];
}

function collectSnippets(): Snippet[] {
  const snippets: Snippet[] = [];
  for (const path of markdownFiles()) {
    snippets.push(...extractMarkdown(readFileSync(path, "utf8"), relative(ROOT, path)));
  }
  for (const path of walk(join(ROOT, "src"), (p) => p.endsWith(".ts"), new Set())) {
    snippets.push(...extractTsdoc(readFileSync(path, "utf8"), relative(ROOT, path)));
  }
  return snippets;
}

const snippets = collectSnippets();
const runnable = snippets.filter((s) => s.runnable);
const workDir = join(ROOT, ".doc-examples", String(process.pid));
const fileOf = new Map<Snippet, string>();
const snippetOf = new Map<string, Snippet>();
for (const s of runnable) {
  const name = `${s.file.replace(/[^\w]+/g, "_")}_L${s.line}.ts`;
  fileOf.set(s, join(workDir, name));
  snippetOf.set(name, s);
}
let failures = 0;

/** Removes the snippet directories that earlier, failed runs left behind (their pid is gone). */
function removeStaleWorkDirs(): void {
  const parent = dirname(workDir);
  if (!existsSync(parent)) return;
  for (const name of readdirSync(parent)) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0); // still running (another test run in this tree): leave it alone
    } catch (error) {
      // ESRCH: no such process, so nobody uses the directory any more.
      if ((error as NodeJS.ErrnoException).code === "ESRCH") {
        rmSync(join(parent, name), { recursive: true, force: true });
      }
    }
  }
}

function where(s: Snippet): string {
  return `${s.file}:${s.line}`;
}

function numbered(code: string): string {
  return code
    .trimEnd()
    .split("\n")
    .map((line, i) => `${String(i + 1).padStart(3)} | ${line}`)
    .join("\n");
}

describe("the documentation's snippet extractor", () => {
  it("finds ts blocks in Markdown and honours <!-- not-runnable -->", () => {
    const md = [
      "# T", // 1
      "```ts", // 2
      "console.log(1); // 1", // 3
      "```", // 4
      "<!-- not-runnable -->", // 5
      "", // 6
      "```ts", // 7
      "fragment()", // 8
      "```", // 9
      "```sh", // 10
      "npm test", // 11
      "```", // 12
      "  ```typescript", // 13
      "  const x = 1;", // 14
      "  ```", // 15
    ].join("\n");
    assert.deepEqual(extractMarkdown(md, "x.md"), [
      { file: "x.md", line: 3, code: "console.log(1); // 1\n", runnable: true },
      { file: "x.md", line: 8, code: "fragment()\n", runnable: false },
      { file: "x.md", line: 14, code: "const x = 1;\n", runnable: true },
    ]);
  });

  it("finds ts blocks only inside TSDoc @example sections", () => {
    const src = [
      "/**", // 1
      " * Summary.", // 2
      " * ```ts", // 3
      " * notAnExample();", // 4
      " * ```", // 5
      " * @example", // 6
      " * ```ts", // 7
      " * run(main);", // 8
      " * ```", // 9
      " * @example", // 10
      " * ```ts not-runnable", // 11
      " * fragment();", // 12
      " * ```", // 13
      " */", // 14
    ].join("\n");
    assert.deepEqual(extractTsdoc(src, "a.ts"), [
      { file: "a.ts", line: 8, code: "run(main);\n", runnable: true },
      { file: "a.ts", line: 12, code: "fragment();\n", runnable: false },
    ]);
  });

  it("reads promised values from console.log comments and ignores prose", () => {
    const code = [
      'console.log(v); // "done"',
      "console.log(n); // 42",
      "console.log(xs); // [1, 2]",
      "console.log(task); // <Task pending name='a'>",
      "console.log(message); // prints the message",
      "await t2; // 2 s",
    ].join("\n");
    const expected = expectedOutputs(code);
    assert.deepEqual(expected, ["done", "42", "[1, 2]", "<Task pending name='a'>"]);
    assert.deepEqual(missingOutputs("done\n42\n[ 1, 2 ]\n<Task pending name='a'>\n", expected), []);
    assert.deepEqual(missingOutputs("done\n43\n", ["done", "42"]), ["42"]);
    assert.deepEqual(missingOutputs("peak concurrency: 2\n", ["2"]), []);
    assert.deepEqual(missingOutputs("12\n", ["2"]), ["2"]);
  });

  it("finds the documentation's snippets", () => {
    assert.ok(runnable.length >= 10, `only ${runnable.length} runnable snippets found`);
    for (const file of ["README.md", "docs/guide/getting-started.md"]) {
      assert.ok(
        runnable.some((s) => s.file === file),
        `no runnable ts block found in ${file}`,
      );
    }
  });
});

describe("every ts block in the documentation", { concurrency: 2 }, () => {
  before(async () => {
    await assertBuilt();
    removeStaleWorkDirs();
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(workDir, { recursive: true });
    for (const s of runnable) writeFileSync(fileOf.get(s)!, s.code);
    // Snippets are type-checked as the user would see them: strict, against dist/*.d.ts.
    writeFileSync(
      join(workDir, "tsconfig.json"),
      JSON.stringify({
        extends: relative(workDir, join(ROOT, "tsconfig.json")),
        compilerOptions: { noEmit: true },
        include: ["*.ts"],
      }),
    );
  });

  after(() => {
    // Kept when something failed, to rerun a snippet by hand (biome and git ignore the dir).
    if (failures === 0) rmSync(workDir, { recursive: true, force: true });
  });

  it("type-checks against the published types", { timeout: TYPECHECK_TIMEOUT_MS }, async () => {
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const result = await runNodeWithDist(
      [tsc, "-p", relative(ROOT, join(workDir, "tsconfig.json"))],
      TYPECHECK_TIMEOUT_MS,
    );
    if (result.code === 0) return;
    failures++;
    // Map `.doc-examples/<pid>/<name>.ts(line,col): error …` back to the documentation.
    const report = result.stdout
      .split("\n")
      .map((line) => {
        const m = /([^/\\]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line);
        const s = m ? snippetOf.get(m[1]) : undefined;
        return s && m ? `${s.file}:${s.line + Number(m[2]) - 1}:${m[3]}: ${m[4]}` : line;
      })
      .join("\n");
    assert.fail(`type errors in documentation snippets:\n${report}${result.stderr}`);
  });

  for (const s of runnable) {
    it(`the block at ${where(s)} runs`, { timeout: 2 * SNIPPET_TIMEOUT_MS }, async () => {
      const file = fileOf.get(s)!;
      const result = await runTs(relative(ROOT, file), SNIPPET_TIMEOUT_MS);
      const ok = result.code === 0 && !result.timedOut;
      const missing = ok ? missingOutputs(result.stdout, expectedOutputs(s.code)) : [];
      if (ok && missing.length === 0) return;
      failures++;
      const why = ok ? `did not print ${missing.map((v) => JSON.stringify(v)).join(", ")}` : "";
      assert.fail(
        `${describeRun(`the block at ${where(s)} (${relative(ROOT, file)})`, result)}\n${why}\n` +
          `--- code ---\n${numbered(s.code)}`,
      );
    });
  }
});

/** `text` with fenced code blocks and inline code blanked out, so only prose links remain. */
function proseOf(text: string): string {
  let inFence = false;
  return text
    .split("\n")
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        inFence = !inFence;
        return "";
      }
      return inFence ? "" : line.replace(/`[^`]*`/g, "");
    })
    .join("\n");
}

describe("documentation links", () => {
  it("point at files that exist", () => {
    const broken: string[] = [];
    for (const path of markdownFiles()) {
      const text = proseOf(readFileSync(path, "utf8"));
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1].split("#")[0];
        if (target === "" || /^[a-z][\w+.-]*:/i.test(target)) continue; // anchor or URL
        if (!existsSync(join(dirname(path), target))) {
          broken.push(`${relative(ROOT, path)}: ${m[1]}`);
        }
      }
    }
    assert.deepEqual(broken, [], "broken relative links");
  });

  it("from the guide's index reach every page of docs/guide/", () => {
    const index = readFileSync(join(ROOT, "docs", "guide.md"), "utf8");
    const pages = readdirSync(join(ROOT, "docs", "guide")).filter((n) => n.endsWith(".md"));
    const unlinked = pages.filter((page) => !index.includes(`](guide/${page})`));
    assert.deepEqual(unlinked, [], "pages of docs/guide/ missing from docs/guide.md");
  });
});

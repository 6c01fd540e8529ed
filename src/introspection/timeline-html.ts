/**
 * Export of a trace to one self-contained HTML page: the data as inline JSON, the drawing code
 * as inline JavaScript and CSS, nothing fetched from the network (the page works offline and
 * from a file:// URL). A row per task, a bar per segment (scheduled, runnable, waiting), red
 * marks for cancellation requests, details on hover, a zoom slider and a name filter.
 *
 * The JSON sits in a `<script type="application/json">` element with every `<` escaped as
 * `\u003c`, so no task name or wait description can close the element or inject markup.
 *
 * @module
 */
import { checkKnownOptions, checkOptions, typeError } from "../internal/validate.ts";
import type { TracedTask } from "./trace.ts";

/** Options of `Trace.toHTML()`. */
export interface TimelineOptions {
  /** The page's title. Default: `"asyncio-ts timeline"`. */
  title?: string;
}

/** Builds the page. @internal */
export function toTimelineHTML(
  tasks: readonly TracedTask[],
  ends: ReadonlyMap<number, number>,
  clock: "loop" | "wall",
  options?: TimelineOptions,
): string {
  checkOptions("options", options);
  checkKnownOptions("options", options, new Set(["title"]));
  const title = options?.title ?? "asyncio-ts timeline";
  if (typeof title !== "string") throw typeError("options.title", "a string", title);
  const data = { title, clock, ends: Object.fromEntries(ends), tasks };
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
  <h1>${escapeHtml(title)}</h1>
  <p id="summary"></p>
  <div class="controls">
    <label>zoom <input id="zoom" type="range" min="1" max="50" value="1"></label>
    <label>filter <input id="filter" type="search" placeholder="task name"></label>
    <span class="legend"><i class="scheduled"></i>scheduled <i class="runnable"></i>runnable
    <i class="waiting"></i>waiting <i class="cancel"></i>cancel requested</span>
  </div>
</header>
<main id="timeline"></main>
<script type="application/json" id="asyncio-ts-trace">${json}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

const CSS = `
body { font: 13px system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { padding: 8px 16px; border-bottom: 1px solid #ddd; background: #fff; position: sticky; top: 0; z-index: 2; }
h1 { font-size: 16px; margin: 0 0 4px; }
#summary { margin: 0 0 6px; color: #555; }
.controls { display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
.legend i { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 10px; vertical-align: middle; }
#timeline { display: flex; }
.label { padding: 0 8px; height: 22px; line-height: 22px; white-space: nowrap; border-bottom: 1px solid #eee; background: #fff; }
.label .outcome { color: #888; margin-left: 6px; }
.scroll { overflow-x: auto; flex: 1; }
.tracks { position: relative; min-width: 100%; }
.axis { height: 22px; position: relative; border-bottom: 1px solid #ccc; }
.tick { position: absolute; top: 0; height: 100%; border-left: 1px solid #ccc; padding-left: 3px; color: #666; font-size: 11px; line-height: 22px; }
.row { height: 22px; position: relative; border-bottom: 1px solid #eee; }
.seg { position: absolute; top: 4px; height: 14px; min-width: 1px; box-sizing: border-box; }
.scheduled { background: #c8c8c8; }
.runnable { background: #4caf50; }
.waiting { background: #5c8fd6; }
.cancel { background: #e53935; }
.mark { position: absolute; top: 1px; width: 2px; height: 20px; background: #e53935; }
.hidden { display: none; }
`;

// Plain browser JavaScript (no modules, no network): reads the JSON, draws the rows.
const SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById("asyncio-ts-trace").textContent);
  var tasks = data.tasks;
  var t0 = Infinity, t1 = -Infinity;
  tasks.forEach(function (t) {
    var end = t.ended !== null ? t.ended : data.ends[t.loop];
    if (end === undefined) end = t.created;
    t._end = end;
    t0 = Math.min(t0, t.created);
    t1 = Math.max(t1, end);
  });
  if (!isFinite(t0)) { t0 = 0; t1 = 1; }
  var span = Math.max(t1 - t0, 1e-9);
  var ms = function (v) { return (Math.round(v * 1000) / 1000) + " ms"; };
  document.getElementById("summary").textContent =
    tasks.length + " tasks, " + ms(t1 - t0) + " from " + ms(t0) + " (" + data.clock + " clock)";
  var root = document.getElementById("timeline");
  var labels = document.createElement("div");
  var scroll = document.createElement("div");
  scroll.className = "scroll";
  var inner = document.createElement("div");
  inner.className = "tracks";
  scroll.appendChild(inner);
  var axisLabel = document.createElement("div");
  axisLabel.className = "label";
  axisLabel.textContent = "task";
  labels.appendChild(axisLabel);
  var axis = document.createElement("div");
  axis.className = "axis";
  inner.appendChild(axis);
  for (var i = 0; i <= 10; i++) {
    var tick = document.createElement("div");
    tick.className = "tick";
    tick.style.left = (i * 10) + "%";
    tick.textContent = ms(t0 + span * i / 10);
    axis.appendChild(tick);
  }
  var pct = function (v) { return ((v - t0) / span * 100) + "%"; };
  var rows = [];
  tasks.forEach(function (t) {
    var label = document.createElement("div");
    label.className = "label";
    label.textContent = t.name + " [" + t.id + "]";
    var outcome = document.createElement("span");
    outcome.className = "outcome";
    outcome.textContent = t.outcome + (data.ends && Object.keys(data.ends).length > 1 ? " · loop " + t.loop : "");
    label.appendChild(outcome);
    labels.appendChild(label);
    var row = document.createElement("div");
    row.className = "row";
    t.segments.forEach(function (s) {
      var end = s.end !== null ? s.end : t._end;
      var bar = document.createElement("div");
      bar.className = "seg " + s.kind;
      bar.style.left = pct(s.start);
      bar.style.width = ((end - s.start) / span * 100) + "%";
      bar.title = (s.kind === "waiting" ? "waiting on " + s.on : s.kind) +
        "\\n" + ms(s.start) + " → " + ms(end) + " (" + ms(end - s.start) + ")";
      row.appendChild(bar);
    });
    t.cancels.forEach(function (c) {
      var mark = document.createElement("div");
      mark.className = "mark";
      mark.style.left = pct(c.time);
      mark.title = "cancel requested at " + ms(c.time) + "\\n" + c.description;
      row.appendChild(mark);
    });
    row.title = t.name + " [" + t.id + "]" + (t.creator !== null ? ", created by task " + t.creator : "");
    inner.appendChild(row);
    rows.push({ task: t, label: label, row: row });
  });
  root.appendChild(labels);
  root.appendChild(scroll);
  document.getElementById("zoom").addEventListener("input", function (e) {
    inner.style.width = (Number(e.target.value) * 100) + "%";
  });
  document.getElementById("filter").addEventListener("input", function (e) {
    var q = e.target.value.toLowerCase();
    rows.forEach(function (r) {
      var hide = q !== "" && r.task.name.toLowerCase().indexOf(q) < 0;
      r.label.classList.toggle("hidden", hide);
      r.row.classList.toggle("hidden", hide);
    });
  });
})();
`;

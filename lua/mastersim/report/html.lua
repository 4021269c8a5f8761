--- The self-contained HTML report of a compare or sweep document: inline
-- CSS and SVG, no JavaScript, no network. Deterministic: the same document
-- gives the same bytes.
local charts = require "mastersim.report.charts"
local metrics = require "mastersim.metrics"
local summary = require "mastersim.report.summary"
local svg = require "mastersim.report.svg"
local sweepchart = require "mastersim.report.sweepchart"

local M = {}
local esc = svg.esc

local CSS = [[
:root { --fg: #1d2329; --muted: #5f6b76; --line: #e1e5ea; --bg: #f5f6f8; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 24px 48px; }
.scroll { overflow-x: auto; }
header h1 { font-size: 24px; margin: 0 0 4px; font-weight: 650; letter-spacing: -0.01em; }
header h1 .kind { color: var(--muted); font-weight: 500; }
.meta { color: var(--muted); margin: 0 0 14px; }
.meta b { color: var(--fg); font-weight: 600; }
.chips { display: flex; flex-wrap: wrap; gap: 8px; margin: 0 0 22px; padding: 0; list-style: none; }
.chips li { background: #fff; border: 1px solid var(--line); border-radius: 999px; padding: 3px 12px 3px 8px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.chips .mode { color: var(--muted); font-size: 12px; margin-left: 4px; }
section.card { background: #fff; border: 1px solid var(--line); border-radius: 10px;
  padding: 18px 22px 14px; margin: 0 0 20px; box-shadow: 0 1px 2px rgba(16, 24, 40, 0.04); }
section.card h2 { font-size: 16px; margin: 0 0 2px; font-weight: 650; }
.note { color: var(--muted); font-size: 12.5px; margin: 0 0 10px; }
svg { display: block; width: 100%; height: auto; font-family: inherit; }
table.summary { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
table.summary th, table.summary td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: right; }
table.summary.many { font-size: 12.5px; }
table.summary.many th, table.summary.many td { padding: 5px 5px; }
table.summary th:first-child, table.summary td:first-child { text-align: left; }
table.summary thead th { font-weight: 600; border-bottom: 2px solid #cfd6dd; vertical-align: bottom; }
table.summary thead th small { display: block; color: var(--muted); font-weight: 400; }
table.summary tr.group td { background: #f7f8fa; color: var(--muted); font-size: 12px; font-weight: 600;
  text-transform: uppercase; letter-spacing: 0.04em; text-align: left; }
td .v { white-space: nowrap; }
td .d { font-size: 12px; white-space: nowrap; color: var(--muted); }
td .d.better { color: #1d7a36; font-weight: 600; }
td .d.worse { color: #b42318; font-weight: 600; }
td .unit { color: var(--muted); font-size: 12px; }
details { margin-top: 6px; }
details summary { cursor: pointer; color: var(--muted); }
table.runs { border-collapse: collapse; font-size: 12.5px; margin-top: 8px; font-variant-numeric: tabular-nums; }
table.runs th, table.runs td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: left; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0 20px; }
.grid section.card { padding: 14px 16px 8px; }
footer { color: var(--muted); font-size: 12px; margin-top: 26px; }
]]

-- A tag with text content (escaped) and optional class.
local function tag(name, text, class)
  return ("<%s%s>%s</%s>"):format(name, class and (' class="%s"'):format(class) or "", text, name)
end

--- The page around `body` (a list of HTML strings).
local function page(title, body)
  return table.concat({
    "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>" .. esc(title) .. "</title>", "<style>", CSS, "</style>", "</head>", "<body>", "<main>",
    table.concat(body, "\n"), "</main>", "</body>", "</html>", "",
  }, "\n")
end

-- A card section: heading, note, content.
local function card(title, note, content, id)
  return table.concat({ ('<section class="card"%s>'):format(id and (' id="%s"'):format(id) or ""),
    tag("h2", esc(title)), note and tag("p", esc(note), "note") or "", content, "</section>" }, "\n")
end

-- The class of a paired difference: better, worse or not significant.
local function delta_class(m, d)
  if not summary.significant(d) then return "d" end
  return (d.mean > 0) == m.higher_better and "d better" or "d worse"
end

--- The summary table: one row per metric (grouped), one column per policy;
-- each cell the mean ±95% CI and, below it, the paired Δ vs the baseline.
function M.summary_table(s)
  local many = #s.policies > 5
  local out = { '<div class="scroll">', ('<table class="summary%s">'):format(many and " many" or ""),
                "<thead><tr><th>metric</th>" }
  for i, p in ipairs(s.policies) do
    out[#out + 1] = ('<th><span class="swatch" style="background:%s"></span>%s<small>%s</small></th>')
      :format(svg.color(i), esc(p.policy), p.policy == s.baseline and "baseline" or ("Δ vs " .. esc(s.baseline)))
  end
  out[#out + 1] = "</tr></thead><tbody>"
  local group
  for _, m in ipairs(s.metrics) do
    if m.group ~= group then
      group = m.group
      out[#out + 1] = ('<tr class="group"><td colspan="%d">%s</td></tr>')
        :format(#s.policies + 1, esc(metrics.groups[group] or group))
    end
    local row = { "<tr><td>" .. esc(m.label) .. (m.higher_better and ' <span class="unit">↑</span>'
      or ' <span class="unit">↓</span>') .. "</td>" }
    for _, p in ipairs(s.policies) do
      local v, d = p.metrics[m.name], p.delta and p.delta[m.name]
      local cell = tag("div", esc(metrics.format(m.unit, v.mean, v.ci95)), "v")
      if d then cell = cell .. tag("div", esc(metrics.format(m.unit, d.mean, d.ci95, true)), delta_class(m, d)) end
      row[#row + 1] = "<td>" .. cell .. "</td>"
    end
    out[#out + 1] = table.concat(row) .. "</tr>"
  end
  out[#out + 1] = "</tbody></table></div>"
  return table.concat(out, "\n")
end

-- The policy chips: colour, name, snapshot mode and params.
local function chips(doc)
  local out = { '<ul class="chips">' }
  for i, p in ipairs(doc.policies) do
    local run = charts.runs(doc, p)[1] or {}
    local params = {}
    for k, v in pairs(run.params or {}) do params[#params + 1] = ("%s=%s"):format(k, tostring(v)) end
    table.sort(params)
    local extra = (run.snapshot_mode or "") .. (#params > 0 and (" · " .. table.concat(params, ", ")) or "")
    out[#out + 1] = ('<li><span class="swatch" style="background:%s"></span><b>%s</b><span class="mode">%s</span></li>')
      :format(svg.color(i), esc(p), esc(extra))
  end
  out[#out + 1] = "</ul>"
  return table.concat(out, "\n")
end

-- The header: title, one meta line and the policy chips.
local function header(doc, kind)
  local seeds = doc.seeds or {}
  local meta = ("sim <b>%s</b> · build <b>%s</b> · seeds <b>%s</b> (%d) · baseline <b>%s</b> · %d runs")
    :format(esc(doc.sim_file or "?"), esc(doc.build or "?"), esc(summary.seed_ranges(seeds)), #seeds,
      esc(doc.baseline or "?"), #(doc.results or {}))
  return table.concat({ "<header>",
    ('<h1><span class="kind">mastersim %s ·</span> %s</h1>'):format(kind, esc(doc.scenario or "?")),
    tag("p", meta, "meta"), chips(doc), "</header>" }, "\n")
end

-- A collapsible list of runs: policy, seed, status, events, digest.
local function runs_table(doc)
  local out = { "<details><summary>Runs and digests</summary>", '<table class="runs">',
    "<tr><th>policy</th><th>seed</th><th>status</th><th>virtual s</th><th>events</th><th>digest</th></tr>" }
  for _, p in ipairs(doc.policies) do
    for _, r in ipairs(charts.runs(doc, p)) do
      out[#out + 1] = ("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td><code>%s</code></td></tr>")
        :format(esc(p), esc(r.seed), esc(r.status or ""), esc(r.virtual_s or ""), esc(r.events or ""),
          esc(r.digest or ""))
    end
  end
  out[#out + 1] = "</table></details>"
  return table.concat(out, "\n")
end

local FOOTER = "<footer>Generated by mastersim. Means and 95% confidence intervals over seeds (Student's t);"
  .. " Δ = paired difference against the baseline on the same seeds (common random numbers),"
  .. " coloured when its 95% CI excludes 0 (green better, red worse).</footer>"

--- The report of a compare document.
function M.compare(doc)
  local s = doc.summary or summary.aggregate(doc.results, { policies = doc.policies, baseline = doc.baseline })
  local first = charts.runs(doc, doc.policies[1])[1] or {}
  local body = {
    header(doc, "compare"),
    card("Summary", ("Mean ±95%% CI over %d seeds; below each value the paired Δ against %s."
      .. " ↑ higher is better, ↓ lower is better."):format(#s.seeds, tostring(s.baseline)),
      M.summary_table(s) .. "\n" .. runs_table(doc), "summary"),
    card("Read latency distribution", "All reads, histograms merged over seeds. The y axis is on a"
      .. " nines scale (90%, 99%, 99.9% equally spaced) so the tail is visible.", charts.latency_cdf(doc), "latency"),
    card("Outcomes over time", "Per policy, all seeds summed. Grey bands: snapshot apply windows;"
      .. " the bar above each panel darkens where more seeds were applying.", charts.timeline(doc), "timeline"),
    card("Outcome mix", "Reads whose final outcome was not fresh, as a share of all logical reads"
      .. " (all seeds).", charts.outcome_mix(doc), "outcome-mix"),
    card("Staleness", "Time behind the leader of the reads served stale, merged over seeds.",
      charts.staleness(doc), "staleness"),
    card("Node phases", ("One run: policy %s, seed %s."):format(tostring(doc.policies[1]),
      tostring(first.seed)), charts.phases(doc), "phases"),
    FOOTER,
  }
  return page(("mastersim compare · %s"):format(tostring(doc.scenario)), body)
end

--- The report of a sweep document: one chart per metric against the
-- varied parameter, one line per policy with 95% CI error bars.
function M.sweep(doc)
  local body = { header(doc, "sweep"), '<div class="grid">' }
  for _, m in ipairs(metrics.list) do
    body[#body + 1] = card(m.label, ("%s; mean ±95%% CI over %d seeds."):format(
      metrics.groups[m.group] or m.group, #(doc.seeds or {})), sweepchart.render(doc, m))
  end
  body[#body + 1] = "</div>"
  body[#body + 1] = FOOTER
  return page(("mastersim sweep · %s"):format(tostring(doc.scenario)), body)
end

--- The report of a compare or sweep document (by its schema).
function M.render(doc)
  if doc.schema == "mastersim.sweep/1" then return M.sweep(doc) end
  return M.compare(doc)
end

return M

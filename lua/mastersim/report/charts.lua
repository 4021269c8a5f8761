--- The charts of the HTML report, each a function of a compare (or sweep)
-- document returning one <svg> string. Every chart carries
-- data-chart="<kind>", and every series a group with data-series (a policy)
-- or data-lane (a node) and data-points (how many points it draws), so a
-- spec can check what a chart holds.
local svg = require "mastersim.report.svg"
local metrics = require "mastersim.metrics"

local M = {}

local W = 1000
local dig = metrics.dig

--- The results of `policy` in a document, in seed order.
function M.runs(doc, policy)
  local out = {}
  for _, r in ipairs(doc.results or {}) do
    if r.policy == policy then out[#out + 1] = r end
  end
  table.sort(out, function(a, b) return a.seed < b.seed end)
  return out
end

--- Histogram buckets at `path` merged over runs: a sorted list of
-- {lo, hi, count} and the total count.
function M.merge_buckets(runs, ...)
  local by, keys, total = {}, {}, 0
  for _, r in ipairs(runs) do
    for _, b in ipairs(dig(r, ...) or {}) do
      local k = ("%.17g|%.17g"):format(b.lo, b.hi)
      if not by[k] then
        by[k] = { lo = b.lo, hi = b.hi, count = 0 }
        keys[#keys + 1] = k
      end
      by[k].count = by[k].count + b.count
      total = total + b.count
    end
  end
  local out = {}
  for i, k in ipairs(keys) do out[i] = by[k] end
  table.sort(out, function(a, b) return a.lo < b.lo or (a.lo == b.lo and a.hi < b.hi) end)
  return out, total
end

-- The cumulative points {x, f = fraction <= x} of buckets: flat across
-- gaps between non-empty buckets, rising within each bucket. x never
-- decreases (buckets merged from runs, or coarsened, may overlap).
local function cdf(buckets, total)
  local pts, cum = {}, 0
  if total == 0 then return pts end
  for _, b in ipairs(buckets) do
    if #pts == 0 or b.lo > pts[#pts].x then pts[#pts + 1] = { x = b.lo, f = cum / total } end
    cum = cum + b.count
    pts[#pts + 1] = { x = math.max(b.hi, pts[#pts].x), f = cum / total }
  end
  return pts
end

-- The x extent of every series' points; nil when there are none.
local function extent(series)
  local lo, hi
  for _, s in ipairs(series) do
    for _, p in ipairs(s.points) do
      lo, hi = math.min(lo or p.x, p.x), math.max(hi or p.x, p.x)
    end
  end
  return lo, hi
end

-- Per-policy CDF series of the histogram at `path` (a list of keys).
local function cdf_series(doc, path)
  local series = {}
  for i, p in ipairs(doc.policies) do
    local b, total = M.merge_buckets(M.runs(doc, p), table.unpack(path))
    series[i] = { policy = p, color = svg.color(i), points = cdf(b, total), total = total }
  end
  return series
end

-- A CDF chart over a log time axis. opts: kind, nines (y on a "nines"
-- scale: 90%, 99%, 99.9% equally spaced), xlabel, empty (the legend note of
-- an empty series), noun (legend counts: "block (87 stale reads)").
local function cdf_chart(series, opts)
  local items = {}
  for i, s in ipairs(series) do
    local note = s.total == 0 and (" (" .. opts.empty .. ")")
      or opts.noun and (" (%d %s)"):format(s.total, opts.noun) or ""
    items[i] = { label = s.policy .. note, color = s.color, kind = "line" }
  end
  local legend, lh = svg.legend(80, 18, items, W - 110)
  local a = { x = 80, y = 28 + lh, w = W - 110, h = 300 }
  local lo, hi = extent(series)
  lo, hi = lo or 1e-4, hi or 1
  local xt, d0, d1 = svg.log_ticks(lo, hi)
  local X = svg.log(d0, d1, a.x, a.x + a.w)
  local top = 1
  if opts.nines then
    for _, s in ipairs(series) do
      if s.total > 0 then top = math.max(top, math.ceil(math.log(s.total, 10) - 1e-9)) end
    end
    top = math.min(top, 5)
  end
  local Y = svg.linear(0, top, a.y + a.h, a.y)
  local function yval(f)
    if not opts.nines then return f end
    return f >= 1 and top or math.min(top, -math.log(1 - f, 10))
  end
  local xticks, yticks = {}, {}
  for i, t in ipairs(xt) do xticks[i] = { X(t), svg.fmt_time(t) } end
  if opts.nines then
    for k = 0, top do
      yticks[#yticks + 1] = { Y(k), ("%." .. math.max(0, k - 2) .. "f%%"):format(100 * (1 - 10 ^ -k)) }
    end
  else
    for k = 0, 4 do yticks[#yticks + 1] = { Y(k / 4), svg.fmt_pct(k / 4) } end
  end
  local body = { svg.axes(a, xticks, yticks, { xlabel = opts.xlabel,
    ylabel = opts.nines and "fraction of reads at or below (nines scale)" or "fraction at or below",
    ylabel_offset = 60 }), legend }
  for _, s in ipairs(series) do
    local pts = {}
    for i, p in ipairs(s.points) do pts[i] = { X(p.x), Y(yval(p.f)) } end
    local line = #pts > 0 and svg.path(pts, { fill = "none", stroke = s.color, ["stroke-width"] = 2,
      ["stroke-linejoin"] = "round" }) or ""
    body[#body + 1] = svg.group({ ["data-series"] = s.policy, ["data-points"] = #pts }, line)
  end
  return svg.svg(W, a.y + a.h + 48, { ["data-chart"] = opts.kind, ["data-y-scale"] = opts.nines
    and "nines" or "linear" }, body)
end

--- Latency CDF per policy (all reads, buckets merged across seeds), log x,
-- y on a nines scale so the tail shows.
function M.latency_cdf(doc)
  return cdf_chart(cdf_series(doc, { "reads", "latency", "all", "buckets" }),
    { kind = "latency-cdf", nines = true, xlabel = "read latency (log scale)", empty = "no reads" })
end

--- Staleness (time lag) CDF of stale reads per policy.
function M.staleness(doc)
  return cdf_chart(cdf_series(doc, { "reads", "staleness", "time", "buckets" }),
    { kind = "staleness", xlabel = "staleness of stale reads, time behind the leader (log scale)",
      empty = "no stale reads", noun = "stale reads" })
end

-- Timeline buckets summed over runs: a sorted list of {t, arrivals, <outcome>}.
local function merge_timeline(runs)
  local by, ts = {}, {}
  for _, r in ipairs(runs) do
    for _, b in ipairs(dig(r, "timeline", "buckets") or {}) do
      local m = by[b.t]
      if not m then
        m = { t = b.t, arrivals = 0 }
        for _, o in ipairs(svg.OUTCOMES) do m[o] = 0 end
        by[b.t], ts[#ts + 1] = m, b.t
      end
      m.arrivals = m.arrivals + (b.arrivals or 0)
      for _, o in ipairs(svg.OUTCOMES) do m[o] = m[o] + (b[o] or 0) end
    end
  end
  table.sort(ts)
  local out = {}
  for i, t in ipairs(ts) do out[i] = by[t] end
  return out
end

-- The distinct faults of runs, sorted by time then text.
local function faults(runs)
  local seen, out = {}, {}
  for _, r in ipairs(runs) do
    for _, f in ipairs(r.faults or {}) do
      local label = tostring(f.action) .. (f.node and (" " .. f.node) or "")
      local k = ("%.17g %s"):format(f.t, label)
      if not seen[k] then seen[k], out[#out + 1] = true, { t = f.t, label = label } end
    end
  end
  table.sort(out, function(a, b) return a.t < b.t or (a.t == b.t and a.label < b.label) end)
  return out
end

-- The time domain of a document: 0 .. the longest virtual time.
local function time_axis(doc, x0, x1)
  local vmax = 0
  for _, r in ipairs(doc.results or {}) do vmax = math.max(vmax, r.virtual_s or 0) end
  local ticks, _, t1 = svg.nice_ticks(0, math.max(vmax, 1), 10)
  local X = svg.linear(0, t1, x0, x1)
  local xt = {}
  for i, t in ipairs(ticks) do xt[i] = { X(t), svg.num(t) } end
  return X, xt, t1
end

-- Fault markers: dashed lines over [y0, y1], labelled at the top when asked.
-- A label that would run into the previous one is left out (runs whose
-- faults differ, e.g. crashes caused by reads, can mark many close times);
-- the last label drawn then says how many it stands for ("crash m3 +4").
local function fault_marks(fs, X, y0, y1, labelled)
  local out, last = {}, nil
  for _, f in ipairs(fs) do
    out[#out + 1] = svg.line(X(f.t), y0, X(f.t), y1, { stroke = "#222", ["stroke-dasharray"] = "4 3",
                                                       ["stroke-width"] = 1.2 })
    if labelled then
      if last and X(f.t) < last.right + 6 then
        last.hidden = last.hidden + 1
      else
        last = { x = X(f.t) + 3, label = f.label, hidden = 0 }
        last.right = last.x + utf8.len(f.label) * 6 + 24
        out[#out + 1] = last
      end
    end
  end
  for i, v in ipairs(out) do
    if type(v) == "table" then
      out[i] = svg.text(v.x, y0 - 3, v.label .. (v.hidden > 0 and (" +" .. v.hidden) or ""),
        { ["font-size"] = 11, fill = "#222" })
    end
  end
  return table.concat(out)
end

-- One policy panel of the timeline: stacked outcome shares per bucket.
local function timeline_panel(runs, a, X, color, policy, first)
  local buckets = merge_timeline(runs)
  local width = dig(runs[1] or {}, "timeline", "bucket_s") or 1
  local Y = svg.linear(0, 1, a.y + a.h, a.y)
  local out = { svg.rect(a.x, a.y, a.w, a.h, { fill = "#f4f4f4" }) }
  local below = {}
  for _, b in ipairs(buckets) do below[b.t] = 0 end
  for _, o in ipairs(svg.OUTCOMES) do
    local top, bottom, any = {}, {}, false
    for _, b in ipairs(buckets) do
      local share = b.arrivals > 0 and b[o] / b.arrivals or 0
      local y0, y1 = below[b.t], below[b.t] + share
      any = any or share > 0
      top[#top + 1], top[#top + 2] = { X(b.t), Y(y1) }, { X(b.t + width), Y(y1) }
      table.insert(bottom, 1, { X(b.t), Y(y0) })
      table.insert(bottom, 1, { X(b.t + width), Y(y0) })
      below[b.t] = y1
    end
    if any then
      table.move(bottom, 1, #bottom, #top + 1, top)
      out[#out + 1] = svg.path(top, { fill = svg.OUTCOME_COLORS[o], ["data-outcome"] = o }, true)
    end
  end
  local n = math.max(1, #runs)
  for _, r in ipairs(runs) do
    for _, iv in ipairs(dig(r, "snapshots", "intervals") or {}) do
      -- at least 2 px wide: an apply cut short by a crash lasts milliseconds
      local fin = iv.finish >= 0 and iv.finish or (r.virtual_s or iv.start) -- -1: still applying at the end
      local x0, x1 = X(iv.start), math.max(X(fin), X(iv.start) + 2)
      out[#out + 1] = svg.rect(x0, a.y - 9, x1 - x0, 6, { fill = "#333", ["fill-opacity"] = 0.8 / n })
      out[#out + 1] = svg.rect(x0, a.y, x1 - x0, a.h, { fill = "#1b1b1b", ["fill-opacity"] = 0.10 / n })
    end
  end
  out[#out + 1] = fault_marks(faults(runs), X, a.y - 12, a.y + a.h, first)
  out[#out + 1] = svg.rect(12, a.y + a.h / 2 - 7, 12, 12, { fill = color, rx = 2 })
  out[#out + 1] = svg.text(30, a.y + a.h / 2 + 4, policy, { ["font-size"] = 12, fill = "#222",
                                                              ["font-weight"] = 600 })
  return svg.group({ ["data-series"] = policy, ["data-points"] = #buckets }, out)
end

--- Outcome timeline per policy: the share of each outcome among the reads
-- arriving in each bucket (summed over seeds), apply windows of every seed
-- shaded (darker where more seeds were applying), faults marked.
function M.timeline(doc)
  local longest = 0
  for _, p in ipairs(doc.policies) do longest = math.max(longest, utf8.len(p) or #p) end
  -- room for the policy name (bold 12 px, ~7.5 px a character) and the % ticks
  local x0, panel, gap = math.max(170, math.ceil(30 + longest * 7.5 + 48)), 84, 34
  local top = 92
  local X, xt = time_axis(doc, x0, W - 20)
  local body = {}
  local items = {}
  for _, o in ipairs(svg.OUTCOMES) do items[#items + 1] = { label = o, color = svg.OUTCOME_COLORS[o] } end
  items[#items + 1] = { label = "snapshot apply (per seed)", color = "#333", kind = "band" }
  body[1] = (svg.legend(x0, 18, items, W - x0 - 20))
  body[2] = svg.text(x0, 50, "share of reads arriving in each 1 s bucket, by final outcome;"
    .. " dashed: faults", { ["font-size"] = 11, fill = "#666" })
  for i, p in ipairs(doc.policies) do
    local a = { x = x0, y = top + (i - 1) * (panel + gap), w = W - 20 - x0, h = panel }
    local yt = { { a.y + a.h, "0%" }, { a.y + a.h / 2, "50%" }, { a.y, "100%" } }
    body[#body + 1] = svg.axes(a, i == #doc.policies and xt or {}, yt, { no_xgrid = true,
      xlabel = i == #doc.policies and "virtual time (s)" or nil })
    body[#body + 1] = timeline_panel(M.runs(doc, p), a, X, svg.color(i), p, i == 1)
  end
  local h = top + #doc.policies * (panel + gap) + 20
  return svg.svg(W, h, { ["data-chart"] = "timeline" }, body)
end

--- Outcome mix per policy: stacked horizontal bars of the reads not served
-- fresh (share of all logical reads, summed over seeds); fresh as text.
function M.outcome_mix(doc)
  local rows, xmax = {}, 0
  for i, p in ipairs(doc.policies) do
    local row = { policy = p, color = svg.color(i), logical = 0 }
    for _, o in ipairs(svg.OUTCOMES) do row[o] = 0 end
    for _, r in ipairs(M.runs(doc, p)) do
      row.logical = row.logical + (dig(r, "reads", "logical") or 0)
      for _, o in ipairs(svg.OUTCOMES) do row[o] = row[o] + (dig(r, "reads", "outcomes", o) or 0) end
    end
    local n = math.max(row.logical, 1)
    row.other = (row.logical - row.fresh) / n
    xmax = math.max(xmax, row.other)
    rows[i] = row
  end
  local ticks, _, t1 = svg.nice_ticks(0, math.max(xmax, 0.01), 6)
  local a = { x = 150, y = 46, w = W - 150 - 150, h = #rows * 34 + 8 }
  local X = svg.linear(0, t1, a.x, a.x + a.w)
  local xt = {}
  for i, t in ipairs(ticks) do xt[i] = { X(t), svg.fmt_pct(t) } end
  local body = { svg.axes(a, xt, {}, { xlabel = "share of logical reads not served fresh" }) }
  local items = {}
  for k = 2, #svg.OUTCOMES do
    local o = svg.OUTCOMES[k]
    items[#items + 1] = { label = o, color = svg.OUTCOME_COLORS[o] }
  end
  body[#body + 1] = (svg.legend(a.x, 18, items, a.w))
  for i, row in ipairs(rows) do
    local y, n, x = a.y + 8 + (i - 1) * 34, math.max(row.logical, 1), a.x
    local g = { svg.text(a.x - 10, y + 16, row.policy, { ["text-anchor"] = "end", ["font-size"] = 12,
                                                          ["font-weight"] = 600, fill = "#222" }) }
    for k = 2, #svg.OUTCOMES do
      local o = svg.OUTCOMES[k]
      local w = X(row[o] / n) - a.x
      if w > 0 then
        g[#g + 1] = svg.rect(x, y, w, 22, { fill = svg.OUTCOME_COLORS[o], ["data-outcome"] = o,
                                             ["data-share"] = ("%.6f"):format(row[o] / n) })
        if w > 44 then
          g[#g + 1] = svg.text(x + w / 2, y + 15, svg.fmt_pct(tonumber(("%.3g"):format(row[o] / n))),
            { ["text-anchor"] = "middle", ["font-size"] = 11, fill = "#fff" })
        end
      end
      x = x + w
    end
    g[#g + 1] = svg.text(a.x + a.w + 12, y + 15, ("fresh %.2f%%"):format(100 * row.fresh / n),
      { ["font-size"] = 12, fill = "#333" })
    body[#body + 1] = svg.group({ ["data-series"] = row.policy, ["data-points"] = #svg.OUTCOMES,
                                  ["data-logical"] = row.logical }, g)
  end
  return svg.svg(W, a.y + a.h + 48, { ["data-chart"] = "outcome-mix" }, body)
end

--- Node phases over time in one run (the first seed of the first policy),
-- with faults marked.
function M.phases(doc)
  local policy = doc.policies[1]
  local run = M.runs(doc, policy)[1] or {}
  local nodes = {}
  for name in pairs(run.phases or {}) do nodes[#nodes + 1] = name end
  table.sort(nodes)
  local x0, lane = 90, 30
  local a = { x = x0, y = 50, w = W - 20 - x0, h = math.max(1, #nodes) * lane }
  local X, xt = time_axis(doc, a.x, a.x + a.w)
  local body = { svg.axes(a, xt, {}, { xlabel = "virtual time (s)" }) }
  local items = {}
  for _, ph in ipairs(svg.PHASES) do items[#items + 1] = { label = ph, color = svg.PHASE_COLORS[ph] } end
  body[#body + 1] = (svg.legend(a.x, 16, items, a.w))
  for i, node in ipairs(nodes) do
    local y, segs = a.y + (i - 1) * lane + 4, run.phases[node]
    local g = { svg.text(a.x - 10, y + 15, node, { ["text-anchor"] = "end", ["font-size"] = 12, fill = "#222" }) }
    for _, s in ipairs(segs) do
      g[#g + 1] = svg.rect(X(s.t0), y, X(s.t1) - X(s.t0), lane - 8, {
        fill = svg.PHASE_COLORS[s.phase] or "#999", ["data-phase"] = s.phase })
    end
    body[#body + 1] = svg.group({ ["data-lane"] = node, ["data-points"] = #segs }, g)
  end
  body[#body + 1] = fault_marks(faults({ run }), X, a.y - 4, a.y + a.h, true)
  return svg.svg(W, a.y + a.h + 48, { ["data-chart"] = "phases", ["data-policy"] = policy,
                                      ["data-seed"] = run.seed }, body)
end

return M

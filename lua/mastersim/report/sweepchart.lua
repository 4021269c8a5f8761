--- The chart of one metric across a sweep: x the varied parameter, one line
-- per policy through the means, 95% CI error bars. data-chart="sweep",
-- data-metric=<name>; each series data-series=<policy>, data-points=<n>.
local svg = require "mastersim.report.svg"

local M = {}

local W = 520

--- A parameter value for a tick label: "250", "1e5", "0.5".
local function fmt_value(v)
  if v == math.floor(v) and math.abs(v) < 1e5 then return ("%d"):format(v) end
  return (("%.3g"):format(v):gsub("e%+?0*(%d)", "e%1"))
end

--- A tick label for a value of `unit`.
local function unit_label(unit, v)
  if unit == "ratio" then return svg.fmt_pct(v) end
  if unit == "s" then return svg.fmt_time(v) end
  if unit == "bytes" then return ("%s MiB"):format(("%.4g"):format(v / 2 ^ 20)) end
  return ("%.4g"):format(v)
end

--- The x positions of the sweep points: a scale, ticks and the axis title.
-- One numeric parameter: a linear or (>= 10x span, all > 0) log axis; else
-- evenly spaced categories labelled with the values.
local function x_axis(doc, x0, x1)
  local pts, paths = doc.points, doc.vary or {}
  local numeric = #paths == 1 and #pts > 0
  local lo, hi
  for _, p in ipairs(pts) do
    local v = p.vary[paths[1] or ""]
    numeric = numeric and type(v) == "number"
    if numeric then lo, hi = math.min(lo or v, v), math.max(hi or v, v) end
  end
  local pos, ticks = {}, {}
  if numeric and lo > 0 and hi / lo >= 10 then
    local X = svg.log(lo / 1.5, hi * 1.5, x0, x1)
    for i, p in ipairs(pts) do pos[i] = X(p.vary[paths[1]]) end
    for i, p in ipairs(pts) do ticks[i] = { pos[i], fmt_value(p.vary[paths[1]]) } end
    return pos, ticks, paths[1] .. " (log scale)"
  elseif numeric then
    local span = hi > lo and (hi - lo) * 0.06 or 1
    local X = svg.linear(lo - span, hi + span, x0, x1)
    for i, p in ipairs(pts) do
      local v = p.vary[paths[1]]
      pos[i], ticks[i] = X(v), { X(v), fmt_value(v) }
    end
    return pos, ticks, paths[1]
  end
  local X = svg.linear(0.5, #pts + 0.5, x0, x1)
  for i, p in ipairs(pts) do
    local parts = {}
    for _, path in ipairs(paths) do parts[#parts + 1] = tostring(p.vary[path]) end
    pos[i], ticks[i] = X(i), { X(i), table.concat(parts, ", ") }
  end
  return pos, ticks, table.concat(paths, ", ")
end

-- Per-policy series of (point index, mean, ci95) and the y extent.
local function series(doc, m)
  local out, lo, hi = {}, nil, nil
  for i, policy in ipairs(doc.policies) do
    local s = { policy = policy, color = svg.color(i), points = {} }
    for k, pt in ipairs(doc.points) do
      for _, e in ipairs(pt.summary.policies) do
        local v = e.policy == policy and e.metrics[m.name]
        if v and v.mean then
          local half = v.ci95 or 0
          s.points[#s.points + 1] = { k = k, mean = v.mean, half = half }
          lo, hi = math.min(lo or v.mean - half, v.mean - half), math.max(hi or v.mean + half, v.mean + half)
        end
      end
    end
    out[i] = s
  end
  return out, lo, hi
end

-- The smallest positive mean of the series (nil when there is none).
local function min_positive(ss)
  local v
  for _, s in ipairs(ss) do
    for _, p in ipairs(s.points) do
      if p.mean > 0 then v = math.min(v or p.mean, p.mean) end
    end
  end
  return v
end

--- The y scale over [lo, hi] (the CI extent) on plot area a: returns the
-- scale, ticks and domain. Every key metric is non-negative and a share is
-- at most 100%, so the axis stays within that. Times spanning more than
-- two decades get a log axis (a 5 s tail next to 2 ms medians).
local function y_axis(m, ss, lo, hi, a)
  local pos = min_positive(ss)
  if m.unit == "s" and pos and hi / pos > 100 then
    local yt, d0, d1 = svg.log_ticks(pos, hi)
    return svg.log(d0, d1, a.y + a.h, a.y), yt, d0, d1
  end
  local pad = (hi - lo) * 0.08
  local yt, d0, d1 = svg.nice_ticks(math.max(0, lo - pad), hi + pad, 5)
  if m.unit == "ratio" and d1 > 1 then
    d1 = 1
    while yt[#yt] > 1 + 1e-9 do table.remove(yt) end
  end
  return svg.linear(d0, d1, a.y + a.h, a.y), yt, d0, d1
end

--- The chart of metric `m` (a metrics.list entry) across sweep `doc`.
function M.render(doc, m)
  local a = { x = 78, y = 46, w = W - 96, h = 220 }
  local pos, xticks, xlabel = x_axis(doc, a.x, a.x + a.w)
  local ss, lo, hi = series(doc, m)
  lo, hi = lo or 0, hi or 1
  local Y, yt, d0, d1 = y_axis(m, ss, lo, hi, a)
  local yticks = {}
  for i, t in ipairs(yt) do yticks[i] = { Y(t), unit_label(m.unit, t) } end
  local function clamp(v) return math.max(d0, math.min(d1, v)) end
  local body = { svg.axes(a, xticks, yticks, { xlabel = xlabel, ylabel = m.label, ylabel_offset = 62 }) }
  local legend = {}
  for i, s in ipairs(ss) do
    local dx = (i - (#ss + 1) / 2) * 5
    local line, g = {}, {}
    for j, p in ipairs(s.points) do
      local x = pos[p.k] + dx
      line[j] = { x, Y(p.mean) }
      local y0, y1 = clamp(p.mean - p.half), clamp(p.mean + p.half)
      g[#g + 1] = svg.line(x, Y(y0), x, Y(y1), { stroke = s.color, ["stroke-width"] = 1.5 })
      for _, yv in ipairs({ y0, y1 }) do
        g[#g + 1] = svg.line(x - 4, Y(yv), x + 4, Y(yv), { stroke = s.color, ["stroke-width"] = 1.5 })
      end
      g[#g + 1] = svg.el("circle", { cx = x, cy = Y(p.mean), r = 3.5, fill = s.color })
    end
    if #line > 1 then
      table.insert(g, 1, svg.path(line, { fill = "none", stroke = s.color, ["stroke-width"] = 2 }))
    end
    body[#body + 1] = svg.group({ ["data-series"] = s.policy, ["data-points"] = #s.points }, g)
    legend[i] = { label = s.policy, color = s.color, kind = "line" }
  end
  body[#body + 1] = (svg.legend(a.x, 18, legend, a.w))
  return svg.svg(W, a.y + a.h + 48, { ["data-chart"] = "sweep", ["data-metric"] = m.name }, body)
end

return M

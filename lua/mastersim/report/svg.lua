--- SVG primitives for the HTML report: elements with sorted attributes and
-- fixed number formatting (same input, same bytes), linear and log scales,
-- nice ticks, axes with grid and labels, legends, and the palettes.
local M = {}

--- Policy colours, in policy order (Tableau 10, reordered for contrast).
M.PALETTE = { "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948",
              "#9c755f", "#ff9da7", "#79706e" }

--- Colours of read outcomes and node phases (fixed meanings).
M.OUTCOME_COLORS = { fresh = "#a8d5a0", stale = "#4e79a7", torn = "#f28e2b", crash = "#e15759",
                     failed = "#b07aa1", timeout = "#79706e" }
M.OUTCOMES = { "fresh", "stale", "torn", "crash", "failed", "timeout" }
M.PHASE_COLORS = { serving = "#cfe3c8", applying = "#f28e2b", loading = "#edc948", down = "#e15759" }
M.PHASES = { "serving", "applying", "loading", "down" }

--- The colour of the i-th policy.
function M.color(i) return M.PALETTE[(i - 1) % #M.PALETTE + 1] end

--- Escape text for XML content and attribute values.
function M.esc(s)
  return (tostring(s):gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                          ['"'] = "&quot;", ["'"] = "&#39;" }))
end

--- A coordinate: at most 2 decimals, trailing zeros dropped, no "-0".
function M.num(x)
  local s = ("%.2f"):format(x):gsub("0+$", ""):gsub("%.$", "")
  if s == "-0" then s = "0" end
  return s
end

-- An attribute value: numbers through M.num, the rest escaped.
local function attr_value(v)
  if math.type(v) == "integer" then return tostring(v) end
  if type(v) == "number" then return M.num(v) end
  return M.esc(v)
end

--- An element: name, attributes (a map; written sorted by name), children
-- (a string or a list of strings; nil for a self-closing element).
function M.el(name, attrs, children)
  local keys = {}
  for k in pairs(attrs or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = { "<", name }
  for _, k in ipairs(keys) do parts[#parts + 1] = (' %s="%s"'):format(k, attr_value(attrs[k])) end
  if children == nil then
    parts[#parts + 1] = "/>"
  else
    if type(children) == "table" then children = table.concat(children, "\n") end
    parts[#parts + 1] = ">" .. children .. "</" .. name .. ">"
  end
  return table.concat(parts)
end

-- attrs with the given fields added (a new table).
local function with(attrs, extra)
  local t = {}
  for k, v in pairs(attrs or {}) do t[k] = v end
  for k, v in pairs(extra) do t[k] = v end
  return t
end

function M.rect(x, y, w, h, attrs)
  return M.el("rect", with(attrs, { x = x, y = y, width = math.max(0, w), height = math.max(0, h) }))
end

function M.line(x1, y1, x2, y2, attrs)
  return M.el("line", with(attrs, { x1 = x1, y1 = y1, x2 = x2, y2 = y2 }))
end

function M.text(x, y, s, attrs)
  return M.el("text", with(attrs, { x = x, y = y }), M.esc(s))
end

--- A path through points {{x, y}, ...}; closed when `close` is true.
function M.path(points, attrs, close)
  local d = {}
  for i, p in ipairs(points) do d[i] = (i == 1 and "M" or "L") .. M.num(p[1]) .. " " .. M.num(p[2]) end
  if close then d[#d + 1] = "Z" end
  return M.el("path", with(attrs, { d = table.concat(d) }))
end

function M.group(attrs, children) return M.el("g", attrs, children) end

--- The root element: a w x h viewBox that scales to the page width.
function M.svg(w, h, attrs, children)
  return M.el("svg", with(attrs, { xmlns = "http://www.w3.org/2000/svg", viewBox = ("0 0 %d %d"):format(w, h),
                                   width = w, height = h, role = "img" }), children)
end

--- A linear scale mapping [d0, d1] onto [r0, r1] (a degenerate domain maps
-- to the middle).
function M.linear(d0, d1, r0, r1)
  return function(x)
    if d1 == d0 then return (r0 + r1) / 2 end
    return r0 + (x - d0) / (d1 - d0) * (r1 - r0)
  end
end

--- A log10 scale mapping [d0, d1] (> 0) onto [r0, r1]; values clamp to d0.
function M.log(d0, d1, r0, r1)
  local l0, l1 = math.log(d0, 10), math.log(d1, 10)
  return function(x)
    if l1 == l0 then return (r0 + r1) / 2 end
    return r0 + (math.log(math.max(x, d0), 10) - l0) / (l1 - l0) * (r1 - r0)
  end
end

--- About n "nice" ticks (1, 2, 5 x 10^k steps) covering [lo, hi]; returns
-- the ticks and the rounded-out domain.
function M.nice_ticks(lo, hi, n)
  if hi <= lo then hi = lo + 1 end
  local raw = (hi - lo) / (n or 5)
  local mag = 10 ^ math.floor(math.log(raw, 10))
  local step = mag
  for _, m in ipairs({ 1, 2, 2.5, 5, 10 }) do
    if m * mag >= raw then step = m * mag; break end
  end
  local t0, t1 = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
  local ticks = {}
  for i = 0, math.floor((t1 - t0) / step + 0.5) do ticks[#ticks + 1] = t0 + i * step end
  return ticks, t0, t1
end

--- Decade ticks covering [lo, hi] (> 0), and the rounded-out domain.
function M.log_ticks(lo, hi)
  local e0, e1 = math.floor(math.log(lo, 10) + 1e-9), math.ceil(math.log(hi, 10) - 1e-9)
  if e1 <= e0 then e1 = e0 + 1 end
  local ticks = {}
  for e = e0, e1 do ticks[#ticks + 1] = 10.0 ^ e end
  return ticks, 10.0 ^ e0, 10.0 ^ e1
end

--- A time in seconds for a tick label: "1 us", "250 ms", "2 s".
function M.fmt_time(s)
  local a = math.abs(s)
  local v, u
  if a == 0 then return "0" end
  if a >= 1 then v, u = s, "s" elseif a >= 1e-3 then v, u = s * 1e3, "ms"
  elseif a >= 1e-6 then v, u = s * 1e6, "us" else v, u = s * 1e9, "ns" end
  return ("%s %s"):format(("%.3g"):format(v), u)
end

--- A share in [0, 1] for a tick label: "25%", "99.9%".
function M.fmt_pct(x)
  return ("%s%%"):format(("%.4g"):format(x * 100))
end

--- Axes on plot area a = {x, y, w, h}: grid lines and tick labels at
-- xticks/yticks (lists of {pos, label}), axis titles opts.xlabel/ylabel.
function M.axes(a, xticks, yticks, opts)
  opts = opts or {}
  local out = {}
  local grid = { stroke = "#e3e3e3", ["stroke-width"] = 1 }
  local tick = { ["font-size"] = 11, fill = "#555" }
  for _, t in ipairs(yticks) do
    out[#out + 1] = M.line(a.x, t[1], a.x + a.w, t[1], grid)
    out[#out + 1] = M.text(a.x - 6, t[1] + 4, t[2], with(tick, { ["text-anchor"] = "end" }))
  end
  for _, t in ipairs(xticks) do
    if not opts.no_xgrid then out[#out + 1] = M.line(t[1], a.y, t[1], a.y + a.h, grid) end
    out[#out + 1] = M.text(t[1], a.y + a.h + 15, t[2], with(tick, { ["text-anchor"] = "middle" }))
  end
  local axis = { stroke = "#888", ["stroke-width"] = 1 }
  out[#out + 1] = M.line(a.x, a.y + a.h, a.x + a.w, a.y + a.h, axis)
  out[#out + 1] = M.line(a.x, a.y, a.x, a.y + a.h, axis)
  local title = { ["font-size"] = 12, fill = "#333" }
  if opts.xlabel then
    out[#out + 1] = M.text(a.x + a.w / 2, a.y + a.h + 34, opts.xlabel, with(title, { ["text-anchor"] = "middle" }))
  end
  if opts.ylabel then
    local cx, cy = a.x - (opts.ylabel_offset or 48), a.y + a.h / 2
    out[#out + 1] = M.text(cx, cy, opts.ylabel, with(title, { ["text-anchor"] = "middle",
      transform = ("rotate(-90 %s %s)"):format(M.num(cx), M.num(cy)) }))
  end
  return M.group({ class = "axes" }, out)
end

--- A horizontal legend at (x, y): items {label, color, kind = "line" |
-- "box" | "band"}, wrapped at width `maxw`. Returns the svg and its height.
function M.legend(x, y, items, maxw)
  local out, cx, cy = {}, x, y
  for _, it in ipairs(items) do
    local w = 26 + utf8.len(it.label) * 6.3
    if cx > x and cx + w > x + (maxw or 1e9) then cx, cy = x, cy + 18 end
    if it.kind == "line" then
      out[#out + 1] = M.line(cx, cy, cx + 16, cy, { stroke = it.color, ["stroke-width"] = 2.5 })
    else
      out[#out + 1] = M.rect(cx, cy - 6, 16, 12, { fill = it.color, rx = 2,
        ["fill-opacity"] = it.kind == "band" and 0.3 or 1 })
    end
    out[#out + 1] = M.text(cx + 21, cy + 4, it.label, { ["font-size"] = 12, fill = "#333" })
    cx = cx + w + 12
  end
  return M.group({ class = "legend" }, out), cy - y + 18
end

return M

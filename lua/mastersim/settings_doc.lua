--- The generated tables of the docs: the settings tables and the fault
-- actions table of docs/writing-sims.md (from mastersim.settings and
-- mastersim.faults) and the metrics table of docs/metrics.md (from
-- mastersim.metrics). scripts/gen-docs writes each
-- between its markers; spec/docs_spec.lua checks the files hold what this
-- renders.
local faults = require "mastersim.faults"
local metrics = require "mastersim.metrics"
local settings = require "mastersim.settings"

local M = {}

M.BEGIN, M.END = "<!-- settings: generated from lua/mastersim/settings.lua -->", "<!-- settings: end -->"

local function dur(s)
  if s == 0 then return "0" end
  if s >= 1 then return ("%g s"):format(s) end
  if s >= 1e-3 then return ("%g ms"):format(s * 1e3) end
  return ("%g us"):format(s * 1e6)
end

local function size(b)
  if b >= 2 ^ 30 and b % 2 ^ 30 == 0 then return ("%g GiB"):format(b / 2 ^ 30) end
  if b >= 2 ^ 20 and b % 2 ^ 20 == 0 then return ("%g MiB"):format(b / 2 ^ 20) end
  if b >= 1024 and b % 1024 == 0 then return ("%g KiB"):format(b / 1024) end
  return ("%g B"):format(b)
end

local sorted = settings.sorted_keys

local function dist(d)
  if d[1] == "lognormal" then return ("lognormal(%s, %s)"):format(dur(d[2]), dur(d[3])) end
  if d[1] == "uniform" then return ("uniform(%s, %s)"):format(dur(d[2]), dur(d[3])) end
  return ("%s(%s)"):format(d[1], dur(d[2]))
end

-- A value of `row` as the docs show it.
local function show(row, v)
  if v == nil then return row.required and "required" or "none" end
  local t = row.type
  if t == "duration" then return dur(v) end
  if t == "size" then return size(v) end
  if t == "rate" then return ("%g MB/s"):format(v / 1e6) end
  if t == "enum" or t == "string" then return v == "" and '`""`' or "`" .. v .. "`" end
  if t == "dist" then return dist(v) end
  if type(v) == "table" then
    local parts = {}
    for _, k in ipairs(sorted(v)) do
      local x = v[k]
      local shown = type(x) == "table" and dist(x) or type(x) == "string" and x or ("%g"):format(x)
      parts[#parts + 1] = ("%s = %s"):format(k, shown)
    end
    return "`{ " .. table.concat(parts, ", ") .. " }`"
  end
  return tostring(v)
end

local function bound(row, v)
  return row.type == "duration" and dur(v) or row.type == "size" and size(v) or ("%g"):format(v)
end

local function range(row)
  if row.choices then return table.concat(row.choices, " \\| ") end
  local lo = row.above and ("> " .. bound(row, row.above)) or row.min and bound(row, row.min)
  local hi = row.max and bound(row, row.max)
  if lo and hi then return row.above and ("%s, <= %s"):format(lo, hi) or ("%s .. %s"):format(lo, hi) end
  if row.type == "fraction" then return "0 .. 1" end
  return lo or (hi and ("<= " .. hi)) or ""
end

local TYPE = { read_weights = "weights", write_weights = "weights", func = "function", faults = "list of triggers",
               list = "list", service = "per op distribution", routing = "per op route" }

local function row_line(row, key)
  local c, g = show(row, settings.default(row, "cubefs")), show(row, settings.default(row, "generic"))
  local ty = TYPE[row.type] or row.type
  if row.unit and row.unit ~= "" then ty = ty .. " (" .. row.unit .. ")" end
  local doc = row.doc
  if row.cite then doc = doc .. " (CubeFS: " .. row.cite .. ")" end
  return ("| `%s` | %s | %s | %s | %s | %s |"):format(key, ty, c, g, range(row), doc)
end

--- The generated block: the scenario table and the client group table.
function M.render()
  local head = "| key | type | cubefs | generic | range | meaning |\n|---|---|---|---|---|---|"
  local top, items, order = { head }, {}, {}
  for _, row in ipairs(settings.rows) do
    local list, field = row.key:match("^(%w+)%[%]%.(.+)$")
    if list then
      if not items[list] then
        items[list] = { head }
        order[#order + 1] = list
      end
      table.insert(items[list], row_line(row, field))
    else
      top[#top + 1] = row_line(row, row.key)
    end
  end
  local out = { M.BEGIN, "", table.concat(top, "\n") }
  for _, list in ipairs(order) do
    out[#out + 1] = ("\nAn item of `%s` (`%s[i]`):\n"):format(list, list)
    out[#out + 1] = table.concat(items[list], "\n")
  end
  out[#out + 1] = "\n" .. M.END
  return table.concat(out, "\n")
end

local UNITS = { ratio = "share", s = "seconds", bytes = "bytes", x = "factor", n = "count" }

--- The metrics table (docs/metrics.md), in the order of metrics.list.
function M.render_metrics()
  local out = { "<!-- metrics: generated from lua/mastersim/metrics.lua -->", "",
    "| metric | unit | group | meaning |", "|---|---|---|---|" }
  for _, m in ipairs(metrics.list) do
    out[#out + 1] = ("| `%s` | %s | %s | %s |"):format(m.name, UNITS[m.unit] or m.unit, m.group, m.doc)
  end
  out[#out + 1] = ""
  out[#out + 1] = "<!-- metrics: end -->"
  return table.concat(out, "\n")
end

--- The fault actions table (docs/writing-sims.md), in the order of
-- faults.ACTIONS.
function M.render_actions()
  local out = { "<!-- actions: generated from lua/mastersim/faults.lua -->", "",
    "| action | does |", "|---|---|" }
  for _, def in ipairs(faults.ACTIONS) do
    local args = {}
    for i, arg in ipairs(def.args) do args[i] = arg[2] == "nodes" and ("{%s...}"):format(arg[1]) or arg[1] end
    out[#out + 1] = ("| `ms.%s(%s)` | %s |"):format(def.name, table.concat(args, ", "), def.doc)
  end
  out[#out + 1] = ""
  out[#out + 1] = "<!-- actions: end -->"
  return table.concat(out, "\n")
end

--- The generated blocks: file (relative to the repository) and its text.
function M.blocks()
  return {
    { file = "docs/writing-sims.md", text = M.render() },
    { file = "docs/writing-sims.md", text = M.render_actions() },
    { file = "docs/metrics.md", text = M.render_metrics() },
  }
end

--- `text` with the generated block that `block` begins (its first line is
-- the begin marker, its last the end marker) put in place of the one it
-- holds, or nil when the markers are missing.
function M.splice(text, block)
  local first, last = block:match("^([^\n]*)"), block:match("([^\n]*)$")
  local a = text:find(first, 1, true)
  local _, b = text:find(last, 1, true)
  if not a or not b then return nil end
  return text:sub(1, a - 1) .. block .. text:sub(b + 1)
end

return M

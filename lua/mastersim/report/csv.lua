--- Tidy CSV of runs: one row per run x metric.
--
--   scenario,policy,seed,param_key,vary.<path>...,metric,value
--
-- param_key: the run's effective policy params, "k=v" sorted by key and
-- joined with ";" (nested keys dotted: "a.b=1"), empty when none. One
-- vary.<path> column per varied parameter of a sweep (sorted by path; none
-- for a compare). metric: a name from mastersim.metrics (in its order).
-- value: the number as in JSON (integers as integers, floats in the
-- shortest form that reads back exactly), "Inf"/"-Inf", or empty when the
-- run has no value. Quoting per RFC 4180 (fields holding , " CR or LF are
-- quoted, quotes doubled), lines end with CRLF. Rows are sorted by vary
-- values, policy (opts.policies order, else by name), param_key, seed, so
-- the bytes do not depend on the order runs finished in.
local json = require "mastersim.report.json"
local metrics = require "mastersim.metrics"
local summary = require "mastersim.report.summary"

local M = {}

--- One field, quoted when it must be.
function M.field(v)
  local s
  if v == nil then
    s = ""
  elseif type(v) == "number" then
    if v ~= v then s = ""
    elseif v == math.huge then s = "Inf"
    elseif v == -math.huge then s = "-Inf"
    else s = json.number(v) end
  else
    s = tostring(v)
  end
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

--- One record: the fields of a list (n of them; nils are empty), CRLF ended.
function M.record(fields, n)
  local out = {}
  for i = 1, n or #fields do out[i] = M.field(fields[i]) end
  return table.concat(out, ",") .. "\r\n"
end

-- Flatten params into "k=v" strings with dotted nested keys.
local function flatten(t, prefix, out)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local v, name = t[k], prefix .. tostring(k)
    if type(v) == "table" then
      flatten(v, name .. ".", out)
    else
      out[#out + 1] = name .. "=" .. (type(v) == "number" and json.number(v) or tostring(v))
    end
  end
  return out
end

--- The canonical text of a params table: "a=1;b.c=x" ("" for none).
function M.param_key(params)
  if type(params) ~= "table" then return "" end
  return table.concat(flatten(params, "", {}), ";")
end

-- Sort runs (decorated with .key and .rank) deterministically.
local function sort_runs(runs, paths)
  table.sort(runs, function(a, b)
    for _, p in ipairs(paths) do
      local x, y = (a.r.vary or {})[p], (b.r.vary or {})[p]
      if x ~= y then
        if x == nil or y == nil then return y == nil end
        return summary.value_less(x, y)
      end
    end
    if a.rank ~= b.rank then return a.rank < b.rank end
    if a.key ~= b.key then return a.key < b.key end
    return summary.value_less(a.r.seed, b.r.seed)
  end)
end

-- Rank of each policy: opts.policies order, unknown ones after, by name.
local function policy_ranks(results, order)
  local names = summary.policies(results)
  table.sort(names)
  local rank = {}
  for i, p in ipairs(order or {}) do rank[p] = i end
  local n = #(order or {})
  for _, p in ipairs(names) do
    if not rank[p] then n = n + 1; rank[p] = n end
  end
  return rank
end

--- The header fields for these varied paths.
function M.header(paths)
  local h = { "scenario", "policy", "seed", "param_key" }
  for _, p in ipairs(paths) do h[#h + 1] = "vary." .. p end
  h[#h + 1], h[#h + 2] = "metric", "value"
  return h
end

--- The tidy CSV text of `results`. opts: metrics (default metrics.list),
-- policies (row order).
function M.encode(results, opts)
  opts = opts or {}
  local list = opts.metrics or metrics.list
  local paths = summary.vary_paths(results)
  local rank = policy_ranks(results, opts.policies)
  local runs = {}
  for i, r in ipairs(results) do
    runs[i] = { r = r, key = M.param_key(r.params), rank = rank[r.policy] }
  end
  sort_runs(runs, paths)
  local out, header = {}, M.header(paths)
  local n = #header
  out[1] = M.record(header, n)
  for _, run in ipairs(runs) do
    local r = run.r
    local row = { r.scenario, r.policy, r.seed, run.key }
    for i, p in ipairs(paths) do row[4 + i] = (r.vary or {})[p] end
    for _, m in ipairs(list) do
      row[n - 1], row[n] = m.name, m.extract(r)
      out[#out + 1] = M.record(row, n)
    end
  end
  return table.concat(out)
end

return M

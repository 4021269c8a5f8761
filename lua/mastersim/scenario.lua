--- Scenarios: what a sim file returns. ms.scenario validates the table at
-- the point of definition so errors name the sim file and line.
local core = require "mastersim.core"
local errors = require "mastersim.errors"
local faults = require "mastersim.faults"
local schema = require "mastersim.schema"
local settings = require "mastersim.settings"

local M = {}

local Scenario = {}
Scenario.__index = Scenario
Scenario.__name = "mastersim.Scenario"
M.Scenario = Scenario

local function dist(v) return faults.is_dist(v), "must be a distribution (ms.lognormal, ms.exponential, ...)" end
local function trigger(v) return faults.is_trigger(v), "must be a trigger (ms.at, ms.every, ms.when)" end

M.OPS = core.read_ops
M.WRITE_OPS = core.write_ops

-- A value in a row's unit, for messages: durations as 250us / 10ms / 2s.
local function shown(row, v)
  if row.type == "duration" then
    local a = math.abs(v)
    if a == 0 or a >= 1 then return ("%gs"):format(v) end
    if a >= 1e-3 then return ("%gms"):format(v * 1e3) end
    if a >= 1e-6 then return ("%gus"):format(v * 1e6) end
    return ("%gns"):format(v * 1e9)
  end
  if row.type == "size" then return ("%g bytes"):format(v) end
  return ("%g"):format(v)
end

-- The range check of a numeric row, or nil when it has none.
local function range(row)
  if row.min == nil and row.max == nil and row.above == nil and row.type ~= "number" then return nil end
  return function(v)
    if v ~= v or v == math.huge or v == -math.huge then return false, "must be a finite number" end
    if row.above and v <= row.above then
      return false, ("must be greater than %s (got %s)"):format(shown(row, row.above), shown(row, v))
    end
    if row.min and v < row.min then
      return false, ("must be at least %s (got %s)"):format(shown(row, row.min), shown(row, v))
    end
    if row.max and v > row.max then
      return false, ("must be at most %s (got %s)"):format(shown(row, row.max), shown(row, v))
    end
    return true
  end
end

local function one_of(names)
  local set = {}
  for _, n in ipairs(names) do set[n] = true end
  return function(v) return set[v] ~= nil, "must be one of '" .. table.concat(names, "', '") .. "'" end
end

-- A table of op -> non-negative weight over the ops in `names`.
local function weights_over(names)
  local set = {}
  for _, o in ipairs(names) do set[o] = true end
  return function(v)
    for k, w in pairs(v) do
      if type(k) ~= "string" or math.type(w) == nil or w < 0 or w ~= w or w == math.huge then
        return false, "must map op names to finite non-negative weights"
      end
      if not set[k] then return false, ("names unknown op '%s' (ops: %s)"):format(k, table.concat(names, ", ")) end
    end
    return true
  end
end

local function make_dist(d) return faults[d[1]](d[2], d[3]) end

local function copy(t)
  if type(t) ~= "table" then return t end
  local c = {}
  for k, v in pairs(t) do c[k] = copy(v) end
  return c
end

-- Per-op record: a field per op and `default`, each checked by `leaf`
-- and defaulting to `defaults[op]` (nil: none).
local function per_op(leaf, defaults)
  defaults = defaults or {}
  local fields = { default = leaf(defaults.default) }
  for _, op in ipairs(M.OPS) do fields[op] = leaf(defaults[op]) end
  return { fields = fields, default = {} }
end

-- The schema entry of one row under `profile`.
local function leaf_spec(row, profile)
  local def = settings.default(row, profile)
  local t = row.type
  if t == "enum" then return { type = "string", default = def, check = one_of(row.choices) } end
  if t == "dist" then return { type = "table", check = dist, default = def and make_dist(def) } end
  if t == "service" then
    return per_op(function(d) return { type = "table", check = dist, default = d and make_dist(d) } end, def)
  end
  if t == "routing" then
    return per_op(function(v) return { type = "string", check = one_of(row.choices), default = v } end, def)
  end
  if t == "read_weights" then return { type = "table", default = copy(def), check = weights_over(M.OPS) } end
  if t == "write_weights" then return { type = "table", default = copy(def), check = weights_over(M.WRITE_OPS) } end
  if t == "faults" then return { list = { type = "table", check = trigger } } end
  if t == "func" then return "func" end
  return { type = t, default = def, required = row.required, check = range(row) }
end

-- The schema of a scenario under `profile`, built from the settings rows:
-- every section but `cluster` (whose presence makes a cluster scenario,
-- as opposed to a scripted sim) defaults to {} so that its keys always get
-- their defaults.
local specs = {}
function M.spec_for(profile)
  if specs[profile] then return specs[profile] end
  local root = { fields = {} }
  for _, row in ipairs(settings.rows) do
    local node = root
    local parts = {}
    for part in row.key:gmatch("[^.]+") do parts[#parts + 1] = part end
    for i = 1, #parts - 1 do
      local name = parts[i]
      local list = name:match("^(%w+)%[%]$")
      if list then
        node = node.fields[list].list
      else
        -- `cluster` makes a sim a cluster scenario: it is never implied
        node.fields[name] = node.fields[name] or { fields = {}, default = name ~= "cluster" and {} or nil }
        node = node.fields[name]
      end
    end
    local last = parts[#parts]
    if row.type == "list" then
      -- a list's default is a number of items that take their fields' defaults
      local n, items = settings.default(row, profile) or 0, {}
      for i = 1, n do items[i] = {} end
      node.fields[last] = { list = { fields = {} }, default = n > 0 and items or nil }
    else
      node.fields[last] = leaf_spec(row, profile)
    end
  end
  specs[profile] = root
  return root
end

M.spec = M.spec_for(settings.rows[1].default)

-- Checks across settings (settings.relations), on a validated scenario.
local function check_relations(sc, where)
  if not sc.cluster then return end
  for _, row in ipairs(settings.rows) do
    if row.type == "list" and sc[row.key] and #sc[row.key] > row.max then
      errors.raise_key(where, row.key, "'%s' has %d items (at most %d)", row.key, #sc[row.key], row.max)
    end
  end
  for _, rel in ipairs(settings.relations) do
    local why = rel.why(sc)
    if why then errors.raise_key(where, rel.key, "'%s' %s", rel.key, why) end
  end
  -- faults name nodes of this cluster (or leader / last_crashed)
  for i, f in ipairs(sc.faults or {}) do
    for _, n in ipairs(faults.node_names(f)) do
      local k = type(n) == "string" and n:match("^m(%d+)$")
      if not (faults.DYNAMIC[n] or (k and tonumber(k) >= 1 and tonumber(k) <= sc.cluster.masters)) then
        errors.raise_key(where, "faults", "'faults[%d]' names unknown node '%s' (nodes: m1..m%d, leader,"
          .. " last_crashed)", i, tostring(n), sc.cluster.masters)
      end
    end
  end
end

--- Where the caller at stack `level` stands, as "file:line"; nil when it
-- is not a Lua file (e.g. `return ms.scenario {...}` is a tail call, whose
-- frame is gone: the loader then locates the line in the file text).
function M.caller(level)
  local info = debug.getinfo(level + 1, "Sl")
  if not info or info.what == "C" or info.currentline < 0 then return nil end
  local src = info.source:sub(1, 1) == "@" and info.source:sub(2) or info.short_src
  return ("%s:%d"):format(src, info.currentline)
end

-- Overrides (--set path=value) for the scenario being loaded; set by the
-- loader around a sim file's main chunk.
M.pending_overrides = nil

--- The spec entry at a dotted path, or nil and the nearest valid path.
function M.spec_at(path)
  local spec, walked = M.spec, {}
  for part in path:gmatch("[^.]+") do
    local fields = spec.fields or (spec.list and spec.list.fields)
    local nxt = fields and fields[part]
    if not nxt then
      local names = fields and schema.sorted_keys(fields) or {}
      local hint = errors.nearest(part, names)
      walked[#walked + 1] = hint or part
      return nil, hint and table.concat(walked, ".") or nil
    end
    walked[#walked + 1] = part
    spec = type(nxt) == "string" and { type = nxt } or nxt
  end
  return spec
end

--- Apply `overrides` (path -> value) to the raw table t. A path into a
-- list (clients.rate) applies to every element.
function M.apply_overrides(t, overrides)
  for _, path in ipairs(schema.sorted_keys(overrides)) do
    local spec, hint = M.spec_at(path)
    if not spec then
      errors.usage("--set: unknown scenario key '%s'%s", path, hint and (" (did you mean '" .. hint .. "'?)") or "")
    end
    local parts = {}
    for part in path:gmatch("[^.]+") do parts[#parts + 1] = part end
    local function set(node, i)
      if i == #parts then
        node[parts[i]] = overrides[path]
        return
      end
      local nxt = node[parts[i]]
      if nxt == nil then
        nxt = {}
        node[parts[i]] = nxt
      end
      if type(nxt) ~= "table" then errors.usage("--set: '%s' is not a table in this scenario", parts[i]) end
      if #nxt > 0 then
        for _, el in ipairs(nxt) do set(el, i + 1) end
      else
        set(nxt, i + 1)
      end
    end
    set(t, 1)
  end
end

--- ms.scenario(t): validate t and return a Scenario.
function M.new(t)
  local where = M.caller(2)
  if M.pending_overrides and type(t) == "table" then M.apply_overrides(t, M.pending_overrides) end
  if type(t) ~= "table" then errors.raise(where, "ms.scenario expects a table, got %s", type(t)) end
  local profile = schema.check(t.profile, M.spec.fields.profile, "profile", where)
  local sc = schema.check(t, M.spec_for(profile), "", where)
  check_relations(sc, where)
  sc.where = where
  return setmetatable(sc, Scenario)
end

function M.is(v) return getmetatable(v) == Scenario end

--- Check a validated scenario again (a sim may change the table it got
-- back from ms.scenario before returning it); returns it, or raises as
-- ms.scenario does.
function M.recheck(sc)
  local raw = {}
  for k, v in pairs(sc) do
    if k ~= "where" then raw[k] = v end
  end
  local checked = schema.check(raw, M.spec_for(sc.profile), "", sc.where)
  check_relations(checked, sc.where)
  return sc
end

return M

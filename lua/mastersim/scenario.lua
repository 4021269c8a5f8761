--- Scenarios: what a sim file returns. ms.scenario validates the table at
-- the point of definition so errors name the sim file and line.
local errors = require "mastersim.errors"
local faults = require "mastersim.faults"
local schema = require "mastersim.schema"

local M = {}

local Scenario = {}
Scenario.__index = Scenario
Scenario.__name = "mastersim.Scenario"
M.Scenario = Scenario

local function positive(v) return v > 0, "must be greater than 0" end
local function at_least_one(v) return v >= 1, "must be at least 1" end
local function weights(v)
  for k, w in pairs(v) do
    if type(k) ~= "string" or type(w) ~= "number" or w < 0 then
      return false, "must map names to non-negative weights"
    end
  end
  return true
end
local function one_of(...)
  local set, names = {}, { ... }
  for _, n in ipairs(names) do set[n] = true end
  return function(v) return set[v] ~= nil, "must be one of '" .. table.concat(names, "', '") .. "'" end
end
local function dist(v) return faults.is_dist(v), "must be a distribution (ms.lognormal, ms.exponential, ...)" end
local function trigger(v) return faults.is_trigger(v), "must be a trigger (ms.at, ms.every, ms.when)" end

local OPS = { "get_vol", "get_partitions", "get_meta_partitions", "get_dp", "get_node", "get_cluster",
              "list_vols" }
M.OPS = OPS

local function ops_check(v)
  local ok, why = weights(v)
  if not ok then return false, why end
  local set = {}
  for _, o in ipairs(OPS) do set[o] = true end
  for k in pairs(v) do
    if not set[k] then return false, ("names unknown op '%s' (ops: %s)"):format(k, table.concat(OPS, ", ")) end
  end
  return true
end

local service_fields = { default = { type = "table", check = dist } }
for _, o in ipairs(OPS) do service_fields[o] = { type = "table", check = dist } end

M.spec = {
  fields = {
    name = { type = "string", required = true },
    description = { type = "string", default = "" },
    duration = { type = "duration", required = true, check = positive },
    setup = "func",
    cluster = { fields = {
      masters = { type = "count", default = 3, check = at_least_one },
      volumes = { type = "count", default = 50, check = at_least_one },
      data_partitions = { type = "count", default = 2000, check = at_least_one },
      meta_partitions = { type = "count", default = 200, check = at_least_one },
      nodes = { type = "count", default = 100, check = at_least_one },
      users = { type = "count", default = 10 },
    } },
    log = { fields = { retain = { type = "count", default = 20000, check = at_least_one } } },
    snapshot = { fields = {
      mode = { type = "string", default = "inplace", check = one_of("reopen", "inplace", "aside") },
      chunk = { type = "count", default = 4096, check = at_least_one },
      chunk_bytes = { type = "size", default = 1048576 },
      bandwidth = { type = "rate", default = 200e6, check = positive },
      apply_rate = { type = "number", default = 400000, check = positive },
    } },
    master = { fields = {
      load_rate = { type = "number", default = 0 },
      restart_delay = { type = "duration", default = 5 },
    } },
    raft = { fields = {
      election_min = { type = "duration", default = 1 },
      election_max = { type = "duration", default = 2 },
      heartbeat = { type = "duration", default = 0.2 },
      unsafe_commit_without_majority = { type = "boolean", default = false },
    } },
    network = { fields = {
      latency = { type = "table", check = dist },
      loss = { type = "fraction", default = 0 },
    } },
    server = { fields = {
      workers = { type = "count", default = 8, check = at_least_one },
      queue = { type = "count", default = 1024 },
      service = { fields = service_fields, default = {} },
    } },
    clients = { list = { fields = {
      count = { type = "count", default = 1, check = at_least_one },
      rate = { type = "number", default = 10 },
      arrivals = { type = "string", default = "poisson", check = one_of("poisson", "fixed", "closed") },
      think = { type = "duration", default = 0 },
      route = { type = "string", default = "leader", check = one_of("leader", "any", "local") },
      timeout = { type = "duration", default = 1, check = positive },
      retry = { fields = {
        max = { type = "count", default = 0 },
        backoff = { type = "duration", default = 0.02 },
        cap = { type = "duration", default = 1 },
        jitter = { type = "fraction", default = 0.1 },
        other = { type = "boolean", default = true },
      }, default = {} },
      ops = { type = "table", default = { get_vol = 1 }, check = ops_check },
      keys = { type = "string", default = "uniform", check = one_of("uniform", "zipf") },
      zipf_s = { type = "number", default = 1.1, check = positive },
    } } },
    writes = { fields = {
      rate = { type = "number", default = 0 },
      ops = { type = "table", default = { heartbeat = 1 }, check = weights },
      timeout = { type = "duration", default = 1, check = positive },
    } },
    faults = { list = { type = "table", check = trigger } },
    timeline = { fields = { bucket = { type = "duration", default = 1, check = positive } } },
  },
}

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
  local sc = schema.check(t, M.spec, "", where)
  sc.where = where
  return setmetatable(sc, Scenario)
end

function M.is(v) return getmetatable(v) == Scenario end

return M

--- Faults and triggers of a scenario, and the distributions used for
-- latencies and service times. Constructors return plain tables that the
-- scenario validator checks and the runner carries out.
--   ms.at("20s", ms.crash "m3")            once, at a virtual time
--   ms.every("30s", ms.force_snapshot "m2", { start = "10s", stop = "100s" })
--   ms.when(function(c) return c.m3.apply_progress > 0.6 end, ms.crash "m1")
-- An action may also be a function(c) receiving the same cluster view.
local errors = require "mastersim.errors"
local schema = require "mastersim.schema"
local settings = require "mastersim.settings"

local M = {}

local Action = { __name = "mastersim.Action" }
local Trigger = { __name = "mastersim.Trigger" }
local Dist = { __name = "mastersim.Dist" }

-- Fault times and periods stay within the longest run a scenario may ask for.
local LONGEST = settings.row("duration").max

local function duration(v, what)
  local s, err = schema.scalars.duration(v)
  if s == nil then error(("%s: %s"):format(what, err), 3) end
  if s > LONGEST then error(("%s: %gs is beyond the longest run (%gs)"):format(what, s, LONGEST), 3) end
  return s
end

-- The fault actions, declared once. Each has its name (the constructor
-- ms.<name>, the cluster method that carries it out, and the fault's name
-- in results), its arguments in order as { field, kind } (kind `node`: a
-- node name, or "leader" / "last_crashed", resolved when the fault fires;
-- `nodes`: a list of them, or one name; `factor`: a number > 0) and its
-- doc line. The constructors, the ms.* exports, the runner's dispatch,
-- shrink's sim writer and the actions table of docs/writing-sims.md all
-- come from this list.
M.ACTIONS = {
  { name = "crash", args = { { "node", "node" } },
    doc = "the node stops; its store stays as of its last applied entry (unusable after a crash during an"
      .. " `inplace` or `reopen` apply)" },
  { name = "restart", args = { { "node", "node" } }, doc = "a crashed node comes back, loads its store and rejoins" },
  { name = "partition", args = { { "a", "nodes" }, { "b", "nodes" } },
    doc = "no message crosses between the two groups, either way" },
  { name = "block", args = { { "from", "node" }, { "to", "node" } },
    doc = "every message from `from` to `to` is lost (one way)" },
  { name = "heal", args = {}, doc = "every partition and block is lifted" },
  { name = "slow_apply", args = { { "node", "node" }, { "factor", "factor" } },
    doc = "the node applies `factor` times slower (1 restores the scenario's rate)" },
  { name = "force_snapshot", args = { { "node", "node" } },
    doc = "the leader streams the node a snapshot, as if it had fallen behind the log" },
  { name = "apply_snapshot", args = { { "node", "node" } }, doc = "an operator restore: the same stream" },
  { name = "transfer_leader", args = { { "node", "node" } }, doc = "the leader hands leadership to the node" },
}

-- Checks of an argument of each kind (errors at the constructor's caller).
local ARG = {}

function ARG.node(v, what)
  if type(v) ~= "string" then error(("%s expects a node name such as \"m3\""):format(what), 3) end
  return v
end

function ARG.nodes(v, what)
  if type(v) == "string" then v = { v } end
  local ok = type(v) == "table"
  for _, n in ipairs(ok and v or {}) do ok = ok and type(n) == "string" end
  if not ok then error(("%s expects lists of node names such as { \"m1\" }"):format(what), 3) end
  return table.move(v, 1, #v, 1, {})
end

function ARG.factor(v, what)
  if type(v) ~= "number" or v ~= v or v <= 0 or v == math.huge then
    error(("%s expects a factor > 0"):format(what), 3)
  end
  return v
end

local function action(t) return setmetatable(t, Action) end

M.BY_NAME = {}
for _, def in ipairs(M.ACTIONS) do
  M.BY_NAME[def.name] = def
  M[def.name] = function(...)
    local a = { action = def.name }
    for i, arg in ipairs(def.args) do a[arg[1]] = ARG[arg[2]]((select(i, ...)), def.name) end
    return action(a)
  end
end

local function check_action(a, what)
  if type(a) == "function" or getmetatable(a) == Action then return a end
  error(("%s expects an action (ms.crash \"m3\", ...) or a function(c)"):format(what), 3)
end

function M.at(t, a)
  return setmetatable({ trigger = "at", t = duration(t, "at"), action = check_action(a, "at") }, Trigger)
end

function M.every(period, a, opts)
  opts = opts or {}
  local p = duration(period, "every")
  if p <= 0 then error("every: the period must be greater than 0", 2) end
  return setmetatable({ trigger = "every", period = p, action = check_action(a, "every"),
    start = opts.start and duration(opts.start, "every start") or p,
    stop = opts.stop and duration(opts.stop, "every stop") or math.huge }, Trigger)
end

function M.when(pred, a, opts)
  if type(pred) ~= "function" then error("when expects a predicate function(c)", 2) end
  return setmetatable({ trigger = "when", pred = pred, action = check_action(a, "when"),
    ["repeat"] = opts and opts["repeat"] or false }, Trigger)
end

function M.is_trigger(v) return getmetatable(v) == Trigger end
function M.is_dist(v) return getmetatable(v) == Dist end

--- Distributions (times in seconds or unit strings).
function M.lognormal(median, p99)
  local m, q = duration(median, "lognormal median"), duration(p99, "lognormal p99")
  if not (m > 0 and q >= m) then error("lognormal expects 0 < median <= p99", 2) end
  return setmetatable({ kind = "lognormal", p1 = m, p2 = q }, Dist)
end

function M.exponential(mean)
  return setmetatable({ kind = "exponential", p1 = duration(mean, "exponential mean"), p2 = 0 }, Dist)
end

function M.constant(v)
  return setmetatable({ kind = "constant", p1 = duration(v, "constant"), p2 = 0 }, Dist)
end

function M.uniform(lo, hi)
  local a, b = duration(lo, "uniform lo"), duration(hi, "uniform hi")
  if b < a then error("uniform expects lo <= hi", 2) end
  return setmetatable({ kind = "uniform", p1 = a, p2 = b }, Dist)
end

-- Node names resolved when the fault fires rather than when it is set.
M.DYNAMIC = { leader = true, last_crashed = true }

-- Apply fn to every node-name argument of action `a` (fn(name) -> value):
-- a copy of `a` with the results, or nil when fn returns nil for one.
local function map_nodes(a, fn)
  local r = { action = a.action }
  for _, arg in ipairs(M.BY_NAME[a.action].args) do
    local field, kind = arg[1], arg[2]
    local v = a[field]
    if kind == "node" then
      v = fn(v)
      if v == nil then return nil end
    elseif kind == "nodes" then
      local list = {}
      for i, n in ipairs(v) do
        list[i] = fn(n)
        if list[i] == nil then return nil end
      end
      v = list
    end
    r[field] = v
  end
  return r
end

--- The node names an action (or a trigger's action) refers to, in order.
function M.node_names(a)
  if getmetatable(a) == Trigger then return M.node_names(a.action) end
  if getmetatable(a) ~= Action then return {} end
  local out = {}
  map_nodes(a, function(n)
    out[#out + 1] = n
    return n
  end)
  return out
end

--- Resolve node names in an action against `index` (name -> 1-based
-- index); raises a user error at `where` for an unknown name. "leader" and
-- "last_crashed" stay symbolic (see M.DYNAMIC).
function M.resolve(a, index, where)
  if type(a) == "function" then return a end
  return map_nodes(a, function(name)
    if M.DYNAMIC[name] then return name end
    local i = index[name]
    if not i then
      local names = {}
      for n in pairs(index) do names[#names + 1] = n end
      table.sort(names)
      errors.raise(where, "fault %s names unknown node '%s' (nodes: %s)", a.action, tostring(name),
        table.concat(names, ", "))
    end
    return i
  end)
end

--- Resolved action `a` as it fires: "leader" and "last_crashed" replaced by
-- dynamic(name) (a node index, or nil: then nil, and the fault is a no-op).
function M.bind(a, dynamic)
  return map_nodes(a, function(n)
    if M.DYNAMIC[n] then return dynamic(n) end
    return n
  end)
end

--- The arguments of bound action `a`, in its constructor's order (the
-- cluster method's too).
function M.args(a)
  local args, out = M.BY_NAME[a.action].args, {}
  for i, arg in ipairs(args) do out[i] = a[arg[1]] end
  return table.unpack(out, 1, #args)
end

return M

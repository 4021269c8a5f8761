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

local function node_name(v, what)
  if type(v) ~= "string" then error(("%s expects a node name such as \"m3\""):format(what), 3) end
  return v
end

local function action(t) return setmetatable(t, Action) end

local function on_node(name)
  return function(node) return action { action = name, node = node_name(node, name) } end
end

M.crash = on_node("crash")
M.restart = on_node("restart")
M.force_snapshot = on_node("force_snapshot")
M.apply_snapshot = on_node("apply_snapshot")
M.transfer_leader = on_node("transfer_leader")
function M.heal() return action { action = "heal" } end

--- slow_apply(node, factor): the node applies `factor` times slower (a
-- slowdown; 1 restores the scenario's apply rate).
function M.slow_apply(node, factor)
  if type(factor) ~= "number" or factor <= 0 then error("slow_apply expects a factor > 0", 2) end
  return action { action = "slow_apply", node = node_name(node, "slow_apply"), factor = factor }
end

--- partition(a, b): two groups of node names that cannot reach each other.
function M.partition(a, b)
  if type(a) == "string" then a = { a } end
  if type(b) == "string" then b = { b } end
  if type(a) ~= "table" or type(b) ~= "table" then error("partition expects two lists of node names", 2) end
  return action { action = "partition", a = a, b = b }
end

--- block(from, to): one-way loss of every message from `from` to `to`.
function M.block(from, to)
  return action { action = "block", from = node_name(from, "block"), to = node_name(to, "block") }
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

--- The node names an action (or a trigger's action) refers to, in order.
function M.node_names(a)
  if type(a) ~= "table" then return {} end
  if getmetatable(a) == Trigger then return M.node_names(a.action) end
  local out = {}
  for _, k in ipairs({ "node", "from", "to" }) do out[#out + 1] = a[k] end
  for _, list in ipairs({ a.a or {}, a.b or {} }) do
    for _, n in ipairs(list) do out[#out + 1] = n end
  end
  return out
end

--- Resolve node names in an action against `index` (name -> 1-based
-- index); raises a user error at `where` for an unknown name. "leader" and
-- "last_crashed" stay symbolic (see M.DYNAMIC).
function M.resolve(a, index, where)
  if type(a) == "function" then return a end
  local function idx(name)
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
  end
  local r = { action = a.action, factor = a.factor }
  if a.node then r.node = idx(a.node) end
  if a.from then r.from, r.to = idx(a.from), idx(a.to) end
  if a.a then
    r.a, r.b = {}, {}
    for i, n in ipairs(a.a) do r.a[i] = idx(n) end
    for i, n in ipairs(a.b) do r.b[i] = idx(n) end
  end
  return r
end

return M

--- One run of a scenario: a scheduler, named random streams, the scenario's
-- setup, and the libuv driver. Script callbacks run in the sandbox, each
-- with its own step budget.
local budget = require "mastersim.budget"
local cluster_run = require "mastersim.cluster_run"
local core = require "mastersim.core"
local faults = require "mastersim.faults"
local loader = require "mastersim.loader"
local paths = require "mastersim.paths"
local policy = require "mastersim.policy"
local sandbox = require "mastersim.sandbox"
local schema = require "mastersim.schema"

local M = {}

local Sim = {}
Sim.__index = Sim

-- What sim:rng and sim:station hand a script: the object's methods bound
-- to it as C closures in a table (rng:bind, station:bind), so a call is a
-- table lookup, as sim.after is, not a userdata's __index and class check.
-- The object itself stays out of the script's reach (the run owns it: a
-- script neither closes a stream nor a station, whose close would cancel
-- its departures in a walk of every pending event); the table's tostring
-- is the object's.
local function bound(obj)
  return setmetatable(obj:bind(), { __tostring = function() return tostring(obj) end })
end

--- The named random stream of this run (created on first use): its draws
-- (next, uniform, below, exponential, normal, lognormal, pareto, weighted),
-- name and seed.
function Sim:rng(name)
  local r = self._rngs[name]
  if not r then
    r = bound(core.rng(self.seed, name))
    self._rngs[name] = r
  end
  return r
end

-- Sim:at(t, fn) (virtual time t, seconds or a unit string), Sim:after(d,
-- fn) and Sim:now() are the run's scheduler bound to the sim (sched:bind,
-- in M.run): C functions called as methods, which schedule fn(sim, now)
-- (now: the virtual time in seconds, what sim:now() would return). The
-- drive runs every callback under the sandbox's limits (core.drive's
-- `sandbox` option).

--- Run fn(sim, now) every `period`, first at now + period (or at `first`).
function Sim:every(period, fn, first)
  local p = assert(schema.scalars.duration(period))
  if p <= 0 then error("every: the period must be greater than 0", 2) end
  if type(fn) ~= "function" then error("every: expects a function to call", 2) end
  local function tick(sim, now)
    fn(sim, now)
    sim:after(p, tick)
  end
  return self:at(first or (self:now() + p), tick)
end

local STATION_OPTS = { servers = true, queue = true, service = true, done = true }

--- A queueing station (src/model/ms_station.h): opts.servers servers
-- (default 1) behind one first-come-first-served line of at most opts.queue
-- waiting customers (default: no limit), each service drawn from the
-- distribution opts.service on the stream "station:<name>" of the run's
-- seed. station:arrive() brings a customer now (false: the line was full);
-- services and departures run in C; station:stats() gives the counts and
-- the mean times in seconds (sojourn, wait, service). opts.done, if given,
-- is called as done(sim, now, sojourn, wait) after each departure (a
-- network of stations: one's done brings the customer to the next).
function Sim:station(name, opts)
  if type(name) ~= "string" or name == "" then error("station: the name must be a non-empty string", 2) end
  if type(opts) ~= "table" then error("station: expects a table of options", 2) end
  local unknown
  for k in pairs(opts) do
    if type(k) ~= "string" then error("station: option names must be strings", 2) end
    if not STATION_OPTS[k] and (not unknown or k < unknown) then unknown = k end
  end
  if unknown then
    error(("station: unknown option '%s' (servers, queue, service, done)"):format(unknown), 2)
  end
  local servers = opts.servers == nil and 1 or math.tointeger(opts.servers)
  if not servers or servers < 1 or servers > core.station_max_servers then
    error(("station: servers must be an integer from 1 to %d"):format(core.station_max_servers), 2)
  end
  local queue
  if opts.queue ~= nil then
    queue = math.tointeger(opts.queue)
    if not queue or queue < 0 or queue == math.maxinteger then
      error("station: queue must be an integer >= 0 (leave it out for no limit)", 2)
    end
  end
  if not faults.is_dist(opts.service) then
    error("station: service must be a distribution (ms.exponential, ms.lognormal, ...)", 2)
  end
  local done = opts.done
  if done ~= nil and type(done) ~= "function" then error("station: done must be a function", 2) end
  return bound(core.station(self._sched, { servers = servers, queue = queue, service = opts.service,
    seed = self.seed, stream = "station:" .. name,
    done = done and function(sojourn, wait) return done(self, self:now(), sojourn, wait) end }))
end

function Sim:cancel(id) return self._sched:cancel(id) end
function Sim:stop() self._sched:stop() end

--- Add n (default 1) to the named counter; counters go into the result and
-- the digest.
function Sim:count(name, n)
  n = n or 1
  self.counters[name] = (self.counters[name] or 0) + n
  self._sched:fold(name)
  self._sched:fold(math.tointeger(n) or math.floor(n * 1e6))
end

--- Run scenario `sc`. opts: seed (integer, default 1), progress (bool),
-- sigint (bool, default true), max_events and max_memory (the run budget,
-- see mastersim.budget), and for cluster scenarios policy (a loaded policy, a name
-- or a path) and params. Returns the result table; a run stopped by its
-- budget has status "budget", partial true and `stopped_by`.
function M.run(sc, opts)
  opts = opts or {}
  local meta = loader.meta(sc) or {}
  if sc.cluster then
    local pol = opts.policy or "block"
    if type(pol) == "string" then pol = policy.load(paths.policy(pol), opts.params) end
    return cluster_run.run(sc, pol, opts, meta)
  end
  local seed = math.tointeger(opts.seed or 1)
  local sched <close> = core.sched()
  local who = meta.file or sc.where
  local sim = setmetatable({
    seed = seed, duration = sc.duration, counters = {}, _sched = sched, _rngs = {},
    _who = who, _limits = meta.limits,
    _fail = function(kind, msg) sandbox.fail(who, kind, msg) end,
  }, Sim)
  sim.after, sim.at, sim.now = sched:bind(sim)
  core.sandbox_reset() -- objects are named #1, #2, ... from here, whatever ran before
  if meta.ctl then meta.ctl.rng = sim:rng("script") end
  local t0 = core.wall()
  if sc.setup then sandbox.call(sim._who, sim._limits, sc.setup, sim) end
  local max_events, max_memory = budget.of(opts)
  local status, events, kind, rss = core.drive(sched, {
    ["until"] = sc.duration, progress = opts.progress, sigint = opts.sigint ~= false,
    label = sc.name, max_events = max_events, max_memory = max_memory,
    sandbox = { limits = sim._limits or sandbox.defaults, on_error = sim._fail },
  })
  local wall = core.wall() - t0
  if meta.ctl then meta.ctl.rng = nil end
  local counters = {}
  for _, k in ipairs(schema.sorted_keys(sim.counters)) do counters[k] = sim.counters[k] end
  return {
    scenario = sc.name,
    file = meta.file,
    seed = seed,
    status = status,
    partial = status ~= "done",
    stopped_by = budget.stopped_by(status, kind, rss, max_events, max_memory),
    virtual_s = sched:now(),
    events = sched:events(),
    digest = sched:digest(),
    counters = counters,
    wall = { seconds = wall, events_per_s = wall > 0 and events / wall or 0 },
  }
end

return M

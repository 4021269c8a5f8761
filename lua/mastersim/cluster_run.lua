--- One run of a cluster scenario under a policy: the normalised model
-- configuration, the policy bridge, faults and triggers, and the result
-- (schema mastersim.result/1, DESIGN.md section 8).
local availability = require "mastersim.availability"
local budget = require "mastersim.budget"
local core = require "mastersim.core"
local errors = require "mastersim.errors"
local faults = require "mastersim.faults"
local history = require "mastersim.history"
local policy = require "mastersim.policy"
local sandbox = require "mastersim.sandbox"

local M = {}

M.SCHEMA = "mastersim.result/1"

local function node_names(n)
  local names, index = {}, {}
  for i = 1, n do
    names[i] = "m" .. i
    index[names[i]] = i
  end
  return names, index
end

--- The model's configuration: the validated scenario itself (the binding
-- reads every setting by its key, see settings.lua), with the run's seed
-- and apply style.
function M.config(sc, seed, mode)
  local cfg = {}
  for k, v in pairs(sc) do cfg[k] = v end
  cfg.seed = seed
  cfg.snapshot = {}
  for k, v in pairs(sc.snapshot) do cfg.snapshot[k] = v end
  cfg.snapshot.mode = mode
  return cfg
end

--- A read-only view of the cluster for triggers: c.m3.phase, c.leader.
local function cluster_view(cl, index)
  return setmetatable({}, {
    __index = function(_, k)
      if k == "leader" then
        local l = cl:leader()
        return l and ("m" .. l) or nil
      end
      local i = index[k]
      if not i then error(("no node '%s' in this cluster"):format(core.sandbox_tostring(k)), 2) end
      return setmetatable(cl:node(i), policy.strict_node)
    end,
    __newindex = function(_, k)
      error(("the cluster view is read-only (assignment to '%s')"):format(core.sandbox_tostring(k)), 2)
    end,
    __metatable = false,
  })
end

--- Carry out action a; `state.last_crashed` remembers the node the last
-- crash fault took down. A symbolic node that names nobody (no leader)
-- makes the action a no-op. `state.record`, when set, gets each action as
-- carried out, its nodes resolved (mastersim shrink replays them).
local function do_action(cl, a, view, state)
  local record = state.record or function() end
  if type(a) == "function" then
    record({ action = "function" })
    return a(view)
  end
  local now = faults.bind(a, function(name)
    if name == "leader" then return cl:leader() end
    return state.last_crashed
  end)
  if now == nil then return false end
  record(now)
  if now.action == "crash" then state.last_crashed = now.node end
  return cl[now.action](cl, faults.args(now))
end

--- Schedule the scenario's faults and set up when-triggers. Returns the
-- fault state shared with setup's run:fault.
local function schedule_faults(sched, cl, sc, index, who, limits, view, record)
  local whens, state = {}, {}
  if record then state.record = function(a) record(sched:now(), a) end end
  for _, f in ipairs(sc.faults or {}) do
    local a = faults.resolve(f.action, index, sc.where)
    local function fire() sandbox.call(who, limits, do_action, cl, a, view, state) end
    if f.trigger == "at" then
      sched:at(f.t, fire)
    elseif f.trigger == "every" then
      local function tick()
        fire()
        if sched:now() + f.period <= f.stop then sched:after(f.period, tick) end
      end
      if f.start <= f.stop then sched:at(f.start, tick) end
    else
      whens[#whens + 1] = { pred = f.pred, fire = fire, ["repeat"] = f["repeat"], done = false }
    end
  end
  if #whens > 0 then
    cl:on_change(function()
      for _, w in ipairs(whens) do
        if not w.done and sandbox.call(who, limits, w.pred, view) then
          w.done = not w["repeat"]
          w.fire()
        end
      end
    end)
  end
  return state
end

--- What a scenario's setup(run) gets: the cluster view and a way to
-- schedule its own callbacks and faults (each callback in the sandbox).
local function setup_env(sched, cl, index, who, limits, view, state)
  local env = { cluster = view }
  function env.now() return sched:now() end
  function env.at(_, t, fn) return sched:at(t, function() sandbox.call(who, limits, fn, env) end) end
  function env.after(_, d, fn) return sched:after(d, function() sandbox.call(who, limits, fn, env) end) end
  function env.fault(_, action)
    return do_action(cl, faults.resolve(action, index, who), view, state)
  end
  return env
end

--- The bridge the C model calls for decisions: the policy's checked
-- decision, with a redirect target turned into a node index (-1: leader).
local function bridge(pol, index)
  local function decide(read, node)
    local kind, a, b = pol:decide(read, node)
    if kind == "redirect" then
      if a == "leader" then return kind, -1 end
      local i = index[a]
      if not i then errors.raise(pol:where(), "on_read redirected to unknown node '%s'", tostring(a)) end
      return kind, i - 1
    end
    return kind, a, b
  end
  local hook
  if pol.on_apply_begin or pol.on_apply_end then
    hook = function(name, node) pol:hook(name, node) end
  end
  return { decide = decide, hook = hook, every_read = pol.every_read, cost = pol.cost, name = pol.name }
end

local function by_name(list, names)
  local out = {}
  for i, v in ipairs(list) do out[names[i]] = v end
  return out
end

-- The scans' counts by name (scans[k].name), with their read's shares.
local function scans_by_name(stats, scans)
  local out = {}
  for k, st in ipairs(stats) do out[scans[k].name] = st end
  return out
end

--- Shape the result from the model's metrics.
local function result(sc, meta, pol, opts, mode, sched, cl, status, wall)
  local m = cl:metrics()
  local names = node_names(cl:size())
  local r = m.reads
  local ok = r.outcomes.fresh + r.outcomes.stale
  r.availability = r.logical > 0 and ok / r.logical or 1
  r.attempts_per_read = r.logical > 0 and r.attempts / r.logical or 0
  r.load = by_name(r.load, names)
  local intervals = {}
  for i, a in ipairs(m.applies) do
    intervals[i] = { node = names[a.node], start = a.start, finish = a.finish, mode = a.mode }
  end
  local phases = {}
  for _, p in ipairs(m.phases) do
    local n = names[p.node]
    phases[n] = phases[n] or {}
    table.insert(phases[n], { t0 = p.start, t1 = p.finish < 0 and sched:now() or p.finish, phase = p.phase })
  end
  for _, f in ipairs(m.faults) do f.node = f.node and names[f.node] or nil end
  local elections = availability.elections(m.elections, names, sched:now())
  local violations, first = cl:checker()
  local nodes = {}
  for i, name in ipairs(names) do
    local st = cl:node(i)
    nodes[name] = { role = st.role, phase = st.phase, term = st.term, applied = st.applied,
                    digest = cl:digest(i), keys = st.store_keys, log_entries = st.log_entries,
                    campaigns = st.campaigns }
  end
  return {
    schema = M.SCHEMA, scenario = sc.name, sim_file = meta.file, policy = pol.name,
    policy_file = pol.file, params = pol.params, snapshot_mode = mode, seed = opts.seed,
    build = core.version, digest = sched:digest(), arrivals_digest = m.arrivals_digest,
    virtual_s = sched:now(), duration_s = sc.duration, events = sched:events(), status = status,
    partial = status ~= "done", reads = r, writes = m.writes,
    snapshots = { installs = #intervals, intervals = intervals }, faults = m.faults,
    timeline = m.timeline, phases = phases, memory = by_name(m.memory, names), nodes = nodes,
    elections = elections, unavailability = availability.unavailability(elections, phases, names, sched:now()),
    scans = scans_by_name(m.scans, sc.scans), cache = m.scans.cache,
    checker = { safety_violations = violations, first_violation = first,
                torn = r.outcomes.torn, crashes = r.read_crashes },
    wall = wall,
  }
end

--- Run cluster scenario sc (validated) with policy pol (mastersim.policy).
-- opts: seed, progress, sigint, history (a path) and history_format
-- ("jsonl": one JSON line per read attempt, the default; "porcupine" or
-- "edn": see mastersim/history.lua), record_faults (fn(t, action) for every
-- fault carried out, nodes as 1-based indices). meta: what the loader
-- knows of the sim.
function M.run(sc, pol, opts, meta)
  local seed = math.tointeger(opts.seed or 1)
  local mode = pol.snapshot_mode or (sc.snapshot or {}).mode or "inplace"
  local sched <close> = core.sched() -- closed after cl, its child
  local cfg = M.config(sc, seed, mode)
  local max_events, max_memory = budget.of(opts)
  cfg.max_memory = max_memory -- the image generator's limit too
  local decider = pol.builtin and { builtin = pol.builtin, param = pol.param }
    or bridge(pol, select(2, node_names(sc.cluster.masters)))
  local made, made_cl = pcall(core.cluster, sched, cfg, decider)
  if not made then
    if tostring(made_cl):find("memory budget", 1, true) then
      errors.raise(meta.file or sc.where, "the cluster image exceeds the memory budget of %.1f GiB" ..
        " (raise it with --max-memory)", max_memory / (1 << 30))
    end
    error(made_cl, 0)
  end
  local cl <close> = made_cl
  local _, index = node_names(sc.cluster.masters)
  local fmt, raw = opts.history_format or "jsonl", nil
  if opts.history then
    if not history.FORMATS[fmt] then
      errors.usage("mastersim: unknown history format '%s' (formats: %s)", tostring(fmt), history.FORMAT_LIST)
    end
    local ok, err
    if fmt == "jsonl" then
      ok, err = cl:history(opts.history)
    else
      raw = opts.history .. ".ops"
      ok, err = cl:ops(raw)
    end
    if not ok then errors.raise(nil, "cannot write %s: %s", raw or opts.history, err) end
  end
  local who, limits = meta.file or sc.where, meta.limits
  core.sandbox_reset() -- objects are named #1, #2, ... from here, whatever ran before
  if meta.ctl then meta.ctl.rng = core.rng(seed, "script") end
  if pol.ctl then pol.ctl.rng = core.rng(seed, "policy") end
  local view = cluster_view(cl, index)
  local state = schedule_faults(sched, cl, sc, index, who, limits, view, opts.record_faults)
  if sc.setup then sandbox.call(who, limits, sc.setup, setup_env(sched, cl, index, who, limits, view, state)) end
  -- Reads and writes stop arriving at `duration`; what is in flight then
  -- gets the longest client timeout (with retries) to finish.
  local grace = 0
  for _, g in ipairs(sc.clients or {}) do
    local tries = g.route == "sdk" and sc.cluster.masters + 1 or g.retry.max + 1
    local backoff = g.route == "sdk" and 0 or g.retry.cap * g.retry.max
    grace = math.max(grace, g.timeout * tries + backoff)
  end
  local t0 = core.wall()
  local status, _, kind, rss = core.drive(sched, { ["until"] = sc.duration + grace + 1,
    progress = opts.progress, sigint = opts.sigint ~= false, label = sc.name .. "/" .. pol.name,
    max_events = max_events, max_memory = max_memory })
  local wall_s = core.wall() - t0
  -- a C policy that fails stops the run; its results would be cut short
  local perr = cl:error()
  if perr then errors.raise(pol.file, "policy %s: %s", pol.name, perr) end
  if opts.history then
    local ok, err = cl:history_close()
    if not ok then errors.raise(nil, "cannot write %s", err) end
  end
  local res = result(sc, meta, pol, opts, mode, sched, cl, status,
    { seconds = wall_s, events_per_s = wall_s > 0 and sched:events() / wall_s or 0 })
  res.stopped_by = budget.stopped_by(status, kind, rss, max_events, max_memory)
  if raw then -- the op records file is complete (history_close)
    local ok, err = history.export(raw, opts.history, fmt, res)
    os.remove(raw)
    if not ok then errors.raise(nil, "cannot write %s: %s", opts.history, err) end
  end
  if meta.ctl then meta.ctl.rng = nil end
  if pol.ctl then pol.ctl.rng = nil end
  return res
end

return M

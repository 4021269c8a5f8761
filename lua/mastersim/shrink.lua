--- mastersim shrink: minimise a failing run.
--
--   mastersim shrink SIM --policy P --seed N [--param k=v]... [--set path=v]...
--                    [--predicate EXPR|FILE] [--out FILE] [--quiet]
--
-- The run's faults, as they were carried out (ms.at, ms.every, ms.when and
-- a setup's run:fault alike, their nodes resolved), become a concrete
-- schedule of ms.at faults; then, while the failure persists, the schedule
-- is minimised by delta debugging (ddmin: drop halves, quarters, ... then
-- single faults), the duration by bisection (whole seconds), and each
-- client group's count by bisection, and the schedule once more. The
-- minimal scenario is written as a sim file that `mastersim run` loads.
-- Every candidate is a full run with the same seed, policy and params, so
-- the file replays the failure exactly (same build).
--
-- The failure: --predicate, a Lua expression over the result `r` (e.g.
-- "r.reads.outcomes.torn > 5") or a Lua file returning function(r) ->
-- boolean; else the first of these the original run shows: an error that
-- stops the run, a raft safety violation, a crash of a node by a read, a
-- torn read.
local core = require "mastersim.core"
local errors = require "mastersim.errors"
local faults = require "mastersim.faults"
local json = require "mastersim.report.json"
local paths = require "mastersim.paths"
local schema = require "mastersim.schema"

local M = {}

M.USAGE = [==[
usage: mastersim shrink SIM --policy P --seed N [--param k=v]... [--set path=value]...
                        [--predicate EXPR|FILE] [--out FILE] [--quiet]

Minimise a failing run of SIM (policy P, seed N): its faults (as a concrete
schedule of ms.at faults, by delta debugging), its duration and its client
counts, keeping only changes after which the run still fails. Writes the
minimal scenario to --out (default: SIMNAME-shrunk.lua here), a sim file that
'mastersim run FILE --policy P --seed N' replays.
  --predicate EXPR  the failure: a Lua expression over the result r, true when the
                    run fails, e.g. 'r.reads.outcomes.torn > 5'; or a Lua file
                    returning function(r) -> boolean. Default: the first of an
                    error that stops the run, a raft safety violation, a node
                    crashed by a read, a torn read, that the original run shows
  --param, --set    as for run; they apply to every candidate and are kept in
                    the written scenario (--set) or the replay command (--param)
  --out FILE        where to write the minimal scenario
  --quiet           no progress lines on stderr
Exit 0 with the scenario written; 1 when the run does not fail.
]==]

-- The failure kinds a run can show without --predicate, in order.
local KINDS = {
  { name = "error", test = function(_, err) return err ~= nil end,
    say = function(_, err) return "the run stops with: " .. err end },
  { name = "safety", test = function(r) return r.checker.safety_violations > 0 end,
    say = function(r) return ("%d raft safety violations (first: %s)"):format(r.checker.safety_violations,
      tostring(r.checker.first_violation)) end },
  { name = "crash", test = function(r) return (r.reads.read_crashes or 0) > 0 end,
    say = function(r) return ("%d nodes crashed by reads"):format(r.reads.read_crashes) end },
  { name = "torn", test = function(r) return r.reads.outcomes.torn > 0 end,
    say = function(r) return ("%d torn reads"):format(r.reads.outcomes.torn) end },
}

--- The predicate of --predicate: a function(r) -> boolean, from an
-- expression or a file (loaded in the sandbox, as sims are).
function M.predicate(text)
  local f = io.open(text, "rb")
  if f then
    f:close()
    local chunk = require("mastersim.loader").compile(text)
    local ok, fn = pcall(require("mastersim.sandbox").call, text, nil, chunk)
    if not ok then error(fn, 0) end
    if type(fn) ~= "function" then
      errors.usage("mastersim shrink: --predicate %s must return a function(r) -> boolean (it returned %s)", text,
        type(fn))
    end
    return fn, text
  end
  local env = require("mastersim.sandbox").new_env({})
  local chunk, err = core.meter_load("local r = ...; return (" .. text .. ")", "=--predicate", env)
  if not chunk then errors.usage("mastersim shrink: bad --predicate '%s': %s", text, err) end
  return chunk, text
end

-- Lua source ------------------------------------------------------------

local function num(v) return json.number(v) end

local function ident(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") and k end

-- Lua source of a scenario value (durations in seconds, sizes in bytes).
local function value(v, indent)
  local t = type(v)
  if t == "number" then return num(v) end
  if t == "string" then return ("%q"):format(v) end
  if t == "boolean" then return tostring(v) end
  if t ~= "table" then error(("cannot write a %s into a sim file"):format(t), 0) end
  if faults.is_dist(v) then
    if v.kind == "lognormal" or v.kind == "uniform" then
      return ("ms.%s(%s, %s)"):format(v.kind, num(v.p1), num(v.p2))
    end
    return ("ms.%s(%s)"):format(v.kind, num(v.p1))
  end
  local pad, parts = ("  "):rep(indent + 1), {}
  if #v > 0 then
    for _, x in ipairs(v) do parts[#parts + 1] = pad .. value(x, indent + 1) end
  else
    for _, k in ipairs(schema.sorted_keys(v)) do
      local name = ident(k) or ("[%s]"):format(value(k, 0))
      parts[#parts + 1] = ("%s%s = %s"):format(pad, name, value(v[k], indent + 1))
    end
  end
  if #parts == 0 then return "{}" end
  return "{\n" .. table.concat(parts, ",\n") .. ",\n" .. ("  "):rep(indent) .. "}"
end

local function names(list)
  local out = {}
  for i, n in ipairs(list) do out[i] = ("%q"):format("m" .. n) end
  return "{ " .. table.concat(out, ", ") .. " }"
end

-- Lua source of one argument of a fault action, by its kind.
local ARG_SOURCE = {
  node = function(v) return ("%q"):format("m" .. v) end,
  nodes = names,
  factor = num,
}

--- Lua source of one recorded fault.
function M.fault_source(f)
  local def = faults.BY_NAME[f.a.action]
  local args = {}
  for i, arg in ipairs(def.args) do args[i] = ARG_SOURCE[arg[2]](f.a[arg[1]]) end
  local call = ("ms.%s(%s)"):format(def.name, table.concat(args, ", "))
  if #def.args == 1 and def.args[1][2] == "node" then call = ("ms.%s %s"):format(def.name, args[1]) end
  return ("ms.at(%s, %s)"):format(num(f.t), call)
end

--- The sim file of scenario `base` (validated, without setup and faults)
-- with the `recorded` faults, `header` lines as comments at the top.
function M.source(base, recorded, header)
  local out = {}
  for _, h in ipairs(header) do out[#out + 1] = "-- " .. h end
  out[#out + 1] = 'local ms = require "mastersim"'
  out[#out + 1] = "return ms.scenario {"
  for _, k in ipairs(schema.sorted_keys(base)) do
    if k ~= "faults" and k ~= "setup" and k ~= "where" then
      out[#out + 1] = ("  %s = %s,"):format(ident(k) or ("[%q]"):format(k), value(base[k], 1))
    end
  end
  out[#out + 1] = "  faults = {"
  for _, f in ipairs(recorded) do out[#out + 1] = "    " .. M.fault_source(f) .. "," end
  out[#out + 1] = "  },"
  out[#out + 1] = "}"
  return table.concat(out, "\n") .. "\n"
end

-- The search --------------------------------------------------------------

--- Delta debugging (Zeller's ddmin) over list `xs`: a smallest sublist
-- (1-minimal: dropping any one element passes) for which fails(sub) is
-- true, given that fails(xs) is.
function M.ddmin(xs, fails)
  local n = 2
  while #xs >= 2 do
    local size, reduced = math.ceil(#xs / n), false
    for start = 1, #xs, size do
      local complement = {}
      for i, x in ipairs(xs) do
        if i < start or i >= start + size then complement[#complement + 1] = x end
      end
      if #complement < #xs and fails(complement) then
        xs, n, reduced = complement, math.max(n - 1, 2), true
        break
      end
    end
    if not reduced then
      if n >= #xs then break end
      n = math.min(n * 2, #xs)
    end
  end
  if #xs == 1 and fails({}) then return {} end
  return xs
end

--- The smallest integer in [lo, hi] for which ok(x) holds, by bisection,
-- given ok(hi) (monotonic in the search's eyes: a passing probe moves lo).
function M.bisect(lo, hi, ok)
  while lo < hi do
    local mid = (lo + hi) // 2
    if ok(mid) then hi = mid else lo = mid + 1 end
  end
  return hi
end

--- Shrink. o: sim (path), policy (path), params, sets, seed, predicate
-- (fn, or nil), log (fn(line) or nil). Returns { source, faults_before,
-- faults, duration_before, duration, clients_before, clients, runs, why }.
function M.shrink(o)
  local ms = require "mastersim"
  local log = o.log or function() end
  local runs = 0
  -- One run of scenario sc: the result (or nil) and the error line (or nil).
  local function run(sc, record)
    runs = runs + 1
    local ok, r = pcall(ms.run, sc, { seed = o.seed, policy = ms.load_policy(o.policy, o.params), sigint = false,
      progress = false, record_faults = record })
    if ok then return r, nil end
    return nil, errors.first_line(errors.is_user(r) and r.msg or tostring(r))
  end
  local orig = ms.load_sim(o.sim, nil, next(o.sets) and o.sets or nil)
  if not orig.cluster then errors.usage("mastersim shrink: %s is a scripted sim without a cluster", o.sim) end
  local recorded = {}
  local r0, err0 = run(orig, function(t, a) recorded[#recorded + 1] = { t = t, a = a } end)
  local fails, say
  if o.predicate then
    fails = function(r)
      if not r then return false end
      local ok, v = pcall(o.predicate, r)
      if not ok then errors.raise(nil, "--predicate failed: %s", errors.first_line(tostring(v))) end
      return v == true
    end
    say = function() return "the predicate holds" end
  else
    for _, k in ipairs(KINDS) do
      if (r0 or err0) and k.test(r0, err0) then fails, say = function(r, err)
        if k.name == "error" then return err == err0 end
        return r ~= nil and k.test(r)
      end, k.say break end
    end
  end
  if not fails or not fails(r0, err0) then
    return nil, "the run does not fail" .. (o.predicate and " (the predicate is false)" or
      " (no error, raft safety violation, read crash or torn read)")
  end
  for _, f in ipairs(recorded) do
    if f.a.action == "function" then
      errors.raise(nil, "shrink: a fault action of this sim is a Lua function; only ms.crash, ms.restart, "
        .. "ms.partition, ... can be replayed")
    end
  end
  -- The scenario without its triggers, as plain data.
  local base = {}
  for k, v in pairs(orig) do base[k] = v end
  base.setup, base.faults, base.where = nil, nil, nil
  local clients = {}
  for i, g in ipairs(base.clients or {}) do clients[i] = g.count end

  local cur = { faults = recorded, duration = base.duration, clients = clients }
  -- The sim file of candidate c (header: comment lines), and its faults.
  local function scenario_of(c, header)
    local t = {}
    for k, v in pairs(base) do t[k] = v end
    t.duration = c.duration
    t.clients = {}
    for i, g in ipairs(base.clients or {}) do
      local copy = {}
      for k, v in pairs(g) do copy[k] = v end
      copy.count = c.clients[i]
      t.clients[i] = copy
    end
    local kept = {}
    for _, f in ipairs(c.faults) do
      if f.t <= c.duration then kept[#kept + 1] = f end
    end
    return M.source(t, kept, header or {}), kept
  end
  local tmp = os.tmpname()
  local function try(c)
    local src = scenario_of(c)
    local f = assert(io.open(tmp, "wb"))
    f:write(src)
    f:close()
    local ok, sc = pcall(ms.load_sim, tmp)
    if not ok then
      os.remove(tmp)
      error(("shrink: the written scenario does not load: %s"):format(errors.is_user(sc) and sc.msg or tostring(sc)),
        0)
    end
    local r, err = run(sc)
    return fails(r, err), r, err
  end
  local function with(changes)
    local c = { faults = cur.faults, duration = cur.duration, clients = cur.clients }
    for k, v in pairs(changes) do c[k] = v end
    return c
  end

  local ok = try(cur)
  if not ok then
    os.remove(tmp)
    return nil, "the failure does not reproduce with the faults replayed at the times they happened"
  end
  log(("shrink: the run fails (%s); %d faults, duration %s s"):format(say(r0, err0), #cur.faults,
    num(cur.duration)))
  local function shrink_faults()
    cur.faults = M.ddmin(cur.faults, function(sub) return (try(with({ faults = sub }))) end)
    log(("shrink: %d faults"):format(#cur.faults))
  end
  shrink_faults()
  local last = 0
  for _, f in ipairs(cur.faults) do last = math.max(last, f.t) end
  local lo = math.max(1, math.floor(last) + 1)
  if lo < cur.duration then
    local d = M.bisect(lo, math.ceil(cur.duration), function(x)
      return x >= cur.duration or (try(with({ duration = x })))
    end)
    if d < cur.duration then cur.duration = d end
    log(("shrink: duration %s s"):format(num(cur.duration)))
  end
  for i = 1, #cur.clients do
    local n = M.bisect(1, cur.clients[i], function(x)
      if x >= cur.clients[i] then return true end
      local cl = {}
      for j, v in ipairs(cur.clients) do cl[j] = v end
      cl[i] = x
      return (try(with({ clients = cl })))
    end)
    cur.clients[i] = n
    log(("shrink: client group %d: %d clients"):format(i, n))
  end
  shrink_faults()
  local still, r, err = try(cur)
  os.remove(tmp)
  assert(still, "shrink: the minimal scenario no longer fails")
  local before = {}
  for i, g in ipairs(orig.clients or {}) do before[i] = g.count end
  local _, kept = scenario_of(cur)
  return { faults_before = #recorded, faults = kept, duration_before = orig.duration, duration = cur.duration,
           clients_before = before, clients = cur.clients, runs = runs, why = say(r, err),
           source = function(header) return (scenario_of(cur, header)) end }
end

-- The CLI -----------------------------------------------------------------

local function sum(xs)
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  return s
end

function M.run_cli(args, cli)
  local pos, opt = cli.parse("shrink", args, { policy = "value", seed = "value", param = "list", set = "list",
    predicate = "value", out = "value", quiet = "flag", help = "flag" })
  if opt.help then
    io.stdout:write(M.USAGE)
    return 0
  end
  if #pos ~= 1 then errors.usage("mastersim shrink: expected one SIM argument (see 'mastersim shrink --help')") end
  if not opt.seed then errors.usage("mastersim shrink: --seed N is required (the failing run's seed)") end
  local seed = math.tointeger(tonumber(opt.seed))
  if not seed or seed < 0 or not opt.seed:match("^%d+$") then
    errors.usage("mastersim: bad seed '%s': expected a non-negative integer", opt.seed)
  end
  local policy = require "mastersim.policy"
  local sim = paths.sim(pos[1])
  local pol_path = require("mastersim.cli_experiment").policy_path("shrink", opt.policy or "block")
  local params = cli.pairs_of("param", opt.param, function(v) return v end)
  local sets = cli.pairs_of("set", opt.set, policy.parse_value)
  local pred = opt.predicate and M.predicate(opt.predicate)
  local res, why = M.shrink({ sim = sim, policy = pol_path, params = params, sets = sets, seed = seed,
    predicate = pred, log = not opt.quiet and function(line) io.stderr:write(line, "\n") end or nil })
  if not res then
    io.stderr:write(("mastersim shrink: %s\n"):format(why))
    return 1
  end
  local out = opt.out or ((sim:match("([^/]+)%.lua$") or "sim") .. "-shrunk.lua")
  local replay = { "mastersim run", out, "--policy", opt.policy or "block", "--seed", tostring(seed) }
  for _, kv in ipairs(opt.param or {}) do replay[#replay + 1] = "--param " .. kv end
  local header = {
    ("shrunk by mastersim shrink from %s (policy %s, seed %d%s)"):format(pos[1], opt.policy or "block", seed,
      #(opt.set or {}) > 0 and (", --set " .. table.concat(opt.set, " --set ")) or ""),
    ("fails: %s"):format(res.why),
    ("replay: %s"):format(table.concat(replay, " ")),
  }
  cli.write_file(out, res.source(header))
  io.stdout:write(("shrunk in %d runs: faults %d -> %d, duration %s s -> %s s, clients %d -> %d\n"):format(res.runs,
    res.faults_before, #res.faults, num(res.duration_before), num(res.duration), sum(res.clients_before),
    sum(res.clients)))
  for _, f in ipairs(res.faults) do io.stdout:write("  ", M.fault_source(f), "\n") end
  io.stdout:write(("still fails: %s\nwrote %s\nreplay: %s\n"):format(res.why, out, table.concat(replay, " ")))
  return 0
end

function M.install(commands, cli)
  commands.shrink = function(args) return M.run_cli(args, cli) end
end

return M

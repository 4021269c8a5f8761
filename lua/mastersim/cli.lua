--- The command line. main(args) returns the exit code: 0 success, 1 a
-- failed run or bad input file, 2 a usage error. User errors print one line;
-- --debug adds the traceback.
local errors = require "mastersim.errors"
local paths = require "mastersim.paths"
local schema = require "mastersim.schema"
local summary = require "mastersim.cli_summary"

local M = {}

local USAGE = [[
usage: mastersim [--debug] <command> [options]

commands:
  run SIM [--policy P] [--seed N] [--json F] [--history F] [--history-format FMT]
                                 run one simulation and print its summary
  shrink SIM --policy P --seed N [--predicate EXPR|FILE] [--out F]
                                 minimise a failing run's faults, duration and clients
  compare SIM --policies a,b,c [--seeds 1-20] [--jobs N] [--json F] [--csv F] [--html F]
                                 every policy x seed; table of means, 95% CIs, paired deltas
  sweep SIM --vary path=v1,v2 --policies a,b [--seeds ...]
                                 a compare at every point of the --vary grid
  check SIM [--seeds 1-200] [--policy P] [--jobs N]
                                 safety and determinism: every seed run 3 times
  merge RUNS.jsonl... [--json F] [--csv F] [--html F]
                                 join the runs of compare/sweep shards into one report
  list                           the sims and policies found, with their descriptions
  stress [--policy P] [--mode M] [--readers N] [--duration D]
                                 the lock primitives under real threads: reads/s, outcomes
  version                        print the version
  help                           print this help
  lua SCRIPT [ARGS...]           run a Lua script in mastersim's interpreter
                                 (mastersim.core preloaded; used by the specs)

SIM is a path to a sim file, or the name of a built-in sim (sims/NAME.lua).
'mastersim COMMAND --help' describes a command's options.
Global options: --debug (show tracebacks), --help.
]]

local RUN_USAGE = [[
usage: mastersim run SIM [--policy P] [--seed N] [--param k=v]... [--set path=value]...
                         [--json FILE] [--history FILE] [--history-format FMT] [--quiet]

Run one simulation of SIM and print a summary: for a cluster scenario the
outcomes of the reads (fresh, stale, torn, crash, failed, timeout), latency
percentiles, staleness, snapshot installs, faults and the safety checks; for
a scripted sim the virtual time, events and counters. The digest at the end
is the same for the same SIM, policy, params, seed and build.
  --policy P        read policy: a name from policies/ (see 'mastersim list') or a
                    path (cluster scenarios; default block)
  --seed N          the run's seed (default 1); a non-negative integer
  --param k=v       override a policy parameter (repeatable); durations as "50ms"
  --set path=value  override a scenario value, e.g. snapshot.apply_rate=1e5 (repeatable)
  --json FILE       write the full result (schema mastersim.result/1), atomically
                    (a device or FIFO such as /dev/stdout is written in place)
  --history FILE    write the run's history, atomically when the run ends, in
                    --history-format FMT:
                      jsonl      (default) one JSON line per read attempt: node,
                                 role, phase, applied and commit indexes, outcome,
                                 and the time split (queue, gate, service, network)
                      porcupine  operations (ClientId, Input, Call, Output, Return)
                                 on one register per metadata key, for Porcupine
                      edn        the same as a Jepsen/Knossos history (:invoke/:ok/
                                 :fail/:info, :process, :time, :f, :value [key v]),
                                 faults as :nemesis ops
                    (reads and writes of the metadata as registers: see
                    docs/metrics.md, "Histories for linearizability checkers")
  --quiet           print nothing but errors: no progress line, summary or wall time
                    (the exit status still tells partial or unsafe runs)
  --max-events N    stop the run after N simulated events (default 2e7; 0: no limit)
  --max-memory SIZE stop the run once the process's resident memory exceeds SIZE
                    (default 8GiB; 0: no limit). A run stopped by either prints its
                    partial results and one line saying so, and exits 1; its JSON
                    has "status": "budget", "partial": true and "stopped_by"
]]

local LUA_USAGE = [[
usage: mastersim lua SCRIPT [ARGS...]
       mastersim-lua SCRIPT [ARGS...]

Run a Lua script as lua5.4 would (arg table, ARGS as `...`), in mastersim's
interpreter: mastersim.core is built in and require "mastersim" finds the
library, so no LUA_PATH or LUA_CPATH is needed. Invoked through the
mastersim-lua link the binary is this interpreter (busted --lua=mastersim-lua).
ms.compare in such a script starts its workers from this binary.
]]

--- Split args into positionals and flags; `spec` maps a flag name to "value"
-- (takes an argument) or "flag". Unknown flags are usage errors.
local function parse(cmd, args, spec)
  local pos, opt = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    if a:sub(1, 2) == "--" then
      local name, val = a:match("^%-%-([^=]+)=(.*)$")
      name = name or a:sub(3)
      local kind = spec[name]
      if kind == nil then errors.usage("mastersim %s: unknown option '--%s'", cmd, name) end
      if kind == "value" or kind == "list" then
        if val == nil then
          i = i + 1
          val = args[i]
          if val == nil then errors.usage("mastersim %s: option '--%s' needs a value", cmd, name) end
        end
        if kind == "list" then
          opt[name] = opt[name] or {}
          table.insert(opt[name], val)
        else
          opt[name] = val
        end
      else
        if val ~= nil then errors.usage("mastersim %s: option '--%s' takes no value", cmd, name) end
        opt[name] = true
      end
    elseif a:sub(1, 1) == "-" and #a > 1 then
      errors.usage("mastersim %s: unknown option '%s'", cmd, a)
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  return pos, opt
end
M.parse = parse

local function parse_seed(text)
  local n = text and tonumber(text)
  if not n or math.type(n) ~= "integer" or n < 0 or not text:match("^%d+$") then
    errors.usage("mastersim: bad seed '%s': expected a non-negative integer", tostring(text))
  end
  return n
end

local commands = {}

function commands.help()
  io.stdout:write(USAGE)
  return 0
end

function commands.version()
  io.stdout:write("mastersim ", require("mastersim.core").version, " (", _VERSION, ")\n")
  return 0
end

--- k=v pairs of repeated --param / --set flags into a table.
local function pairs_of(flag, list, parse_value)
  local out = {}
  for _, kv in ipairs(list or {}) do
    local k, v = kv:match("^([%w_.]+)=(.*)$")
    if not k then errors.usage("mastersim: bad --%s '%s': expected key=value", flag, kv) end
    out[k] = parse_value(v)
  end
  return out
end
M.pairs_of = pairs_of

--- Write `text` to path atomically; a failure is a user error.
local function write_file(path, text)
  local fileio = require "mastersim.report.fileio"
  local ok, err = fileio.write(path, text)
  if not ok then errors.raise(nil, "cannot write %s: %s", path, err) end
end
M.write_file = write_file

function commands.run(args)
  local pos, opt = parse("run", args, { seed = "value", quiet = "flag", help = "flag", policy = "value",
    param = "list", set = "list", json = "value", history = "value", ["history-format"] = "value",
    ["max-events"] = "value", ["max-memory"] = "value" })
  if opt.help then
    io.stdout:write(RUN_USAGE)
    return 0
  end
  if #pos ~= 1 then errors.usage("mastersim run: expected one SIM argument (see 'mastersim run --help')") end
  local seed = opt.seed and parse_seed(opt.seed) or 1
  local budget = require "mastersim.budget"
  local max_events, max_memory = budget.from_flags(opt)
  local policy = require "mastersim.policy"
  local params = pairs_of("param", opt.param, function(v) return v end)
  local sets = pairs_of("set", opt.set, policy.parse_value)
  local ms = require "mastersim"
  local sc = ms.load_sim(paths.sim(pos[1]), nil, next(sets) and sets or nil)
  local pol
  if sc.cluster then
    pol = ms.load_policy(require("mastersim.cli_experiment").policy_path("run", opt.policy or "block"), params)
  elseif opt.policy or opt.param then
    errors.usage("mastersim run: %s is a scripted sim without a cluster; --policy does not apply", pos[1])
  end
  if opt.history and not sc.cluster then
    errors.usage("mastersim run: --history needs a cluster scenario")
  end
  local fmt = opt["history-format"]
  if fmt and not opt.history then errors.usage("mastersim run: --history-format needs --history FILE") end
  if fmt and not require("mastersim.history").FORMATS[fmt] then
    errors.usage("mastersim run: unknown --history-format '%s' (formats: %s)", fmt,
      require("mastersim.history").FORMAT_LIST)
  end
  local r = ms.run(sc, { seed = seed, progress = not opt.quiet, policy = pol, history = opt.history,
    history_format = fmt, max_events = max_events, max_memory = max_memory })
  if opt.json then write_file(opt.json, require("mastersim.report.json").encode(r, { indent = 2 }) .. "\n") end
  local rc = r.partial and 130 or (sc.cluster and r.checker.safety_violations > 0 and 1 or 0)
  -- a run stopped by its budget: the partial results, then one line; exit 1
  local stopped = r.stopped_by and ("mastersim: %s: %s\n"):format(pos[1], budget.message(r))
  if opt.quiet then
    if stopped then io.stderr:write(stopped) end
    return stopped and 1 or rc
  end
  if sc.cluster then
    io.stdout:write(summary.run(r))
    if stopped then
      io.stderr:write(stopped)
      return 1
    end
    io.stderr:write(("wall      %.3f s (%.0f events/s)\n"):format(r.wall.seconds, r.wall.events_per_s))
    return rc
  end
  local out = io.stdout
  out:write(("scenario  %s (%s)\n"):format(r.scenario, r.file or "?"))
  out:write(("seed      %d\n"):format(r.seed))
  out:write(("status    %s%s\n"):format(r.status, r.partial and " (partial results)" or ""))
  out:write(("virtual   %.6f s\n"):format(r.virtual_s))
  out:write(("events    %d\n"):format(r.events))
  for _, k in ipairs(schema.sorted_keys(r.counters)) do
    out:write(("count     %s = %s\n"):format(k, tostring(r.counters[k])))
  end
  out:write(("digest    %s\n"):format(r.digest))
  if stopped then
    io.stderr:write(stopped)
    return 1
  end
  io.stderr:write(("wall      %.3f s (%.0f events/s)\n"):format(r.wall.seconds, r.wall.events_per_s))
  return rc
end

require("mastersim.cli_experiment").install(commands, M)
require("mastersim.stress").install(commands, M)
require("mastersim.shrink").install(commands, M)

--- Run a Lua script as lua5.4 would: arg table, script arguments as `...`.
function commands.lua(args, progname)
  local script = args[1]
  if script == "--help" or script == "-h" then
    io.stdout:write(LUA_USAGE)
    return 0
  end
  if not script then errors.usage("mastersim lua: expected a script path") end
  local argt = { [-1] = progname, [0] = script }
  for i = 2, #args do argt[i - 1] = args[i] end
  _G.arg = argt
  local chunk, err = loadfile(script)
  if not chunk then errors.raise(nil, "%s", err) end
  local ok, e = xpcall(chunk, debug.traceback, table.unpack(argt, 1, #argt))
  if not ok then
    io.stderr:write(progname or "mastersim", ": ", tostring(e), "\n")
    return 1
  end
  return 0
end

--- Entry point: args[0] is the program name.
function M.main(args)
  local debug_mode = false
  local rest = {}
  for i = 1, #args do
    local a = args[i]
    if #rest == 0 and a == "--debug" then debug_mode = true
    else rest[#rest + 1] = a end
  end
  if tostring(args[0]):match("mastersim%-lua$") then
    table.insert(rest, 1, "lua") -- invoked as the interpreter
  end
  local cmd = table.remove(rest, 1)
  if cmd == nil or cmd == "--help" or cmd == "-h" then cmd = "help" end
  if cmd == "--version" then cmd = "version" end
  local ok, res = xpcall(function()
    local fn = commands[cmd]
    if not fn then errors.usage("mastersim: unknown command '%s' (see 'mastersim --help')", cmd) end
    return fn(rest, args[0])
  end, function(e)
    if errors.is_user(e) then return e end
    return debug.traceback(tostring(e), 2)
  end)
  if ok then return res or 0 end
  if errors.is_user(res) then
    local msg = res.msg
    if not msg:match("^mastersim") then msg = "mastersim: " .. msg end
    io.stderr:write(msg, "\n")
    if debug_mode and res.detail then io.stderr:write(res.detail, "\n") end
    return res.code
  end
  io.stderr:write("mastersim: internal error: ", tostring(res), "\n")
  return 70
end

return M

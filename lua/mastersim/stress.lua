--- `mastersim stress`: the lock primitives under real threads. Reader
-- threads run the master's read ops against a generated store while a
-- writer applies writes and an applier installs snapshots; the C harness
-- (ms_stress, core.stress) does the work, this prints its figures.
local errors = require "mastersim.errors"

local M = {}

M.USAGE = [[
usage: mastersim stress [--policy P [--lua] [--every-read] [--param k=v]...]
                        [--mode M] [--readers N] [--keys K] [--duration D]
                        [--apply-every D] [--seed N] [--prewake] [--pin]
                        [--json FILE]

Run N reader threads against a store of about K keys while a writer thread
writes and an applier thread installs a snapshot every --apply-every, and
print reads/s, the outcome of every read, read latency (fast path and
blocked path), apply durations and the wake-up latency of blocked readers.
SIGINT (Ctrl-C) stops the readers early (an apply in progress is finished
first) and prints what they measured (exit status 130); a second one during
a long setup quits at once.
  --policy P        block (wait on the gate), fail_fast (error while applying),
                    stale_read (serve the previous version; needs --mode aside),
                    unguarded (no gate: read the live store as it is),
                    none (no gate at all: the baseline; default block);
                    or, with --lua or a path, a Lua policy file (as for
                    'mastersim run'), which decides each read that meets an
                    apply in each reader thread, one Lua state per thread
  --lua             P names a policy file of policies/ (block, stale_read, ...)
                    instead of a policy built into the harness
  --every-read      (Lua policy) consult it on every read, not only during an
                    apply: what a Lua decision costs per read
  --param k=v       (Lua policy) override one of its params
  --mode M          the apply style: inplace or aside (default inplace)
  --readers N       reader threads, 1-64 (default 2)
  --keys K          store size, 100-100000000 (default 100000)
  --duration D      how long the readers run, at least 1ns, e.g. 2s (default 2s)
  --apply-every D   time between snapshot installs, e.g. 200ms; 0 for none
  --seed N          the image's and the op mix's seed (default 1)
  --prewake         (block) the applier tells the gate when ~6 ms of the apply
                    are left, and blocked readers poll for the end (<= 60 ms)
                    instead of sleeping through it
  --pin             run each reader on a CPU of its own (round robin), the
                    writer and applier on the CPUs left over if any (Linux)
  --json FILE       write every figure as JSON (schema mastersim.stress/1)
]]

local POLICIES = { "block", "fail_fast", "stale_read", "unguarded", "none" }
-- The apply styles of snapshot.mode but reopen: its store is closed while it
-- applies, so there is nothing for reader threads to read.
local MODES = {}
for _, m in ipairs(require("mastersim.settings").row("snapshot.mode").choices) do
  if m ~= "reopen" then MODES[#MODES + 1] = m end
end

local function one_of(flag, value, list)
  for _, v in ipairs(list) do
    if v == value then return value end
  end
  errors.usage("mastersim stress: bad --%s '%s': expected one of %s", flag, value, table.concat(list, ", "))
end

local function integer(flag, text, lo, hi)
  local n = text:match("^%d+$") and math.tointeger(tonumber(text))
  if not n or n < lo or n > hi then
    errors.usage("mastersim stress: bad --%s '%s': expected an integer in %d..%d", flag, text, lo, hi)
  end
  return n
end

-- A duration of at least 1 ns (or 0 when zero_ok: "0" or "0s"); anything
-- else, a sub-nanosecond one included, is a usage error.
local function duration(flag, text, zero_ok)
  local core = require "mastersim.core"
  local s = (zero_ok and text == "0") and 0 or core.duration(text)
  if not s or (s < 1e-9 and not (zero_ok and s == 0)) then
    errors.usage("mastersim stress: bad --%s '%s': expected a duration of at least 1ns, such as 2s or 250ms",
      flag, text)
  end
  return s
end

--- The Lua policy file the flags ask for (--lua, or a path as --policy), or
-- nil: its path, its params and the loaded policy. Loaded here first, so
-- that a bad file or param is one error before any thread starts.
local function lua_policy(opt, cli)
  local name = opt.policy or "block"
  if not (opt.lua or name:find("/", 1, true) or name:match("%.lua$")) then
    if opt["every-read"] or opt.param then
      errors.usage("mastersim stress: --every-read and --param need a Lua policy (--lua, or a policy file)")
    end
    return nil
  end
  local file = require("mastersim.cli_experiment").policy_path("stress", name)
  local params = cli.pairs_of("param", opt.param, function(v) return v end)
  return file, params, require("mastersim.policy").load(file, params)
end

--- The core.stress options from parsed flags; bad values are usage errors.
-- cli: the CLI module (for a Lua policy's flags; may be nil without them).
function M.options(opt, cli)
  local file, params, pol = lua_policy(opt, cli)
  local mode = opt.mode or (pol and pol.snapshot_mode ~= "reopen" and pol.snapshot_mode) or "inplace"
  local o = {
    policy = pol and "block" or one_of("policy", opt.policy or "block", POLICIES),
    lua_policy = file, params = params, every_read = pol and (opt["every-read"] or pol.every_read) or nil,
    mode = one_of("mode", mode, MODES),
    readers = opt.readers and integer("readers", opt.readers, 1, 64),
    keys = opt.keys and integer("keys", opt.keys, 100, 100000000),
    seed = opt.seed and integer("seed", opt.seed, 0, math.maxinteger >> 1),
    duration = opt.duration and duration("duration", opt.duration),
    apply_every = opt["apply-every"] and duration("apply-every", opt["apply-every"], true),
    prewake = opt.prewake or nil,
    pin = opt.pin or nil,
  }
  if o.prewake and not pol and o.policy ~= "block" then
    errors.usage("mastersim stress: --prewake needs --policy block (or a Lua policy)")
  end
  if o.policy == "stale_read" and o.mode ~= "aside" then
    errors.usage("mastersim stress: --policy stale_read needs --mode aside"
      .. " (an inplace apply keeps no previous version)")
  end
  return o, pol
end

local function us(s) return ("%.1f us"):format(s * 1e6) end

local function latency_line(name, h)
  if h.count == 0 then return ("  %-12s -\n"):format(name) end
  return ("  %-12s p50 %-10s p99 %-10s p99.9 %-10s max %-10s (%d)\n"):format(
    name, us(h.p50), us(h.p99), us(h.p999), us(h.max), h.count)
end

--- The figures of a core.stress result as text.
function M.summary(r)
  local o, l, g = r.outcomes, r.latency, r.gate
  local out = {
    ("policy    %s%s, mode %s, %d readers%s, %d keys, %.3f s\n"):format(r.policy,
      r.policy_file and (" (Lua: %s%s)"):format(r.policy_file, r.every_read and ", every read" or "") or "",
      r.mode, r.readers, r.pin and " (pinned)" or "", r.keys, r.seconds),
    r.interrupted and "status    interrupted (partial results)\n" or "",
    ("reads     %d (%.0f/s), served %.0f/s\n"):format(r.reads, r.reads_per_s, r.served_per_s),
    ("outcomes  fresh %d  stale %d  torn %d  failed %d  timed_out %d\n"):format(
      o.fresh, o.stale, o.torn, o.failed, o.timed_out),
    "latency\n",
    latency_line("fast path", l.fast),
    latency_line("blocked", l.blocked),
    ("applies   %d (every %.3f s%s), %d writes, %d versions reclaimed\n"):format(
      r.applies, r.apply_every, r.prewake and ", waiters pre-woken near the end" or "",
      r.writes, r.reclaimed),
    latency_line("apply", l.apply),
    "wake-up   end of an apply -> reader out of the gate (release)\n",
    latency_line("per waiter", l.release),
    latency_line("first out", l.first_release),
    "          end of an apply -> its read served (end to end)\n",
    latency_line("per waiter", l.wake),
    latency_line("first read", l.first_read),
    ("gate      waits %d  wakeups %d  timeouts %d  max waiting %d  longest wait %s\n"):format(
      g.waits, g.wakeups, g.timeouts, g.max_waiting, us(g.longest_wait)),
  }
  return table.concat(out)
end

--- mastersim stress [flags]
function M.run(args, cli)
  local pos, opt = cli.parse("stress", args, {
    policy = "value", mode = "value", readers = "value", keys = "value", duration = "value",
    ["apply-every"] = "value", seed = "value", json = "value", prewake = "flag", pin = "flag",
    lua = "flag", ["every-read"] = "flag", param = "list", help = "flag" })
  if opt.help then
    io.stdout:write(M.USAGE)
    return 0
  end
  if #pos > 0 then errors.usage("mastersim stress: unexpected argument '%s'", pos[1]) end
  local o, pol = M.options(opt, cli)
  local r, err = require("mastersim.core").stress(o)
  if not r then errors.raise(nil, "%s", err) end
  if pol then r.policy, r.policy_file, r.every_read = pol.name, o.lua_policy, o.every_read or false end
  r.schema = "mastersim.stress/1"
  r.partial = r.interrupted
  if opt.json then cli.write_file(opt.json, require("mastersim.report.json").encode(r, { indent = 2 }) .. "\n") end
  io.stdout:write(M.summary(r))
  return r.interrupted and 130 or 0
end

--- Add the command to the CLI's command table.
function M.install(commands, cli)
  commands.stress = function(args) return M.run(args, cli) end
end

return M

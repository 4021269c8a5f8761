-- The cost of consulting a Lua policy: follower_catchup at 20K reads/s for
-- 300 s of virtual time, three masters with 200K-key stores, once with the
-- Lua `block` policy and once with the same policy decided in C. Prints
-- simulated requests per wall second for each and the ratio.
-- (26.7 M events at the defaults: past the run budget's 2e7, which it lifts.)
-- Run: mastersim lua bench/policy_overhead.lua [duration_s] [reads_per_s]
local ms = require "mastersim"
local core = require "mastersim.core"

local duration = tonumber(arg and arg[1]) or 300
local rate = tonumber(arg and arg[2]) or 20000
local root = os.getenv("MASTERSIM_ROOT") or "."
local clients = 200

local function load()
  return ms.load_sim(root .. "/sims/follower_catchup.lua", nil, {
    duration = duration,
    ["cluster.volumes"] = 1000, ["cluster.data_partitions"] = 180000, ["cluster.meta_partitions"] = 18000,
    ["cluster.nodes"] = 1000, ["cluster.users"] = 100,
    ["clients.count"] = clients, ["clients.rate"] = rate / clients,
  })
end

local function bench(label, pol)
  local t0 = core.wall()
  local r = ms.run(load(), { policy = pol, seed = 1, sigint = false, max_events = 0 }) -- past the run budget
  local dt = core.wall() - t0
  print(("%-26s %8d reads, %5d policy calls, keys/store %d: %7.0f simulated requests/s, %6.2f M events/s, "
    .. "%5.1f s wall"):format(label, r.reads.logical, r.reads.policy_calls, r.nodes.m1.keys,
    r.reads.logical / dt, r.events / dt / 1e6, dt))
  return r.reads.logical / dt
end

print(("follower_catchup, %d s virtual, %d reads/s, 3 masters"):format(duration, rate))
-- Alternate the two, twice each, after a discarded warm-up run, and keep
-- each one's best: the machine's other load varies between runs.
bench("warm-up (discarded)", ms.builtin_policy("block", 5))
local c, lua = 0, 0
for _ = 1, 2 do
  c = math.max(c, bench("block decided in C", ms.builtin_policy("block", 5)))
  lua = math.max(lua, bench("block decided in Lua", ms.load_policy("block")))
end
print(("Lua policy overhead: %.1f%% (best requests/s in C / best in Lua - 1)"):format((c / lua - 1) * 100))

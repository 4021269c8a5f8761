-- Time to a new leader after the leader crashes (the Raft paper's Figure 16),
-- from sims/election_timing.lua: five masters, the leader crashed 1,000
-- times at a random point of its heartbeat interval. One row per election
-- timeout range (continuous timers, heartbeat 75 ms, ~7.5 ms one way, no
-- pre-vote or lease), then the CubeFS master's own timers (tick 500 ms,
-- timeouts of 5-9 ticks, a 10-tick follower lease, pre-vote, check-quorum,
-- LAN latency). Virtual-time figures: the same on every machine.
-- Run: mastersim lua bench/elections.lua
local ms = require "mastersim"
local core = require "mastersim.core"

local root = os.getenv("MASTERSIM_ROOT") or "."

local function row(label, overrides)
  local t0 = core.wall()
  local sc = ms.load_sim(root .. "/sims/election_timing.lua", nil, overrides)
  local r = ms.run(sc, { policy = "block", seed = 1, sigint = false })
  local t = r.elections.time_to_leader
  local ms_ = function(x) return x and ("%7.0f"):format(x * 1e3) or "    n/a" end
  print(("%-34s %6d %s %s %s %s %8d %6.1f s wall"):format(label, t.count, ms_(t.p50), ms_(t.p90), ms_(t.p99),
    ms_(t.max), r.elections.split_votes, core.wall() - t0))
  assert(r.checker.safety_violations == 0, "safety violation")
end

print("time from a leader's crash to the first heartbeat a follower hears from the next leader (ms)")
print(("%-34s %6s %7s %7s %7s %7s %8s"):format("election timeouts", "elections", "p50", "p90", "p99", "max",
  "split"))
for _, max in ipairs({ "150ms", "151ms", "155ms", "175ms", "200ms", "300ms" }) do
  row("150-" .. max .. " (Raft paper setup)", { ["raft.election_max"] = max })
end
row("CubeFS master timers, LAN", {
  profile = "cubefs", duration = "10000s",
  ["raft.tick"] = "500ms", ["raft.election_min"] = "2.5s", ["raft.election_max"] = "4.5s",
  ["raft.heartbeat"] = "500ms", ["raft.check_quorum"] = true,
  ["network.latency"] = ms.lognormal("250us", "2ms"),
})

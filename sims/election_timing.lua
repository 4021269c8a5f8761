-- election_timing: the experiment of the Raft paper's Figure 16 (Ongaro and
-- Ousterhout, 2014): five servers, election timeouts drawn in 150-200 ms,
-- heartbeats every 75 ms, about 7.5 ms one way between servers. The leader
-- is crashed at a random point of its heartbeat interval, 0.5 s after the
-- cluster last settled; it restarts once a follower has heard the new
-- leader. Each run's result lists every leader change (`elections`) with
-- the time from the crash to the first heartbeat heard from the next
-- leader, and its split votes. bench/elections.lua runs it with other
-- timeout ranges (150-155 ms: a long tail of split votes) and with the
-- CubeFS master's timers.
local ms = require "mastersim"

local CRASHES = 1000

return ms.scenario {
  name = "election_timing",
  description = "Raft paper Figure 16: repeated leader crashes, time to a new leader (no clients).",
  profile = "generic",
  duration = "2000s",
  cluster = { masters = 5, volumes = 10, data_partitions = 40, meta_partitions = 20, nodes = 10, users = 1 },
  raft = { election_min = "150ms", election_max = "200ms", heartbeat = "75ms", check_quorum = false },
  network = { latency = ms.uniform("6ms", "9ms") },
  setup = function(run)
    local crashes, victim = 0, nil
    local settle
    local function crash()
      local leader = run.cluster.leader
      if not leader then return run:after(0.01, settle) end
      crashes = crashes + 1
      victim = leader
      run:fault(ms.crash(leader))
      run:after(0.001, settle)
    end
    -- wait for a leader (restart the last victim once it is heard), then
    -- crash it 0.5 s later, at a random point of a heartbeat interval
    settle = function()
      local leader = run.cluster.leader
      if not leader or leader == victim then return run:after(0.005, settle) end
      if victim then
        run:fault(ms.restart(victim))
        victim = nil
      end
      if crashes < CRASHES then run:after(0.5 + math.random() * 0.075, crash) end
    end
    run:after(1, settle)
  end,
}

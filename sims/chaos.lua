-- chaos: random crashes, restarts, partitions and forced snapshots under
-- reads and writes, drawn from the run's `script` stream (math.random), for
-- `mastersim check` over many seeds: safety must hold and every seed must
-- replay to the same digest. It runs the generic profile with clients that
-- give up fast (a check covers many seeds); `--set profile=cubefs` runs the
-- CubeFS master's timers under the same schedules.
local ms = require "mastersim"

local nodes = { "m1", "m2", "m3" }

--- One random fault, or a heal.
local function random_action()
  local n = nodes[math.random(#nodes)]
  local kind = math.random(6)
  if kind <= 2 then return ms.crash(n) end
  if kind == 3 then return ms.restart(n) end
  if kind == 4 then
    local others = {}
    for _, m in ipairs(nodes) do if m ~= n then others[#others + 1] = m end end
    return ms.partition({ n }, others)
  end
  if kind == 5 then return ms.force_snapshot(n) end
  return ms.heal()
end

return ms.scenario {
  name = "chaos",
  profile = "generic",
  description = "Random crash/restart/partition/snapshot schedules with reads and writes, for safety checks.",
  duration = "40s",
  cluster = { masters = 3, volumes = 100, data_partitions = 5000, meta_partitions = 500, nodes = 100, users = 10 },
  log = { retain = 500 },
  snapshot = { mode = "inplace", apply_rate = 50000 },
  clients = {
    { count = 20, rate = 20, route = "local", timeout = "500ms",
      retry = { max = 2, backoff = "20ms", cap = "200ms", other = true },
      ops = { get_vol = 0.5, get_partitions = 0.3, list_vols = 0.2 } },
  },
  writes = { rate = 150, ops = { create_vol = 0.05, create_dp = 0.3, heartbeat = 0.6, delete_vol = 0.05 } },
  setup = function(run)
    for i = 1, 10 do
      run:at(i * 3, function() run:fault(random_action()) end)
    end
    -- end healed, with every node up, so the checks can compare replicas
    run:at(33, function()
      run:fault(ms.heal())
      for _, n in ipairs(nodes) do run:fault(ms.restart(n)) end
    end)
  end,
}

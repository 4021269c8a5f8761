-- The smallest sim: a few Lua callbacks on the virtual clock. It shows the
-- engine end to end (scheduler, random streams, digest) before the cluster
-- model exists.
local ms = require "mastersim"

return ms.scenario {
  name = "hello",
  description = "Ticks on the virtual clock with random arrivals.",
  duration = "10s",
  setup = function(sim)
    local arrivals = sim:rng("workload")
    local function arrive()
      sim:count("arrivals")
      sim:after(arrivals:exponential(0.01), arrive)
    end
    sim:after(0, arrive)
    sim:every("1s", function() sim:count("ticks") end)
  end,
}

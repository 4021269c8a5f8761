-- mm1_station: the M/M/1 queue of sims/mm1.lua with its queue and server
-- in a station (sim:station, src/model/ms_station.c): the script brings
-- the customers (a Poisson process, one Lua event each) and the station
-- serves them first come first served, exponential service (rate MU), in
-- C. It is the idiom of SimPy's model in bench/mm1_simpy.py, whose
-- customers queue at a library Resource. Queueing theory puts the mean
-- time in the system at 1 / (MU - LAMBDA) = 1 s (rho = 0.5); bench/mm1
-- runs both this and sims/mm1.lua against SimPy.
local ms = require "mastersim"

local LAMBDA, MU = 1.0, 2.0 -- per second

return ms.scenario {
  name = "mm1_station",
  description = "The M/M/1 queue (rho = 0.5) with its server in a station: arrivals in Lua, services in C.",
  duration = "1000000s", -- about a million customers
  setup = function(sim)
    local arrivals = sim:rng("workload")
    local server = sim:station("server", { servers = 1, service = ms.exponential(1 / MU) })
    local function arrive()
      server:arrive()
      sim:after(arrivals:exponential(1 / LAMBDA), arrive)
    end
    sim:after(arrivals:exponential(1 / LAMBDA), arrive)
    sim:at(sim.duration, function()
      local st = server:stats()
      sim:count("served", st.served)
      sim:count("in_system", st.busy + st.waiting)
      sim:count("response_mean_us", math.floor(st.sojourn_mean * 1e6 + 0.5))
      sim:count("wait_mean_us", math.floor(st.wait_mean * 1e6 + 0.5))
    end)
  end,
}

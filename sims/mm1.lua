-- mm1: an M/M/1 queue, the textbook check of a discrete-event engine.
-- Customers arrive as a Poisson process (rate LAMBDA) and are served one at
-- a time, first come first served, each for an exponential time (rate MU).
-- Every customer is two events, its arrival and its departure, as in any
-- event-scheduling simulation of the queue. At the end the counters hold
-- the customers served and their mean time in the system (microseconds),
-- which queueing theory puts at 1 / (MU - LAMBDA) for rho = LAMBDA / MU < 1:
-- 1 s here (rho = 0.5). bench/mm1 runs it against the same model in SimPy.
local ms = require "mastersim"

local LAMBDA, MU = 1.0, 2.0 -- per second
local INTERARRIVAL, SERVICE = 1 / LAMBDA, 1 / MU -- mean times, seconds

return ms.scenario {
  name = "mm1",
  description = "An M/M/1 queue at rho = 0.5 (mean time in system 1 s): the engine against queueing theory.",
  duration = "1000000s", -- about a million customers
  setup = function(sim)
    local arrivals, service = sim:rng("workload"), sim:rng("service")
    local queue, head, tail = {}, 1, 0 -- arrival times of the customers in the system
    local served, total = 0, 0
    local depart
    local function arrive(_, now) -- callbacks get the sim and the time
      tail = tail + 1
      queue[tail] = now
      if tail == head then sim:after(service:exponential(SERVICE), depart) end
      sim:after(arrivals:exponential(INTERARRIVAL), arrive)
    end
    function depart(_, now)
      total = total + (now - queue[head])
      queue[head] = nil
      head = head + 1
      served = served + 1
      if head <= tail then sim:after(service:exponential(SERVICE), depart) end
    end
    sim:after(arrivals:exponential(INTERARRIVAL), arrive)
    sim:at(sim.duration, function()
      sim:count("served", served)
      sim:count("in_system", tail - head + 1)
      sim:count("response_mean_us", served > 0 and math.floor(total / served * 1e6 + 0.5) or 0)
    end)
  end,
}

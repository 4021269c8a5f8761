-- Scheduler throughput with a Lua callback per event (hold model): each
-- event schedules the next one at now + an exponential delay drawn in Lua
-- from a C stream. Run with `mastersim lua bench/sched_lua.lua` (make bench).
local core = require "mastersim.core"

local function bench(pending, events)
  local s = core.sched()
  local r = core.rng(42, "bench")
  local after, expo = s.after, r.exponential
  local function ev()
    after(s, expo(r, 0.001), ev)
  end
  for i = 1, pending do s:at(i * 1e-6, ev) end
  s:run(nil, pending * 2)
  local t0 = core.wall()
  local n = s:run(nil, events)
  local dt = core.wall() - t0
  print(("sched hold model, Lua callbacks, %6d pending: %6.2f M events/s (%d events, %.3f s)")
    :format(pending, n / dt / 1e6, n, dt))
end

bench(1000, 5000000)
bench(100000, 3000000)

-- The M/M/1 queue (rho = 0.5, about a million customers) in mastersim and
-- in SimPy 2 (bench/mm1_simpy.py: SimPy's own idiom, a process per customer
-- and a Resource), run in turn, twice each. mastersim runs it two ways:
-- sims/mm1.lua, every arrival and departure a Lua callback (the cost of a
-- scripted event), and sims/mm1_station.lua, arrivals in Lua and the queue
-- and server in a station (sim:station, in C), the counterpart of SimPy's
-- Resource. Prints each run's customers per wall second of the simulation
-- proper (mastersim: the drive; SimPy: Simulation.simulate) and of the
-- whole process, the mean time in the system of each against queueing
-- theory (1 / (mu - lambda) = 1 s, within 2%), and the ratios of the best
-- simulation times (the issue's goal: >= 25x).
-- Run: mastersim lua bench/mm1.lua [duration_s]   (make bench)
local core = require "mastersim.core"

local duration = tonumber(arg and arg[1]) or 1e6
local root = os.getenv("MASTERSIM_ROOT") or "."
local exe = os.getenv("MASTERSIM_BIN") or (arg and arg[-1]) or "mastersim"
local python = "/usr/bin/python3" -- Debian's, where python3-simpy installs SimPy
local THEORY = 1.0 -- seconds: 1 / (mu - lambda) with lambda = 1, mu = 2

local function capture(cmd)
  local t0 = core.wall()
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  return out, core.wall() - t0, ok
end

local function sh(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function mastersim_run(sim)
  local json = os.tmpname()
  local out, total, ok = capture(("%s run %s --set duration=%.0fs --quiet --json %s"):format(
    sh(exe), sh(root .. "/sims/" .. sim .. ".lua"), duration, sh(json)))
  local f = io.open(json)
  local text = f and f:read("a")
  if f then f:close() end
  os.remove(json)
  if not ok or not text then error("mastersim run failed: " .. out) end
  local served = tonumber(text:match('"served":%s*(%d+)'))
  local mean_us = tonumber(text:match('"response_mean_us":%s*(%d+)'))
  local wall = tonumber(text:match('"seconds":%s*([%d.e+-]+)'))
  return { served = served, mean = mean_us / 1e6, run = wall, total = total }
end

local function simpy_run()
  local out, total, ok = capture(("%s %s %.0f 1"):format(python, sh(root .. "/bench/mm1_simpy.py"), duration))
  local served, mean, run = out:match("simpy served (%d+) mean_s ([%d.]+) run_s ([%d.]+)")
  if not ok or not served then return nil, out end
  return { served = tonumber(served), mean = tonumber(mean), run = tonumber(run), total = total }
end

local function show(name, r)
  local off = (r.mean / THEORY - 1) * 100
  print(("%-11s %8d customers, mean time in system %.4f s (theory %.4f, %+.2f%%: %s); %5.2f s simulating "
    .. "(%.2f M customers/s), %5.2f s whole process (%.2f M/s)"):format(name, r.served, r.mean, THEORY, off,
    math.abs(off) <= 2 and "agrees" or "DISAGREES", r.run, r.served / r.run / 1e6, r.total,
    r.served / r.total / 1e6))
end

local has_simpy = os.execute(python .. " -c 'import SimPy.Simulation' >/dev/null 2>&1")
print(("M/M/1, lambda = 1/s, mu = 2/s (rho = 0.5), %.0f s virtual"):format(duration))
local MODELS = { { sim = "mm1", label = "every event a Lua callback" },
  { sim = "mm1_station", label = "the queue in a station" } }
local best = {}
local function keep(name, r)
  best[name] = (best[name] and best[name].run <= r.run) and best[name] or r
end
for round = 1, 2 do
  for _, m in ipairs(MODELS) do
    local r = mastersim_run(m.sim)
    show(m.sim, r)
    keep(m.sim, r)
  end
  if has_simpy then
    local p, err = simpy_run()
    if not p then error("SimPy run failed: " .. err) end
    show("SimPy", p)
    keep("SimPy", p)
  elseif round == 1 then
    print("SimPy     not installed (scripts/bootstrap --bench installs Debian's python3-simpy)")
  end
end
local py = best.SimPy
if py then
  for _, m in ipairs(MODELS) do
    local r = best[m.sim]
    print(("mastersim (%s, sims/%s.lua) / SimPy: %.1fx faster simulating (best of 2 each: %.2f s vs %.2f s), "
      .. "%.1fx per customer whole process"):format(m.label, m.sim, py.run / r.run, r.run, py.run,
      (py.total / py.served) / (r.total / r.served)))
  end
end

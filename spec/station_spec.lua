-- The queueing station (sim:station, core.station; src/model/ms_station.c):
-- queueing theory for M/M/1, M/M/c and M/M/1/K, determinism, the options'
-- errors as a sim author sees them, lifetimes as a child of the scheduler,
-- and its waiting line's memory on the state's allocator.
local core = require "mastersim.core"
local ms = require "mastersim"
local support = require "support"

-- Poisson arrivals at `lambda` to station `st` on scheduler `s` until
-- `until_s` (seconds), from stream "arrivals" of `seed`.
local function feed(s, st, lambda, until_s, seed)
  local rng = core.rng(seed, "arrivals")
  local function arrive()
    st:arrive()
    s:after(rng:exponential(1 / lambda), arrive)
  end
  s:after(rng:exponential(1 / lambda), arrive)
  s:run(until_s)
  return st:stats()
end

local function station(s, servers, queue, mean_service, seed)
  return core.station(s, { servers = servers, queue = queue, service = ms.exponential(mean_service),
    seed = seed or 1, stream = "station:t" })
end

-- Erlang's C formula: the probability that an arrival waits at an M/M/c
-- queue with offered load a = lambda / mu (a < c).
local function erlang_c(c, a)
  local sum, term = 0, 1
  for k = 0, c - 1 do
    if k > 0 then term = term * a / k end
    sum = sum + term
  end
  local top = term * a / c / (1 - a / c) -- a^c / c! / (1 - rho)
  return top / (sum + top)
end

local function within(rel, want, got)
  assert(math.abs(got / want - 1) <= rel, ("%.5f not within %.1f%% of %.5f"):format(got, rel * 100, want))
end

describe("the queueing station", function()
  it("M/M/1 at rho = 0.5: mean time in system, wait and service as theory gives them", function()
    local s = core.sched()
    local x = feed(s, station(s, 1, nil, 0.5), 1, 2e5, 3)
    within(0.02, 1.0, x.sojourn_mean) -- 1 / (mu - lambda)
    within(0.03, 0.5, x.wait_mean) -- rho / (mu - lambda)
    within(0.01, 0.5, x.service_mean)
    assert.are.equal(0, x.rejected)
    assert.are.equal(x.arrived, x.served + x.busy + x.waiting)
    s:close()
  end)

  it("M/M/3 at rho = 0.8: the mean wait of Erlang's C formula", function()
    local s = core.sched()
    local c, lambda, mu = 3, 2.4, 1.0
    local x = feed(s, station(s, c, nil, 1 / mu), lambda, 1e5, 5)
    within(0.05, erlang_c(c, lambda / mu) / (c * mu - lambda), x.wait_mean)
    within(0.03, 1 / mu, x.service_mean)
    s:close()
  end)

  it("M/M/1/3 at rho = 1: a quarter of the arrivals turned away", function()
    local s = core.sched()
    local x = feed(s, station(s, 1, 2, 1.0), 1, 1e5, 7)
    within(0.03, 0.25, x.rejected / x.arrived) -- 1 / (K + 1) with K = 3 places
    assert.are.equal(2, x.max_waiting)
    s:close()
  end)

  it("a run is the same for the same seed (digest and counts) and differs for another", function()
    local path = support.root .. "/sims/mm1_station.lua"
    local function run(seed)
      return ms.run(ms.load_sim(path, nil, { duration = "5000s" }), { seed = seed })
    end
    local a, b, c = run(1), run(1), run(2)
    assert.are.equal(a.digest, b.digest)
    assert.are.same(a.counters, b.counters)
    assert.are_not.equal(a.digest, c.digest)
    assert.is_true(a.counters.served > 4500 and a.counters.served < 5500)
  end)

  it("departures are digested: another service distribution, another digest", function()
    local function digest(mean)
      local s = core.sched()
      feed(s, station(s, 1, nil, mean), 1, 200, 1)
      local d = s:digest()
      s:close()
      return d
    end
    assert.are.equal(digest(0.5), digest(0.5))
    assert.are_not.equal(digest(0.5), digest(0.25))
  end)

  describe("done: a callback after each departure", function()
    it("links stations into a network: two M/M/1 in tandem, each with its 1 s of theory", function()
      local path = support.scripted_sim("tandem", "20000s", [[
    local arrivals = sim:rng("arrivals")
    local total, n, late = 0, 0, 0
    local second = sim:station("second", { service = ms.exponential(0.5), done = function(s, now, sojourn, wait)
      total, n = total + sojourn, n + 1
      if s ~= sim or now ~= sim:now() or wait > sojourn then late = late + 1 end
    end })
    local first = sim:station("first", { service = ms.exponential(0.5), done = function() second:arrive() end })
    local function arrive() first:arrive(); sim:after(arrivals:exponential(1), arrive) end
    sim:after(0, arrive)
    sim:at(sim.duration, function()
      local a, b = first:stats(), second:stats()
      sim:count("first_ms", math.floor(a.sojourn_mean * 1e3 + 0.5))
      sim:count("second_ms", math.floor(b.sojourn_mean * 1e3 + 0.5))
      sim:count("moved", a.served == b.arrived and 1 or 0)
      sim:count("done_matches", n == b.served and math.abs(total / n - b.sojourn_mean) < 1e-9 and 1 or 0)
      sim:count("bad_args", late)
    end)]])
      local r = ms.run(ms.load_sim(path), { seed = 2 })
      within(0.03, 1000, r.counters.first_ms) -- Jackson: each an M/M/1 at rho = 0.5
      within(0.03, 1000, r.counters.second_ms)
      assert.are.equal(1, r.counters.moved)
      assert.are.equal(1, r.counters.done_matches)
      assert.are.equal(0, r.counters.bad_args)
      assert.are.equal(r.digest, ms.run(ms.load_sim(path), { seed = 2 }).digest)
    end)

    it("runs each call under a fresh step budget, and stops one that spends its own", function()
      local body = [[    -- 20 customers at 0 s, then their departures alone
    local st = sim:station("s", { service = ms.constant(1), done = function()
      local x = 0
      for i = 1, ITER do x = x + i end
    end })
    sim:at(0, function() for _ = 1, 20 do st:arrive() end end)]]
      -- 20 departures in a row (no other callback between them) of about 6,000 steps
      -- each: 120,000 steps in all, each call under 50,000
      local ok_path = support.scripted_sim("done_budget", "30s", (body:gsub("ITER", "2000")))
      local r = ms.run(ms.load_sim(ok_path, { steps = 50000, memory = 1 << 20 }))
      assert.are.equal("done", r.status)
      local bad_path = support.scripted_sim("done_over", "30s", (body:gsub("ITER", "20000")))
      local ok, err = pcall(ms.run, ms.load_sim(bad_path, { steps = 50000, memory = 1 << 20 }))
      assert.is_false(ok)
      assert.matches(bad_path:gsub("%p", "%%%0") .. ":8: step budget of 50000 exceeded", tostring(err))
    end)

    it("an error in it ends the run with one line naming the sim's line", function()
      local path = support.scripted_sim("done_error", "10s", [[    -- an error at the third departure
    local st = sim:station("s", { service = ms.constant(1), done = function(_, now)
      if now > 2 then error("boom at " .. now) end
    end })
    sim:every(1, function() st:arrive() end)]])
      local code, out, err = support.cli { "run", path }
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.are.equal("mastersim: " .. path .. ":7: boom at 3.0\n", err)
    end)
  end)

  describe("options, as a sim's author meets them", function()
    local cases = {
      { "{ servers = 0, service = ms.exponential(1) }", "station: servers must be an integer from 1 to 1048576" },
      { "{ servers = 1.5, service = ms.exponential(1) }", "station: servers must be an integer from 1 to 1048576" },
      { "{ queue = -1, service = ms.exponential(1) }", "station: queue must be an integer >= 0" },
      { "{ queue = 'x', service = ms.exponential(1) }", "station: queue must be an integer >= 0" },
      { "{ service = 0.5 }", "station: service must be a distribution" },
      { "{ sevrice = ms.exponential(1), zz = 1 }",
        "station: unknown option 'sevrice' (servers, queue, service, done)" },
      { "{ [1] = 2, service = ms.exponential(1) }", "station: option names must be strings" },
      { "nil", "station: expects a table of options" },
      { "{ service = ms.exponential(1), done = 1 }", "station: done must be a function" },
    }
    for i, case in ipairs(cases) do
      it(case[2] .. " (" .. case[1] .. ")", function()
        local body = ('    sim:station("s", %s)'):format(case[1])
        local path = support.scripted_sim(("bad_station_%d"):format(i), "10s", body)
        local code, out, err = support.cli { "run", path }
        assert.are.equal(1, code)
        assert.are.equal("", out)
        assert.matches("^mastersim: " .. path:gsub("%p", "%%%0") .. ":5: " .. case[2]:gsub("%p", "%%%0"), err)
        assert.are.equal(1, select(2, err:gsub("\n", "")), "one line")
      end)
    end
  end)

  describe("lifetime, as a child of its scheduler", function()
    it("its departures keep it alive after the last Lua reference is dropped", function()
      local s = core.sched()
      do
        local st = station(s, 1, nil, 1.0)
        for _ = 1, 5 do st:arrive() end
      end
      collectgarbage()
      collectgarbage()
      local events = s:run()
      assert.are.equal(5, events)
      s:close()
    end)

    it("closing it cancels its departures; its methods then raise", function()
      local s = core.sched()
      local st = station(s, 1, nil, 1.0)
      for _ = 1, 3 do st:arrive() end
      assert.are.equal(1, s:pending())
      st:close()
      st:close()
      assert.are.equal(0, s:pending())
      assert.has_error(function() st:arrive() end, "calling 'arrive' on bad self (station is closed)")
      assert.has_error(function() st:stats() end, "calling 'stats' on bad self (station is closed)")
      assert.matches("closed", tostring(st))
      s:close()
    end)

    it("its bound methods hold it, and raise once it is closed", function()
      local s = core.sched()
      local st = station(s, 1, 0, 1.0)
      local b = st:bind()
      assert.is_nil(b.close) -- a script does not close a station: the run does
      st = nil -- luacheck: ignore 311 (dropped: b holds it)
      collectgarbage()
      collectgarbage()
      assert.is_true(b:arrive())
      assert.is_false(b:arrive()) -- no place to wait: turned away
      assert.are.equal(1, b:stats().rejected)
      s:close()
      assert.has_error(function() b:arrive() end, "calling 'arrive' on bad self (station is closed)")
      assert.has_error(function() b:stats() end, "calling 'stats' on bad self (station is closed)")
    end)

    it("65535 live stations on a scheduler at most, the next refused at once", function()
      -- (about half a second: adopting found a free owner id by walking the
      -- live children for each candidate, and 65535 stations took minutes)
      local s = core.sched()
      local first = station(s, 1, nil, 1.0)
      for _ = 2, 65535 do station(s, 1, nil, 1.0) end
      assert.has_error(function() station(s, 1, nil, 1.0) end, "too many live objects on one scheduler")
      first:close() -- and a closed child's id is free again
      assert.is_truthy(station(s, 1, nil, 1.0))
      s:close()
    end)

    it("sim:station's object: arrive, stats and its name", function()
      local path = support.scripted_sim("station_object", "10s", [[
    local st = sim:station("disk", { servers = 2, queue = 1, service = ms.constant("1s") })
    local ok = {}
    for i = 1, 4 do ok[i] = st:arrive() end
    sim:count("admitted", (ok[1] and 1 or 0) + (ok[2] and 1 or 0) + (ok[3] and 1 or 0) + (ok[4] and 1 or 0))
    sim:count("named", tostring(st) == "mastersim.Station (2 busy, 1 waiting)" and 1 or 0)
    sim:at("5s", function()
      local x = st:stats()
      sim:count("served", x.served)
      sim:count("rejected", x.rejected)
      sim:count("wait_mean_ms", math.floor(x.wait_mean * 1000 + 0.5))
      sim:count("no_close", st.close == nil and 1 or 0)
    end)]])
      local r = ms.run(ms.load_sim(path))
      assert.are.same({ admitted = 3, named = 1, served = 3, rejected = 1, wait_mean_ms = 333, no_close = 1 },
        r.counters)
    end)

    it("closing the scheduler closes it", function()
      local s = core.sched()
      local st = station(s, 1, nil, 1.0)
      st:arrive()
      s:close()
      assert.has_error(function() st:arrive() end, "calling 'arrive' on bad self (station is closed)")
    end)

    it("is collected with its scheduler, without close", function()
      local objs = setmetatable({}, { __mode = "v" })
      do
        local s = core.sched()
        local st = station(s, 2, nil, 1.0)
        for _ = 1, 10 do st:arrive() end
        objs[1], objs[2] = s, st
      end
      collectgarbage()
      collectgarbage()
      assert.is_nil(next(objs))
    end)
  end)

  it("its waiting line is memory of the Lua state (the sandbox's cap counts it)", function()
    local s = core.sched()
    local st = station(s, 1, nil, 1.0)
    collectgarbage()
    local before = collectgarbage("count") * 1024
    for _ = 1, 100000 do st:arrive() end
    local grown = collectgarbage("count") * 1024 - before
    assert.are.equal(100000 - 1, st:stats().waiting)
    assert.is_true(grown >= 8 * (100000 - 1), ("the line grew the state by %d bytes"):format(grown))
    s:close()
  end)
end)

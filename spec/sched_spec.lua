local core = require "mastersim.core"
local ms = require "mastersim"
local support = require "support"

describe("scheduler", function()
  it("runs events in time order and ties in scheduling order", function()
    local s = core.sched()
    local seen = {}
    local function mark(x) return function() seen[#seen + 1] = x end end
    s:at("3ms", mark("c"))
    s:at("1ms", mark("a"))
    s:at("2ms", mark("b1"))
    s:at("2ms", mark("b2"))
    s:at("2ms", mark("b3"))
    assert.are.equal(5, s:pending())
    assert.are.equal(5, s:run())
    assert.are.same({ "a", "b1", "b2", "b3", "c" }, seen)
    assert.are.equal(0.003, s:now())
    assert.are.equal(3000000, s:now_ns())
  end)

  it("cancels pending events and refuses to cancel twice", function()
    local s = core.sched()
    local ran = {}
    local a = s:after(1, function() ran[#ran + 1] = "a" end)
    s:after(2, function() ran[#ran + 1] = "b" end)
    assert.is_true(s:cancel(a))
    assert.is_false(s:cancel(a))
    s:run()
    assert.are.same({ "b" }, ran)
  end)

  it("runs until a time, advancing the clock to it, and in slices", function()
    local s = core.sched()
    local n = 0
    for i = 1, 10 do s:at(i, function() n = n + 1 end) end
    assert.are.equal(4, s:run(4.5))
    assert.are.equal(4.5, s:now())
    assert.are.equal(2, s:run(nil, 2))
    assert.are.equal(4, s:run())
    assert.are.equal(10, n)
  end)

  it("lets callbacks schedule more events and reads the clock inside them", function()
    local s = core.sched()
    local times = {}
    local function tick()
      times[#times + 1] = s:now()
      if #times < 3 then s:after("250ms", tick) end
    end
    s:at(1, tick)
    s:run()
    assert.are.same({ 1, 1.25, 1.5 }, times)
  end)

  it("calls a bound scheduler's callbacks with the bound value and the time", function()
    local s = core.sched()
    local obj = {}
    obj.after, obj.at, obj.now = s:bind(obj)
    local seen = {}
    local function tick(o, now, extra)
      seen[#seen + 1] = { o == obj, now, o:now(), extra }
      if #seen < 3 then o:after("250ms", tick) end
    end
    obj:at(1, tick)
    s:run()
    assert.are.same({ { true, 1, 1 }, { true, 1.25, 1.25 }, { true, 1.5, 1.5 } }, seen)
    -- an unbound scheduler's callbacks get no arguments
    local s2 = core.sched()
    local n
    s2:at(1, function(...) n = select("#", ...) end)
    s2:run()
    assert.are.equal(0, n)
  end)

  it("gives a sim's callbacks the time: at, after and every", function()
    local path = support.scripted_sim("now_args", "10s", [[
    local bad = 0
    local function check(s, now) if s ~= sim or now ~= sim:now() then bad = bad + 1 end end
    sim:at("1s", check)
    sim:after("2.5s", check)
    sim:every("3s", check)
    sim:at("9.5s", function(s, now) check(s, now); sim:count("bad", bad); sim:count("t", now) end)]])
    local r = ms.run(ms.load_sim(path))
    assert.are.equal(0, r.counters.bad)
    assert.are.equal(9.5, r.counters.t)
  end)

  it("names the sim's line for an error raised inside mastersim on its behalf", function()
    local cases = {
      { 'sim:every(1, function() end, "abc")', "bad argument #1 to 'at' (bad duration 'abc': expected a number" },
      { "sim:every(1, 5)", "every: expects a function to call" },
      { 'for i = 1, 65536 do sim:station("s" .. i, { service = ms.constant(1) }) end',
        "too many live objects on one scheduler" },
    }
    for i, case in ipairs(cases) do
      local path = support.scripted_sim(("on_behalf_%d"):format(i), "10s", "    " .. case[1])
      local code, _, err = support.cli { "run", path }
      assert.are.equal(1, code)
      local want = "mastersim: " .. path .. ":5: " .. case[2]
      assert.are.equal(want, err:sub(1, #want))
      assert.are.equal(1, select(2, err:gsub("\n", "")), "one line")
    end
  end)

  local function hold_digest(seed, extra)
    local s = core.sched()
    local r = core.rng(seed, "workload")
    local left = 2000
    local function ev()
      left = left - 1
      if left > 0 then s:after(r:exponential(0.001), ev) end
    end
    for _ = 1, 10 do s:after(0, ev) end
    if extra then s:at(0.5, function() end) end
    s:run()
    return s:digest(), s:events()
  end

  it("folds every event into a digest: same inputs, same digest", function()
    local d1, n1 = hold_digest(1)
    local d2, n2 = hold_digest(1)
    assert.are.equal(d1, d2)
    assert.are.equal(n1, n2)
    assert.matches("^%x+$", d1)
    assert.are.equal(16, #d1)
    assert.are_not.equal(d1, (hold_digest(2)))
    assert.are_not.equal(d1, (hold_digest(1, true)))
  end)

  it("propagates a callback error and stays usable", function()
    local s = core.sched()
    s:at(1, function() error("boom") end)
    local after = false
    s:at(2, function() after = true end)
    local ok, err = pcall(s.run, s)
    assert.is_false(ok)
    assert.matches("boom", err)
    assert.are.equal(1, s:pending())
    s:run()
    assert.is_true(after)
  end)

  it("lets go of a callback once it ran: kept by nothing, replaced in its slot, or raised", function()
    local s = core.sched()
    local held = setmetatable({}, { __mode = "v" }) -- what the scheduler alone keeps alive
    local function gone(name)
      collectgarbage()
      collectgarbage()
      return held[name] == nil
    end
    held.idle = function() end -- schedules nothing: its table entry is cleared after it
    s:after(1, held.idle)
    s:run()
    assert.is_true(gone("idle"))
    held.next = function() end
    held.chain = function() s:after(1, held.next) end -- its slot goes to `next` at once
    s:after(1, held.chain)
    s:run(s:now() + 1.5) -- `chain` ran, `next` pending in the slot `chain` had
    assert.is_true(gone("chain"))
    assert.is_false(gone("next"))
    s:run()
    assert.is_true(gone("next"))
    held.raise = function() error("boom") end -- the entry is left behind, until the next run
    s:after(1, held.raise)
    assert.is_false(pcall(s.run, s))
    s:run()
    assert.is_true(gone("raise"))
  end)

  it("refuses a nested run and bad arguments with precise messages", function()
    local s = core.sched()
    local msg
    s:at(1, function() msg = select(2, pcall(s.run, s)) end)
    s:run()
    assert.matches("already running", msg)
    assert.has_error(function() s:at("1 sex", function() end) end,
      "bad argument #1 to 'at' (bad duration '1 sex': unknown unit 'sex' (units: ns, us (µs), ms, s, m (min), h;"
      .. " also nsec, usec, msec, sec, second(s), minute(s), hour(s)))")
    assert.has_error(function() s:at(1, 42) end)
  end)

  it("closes idempotently and reports closure", function()
    local s = core.sched()
    s:close()
    s:close()
    assert.matches("closed", tostring(s))
    assert.has_error(function() s:now() end, "calling 'now' on bad self (scheduler is closed)")
  end)

  it("drives a run under libuv to the end time", function()
    local s = core.sched()
    local n = 0
    local function tick()
      n = n + 1
      s:after(0.001, tick)
    end
    s:at(0, tick)
    local status, events = core.drive(s, { ["until"] = "2s", slice = 100, sigint = false })
    assert.are.equal("done", status)
    assert.are.equal(2001, n)
    assert.are.equal(2001, events)
    assert.are.equal(2, s:now())
  end)

  it("re-raises a callback error from a driven run after closing the loop", function()
    local s = core.sched()
    s:at(1, function() error("driven boom") end)
    local ok, err = pcall(core.drive, s, { sigint = false })
    assert.is_false(ok)
    assert.matches("driven boom", err)
    -- a second drive works: nothing was left behind
    s:at(2, function() end)
    assert.are.equal("done", (core.drive(s, { sigint = false })))
  end)
end)

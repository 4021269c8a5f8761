-- The run budget: a run stops once it has run --max-events events or the
-- process's resident memory exceeds --max-memory, with its partial results
-- (status "budget", partial = true, stopped_by) and one line on stderr;
-- exit code 1. It is the backstop for scenario values that are in range
-- but too big together: before it, each of the six settings of issue 15
-- ran until killed, the resident memory growing up to 150 MB/s (they are
-- now refused up front by the settings' ranges), and the in-range ones
-- below would run for hours.
local core = require "mastersim.core"
local json = require "cjson"
local ms = require "mastersim"
local support = require "support"

local LIMIT = 120 -- seconds: a case that takes longer hangs
local SIM = support.root .. "/sims/follower_catchup.lua"
local SMALL = support.root .. "/spec/fixtures/hostile/cluster.lua"
local STOPPED = "run stopped by the (%a+) budget"

local function run(args)
  local t0 = core.wall()
  local code, out, err = support.cli(args, { timeout = LIMIT })
  return code, out, err, core.wall() - t0
end

local function lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

describe("the run budget", function()
  -- Each setting must end in one line and exit code 1 well within LIMIT:
  -- the budget's stop (with partial JSON), the image's refusal, or an
  -- up-front rejection of the value (naming its key).
  local settings = {
    { "raft.heartbeat=1ns", "heartbeat" }, { "clients.rate=1e9", "rate" }, { "clients.count=1e7", "count" },
    { "writes.rate=1e9", "rate" }, { "cluster.nodes=1e9", "nodes" }, { "clients.retry.max=1e9", "max" },
    -- in range, and stopped by the budget
    { "clients.rate=1e6", "rate", true }, { "clients.count=1e6", "count", true },
    -- (1e7 partitions now fit in 1 GiB: compact records, about 75 bytes a key)
    { "writes.rate=1e6", "rate", true }, { "cluster.data_partitions=2e7", "partitions", true },
  }
  for _, s in ipairs(settings) do
    it("stops --set " .. s[1] .. " with one line", function()
      local path = support.tmpdir() .. "/budget.json"
      os.remove(path)
      local code, _, err, took = run({ "run", SIM, "--set", s[1], "--quiet", "--json", path,
        "--max-events", "1000000", "--max-memory", "1GiB" })
      assert.is_true(took < LIMIT, "hung")
      assert.are.equal(1, code)
      local l = lines(err)
      assert.are.equal(1, #l, err)
      local kind = l[1]:match("^mastersim: " .. SIM:gsub("%p", "%%%0") .. ": " .. STOPPED)
      if kind then
        local r = json.decode(support.read(path))
        assert.are.equal("budget", r.status)
        assert.is_true(r.partial)
        assert.are.equal(kind == "event" and "events" or kind, r.stopped_by.budget)
      elseif not l[1]:find("the cluster image exceeds the memory budget of 1.0 GiB", 1, true) then
        assert.is_nil(s[3], "expected the budget to stop it: " .. l[1])
        assert.matches("^mastersim: .*" .. s[2], l[1]) -- rejected up front, naming the key
      end
    end)
  end

  it("stops a runaway under the default budget", function()
    local code, _, err = run({ "run", SIM, "--set", "writes.rate=1e6", "--quiet" })
    assert.are.equal(1, code)
    local l = lines(err)
    assert.are.equal(1, #l, err)
    assert.matches("run stopped by the event budget: 20000000 events by virtual [%d.]+ s %(raise it with " ..
      "%-%-max%-events%); results are partial$", l[1])
  end)

  it("stops at exactly --max-events, the same way every time", function()
    local hello = support.root .. "/sims/hello.lua"
    local a, b = support.tmpdir() .. "/a.json", support.tmpdir() .. "/b.json"
    local code, out, err = run({ "run", hello, "--max-events", "500", "--json", a })
    assert.are.equal(1, code)
    assert.matches("status    budget (partial results)", out, 1, true)
    assert.are.equal(("mastersim: %s: run stopped by the event budget: 500 events by virtual "):format(hello),
      err:match("^(.-)[%d.]+ s"))
    run({ "run", hello, "--max-events", "500", "--quiet", "--json", b })
    local ra, rb = json.decode(support.read(a)), json.decode(support.read(b))
    assert.are.equal(500, ra.events)
    assert.are.same({ budget = "events", limit = 500 }, ra.stopped_by)
    assert.are.equal(ra.digest, rb.digest)
    -- a run that ends exactly at the budget is done (hello: 997 events)
    code = run({ "run", hello, "--max-events", "997", "--quiet" })
    assert.are.equal(0, code)
  end)

  it("stops on resident memory, in the run and while the image is built", function()
    local code, _, err = run({ "run", SMALL, "--set", "clients.rate=5000", "--max-memory", "1MiB", "--quiet" })
    assert.are.equal(1, code)
    assert.matches(": run stopped by the memory budget: [%d.]+ GiB resident, over 0.0 GiB, by virtual", err)
    code, _, err = run({ "run", SIM, "--max-memory", "1MiB", "--quiet" })
    assert.are.equal(1, code)
    assert.are.equal(("mastersim: %s: the cluster image exceeds the memory budget of 0.0 GiB (raise it with " ..
      "--max-memory)\n"):format(SIM), err)
  end)

  it("fails a compare whose run it stops, in one line", function()
    local code, _, err = run({ "compare", SMALL, "--policies", "block", "--seeds", "1", "--quiet",
      "--max-events", "100" })
    assert.are.equal(1, code)
    assert.matches("^mastersim: compare: the run of policy block seed 1 failed: .*cluster.lua: run stopped by " ..
      "the event budget: 100 events by virtual [%d.]+ s", err)
    assert.are.equal(1, #lines(err))
  end)

  it("is set from Lua as max_events and max_memory", function()
    local r = ms.run(support.root .. "/sims/hello.lua", { max_events = 10, progress = false })
    assert.are.equal("budget", r.status)
    assert.is_true(r.partial)
    assert.are.equal(10, r.events)
    r = ms.run(support.root .. "/sims/hello.lua", { max_events = 0, max_memory = 0, progress = false })
    assert.are.equal("done", r.status)
    assert.is_nil(r.stopped_by)
  end)

  it("refuses bad budget flags as usage errors", function()
    local code, _, err = run({ "run", "hello", "--max-events", "lots" })
    assert.are.equal(2, code)
    assert.are.equal("mastersim: bad --max-events 'lots': expected a number of events (0: no limit)\n", err)
    code, _, err = run({ "check", "hello", "--max-memory", "-1" })
    assert.are.equal(2, code)
    assert.are.equal("mastersim: bad --max-memory '-1': expected a size such as 4GiB (0: no limit)\n", err)
  end)
end)

--- mastersim shrink: a failing run minimised (faults by delta debugging,
-- duration, clients) into a sim file that replays the failure.
local shrink = require "mastersim.shrink"
local support = require "support"

local UNSAFE = "raft.unsafe_commit_without_majority=true"

describe("shrink's search", function()
  it("ddmin finds a 1-minimal failing sublist", function()
    local calls = 0
    local function fails(xs)
      calls = calls + 1
      local has = {}
      for _, x in ipairs(xs) do has[x] = true end
      return has[3] and has[7]
    end
    local xs = {}
    for i = 1, 16 do xs[i] = i end
    assert.are.same({ 3, 7 }, shrink.ddmin(xs, fails))
    assert.is_true(calls < 60, calls)
    assert.are.same({}, shrink.ddmin({ 1, 2 }, function() return true end))
    assert.are.same({ 5 }, shrink.ddmin({ 4, 5, 6 }, function(s)
      for _, x in ipairs(s) do if x == 5 then return true end end
      return false
    end))
  end)

  it("bisect finds the smallest passing value", function()
    assert.are.equal(13, shrink.bisect(1, 40, function(x) return x >= 13 end))
    assert.are.equal(40, shrink.bisect(1, 40, function(x) return x >= 40 end))
    assert.are.equal(1, shrink.bisect(1, 40, function() return true end))
  end)
end)

describe("mastersim shrink", function()
  it("shrinks the broken-raft chaos case that check catches to at most 3 faults that still fail", function()
    -- the seed check names in its replay line
    local _, out = support.cli({ "check", "chaos", "--set", UNSAFE, "--seeds", "1-8", "--quiet" })
    local seed = out:match("replay: mastersim run chaos %-%-policy block %-%-seed (%d+)")
    assert.is_not_nil(seed, out)
    local file = support.tmpdir() .. "/chaos-shrunk.lua"
    local code, text, err = support.cli({ "shrink", "chaos", "--policy", "block", "--seed", seed, "--set", UNSAFE,
      "--out", file, "--quiet" })
    assert.are.equal(0, code, err)
    local before, after = text:match("faults (%d+) %-> (%d+)")
    assert.is_true(tonumber(after) <= 3 and tonumber(after) < tonumber(before), text)
    assert.matches("still fails: %d+ raft safety violations", text)
    -- the file is a sim that `mastersim run` loads and that fails the same way
    local src = support.read(file)
    local n = select(2, src:gsub("ms%.at%(", ""))
    assert.are.equal(tonumber(after), n)
    assert.is_nil(src:find("setup", 1, true))
    code, out = support.cli({ "run", file, "--policy", "block", "--seed", seed })
    assert.are.equal(1, code) -- safety violations
    assert.matches("checker   %d+ safety violations", out)
    -- without the broken commit rule, the same schedule is safe: the fault alone is no failure
    local fixed = support.write("chaos-fixed.lua", (src:gsub("unsafe_commit_without_majority = true",
      "unsafe_commit_without_majority = false")))
    code = support.cli({ "run", fixed, "--policy", "block", "--seed", seed, "--quiet" })
    assert.are.equal(0, code)
  end)

  it("keeps a user predicate true: an expression, or a file returning a function", function()
    local sim = support.write("torn.lua", [[
local ms = require "mastersim"
return ms.scenario {
  name = "torn", duration = "8s", profile = "generic",
  cluster = { masters = 3, volumes = 20, data_partitions = 2000, meta_partitions = 200, nodes = 40, users = 5 },
  log = { retain = 200 },
  snapshot = { mode = "inplace", chunk = 512, apply_rate = 4000 },
  clients = { { count = 6, rate = 40, route = "local", timeout = "500ms", ops = { get_vol = 1 } } },
  writes = { rate = 150, ops = { create_dp = 0.3, heartbeat = 0.7 } },
  faults = { ms.at("0.5s", ms.heal()), ms.at("1s", ms.crash "m3"), ms.at("4s", ms.restart "m3"),
             ms.at("6s", ms.heal()), ms.at("7s", ms.slow_apply("m1", 2)) },
}]])
    local file = support.tmpdir() .. "/torn-shrunk.lua"
    local code, out, err = support.cli({ "shrink", sim, "--policy", "unguarded", "--seed", "1", "--predicate",
      "r.reads.outcomes.torn > 0", "--out", file, "--quiet" })
    assert.are.equal(0, code, err)
    assert.matches("still fails: the predicate holds", out)
    -- the follower's crash and restart (it then installs a snapshot) are what tear reads
    local after = tonumber(out:match("faults %d+ %-> (%d+)"))
    assert.are.equal(2, after, out)
    assert.matches('ms.at%(1, ms.crash "m3"%)\n  ms.at%(4, ms.restart "m3"%)', out)
    local _, run = support.cli({ "run", file, "--policy", "unguarded", "--seed", "1", "--json",
      support.tmpdir() .. "/torn.json", "--quiet" })
    assert.is_true(require("cjson").decode(support.read(support.tmpdir() .. "/torn.json")).reads.outcomes.torn > 0,
      run)
    local pred = support.write("pred.lua", "return function(r) return r.reads.outcomes.torn > 0 end\n")
    code, out = support.cli({ "shrink", sim, "--policy", "unguarded", "--seed", "1", "--predicate", pred, "--out",
      file, "--quiet" })
    assert.are.equal(0, code)
    assert.are.equal(after, tonumber(out:match("faults %d+ %-> (%d+)")))
  end)

  it("exits 1 when the run does not fail, and 2 on bad usage", function()
    local code, _, err = support.cli({ "shrink", "chaos", "--policy", "block", "--seed", "1", "--set",
      "duration=5s", "--quiet" })
    assert.are.equal(1, code)
    assert.are.equal("mastersim shrink: the run does not fail (no error, raft safety violation, read crash or"
      .. " torn read)\n", err)
    code, _, err = support.cli({ "shrink", "chaos", "--policy", "block" })
    assert.are.equal(2, code)
    assert.are.equal("mastersim shrink: --seed N is required (the failing run's seed)\n", err)
    code, _, err = support.cli({ "shrink", "chaos", "--seed", "1", "--predicate", "r.reads.(" })
    assert.are.equal(2, code)
    assert.matches("^mastersim shrink: bad %-%-predicate 'r.reads.%(': ", err)
  end)
end)

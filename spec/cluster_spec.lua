-- The cluster model through the Lua API: snapshot catch-up in each mode,
-- failover, partitions, triggers, and each reference policy's signature.
local ms = require "mastersim"
local support = require "support"

local ROOT = support.root

local function sim(name, overrides)
  return ms.load_sim(ROOT .. "/sims/" .. name .. ".lua", nil, overrides)
end

local function run(sc, policy, seed, params)
  return ms.run(sc, { policy = ms.load_policy(policy, params), seed = seed or 1, sigint = false })
end

describe("cluster model", function()
  for _, mode in ipairs { "reopen", "inplace", "aside" } do
    it("a restarted follower installs a snapshot (" .. mode .. ") and catches up to the leader", function()
      local sc = sim("follower_catchup", { duration = "35s", ["clients.count"] = 1, ["snapshot.mode"] = mode })
      -- a policy that never lets a read reach the applying store
      local r = run(sc, "redirect_leader")
      assert.are.equal(0, r.checker.safety_violations)
      assert.is_true(r.snapshots.installs >= 1)
      assert.are.equal("m3", r.snapshots.intervals[1].node)
      local lead
      for _, n in pairs(r.nodes) do if n.role == "leader" then lead = n end end
      for name, n in pairs(r.nodes) do
        if n.applied == lead.applied then
          assert.are.equal(lead.digest, n.digest, name .. " differs from the leader at the same index")
        end
      end
      -- the run ends with its last read: m3 has caught up but for the last few entries in flight
      assert.is_true(lead.applied - r.nodes.m3.applied <= 5, lead.applied .. " vs " .. r.nodes.m3.applied)
      assert.is_true(r.nodes.m3.applied > lead.applied / 2)
    end)
  end

  it("elects a new leader within the election window after the leader crashes", function()
    local r = run(sim("leader_failover", { duration = "25s" }), "block")
    assert.are.equal(0, r.checker.safety_violations)
    local crashed = r.faults[1]
    assert.are.equal("crash", crashed.action)
    -- writes go on: more commits than the first 12 s could hold
    assert.is_true(r.writes.committed > 200 * 14)
    local lead
    for name, n in pairs(r.nodes) do if n.role == "leader" then lead = name end end
    assert.is_not_nil(lead)
    assert.are_not.equal(crashed.node, lead)
  end)

  it("a partitioned leader stops committing and the majority elects", function()
    local r = run(sim("partition"), "block")
    assert.are.equal(0, r.checker.safety_violations)
    local terms = {}
    for _, n in pairs(r.nodes) do terms[#terms + 1] = n.term end
    assert.is_true(math.min(table.unpack(terms)) >= 2, "a new term began")
    -- 45 s of writes at 200/s, but for the new leader's election (~4.5 s) and loading
    assert.is_true(r.writes.committed > 200 * 38, "the majority kept committing")
    -- the run ends with its last read: m1 (the old leader) has caught up but for entries in flight
    assert.is_true(math.abs(r.nodes.m1.applied - r.nodes.m2.applied) <= 5)
    if r.nodes.m1.applied == r.nodes.m2.applied then assert.are.equal(r.nodes.m1.digest, r.nodes.m2.digest) end
  end)

  it("fires ms.when at the moment its predicate becomes true", function()
    local seen
    local sc = ms.scenario {
      name = "when", duration = "30s", profile = "generic",
      cluster = { masters = 3, volumes = 100, data_partitions = 20000, meta_partitions = 1000, nodes = 100 },
      log = { retain = 500 }, snapshot = { apply_rate = 20000, chunk = 1024 },
      writes = { rate = 100 },
      faults = {
        ms.at("5s", ms.crash "m3"), ms.at("12s", ms.restart "m3"),
        ms.when(function(c) return c.m3.apply_progress > 0.6 end,
          function(c) seen = { progress = c.m3.apply_progress, phase = c.m3.phase } end),
      },
    }
    local r = ms.run(sc, { policy = ms.load_policy("block"), sigint = false })
    assert.is_table(seen)
    assert.are.equal("applying", seen.phase)
    assert.is_true(seen.progress > 0.6)
    -- fired at the first chunk past 60%: within one chunk (1024 of ~22K entries)
    assert.is_true(seen.progress < 0.6 + 1024 / 20000, tostring(seen.progress))
    assert.are.equal(0, r.checker.safety_violations)
  end)
end)

-- Under the generic profile clients read m3's store during its apply; under
-- cubefs (the default) only m3's vol scan does (the cache pass's), so the
-- same policies show their signature on reads in one and on scans in the
-- other.
for _, profile in ipairs { "generic", "cubefs" } do
  local small = { duration = "35s", ["clients.count"] = 30, profile = profile }

  -- torn and crashed readers of the store: reads (generic) or scans (cubefs)
  local function torn(r)
    return profile == "generic" and r.reads.outcomes.torn or r.scans.vol_view.outcomes.torn
  end
  local function crashes(r)
    return profile == "generic" and r.reads.read_crashes or r.scans.vol_view.outcomes.crash
  end

  describe("reference policies on follower_catchup (" .. profile .. ")", function()
    local results = {}
    local function result(policy, seed)
      local key = policy .. seed
      if not results[key] then results[key] = run(sim("follower_catchup", small), policy, seed) end
      return results[key]
    end

    for _, seed in ipairs { 1, 2 } do
      it("unguarded tears the store's readers and never crashes (seed " .. seed .. ")", function()
        local r = result("unguarded", seed)
        assert.is_true(torn(r) > 0)
        assert.are.equal(0, crashes(r))
      end)

      it("unsafe crashes the node (seed " .. seed .. ")", function()
        local r = result("unsafe", seed)
        assert.is_true(crashes(r) > 0)
        if profile == "cubefs" then
          -- the crash comes from the scan: no client read touches m3's store
          assert.are.equal(0, r.reads.read_crashes)
          assert.are.equal(0, r.reads.outcomes.torn)
          local actions = {}
          for _, f in ipairs(r.faults) do actions[f.action] = (actions[f.action] or 0) + 1 end
          assert.is_true((actions.scan_crash or 0) > 0)
          assert.is_nil(actions.read_crash)
        end
      end)

      for _, p in ipairs { "block", "fail_fast", "stale_read", "bounded_lag", "redirect_leader" } do
        it(p .. " has no torn readers and no crashes (seed " .. seed .. ")", function()
          local r = result(p, seed)
          assert.are.equal(0, r.reads.outcomes.torn)
          assert.are.equal(0, r.reads.read_crashes)
          assert.are.equal(0, r.reads.outcomes.crash)
          assert.are.equal(0, torn(r))
          assert.are.equal(0, crashes(r))
          assert.are.equal(0, r.checker.safety_violations)
        end)
      end

      it("every policy sees the same arrivals (seed " .. seed .. ")", function()
        local d = result("block", seed).arrivals_digest
        for _, p in ipairs { "unguarded", "unsafe", "fail_fast", "stale_read" } do
          assert.are.equal(d, result(p, seed).arrivals_digest, p)
        end
      end)
    end

    it("block makes its readers wait no longer than its timeout", function()
      local r = run(sim("follower_catchup", small), "block", 1, { timeout = "200ms" })
      if profile == "generic" then
        assert.is_true(r.reads.wait.count > 0)
        assert.is_true(r.reads.wait.max > 0, "some read waited on the gate")
        -- no single wait on the gate outlasts the policy's timeout
        assert.is_true(r.reads.wait_max > 0.1, tostring(r.reads.wait_max))
        assert.is_true(r.reads.wait_max <= 0.2 + 1e-9, tostring(r.reads.wait_max))
      else
        local scan = r.scans.vol_view
        assert.is_true(scan.waited_s > 0, "the scan waited on the gate")
        assert.is_true(scan.outcomes.failed > 0, "a scan gave up after the timeout")
        assert.are.equal(0, r.reads.wait.max, "no client read waits: none reads m3's store")
      end
    end)

    it("stale_read serves the previous version during the apply", function()
      local r = result("stale_read", 1)
      assert.are.equal("aside", r.snapshot_mode)
      assert.is_true(r.reads.latency.during_apply.count > 0)
      assert.is_true(r.reads.availability > 0.999)
      if profile == "cubefs" then assert.is_true(r.scans.vol_view.outcomes.stale > 0) end
    end)

    it("the same seed gives the same digest and result", function()
      local json = require "mastersim.report.json"
      local a, b = run(sim("follower_catchup", small), "block", 3), run(sim("follower_catchup", small), "block", 3)
      a.wall, b.wall = nil, nil
      assert.are.equal(a.digest, b.digest)
      assert.are.equal(json.encode(a), json.encode(b))
      assert.are_not.equal(a.digest, result("block", 1).digest)
    end)
  end)
end

describe("reference policies on follower_catchup", function()
  it("fail_fast refuses reads on the applying node and clients succeed elsewhere", function()
    local r = run(sim("follower_catchup", { duration = "35s", ["clients.count"] = 30, profile = "generic" }),
      "fail_fast", 1)
    assert.is_true(r.reads.attempt_outcomes.failed > 0, "attempts were refused")
    assert.is_true(r.reads.availability > 0.999)
  end)
end)

describe("history file", function()
  it("holds one JSON line per attempt with the node, the indexes and the time split", function()
    local cjson = require "cjson"
    local path = support.tmpdir() .. "/history.jsonl"
    local sc = sim("follower_catchup", { duration = "30s", ["clients.count"] = 10, profile = "generic" })
    local r = ms.run(sc, { policy = ms.load_policy("block"), sigint = false, history = path })
    local n, applying, timeouts = 0, 0, 0
    for line in io.lines(path) do
      local h = cjson.decode(line)
      n = n + 1
      if h.phase == "applying" then applying = applying + 1 end
      if h.outcome == "timeout" then timeouts = timeouts + 1 end
      local sum = h.queue + h.gate + h.service + h.network
      assert.is_true(math.abs(sum - h.latency) < 1e-6, line)
      assert.is_true(h.commit >= 0 and h.attempt >= 1)
    end
    assert.are.equal(r.reads.attempts, n)
    assert.are.equal(r.reads.attempt_outcomes.timeout, timeouts)
    assert.is_true(applying > 0, "some attempts reached the applying node")
    assert.is_nil(io.open(path .. ".tmp"), "no temporary file left")
  end)
end)

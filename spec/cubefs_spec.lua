-- One spec per row of docs/cubefs.md (named by the row's id): the cubefs
-- profile does what the row says CubeFS's master does. docs_spec checks
-- every row has one.
local cjson = require "cjson"
local ms = require "mastersim"
local support = require "support"

-- A small cluster under the cubefs profile (the default); `t` overrides.
local function scenario(t)
  local sc = {
    name = "cubefs_row", duration = "20s",
    cluster = { masters = 3, volumes = 40, data_partitions = 4000, meta_partitions = 400, nodes = 40, users = 4 },
    clients = { { count = 20, rate = 20, ops = { get_vol = 0.5, get_partitions = 0.5 } } },
    writes = { rate = 50 },
  }
  for k, v in pairs(t or {}) do sc[k] = v end
  return ms.scenario(sc)
end

local function run(sc, policy, opts)
  opts = opts or {}
  return ms.run(sc, { policy = ms.load_policy(policy or "block"), seed = opts.seed or 1, sigint = false,
                      history = opts.history })
end

-- The attempts of a run, from its history file.
local function attempts(sc, policy)
  local path = support.tmpdir() .. "/cubefs_history.jsonl"
  local r = run(sc, policy, { history = path })
  local list = {}
  for line in io.lines(path) do list[#list + 1] = cjson.decode(line) end
  return r, list
end

local function count_faults(r, action)
  local n = 0
  for _, f in ipairs(r.faults) do n = n + (f.action == action and 1 or 0) end
  return n
end

describe("docs/cubefs.md rows", function()
  it("C1: a follower answers get_partitions from its cache of the leader's answer; a miss fails ECACHEMISS",
    function()
      -- m3 comes back with a cold cache: its misses until its first pass
      local r, list = attempts(scenario {
        clients = { { count = 30, rate = 20, route = "local", ops = { get_partitions = 1 } } },
        faults = { ms.at("5s", ms.crash "m3"), ms.at("8s", ms.restart "m3") },
      })
      assert.is_true(r.cache.hits > 0)
      assert.is_true(r.cache.misses > 0)
      assert.is_true((r.reads.failed_by_code.ECACHEMISS or 0) + r.reads.attempt_outcomes.failed > 0)
      local followers, behind = 0, 0
      for _, a in ipairs(list) do
        if a.role == "follower" and a.outcome ~= "failed" then
          followers = followers + 1
          assert.are.equal(a.host, a.node, "answered where it was sent, not forwarded")
          if a.applied < a.commit then behind = behind + 1 end
        end
        if a.code == "ECACHEMISS" then assert.are.equal("m3", a.node) end
      end
      assert.is_true(followers > 0)
      assert.is_true(behind > 0, "cached answers lag the leader's commits")
      assert.are.equal(0, r.reads.outcomes.torn)
    end)

  it("C2: every other read at a follower is forwarded to the leader; with none known it fails ENOLEADER",
    function()
      local r, list = attempts(scenario {
        clients = { { count = 30, rate = 20, route = "local", ops = { get_vol = 1 } } },
        faults = { ms.at("5s", ms.crash "leader") },
      })
      local forwarded, noleader = 0, 0
      for _, a in ipairs(list) do
        if a.host ~= a.node and a.outcome ~= "failed" then
          forwarded = forwarded + 1
          assert.are.equal("leader", a.role)
        end
        if a.code == "ENOLEADER" then noleader = noleader + 1 end
        if a.outcome == "fresh" or a.outcome == "stale" then assert.are.equal("leader", a.role) end
      end
      assert.is_true(forwarded > 0)
      assert.is_true(noleader > 0, "during the election followers know no leader")
      assert.are.equal(1, r.elections.leader_changes)
    end)

  it("C3: no client read is served from a follower's store, even while it applies a snapshot", function()
    local r, list = attempts(scenario {
      log = { retain = 100 }, snapshot = { apply_rate = 2000 },
      clients = { { count = 30, rate = 20, route = "local", ops = { get_vol = 0.5, get_partitions = 0.5 } } },
      faults = { ms.at("3s", ms.crash "m3"), ms.at("10s", ms.restart "m3") },
    }, "unguarded")
    assert.is_true(r.snapshots.installs >= 1)
    local at_applying = 0
    for _, a in ipairs(list) do
      if a.phase == "applying" then
        at_applying = at_applying + 1
        -- the applying node answers only from its cache: get_vol went on to the leader
        assert.are.equal("get_partitions", a.op)
      end
    end
    assert.is_true(at_applying > 0)
    assert.are.equal(0, r.reads.outcomes.torn)
    assert.is_true(r.scans.vol_view.outcomes.torn > 0, "the vol scan is the store's reader")
  end)

  it("C4: a new leader loads its view for keys / load_rate and answers ENOTREADY meanwhile", function()
    local r = run(scenario { master = { load_rate = 2000 }, faults = { ms.at("5s", ms.crash "leader") } })
    local loading
    for name, p in pairs(r.phases) do
      for _, iv in ipairs(p) do
        if iv.phase == "loading" then loading = { node = name, t0 = iv.t0, t1 = iv.t1 } end
      end
    end
    assert.is_table(loading)
    local keys = r.nodes[loading.node].keys
    -- the view holds the keys at the election; writes go on while it loads
    assert.is_true(math.abs((loading.t1 - loading.t0) - keys / 2000) < 0.2 * keys / 2000)
    assert.is_true(r.reads.failed_by_code.ENOTREADY > 0 or r.reads.attempt_outcomes.failed > 0)
  end)

  it("C5: the follower's vol scan runs before each cache pass: reopen crashes the node, inplace tears it",
    function()
      local base = {
        log = { retain = 100 }, snapshot = { apply_rate = 2000 },
        faults = { ms.at("3s", ms.crash "m3"), ms.at("10s", ms.restart "m3") },
      }
      local unsafe = run(scenario(base), "unsafe")
      assert.is_true(count_faults(unsafe, "scan_crash") > 0)
      assert.are.equal(0, count_faults(unsafe, "read_crash"))
      local torn = run(scenario(base), "unguarded")
      assert.is_true(torn.scans.vol_view.outcomes.torn > 0)
      assert.are.equal(0, torn.scans.vol_view.outcomes.crash)
      -- one scan per pass (about 5 s plus the fetches) on each follower
      local quiet = run(scenario { duration = "60s" })
      local runs = quiet.scans.vol_view.runs
      assert.is_true(runs >= 2 * 9 and runs <= 2 * 13, tostring(runs))
    end)

  it("C6: leader pushes and follower pulls keep entries within a pass; a torn scan's missing vols are dropped",
    function()
      local r, list = attempts(scenario {
        duration = "30s",
        clients = { { count = 30, rate = 20, route = "local", ops = { get_partitions = 1 } } },
      })
      assert.is_true(r.cache.pushed > 0 and r.cache.pulled > 0)
      local worst = 0
      for _, a in ipairs(list) do
        if a.role == "follower" and a.outcome == "stale" then
          -- staleness in entries: a pass is 5 s at 50 writes/s, plus the pass's own spread
          worst = math.max(worst, a.commit - a.applied)
        end
      end
      assert.is_true(worst > 0 and worst < 50 * 5 * 2, tostring(worst))
      -- a scan that lists only part of the vols (an inplace apply) loses the others at the next cleanup
      local torn = run(scenario {
        log = { retain = 100 }, snapshot = { apply_rate = 1000 }, cache = { cleanup = "1s" },
        clients = { { count = 30, rate = 20, route = "local", ops = { get_partitions = 1 } } },
        faults = { ms.at("3s", ms.crash "m3"), ms.at("10s", ms.restart "m3") },
      }, "unguarded")
      assert.is_true(torn.scans.vol_view.outcomes.torn > 0)
      assert.is_true(torn.cache.dropped > 0)
    end)

  it("C7: the default apply style is inplace: the live store empties, then refills, applied last", function()
    local r = run(scenario {
      log = { retain = 100 }, snapshot = { apply_rate = 2000 },
      faults = { ms.at("3s", ms.crash "m3"), ms.at("10s", ms.restart "m3") },
    }, "unguarded")
    assert.are.equal("inplace", r.snapshot_mode)
    assert.are.equal("inplace", r.snapshots.intervals[1].mode)
    -- a scan of the half-filled store is torn (rule 2 of ms_ops.h: no applied key yet)
    assert.is_true(r.scans.vol_view.outcomes.torn > 0)
  end)

  it("C8: snapshot keys and log entries apply at their own rates", function()
    local fast = run(scenario { writes = { rate = 150 }, log = { apply_rate = 1000 }, clients = {} })
    local slow = run(scenario { writes = { rate = 150 }, log = { apply_rate = 100 }, clients = {} })
    -- every master applies at the log rate: one slower than the writes falls behind the commits
    local function behind(r) return r.writes.committed - r.nodes.m1.applied end
    assert.is_true(behind(fast) < 10, tostring(behind(fast)))
    assert.is_true(behind(slow) > 500, tostring(behind(slow)))
    -- a snapshot's keys go at snapshot.apply_rate whatever log.apply_rate is
    local r = run(scenario {
      log = { retain = 100, apply_rate = 100 }, snapshot = { apply_rate = 5000 },
      faults = { ms.at("3s", ms.crash "m3"), ms.at("10s", ms.restart "m3") },
    })
    local iv = r.snapshots.intervals[1]
    local want = r.nodes.m3.keys / 5000
    assert.is_true(math.abs((iv.finish - iv.start) - want) < 0.25 * want, ("%g vs %g"):format(iv.finish - iv.start,
      want))
  end)

  it("C9: the log is cut back to retain entries at multiples of retain: it holds retain..2 x retain", function()
    local lengths = {}
    local sc = scenario {
      duration = "30s", log = { retain = 300 }, writes = { rate = 100 },
      setup = function(run_)
        local function sample()
          lengths[#lengths + 1] = run_.cluster.m1.log_entries
          run_:after(0.1, sample)
        end
        run_:after(0.1, sample)
      end,
    }
    run(sc)
    local lo, hi = math.huge, 0
    for i = 80, #lengths do -- after the first cut (300 entries at 100/s)
      lo, hi = math.min(lo, lengths[i]), math.max(hi, lengths[i])
    end
    assert.is_true(lo >= 300 - 20 and lo <= 320, tostring(lo))
    assert.is_true(hi >= 560 and hi <= 600 + 20, tostring(hi))
  end)

  it("C10: ticks of 500 ms: a crashed leader is replaced after the 10-tick follower lease", function()
    local r = run(scenario {
      duration = "60s", clients = {},
      faults = { ms.at("10.2s", ms.crash "leader"), ms.at("20s", ms.restart "last_crashed"),
                 ms.at("30.4s", ms.crash "leader"), ms.at("40s", ms.restart "last_crashed") },
    })
    assert.are.equal(2, r.elections.leader_changes)
    for _, e in ipairs(r.elections.list) do
      if e.cause == "crash" then
        -- followers heard the last heartbeat within a tick before the crash
        assert.is_true(e.time_to_leader >= 4.5 and e.time_to_leader < 5.1, tostring(e.time_to_leader))
      end
    end
  end)

  it("C11: pre-vote and the lease check: a rejoining follower deposes nobody; a cut-off leader steps down",
    function()
      local rejoin = run(scenario {
        duration = "40s", clients = {},
        faults = { ms.at("5s", ms.partition({ "m3" }, { "m1", "m2" })), ms.at("20s", ms.heal()) },
      })
      assert.are.equal(0, rejoin.elections.leader_changes)
      assert.are.equal(1, rejoin.nodes.m1.term)
      local cut = run(scenario {
        duration = "40s", clients = {},
        faults = { ms.at("5s", ms.partition({ "m1" }, { "m2", "m3" })) },
      })
      local e = cut.elections.list[1]
      assert.are.equal("step_down", e.cause)
      -- lost when it last heard a quorum: a heartbeat's answer just before the cut
      assert.is_true(e.lost >= 4.4 and e.lost <= 5, tostring(e.lost))
      assert.is_true(e.elected > e.lost)
    end)

  it("C12: a node that is applying a snapshot does not campaign", function()
    -- without pre-vote, an isolated node campaigns (a new term each time)
    local r = run(scenario {
      duration = "40s", log = { retain = 100 }, snapshot = { apply_rate = 300 }, raft = { prevote = false },
      clients = {},
      faults = { ms.at("2s", ms.crash "m3"), ms.at("8s", ms.restart "m3"),
                 ms.at("10s", ms.partition({ "m3" }, { "m1", "m2" })), ms.at("30s", ms.heal()) },
    })
    -- m3 installs from 8 s for about keys / 300 s; cut off at 10 s it never campaigns
    assert.is_true(r.snapshots.intervals[1].start < 10)
    assert.are.equal(0, r.nodes.m3.campaigns)
    local isolated = run(scenario {
      duration = "40s", raft = { prevote = false }, clients = {},
      faults = { ms.at("10s", ms.partition({ "m3" }, { "m1", "m2" })), ms.at("30s", ms.heal()) },
    })
    assert.is_true(isolated.nodes.m3.campaigns > 0, "a node that is not installing does")
  end)

  it("C13: node heartbeats are not raft writes: every default write creates a data partition", function()
    local idle = run(scenario { writes = { rate = 0 }, clients = {} })
    local busy = run(scenario { writes = { rate = 50 }, clients = {} })
    assert.is_true(busy.writes.committed > 500)
    assert.are.equal(idle.nodes.m1.keys + busy.writes.committed, busy.nodes.m1.keys)
  end)

  it("C14: the SDK tries its leader, then every master in order, the next at once, 30 s per try", function()
    local r, list = attempts(scenario {
      clients = { { count = 30, rate = 20, ops = { get_vol = 1 } } },
      faults = { ms.at("5s", ms.crash "leader") },
    })
    assert.are.equal(30, ms.load_sim(support.root .. "/sims/follower_catchup.lua").clients[1].timeout)
    local by_read = {}
    for _, a in ipairs(list) do
      by_read[a.read] = by_read[a.read] or {}
      by_read[a.read][a.attempt] = a
    end
    local passes = 0
    for _, tries in pairs(by_read) do
      if #tries > 1 then
        passes = passes + 1
        assert.is_true(#tries <= 4)
        local function after(h) return "m" .. (tonumber(h:sub(2)) % 3 + 1) end
        for k = 2, #tries do
          -- after the first host (the client's leader, or m1), m1, m2, m3 in order ...
          if k == 2 then
            assert.is_true(tries[2].host == "m1" or tries[2].host == after(tries[1].host))
          else
            assert.are.equal(after(tries[k - 1].host), tries[k].host)
          end
          -- ... sent the moment the previous answer arrived
          local sent = tries[k].t - tries[k].latency
          assert.is_true(math.abs(sent - tries[k - 1].t) < 1e-6)
        end
      end
    end
    assert.is_true(passes > 0)
    assert.are.equal(0, r.reads.outcomes.timeout)
  end)

  it("C15: get_partitions starts at a random master; other reads at the client's leader", function()
    local _, list = attempts(scenario {
      clients = { { count = 30, rate = 20, ops = { get_vol = 0.5, get_partitions = 0.5 } } },
    })
    local first = { get_vol = {}, get_partitions = {} }
    local n = { get_vol = 0, get_partitions = 0 }
    for _, a in ipairs(list) do
      if a.attempt == 1 then
        first[a.op][a.host] = (first[a.op][a.host] or 0) + 1
        n[a.op] = n[a.op] + 1
      end
    end
    for _, m in ipairs { "m1", "m2", "m3" } do
      local share = (first.get_partitions[m] or 0) / n.get_partitions
      assert.is_true(share > 0.28 and share < 0.39, m .. " " .. share)
    end
    assert.is_true((first.get_vol.m1 or 0) / n.get_vol > 0.99, "get_vol goes to the leader the client knows")
  end)
end)

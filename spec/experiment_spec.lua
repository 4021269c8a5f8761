-- The run matrix of compare/sweep: seeds, shards, the grid, keys, slim
-- results (in-process; the CLI behaviour is in compare_spec.lua).
local experiment = require "mastersim.experiment"

local function usage_error(fn)
  local ok, e = pcall(fn)
  assert.is_false(ok)
  assert.are.equal(2, e.code)
  return e.msg
end

describe("experiment", function()
  it("parses seed lists: single seeds, ranges and lists, sorted without duplicates", function()
    assert.are.same({ 5 }, experiment.parse_seeds("5"))
    assert.are.same({ 1, 2, 3, 4 }, experiment.parse_seeds("1-4"))
    assert.are.same({ 1, 3, 7 }, experiment.parse_seeds("7,1,3"))
    assert.are.same({ 0, 1, 2, 9, 10 }, experiment.parse_seeds("9-10,0-2,1"))
  end)

  it("rejects malformed seed lists with one line", function()
    local cases = {
      ["3-1"] = "mastersim: bad --seeds '3-1': the range 3-1 is empty (3 > 1)",
      ["1-"] = "mastersim: bad --seeds '1-': '1-' is not a seed or a range"
        .. " (expected N or N-M, N and M non-negative integers)",
      ["1,,2"] = "mastersim: bad --seeds '1,,2': '' is not a seed or a range"
        .. " (expected N or N-M, N and M non-negative integers)",
      ["-3"] = "mastersim: bad --seeds '-3': '-3' is not a seed or a range"
        .. " (expected N or N-M, N and M non-negative integers)",
      ["1-99999999"] = "mastersim: bad --seeds '1-99999999': too many seeds",
    }
    for text, msg in pairs(cases) do
      assert.are.equal(msg, usage_error(function() experiment.parse_seeds(text) end))
    end
  end)

  it("parses shards as i/n with 0 <= i < n", function()
    assert.are.same({ 0, 4 }, { experiment.parse_shard("0/4") })
    assert.are.same({ 3, 4 }, { experiment.parse_shard("3/4") })
    for _, bad in ipairs({ "4/4", "1/0", "1", "a/b", "-1/2" }) do
      assert.are.equal(("mastersim: bad --shard '%s': expected i/n with 0 <= i < n, e.g. 0/4"):format(bad),
        usage_error(function() experiment.parse_shard(bad) end))
    end
  end)

  it("orders the matrix seed-major (grid point, seed, policy) and deals run k to shard k mod n", function()
    local exp = { policies = { "b", "a" }, seeds = { 1, 2 },
                  vary = { { path = "x.y", values = { 10, 20 } }, { path = "z", values = { "p", "q" } } } }
    local grid = experiment.grid(exp.vary)
    assert.are.same({ { ["x.y"] = 10, z = "p" }, { ["x.y"] = 10, z = "q" }, { ["x.y"] = 20, z = "p" },
                      { ["x.y"] = 20, z = "q" } }, grid)
    local m = experiment.matrix(exp, function() return {} end)
    assert.are.equal(16, #m)
    assert.are.same({ 0, "b", 1, 10, "p" }, { m[1].k, m[1].policy, m[1].seed, m[1].vary["x.y"], m[1].vary.z })
    -- every policy's run of seed 1 comes before any run of seed 2
    assert.are.same({ "a", 1 }, { m[2].policy, m[2].seed })
    assert.are.same({ "b", 2 }, { m[3].policy, m[3].seed })
    assert.are.same({ 20, "q" }, { m[16].vary["x.y"], m[16].vary.z })
    local seen = {}
    for i = 0, 2 do
      for _, r in ipairs(experiment.shard(m, i, 3)) do
        assert.are.equal(i, r.k % 3)
        assert.is_nil(seen[r.key])
        seen[r.key] = true
      end
    end
    local n = 0
    for _ in pairs(seen) do n = n + 1 end
    assert.are.equal(16, n)
  end)

  it("keys runs by policy, seed, varied values and params, independent of number types", function()
    assert.are.equal(experiment.key("b", 1, nil, { timeout = 5 }), experiment.key("b", 1, {}, { timeout = 5.0 }))
    assert.are_not.equal(experiment.key("b", 1, nil, { timeout = 5 }), experiment.key("b", 1, nil, { timeout = 1 }))
    assert.are_not.equal(experiment.key("b", 1, { x = 1 }), experiment.key("b", 1, { x = 2 }))
  end)

  it("slims a result: no wall, histogram cells of a 20th of a decade, counts and percentiles kept", function()
    local buckets = {}
    for i = 1, 1000 do buckets[i] = { lo = i * 1e-5, hi = (i + 1) * 1e-5, count = i % 3 + 1 } end
    table.insert(buckets, 1, { lo = 0, hi = 0, count = 7 })
    local total = 0
    for _, b in ipairs(buckets) do total = total + b.count end
    local r = { wall = { seconds = 1 }, reads = { latency = { all = { count = total, p99 = 0.5, buckets = buckets } } },
                timeline = { buckets = { { t = 0, arrivals = 3 } } } }
    experiment.slim(r, { ["a.b"] = 1 })
    assert.is_nil(r.wall)
    assert.are.same({ ["a.b"] = 1 }, r.vary)
    local h = r.reads.latency.all
    assert.are.equal(0.5, h.p99)
    local sum, prev = 0, -1
    for _, b in ipairs(h.buckets) do
      sum = sum + b.count
      assert.is_true(b.lo >= prev)
      prev = b.lo
    end
    assert.are.equal(total, sum)
    assert.is_true(#h.buckets <= 3 * experiment.BUCKETS_PER_DECADE + 2)
    assert.are.same({ lo = 0, hi = 0, count = 7 }, h.buckets[1])
    assert.are.same({ { t = 0, arrivals = 3 } }, r.timeline.buckets)
  end)

  it("decodes JSON into canonical numbers: integral floats become integers", function()
    local v = experiment.decode('{"a": 5, "b": 2.5, "c": [1, 1e3], "d": 1e300}')
    assert.are.equal("integer", math.type(v.a))
    assert.are.equal("float", math.type(v.b))
    assert.are.equal("integer", math.type(v.c[2]))
    assert.are.equal("float", math.type(v.d))
  end)

  it("summarises a partial experiment over the seeds every policy finished, per grid point", function()
    local exp = { kind = "sweep", policies = { "a", "b" }, seeds = { 1, 2, 3 },
                  vary = { { path = "x", values = { 10, 20 } } } }
    local function r(p, seed, x)
      return { scenario = "s", policy = p, seed = seed, vary = { x = x },
               reads = { logical = 10, availability = 1, outcomes = { fresh = 10, stale = 0 } } }
    end
    -- point x=10: seeds 1 and 2 complete, seed 3 only for a; point x=20: seed 1 complete
    local results = { r("a", 1, 10), r("b", 1, 10), r("a", 2, 10), r("b", 2, 10), r("a", 3, 10),
                      r("a", 1, 20), r("b", 1, 20) }
    local doc = experiment.document(exp, results, 12)
    assert.is_true(doc.partial)
    assert.are.equal(7, #doc.results)
    assert.are.same({ 1 }, experiment.complete_seeds(exp, results))
    assert.are.same({ 1, 3 }, { doc.seeds_complete, doc.seeds_expected })
    assert.are.equal(2, #doc.points)
    assert.are.same({ 1, 2 }, doc.points[1].summary.seeds)
    assert.are.same({ 1 }, doc.points[2].summary.seeds)
    for _, p in ipairs(doc.points[1].summary.policies) do assert.are.equal(2, p.runs) end
    exp.kind, exp.vary = "compare", {}
    local flat = { r("a", 1), r("b", 1), r("a", 2) }
    for _, x in ipairs(flat) do x.vary = nil end
    doc = experiment.document(exp, flat, 6)
    assert.are.same({ 1 }, doc.summary.seeds)
    assert.are.same({ 1, 3 }, { doc.seeds_complete, doc.seeds_expected })
    -- a complete experiment has neither field
    doc = experiment.document({ kind = "compare", policies = { "a" }, seeds = { 1 }, vary = {} }, { r("a", 1) }, 1)
    assert.is_false(doc.partial)
    assert.is_nil(doc.seeds_complete)
  end)
end)

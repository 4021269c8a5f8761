-- mastersim.core.rng: named, independent, reproducible PRNG streams.
local core = require "mastersim.core"

-- n results of r:method(...), in order.
local function draws(r, n, method, ...)
  local out = {}
  for i = 1, n do out[i] = r[method](r, ...) end
  return out
end

local function count_equal(a, b)
  local same = 0
  for i = 1, #a do
    if a[i] == b[i] then same = same + 1 end
  end
  return same
end

describe("core.rng", function()
  it("gives the same sequence for the same seed and name", function()
    local a, b = core.rng(42, "workload"), core.rng(42, "workload")
    assert.same(draws(a, 200, "next"), draws(b, 200, "next"))
    assert.same(draws(a, 50, "lognormal", 2e-4, 2e-3), draws(b, 50, "lognormal", 2e-4, 2e-3))
  end)

  it("keeps the stream derivation stable (golden value)", function()
    assert.equal(8576145385767355086, core.rng(1, "workload"):next())
  end)

  it("gives different sequences for different seeds or names", function()
    local base = draws(core.rng(1, "workload"), 100, "next")
    assert.equal(0, count_equal(base, draws(core.rng(2, "workload"), 100, "next")))
    assert.equal(0, count_equal(base, draws(core.rng(1, "policy"), 100, "next")))
    assert.equal(0, count_equal(base, draws(core.rng(1, "workloaD"), 100, "next")))
  end)

  it("keeps workload draws unchanged when policy draws more", function()
    local alone = draws(core.rng(7, "workload"), 500, "uniform")
    local workload, policy = core.rng(7, "workload"), core.rng(7, "policy")
    local mixed, policy_draws = {}, {}
    for i = 1, 500 do
      for _ = 1, i % 4 do policy_draws[#policy_draws + 1] = policy:exponential(0.01) end
      mixed[i] = workload:uniform()
    end
    assert.same(alone, mixed)
    assert.is_true(#policy_draws > 500)
    assert.is_true(policy_draws[1] ~= policy_draws[2])
  end)

  it("returns next() as a Lua integer and uniform() in [0, 1)", function()
    local r = core.rng(3, "types")
    assert.equal("integer", math.type(r:next()))
    local lo, hi, sum, n = 1, 0, 0, 100000
    for _ = 1, n do
      local u = r:uniform()
      lo, hi, sum = math.min(lo, u), math.max(hi, u), sum + u
    end
    assert.is_true(lo >= 0 and hi < 1)
    assert.is_true(math.abs(sum / n - 0.5) < 0.01)
    for _ = 1, 1000 do
      local v = r:uniform(-2, 3)
      assert.is_true(v >= -2 and v < 3)
    end
    assert.equal(5, r:uniform(5, 5))
  end)

  it("keeps below(n) in [0, n) and reaches every value", function()
    local r = core.rng(4, "below")
    local seen = {}
    for _ = 1, 10000 do
      local k = r:below(10)
      assert.equal("integer", math.type(k))
      assert.is_true(k >= 0 and k < 10)
      seen[k] = (seen[k] or 0) + 1
    end
    for k = 0, 9 do assert.is_true(seen[k] > 800 and seen[k] < 1200) end
    assert.equal(0, r:below(1))
  end)

  it("returns a 1-based weighted index with matching frequencies", function()
    local r = core.rng(5, "weighted")
    local hits, n = { 0, 0, 0, 0 }, 100000
    for _ = 1, n do
      local i = r:weighted({ 1, 0, 3, 6 })
      assert.is_true(i >= 1 and i <= 4)
      hits[i] = hits[i] + 1
    end
    assert.equal(0, hits[2])
    assert.is_true(math.abs(hits[1] / n - 0.1) < 0.01)
    assert.is_true(math.abs(hits[3] / n - 0.3) < 0.01)
    assert.is_true(math.abs(hits[4] / n - 0.6) < 0.01)
    assert.equal(1, r:weighted({ 0.5 }))
  end)

  it("draws from the named distributions", function()
    local r = core.rng(6, "dist")
    local n, esum, nsum = 100000, 0, 0
    local logn, pmin = {}, math.huge
    for i = 1, n do
      esum = esum + r:exponential(0.5)
      nsum = nsum + r:normal(10, 2)
      logn[i] = r:lognormal(2e-4, 2e-3)
      pmin = math.min(pmin, r:pareto(3, 2))
    end
    table.sort(logn)
    assert.is_true(math.abs(esum / n / 0.5 - 1) < 0.02)
    assert.is_true(math.abs(nsum / n - 10) < 0.05)
    assert.is_true(math.abs(logn[n // 2] / 2e-4 - 1) < 0.03)
    assert.is_true(math.abs(logn[math.floor(0.99 * n)] / 2e-3 - 1) < 0.05)
    assert.is_true(pmin >= 3 and pmin < 3.01)
  end)

  it("reports its name, seed and a readable tostring", function()
    local r = core.rng(99, "faults")
    assert.equal("faults", r:name())
    assert.equal(99, r:seed())
    assert.equal("integer", math.type(r:seed()))
    assert.equal("mastersim.Rng(seed=99, stream=faults)", tostring(r))
  end)

  it("rejects bad arguments with precise messages", function()
    local r = core.rng(1, "args")
    local cases = {
      { function() core.rng(1.5, "x") end, "bad argument #1 to 'rng' (integer expected)" },
      { function() core.rng(1) end, "bad argument #2 to 'rng' (string expected, got no value)" },
      { function() r:below(0) end, "bad argument #1 to 'below' (n must be >= 1)" },
      { function() r:below(2.5) end, "bad argument #1 to 'below' (integer expected)" },
      { function() r:uniform(3, 2) end, "bad argument #2 to 'uniform' (hi must be >= lo)" },
      { function() r:uniform(3) end, "bad argument #2 to 'uniform' (number expected, got no value)" },
      { function() r:exponential(0) end, "bad argument #1 to 'exponential' (mean must be > 0)" },
      { function() r:normal(0, -1) end, "bad argument #2 to 'normal' (sd must be >= 0)" },
      { function() r:lognormal(0, 1) end, "bad argument #1 to 'lognormal' (median must be > 0)" },
      { function() r:lognormal(2, 1) end, "bad argument #2 to 'lognormal' (p99 must be >= median)" },
      { function() r:pareto(1, 0) end, "bad argument #2 to 'pareto' (shape must be > 0)" },
      { function() r:pareto(-1, 2) end, "bad argument #1 to 'pareto' (scale must be > 0)" },
      { function() r:weighted({}) end, "bad argument #1 to 'weighted' (weights must be a non-empty array)" },
      { function() r:weighted({ 1, "x" }) end,
        "bad argument #1 to 'weighted' (weights[2] must be a number >= 0)" },
      { function() r:weighted({ 1, -1 }) end,
        "bad argument #1 to 'weighted' (weights[2] must be a number >= 0)" },
      { function() r:weighted({ 0, 0 }) end,
        "bad argument #1 to 'weighted' (weights must have a positive sum)" },
      { function() r:weighted(3) end, "bad argument #1 to 'weighted' (table expected, got number)" },
      { function() r.next(core.hist()) end,
        "bad argument #1 to 'next' (mastersim.Rng expected, got mastersim.Hist)" },
    }
    for _, case in ipairs(cases) do assert.has_error(case[1], case[2]) end
  end)

  it("binds its methods: the same draws, the same messages, closed with it", function()
    local r, b = core.rng(5, "bound"), core.rng(5, "bound"):bind()
    for _ = 1, 3 do
      assert.are.equal(r:next(), b:next())
      assert.are.equal(r:exponential(2), b:exponential(2))
      assert.are.equal(r:uniform(1, 3), b:uniform(1, 3))
      assert.are.equal(r:weighted({ 1, 2, 3 }), b:weighted({ 1, 2, 3 }))
    end
    assert.are.equal("bound", b:name())
    assert.are.equal(5, b:seed())
    assert.is_nil(b.close) -- the stream's owner closes it, not a script
    assert.has_error(function() b:exponential(0) end, "bad argument #1 to 'exponential' (mean must be > 0)")
    -- called as a function, its first argument is still the ignored self
    assert.has_error(function() b.below(1, 0) end, "bad argument #2 to 'below' (n must be >= 1)")
    -- the bound table draws from the stream itself, and closes with it
    local c = core.rng(6, "shared")
    local cb = c:bind()
    local x, y = cb:next(), c:next()
    local d = core.rng(6, "shared")
    assert.are.same({ x, y }, { d:next(), d:next() })
    c:close()
    assert.has_error(function() cb:next() end, "attempt to use a closed Rng")
  end)

  it("refuses draws once closed and closes twice safely", function()
    local r = core.rng(1, "closing")
    local close = getmetatable(r).__close
    close(r)
    close(r)
    assert.equal("mastersim.Rng(closed)", tostring(r))
    assert.has_error(function() r:next() end, "attempt to use a closed Rng")
  end)
end)

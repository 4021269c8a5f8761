local stats = require "mastersim.stats"

-- Reference: the two-sided 95% point of Student's t with df degrees of
-- freedom, computed independently of stats.lua. With x = sqrt(df) tan(u),
-- P(0 <= T <= t) / P(T >= 0) = int_0^atan(t/sqrt(df)) cos^(df-1) u du /
-- int_0^(pi/2) cos^(df-1) u du; t(0.975) is where that ratio is 0.95.
local function simpson(f, a, b, n)
  local h, s = (b - a) / n, f(a) + f(b)
  for i = 1, n - 1 do s = s + (i % 2 == 1 and 4 or 2) * f(a + i * h) end
  return s * h / 3
end

local function t975_reference(df)
  local function g(u) return math.cos(u) ^ (df - 1) end
  local total = simpson(g, 0, math.pi / 2, 2000)
  local lo, hi = 0, math.pi / 2
  for _ = 1, 40 do
    local mid = (lo + hi) / 2
    if simpson(g, 0, mid, 2000) / total < 0.95 then lo = mid else hi = mid end
  end
  return math.sqrt(df) * math.tan((lo + hi) / 2)
end

describe("stats", function()
  it("tabulates t(0.975, df) to 6 decimals and extends it beyond df = 30", function()
    assert.are.equal(2.776445, stats.t975(4))
    assert.are.equal(12.706205, stats.t975(1))
    for _, df in ipairs({ 1, 2, 3, 4, 5, 7, 10, 15, 20, 29, 30, 31, 40, 60, 100, 1000 }) do
      local ref = t975_reference(df)
      assert.is_true(math.abs(stats.t975(df) - ref) < 2e-6,
        ("df %d: %.7f vs reference %.7f"):format(df, stats.t975(df), ref))
    end
    assert.is_true(math.abs(stats.t975(1e9) - 1.959964) < 1e-6)
  end)

  it("computes the mean, sample sd and 95% CI of a small data set", function()
    -- {10, 12, 9, 11, 13}: mean 11, squared deviations 1+1+4+0+4 = 10,
    -- variance 10/4 = 2.5, se = sqrt(2.5/5) = sqrt(0.5), half = 2.776445 * 0.70710678.
    local c = stats.ci95({ 10, 12, 9, 11, 13 })
    assert.are.equal(5, c.n)
    assert.are.equal(11, c.mean)
    assert.is_true(math.abs(c.sd - 1.58113883) < 1e-8)
    assert.are.equal(4, c.df)
    assert.is_true(math.abs(c.ci95 - 1.9632425) < 1e-6)
    assert.is_true(math.abs(c.lo - (11 - 1.9632425)) < 1e-6)
    assert.is_true(math.abs(c.hi - (11 + 1.9632425)) < 1e-6)
    assert.is_true(math.abs(stats.stdev({ 2, 4, 4, 4, 5, 5, 7, 9 }) - math.sqrt(32 / 7)) < 1e-12)
  end)

  it("has no interval with fewer than two values", function()
    local one = stats.ci95({ 3.5 })
    assert.are.equal(1, one.n)
    assert.are.equal(3.5, one.mean)
    assert.is_nil(one.sd)
    assert.is_nil(one.ci95)
    local none = stats.ci95({})
    assert.are.equal(0, none.n)
    assert.is_nil(none.mean)
    assert.is_nil(stats.mean({}))
  end)

  it("pairs values by seed and counts seeds missing on one side", function()
    local base = { [1] = 10, [2] = 12, [3] = 9, [4] = 11, [5] = 13, [6] = 7 }
    local other = { [5] = 16, [4] = 12, [3] = 9, [2] = 14, [1] = 11, [7] = 3 }
    local d = stats.paired(base, other)
    -- differences 1, 2, 0, 1, 3: mean 1.4, squared deviations 5.2, variance 1.3
    assert.are.equal(5, d.pairs)
    assert.are.equal(2, d.skipped)
    assert.are.same({ 1, 2, 3, 4, 5 }, d.seeds)
    assert.are.same({ 1, 2, 0, 1, 3 }, d.diffs)
    assert.is_true(math.abs(d.mean - 1.4) < 1e-12)
    assert.is_true(math.abs(d.sd - math.sqrt(1.3)) < 1e-12)
    assert.is_true(math.abs(d.ci95 - 2.776445 * math.sqrt(1.3 / 5)) < 1e-12)
    local nothing = stats.paired({ [1] = 1 }, { [2] = 2 })
    assert.are.equal(0, nothing.pairs)
    assert.are.equal(2, nothing.skipped)
    assert.is_nil(nothing.mean)
  end)

  it("interpolates percentiles between closest ranks", function()
    local xs = { 4, 1, 3, 2 }
    assert.are.equal(2.5, stats.percentile(xs, 50))
    assert.are.equal(1, stats.percentile(xs, 0))
    assert.are.equal(4, stats.percentile(xs, 100))
    assert.is_true(math.abs(stats.percentile(xs, 90) - 3.7) < 1e-12)
    assert.are.same({ 4, 1, 3, 2 }, xs) -- the input is not reordered
    assert.are.equal(7, stats.percentile({ 7 }, 99))
    assert.is_nil(stats.percentile({}, 50))
    assert.has_error(function() stats.percentile(xs, 101) end)
  end)

  it("gives bit-identical results for the same inputs", function()
    local xs = { 0.1, 0.2, 0.3, 1e-9, 12345.678 }
    local a, b = stats.ci95(xs), stats.ci95({ 0.1, 0.2, 0.3, 1e-9, 12345.678 })
    assert.are.equal(("%a %a"):format(a.mean, a.ci95), ("%a %a"):format(b.mean, b.ci95))
  end)
end)

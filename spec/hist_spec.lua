-- mastersim.core.hist: log-linear latency histogram, 3 significant digits.
local core = require "mastersim.core"

-- The r-th smallest value for percentile p, with the histogram's rank rule
-- r = max(1, round(p/100 * n)); p100 is the max.
local function reference(sorted, p)
  local rank = math.max(1, math.floor(p / 100 * #sorted + 0.5))
  return sorted[rank]
end

-- n lognormal latencies in integer ns (median 200us, p99 20ms) from one stream.
local function sample(seed, n)
  local r, out = core.rng(seed, "hist"), {}
  for i = 1, n do out[i] = math.floor(r:lognormal(2e5, 2e7)) end
  return out
end

local function record_all(h, values)
  for _, v in ipairs(values) do h:record(v) end
  return h
end

describe("core.hist", function()
  it("matches percentiles of sorted data within 0.1%", function()
    local values = sample(1, 100000)
    local h = record_all(core.hist(), values)
    table.sort(values)
    for _, p in ipairs({ 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99 }) do
      local want, got = reference(values, p), h:percentile(p)
      assert.equal("integer", math.type(got))
      assert.is_true(got >= want, ("p%s: %d < %d"):format(p, got, want))
      assert.is_true((got - want) / want <= 0.001, ("p%s: %d vs %d"):format(p, got, want))
    end
    assert.equal(values[#values], h:percentile(100))
    assert.equal(values[1], h:percentile(0))
  end)

  it("keeps count, min, max and mean exact", function()
    local values = sample(2, 20000)
    local h = record_all(core.hist(), values)
    local sum, lo, hi = 0, math.huge, 0
    for _, v in ipairs(values) do sum, lo, hi = sum + v, math.min(lo, v), math.max(hi, v) end
    assert.equal(20000, h:count())
    assert.equal("integer", math.type(h:count()))
    assert.equal(lo, h:min())
    assert.equal(hi, h:max())
    assert.is_true(math.abs(h:mean() / (sum / #values) - 1) < 1e-12)
  end)

  it("rounds float values and records a value n times", function()
    local h = core.hist()
    h:record(2.4)
    h:record(2.6, 3)
    h:record(7, 0)
    assert.equal(4, h:count())
    assert.equal(2, h:min())
    assert.equal(3, h:max())
    assert.equal(2.75, h:mean())
  end)

  it("merges to the same result as recording everything into one", function()
    local values = sample(3, 30000)
    local a, b, all = core.hist(), core.hist(), core.hist()
    for i, v in ipairs(values) do
      if i % 3 == 0 then a:record(v) else b:record(v) end
      all:record(v)
    end
    a:merge(b)
    assert.equal(all:count(), a:count())
    assert.equal(all:min(), a:min())
    assert.equal(all:max(), a:max())
    assert.equal(all:mean(), a:mean())
    for _, p in ipairs({ 50, 90, 99, 99.9 }) do assert.equal(all:percentile(p), a:percentile(p)) end
    assert.same(all:buckets(), a:buckets())
    assert.equal(20000, b:count()) -- the source is unchanged
  end)

  it("exports ordered non-empty buckets that sum to the count", function()
    local h = record_all(core.hist(), sample(4, 50000))
    local buckets, total = h:buckets(), 0
    assert.is_true(#buckets > 100)
    for i, b in ipairs(buckets) do
      assert.is_true(b.count > 0 and b.lo <= b.hi)
      assert.is_true(b.hi - b.lo <= b.lo / 1024)
      if i > 1 then assert.is_true(b.lo > buckets[i - 1].hi) end
      total = total + b.count
    end
    assert.equal(h:count(), total)
    assert.same({ { lo = 5, hi = 5, count = 2 } }, record_all(core.hist(), { 5, 5 }):buckets())
  end)

  it("covers 1 ns to 1 hour and counts overflow", function()
    local hour = 3600 * 1000000000
    local h = record_all(core.hist(), { 1, hour })
    assert.equal(1, h:percentile(50))
    assert.equal(hour, h:percentile(100))
    assert.equal(0, h:overflow())
    h:record(1 << 62)
    assert.equal(1, h:overflow())
    assert.equal(1 << 62, h:max())
    assert.is_true(h:percentile(99) < 1 << 43) -- clamped into the top bucket
  end)

  it("reports 0 for an empty histogram and after reset", function()
    local h = core.hist()
    assert.equal(0, h:count())
    assert.equal(0, h:percentile(50))
    assert.equal(0, h:min())
    assert.equal(0, h:max())
    assert.equal(0, h:mean())
    assert.same({}, h:buckets())
    h:record(1000, 5)
    h:reset()
    assert.equal(0, h:count())
    assert.same({}, h:buckets())
    assert.is_true(h:memory() > 0)
    assert.equal("integer", math.type(h:memory()))
  end)

  it("rejects bad arguments with precise messages", function()
    local h = core.hist()
    local cases = {
      { function() h:record(-1) end, "bad argument #1 to 'record' (value must be >= 0)" },
      { function() h:record(0 / 0) end, "bad argument #1 to 'record' (value must be a finite number >= 0)" },
      { function() h:record(math.huge) end,
        "bad argument #1 to 'record' (value must be a finite number >= 0)" },
      { function() h:record("x") end, "bad argument #1 to 'record' (number expected, got string)" },
      { function() h:record(1, -1) end, "bad argument #2 to 'record' (count must be >= 0)" },
      { function() h:percentile(100.5) end, "bad argument #1 to 'percentile' (p must be in [0, 100])" },
      { function() h:percentile(-1) end, "bad argument #1 to 'percentile' (p must be in [0, 100])" },
      { function() h:merge({}) end, "bad argument #1 to 'merge' (mastersim.Hist expected, got table)" },
    }
    for _, case in ipairs(cases) do assert.has_error(case[1], case[2]) end
    assert.equal(0, h:count()) -- nothing was recorded by the failed calls
  end)

  it("frees on close, twice safely, and refuses use afterwards", function()
    local h = core.hist()
    h:record(10)
    assert.equal("mastersim.Hist(count=1, p50=10, p99=10, max=10)", tostring(h))
    local close = getmetatable(h).__close
    close(h)
    close(h)
    getmetatable(h).__gc(h)
    assert.equal("mastersim.Hist(closed)", tostring(h))
    assert.has_error(function() h:count() end, "attempt to use a closed Hist")
    do
      local scoped <close> = core.hist()
      scoped:record(1)
    end
  end)
end)

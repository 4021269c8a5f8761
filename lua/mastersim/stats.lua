--- Statistics across seeds: mean, sample standard deviation, 95% confidence
-- interval of the mean (Student's t), paired differences against a baseline
-- and percentiles of a list. Pure functions on plain numbers.
--
-- Formulas (n values x_1..x_n, summed in the order given, so equal input
-- lists give bit-identical results):
--   mean  m  = (sum x_i) / n
--   sd    s  = sqrt( sum (x_i - m)^2 / (n - 1) )        (two-pass, n >= 2)
--   se       = s / sqrt(n)
--   ci95 half-width h = t(0.975, n - 1) * se;  interval [m - h, m + h]
-- With n = 1 the mean is defined and sd, se, h are nil (no interval).
-- Paired difference (runs of two policies share seeds, hence the same
-- arrivals and faults): d_s = other_s - base_s for every seed s present with
-- a number on both sides, in increasing seed order; the mean and CI above
-- are applied to the d_s. Seeds present on one side only are skipped and
-- counted.
local M = {}

-- t(0.975, df) for df = 1..30: the two-sided 95% critical value of Student's
-- t distribution, to 6 decimals (checked in spec/stats_spec.lua against a
-- numerical integration of the t density).
local T975 = {
  12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
  2.262157, 2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905,
  2.109816, 2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
  2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
}
local Z975 = 1.959963984540054 -- the standard normal 0.975 quantile

--- t(0.975, df): the table for df <= 30; beyond, the Cornish-Fisher
-- expansion of the t quantile around the normal one (Abramowitz & Stegun
-- 26.7.5, four terms), accurate to better than 1e-6 for df > 30.
function M.t975(df)
  assert(type(df) == "number" and df >= 1, "stats.t975: df must be >= 1")
  if df == math.floor(df) and df <= 30 then return T975[math.tointeger(df)] end
  local z = Z975
  local z3, z5, z7, z9 = z ^ 3, z ^ 5, z ^ 7, z ^ 9
  local g1 = (z3 + z) / 4
  local g2 = (5 * z5 + 16 * z3 + 3 * z) / 96
  local g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384
  local g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160
  return z + g1 / df + g2 / df ^ 2 + g3 / df ^ 3 + g4 / df ^ 4
end

--- The arithmetic mean of a list of numbers, or nil when it is empty.
function M.mean(xs)
  local n = #xs
  if n == 0 then return nil end
  local sum = 0.0
  for i = 1, n do sum = sum + xs[i] end
  return sum / n
end

--- The sample standard deviation (divisor n - 1), or nil when n < 2.
function M.stdev(xs)
  local n = #xs
  if n < 2 then return nil end
  local m, ss = M.mean(xs), 0.0
  for i = 1, n do
    local d = xs[i] - m
    ss = ss + d * d
  end
  return math.sqrt(ss / (n - 1))
end

--- Describe a list: { n, mean, sd, se, df, t, ci95 (half-width), lo, hi }.
-- Fields that need two values are nil when n < 2; mean is nil when n = 0.
function M.ci95(xs)
  local n = #xs
  local out = { n = n, mean = M.mean(xs), sd = M.stdev(xs) }
  if out.sd then
    out.df = n - 1
    out.t = M.t975(n - 1)
    out.se = out.sd / math.sqrt(n)
    out.ci95 = out.t * out.se
    out.lo, out.hi = out.mean - out.ci95, out.mean + out.ci95
  end
  return out
end

-- The keys of a seed -> value map, sorted (numbers numerically first).
local function sorted_seeds(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b)
    local ta, tb = type(a) == "number", type(b) == "number"
    if ta ~= tb then return ta end
    if ta then return a < b end
    return tostring(a) < tostring(b)
  end)
  return ks
end

--- Paired difference of `other` against `base`, both maps seed -> number
-- (or nil). Returns ci95(d) plus { pairs = n, skipped = seeds present in
-- one side only, diffs = the d_s in seed order, seeds = their seeds }.
function M.paired(base, other)
  local union = {}
  for s in pairs(base) do union[s] = true end
  for s in pairs(other) do union[s] = true end
  local diffs, seeds, skipped = {}, {}, 0
  for _, s in ipairs(sorted_seeds(union)) do
    local a, b = base[s], other[s]
    if type(a) == "number" and type(b) == "number" then
      diffs[#diffs + 1] = b - a
      seeds[#seeds + 1] = s
    else
      skipped = skipped + 1
    end
  end
  local out = M.ci95(diffs)
  out.pairs, out.skipped, out.diffs, out.seeds = #diffs, skipped, diffs, seeds
  return out
end

--- The p-th percentile (0 <= p <= 100) of a list, by linear interpolation
-- between closest ranks (Hyndman & Fan type 7, numpy's default):
-- h = (n - 1) * p / 100 + 1, x_(floor h) + (h - floor h) * (x_(floor h + 1)
-- - x_(floor h)) over the sorted values. nil for an empty list.
function M.percentile(xs, p)
  assert(type(p) == "number" and p >= 0 and p <= 100, "stats.percentile: p must be in [0, 100]")
  local n = #xs
  if n == 0 then return nil end
  local s = table.move(xs, 1, n, 1, {})
  table.sort(s)
  local h = (n - 1) * p / 100 + 1
  local lo = math.floor(h)
  if lo >= n then return s[n] end
  return s[lo] + (h - lo) * (s[lo + 1] - s[lo])
end

M.sorted_seeds = sorted_seeds

return M

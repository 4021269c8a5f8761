--- The key metrics of a run, extracted from a result table
-- ("mastersim.result/1"), and how to print them. `M.list` is ordered: every
-- report shows metrics in this order. An extractor returns a number, or nil
-- when the run has nothing to measure (no reads, no stale read, no apply).
--
-- Units: "ratio" (a share in [0, 1], printed as %; a difference in
-- percentage points), "s" (seconds, printed in s/ms/us), "x" (a plain
-- factor), "bytes" (printed in KiB/MiB/GiB), "n" (a count per run). A
-- metric in seconds or bytes says so in its name (`_s`, `_bytes`), as the
-- CSV and the documents carry the raw number.
local M = {}

--- t[k1][k2]... or nil when any step is missing.
local function dig(t, ...)
  for i = 1, select("#", ...) do
    if type(t) ~= "table" then return nil end
    t = t[select(i, ...)]
  end
  return t
end
M.dig = dig

-- A number, or nil (non-numbers and NaN become nil).
local function num(v)
  if type(v) ~= "number" or v ~= v then return nil end
  return v
end

--- The share of logical reads whose final outcome is `outcome`.
local function share(outcome)
  return function(r)
    local n = num(dig(r, "reads", "logical"))
    if not n or n <= 0 then return nil end
    return (num(dig(r, "reads", "outcomes", outcome)) or 0) / n
  end
end

--- A field of a histogram; nil when the histogram is empty.
local function hist(field, ...)
  local path = { ... }
  return function(r)
    local h = dig(r, table.unpack(path))
    if type(h) ~= "table" or not num(h.count) or h.count <= 0 then return nil end
    return num(h[field])
  end
end

local function availability(r)
  local a = num(dig(r, "reads", "availability"))
  if a then return a end
  local fresh, stale = share("fresh")(r), share("stale")(r)
  return fresh and fresh + stale
end

local function memory_peak(r)
  local mem, peak = dig(r, "memory"), nil
  if type(mem) ~= "table" then return nil end
  for _, node in pairs(mem) do
    local p = num(dig(node, "peak"))
    if p and (not peak or p > peak) then peak = p end
  end
  return peak
end

-- The sum over a run's scans of outcome `o` (nil: the run has no scans).
local function scans(o)
  return function(r)
    local s, any = 0, false
    for _, st in pairs(dig(r, "scans") or {}) do
      any = true
      s = s + (num(dig(st, "outcomes", o)) or 0)
    end
    return any and s or nil
  end
end

local function metric(name, label, unit, higher_better, group, extract, doc)
  return { name = name, label = label, unit = unit, higher_better = higher_better,
           group = group, extract = extract, doc = doc }
end

M.list = {
  metric("availability", "availability", "ratio", true, "outcomes", availability,
    "(fresh + stale) / logical reads"),
  metric("fresh_share", "fresh", "ratio", true, "outcomes", share("fresh"),
    "logical reads whose final outcome is fresh"),
  metric("stale_share", "stale", "ratio", false, "outcomes", share("stale"),
    "... stale"),
  metric("torn_share", "torn", "ratio", false, "outcomes", share("torn"),
    "... torn"),
  metric("crash_share", "crash", "ratio", false, "outcomes", share("crash"),
    "... crash"),
  metric("failed_share", "failed", "ratio", false, "outcomes", share("failed"),
    "... failed"),
  metric("timeout_share", "timeout", "ratio", false, "outcomes", share("timeout"),
    "... timeout"),
  metric("latency_p50_s", "p50", "s", false, "latency", hist("p50", "reads", "latency", "all"),
    "`reads.latency.all` median"),
  metric("latency_p99_s", "p99", "s", false, "latency", hist("p99", "reads", "latency", "all"),
    "`reads.latency.all` 99th percentile"),
  metric("latency_p999_s", "p99.9", "s", false, "latency", hist("p999", "reads", "latency", "all"),
    "`reads.latency.all` 99.9th percentile"),
  metric("latency_max_s", "max", "s", false, "latency", hist("max", "reads", "latency", "all"),
    "`reads.latency.all` maximum"),
  metric("apply_p99_s", "p99 during apply", "s", false, "latency", hist("p99", "reads", "latency", "during_apply"),
    "p99 of the reads that overlapped an apply (`reads.latency.during_apply`)"),
  metric("staleness_mean_s", "stale mean", "s", false, "cost", hist("mean", "reads", "staleness", "time"),
    "mean time lag of stale reads (`reads.staleness.time`)"),
  metric("staleness_max_s", "stale max", "s", false, "cost", hist("max", "reads", "staleness", "time"),
    "largest time lag of a stale read"),
  metric("attempts_per_read", "attempts/read", "x", false, "cost",
    function(r) return num(dig(r, "reads", "attempts_per_read")) end,
    "attempts per logical read"),
  metric("memory_peak_bytes", "memory peak", "bytes", false, "cost", memory_peak,
    "the largest store-family peak over the nodes (`memory.<node>.peak`)"),
  metric("safety_violations", "safety violations", "n", false, "checks",
    function(r) return num(dig(r, "checker", "safety_violations")) end,
    "raft and replica safety violations (`checker`)"),
  metric("read_crashes", "read crashes", "n", false, "checks",
    function(r) return num(dig(r, "reads", "read_crashes")) end,
    "nodes crashed by a client read of a closed store"),
  metric("monotonic_regressions", "monotonic regressions", "n", false, "checks",
    function(r) return num(dig(r, "reads", "monotonic_regressions")) end,
    "reads that observed an older index than their client had seen"),
  metric("leader_changes", "leader changes", "n", false, "leaders",
    function(r) return num(dig(r, "elections", "leader_changes")) end,
    "leader changes after a lost leader (`elections.leader_changes`)"),
  metric("time_to_leader_p50_s", "time to leader p50", "s", false, "leaders",
    function(r) return num(dig(r, "elections", "time_to_leader", "p50")) end,
    "median time from a leader's loss to the first heartbeat heard from the next"),
  metric("time_to_leader_max_s", "time to leader max", "s", false, "leaders",
    function(r) return num(dig(r, "elections", "time_to_leader", "max")) end,
    "the longest of those"),
  metric("split_votes", "split votes", "n", false, "leaders",
    function(r) return num(dig(r, "elections", "split_votes")) end,
    "election terms that elected nobody (`elections.split_votes`)"),
  metric("cluster_unavailable_s", "cluster unavailable", "s", false, "leaders",
    function(r) return num(dig(r, "unavailability", "cluster", "seconds")) end,
    "time with no leader heard or a leader loading its view (`unavailability.cluster`)"),
  metric("scan_torn", "torn scans", "n", false, "leaders", scans("torn"),
    "background scans that read a half-applied store (`scans.<name>.outcomes.torn`, summed)"),
  metric("scan_crashes", "scan crashes", "n", false, "leaders", scans("crash"),
    "background scans that crashed their node on a closed store (summed)"),
}

M.groups = {
  outcomes = "Outcomes (share of logical reads)",
  latency = "Latency (all reads; and reads that overlapped an apply)",
  cost = "Staleness and cost",
  checks = "Checker verdicts (counts per run)",
  leaders = "Leader changes, unavailability and background scans (per run)",
}

M.by_name = {}
for _, m in ipairs(M.list) do M.by_name[m.name] = m end

--- The metric named `name`; an error names the unknown metric.
function M.get(name)
  return M.by_name[name] or error(("unknown metric '%s'"):format(tostring(name)), 2)
end

--- Every metric's value for result `r`: a map name -> number (nil absent).
function M.extract(r, list)
  local out = {}
  for _, m in ipairs(list or M.list) do out[m.name] = m.extract(r) end
  return out
end

--- A metric's public description (no function): name, label, unit, flags.
function M.describe(m)
  return { name = m.name, label = m.label, unit = m.unit, higher_better = m.higher_better,
           group = m.group }
end

-- Decimals to show `x` with `sig` significant digits (0..3).
local function decimals(x, sig)
  x = math.abs(x)
  if x == 0 then return 0 end
  local d = sig - 1 - math.floor(math.log(x, 10))
  return math.max(0, math.min(3, d))
end

--- Scale for `unit` at magnitude `x`: factor, suffix, and significant digits.
local function scale(unit, x)
  x = math.abs(x or 0)
  if unit == "ratio" then return 100, "%", nil end
  if x == 0 then x = 1 end -- zero prints in the base unit ("0 s")
  if unit == "s" then
    if x >= 1 then return 1, " s", 3 end
    if x >= 1e-3 then return 1e3, " ms", 3 end
    return 1e6, " us", 3
  end
  if unit == "bytes" then
    if x >= 2 ^ 30 then return 2 ^ -30, " GiB", 3 end
    if x >= 2 ^ 20 then return 2 ^ -20, " MiB", 3 end
    return 2 ^ -10, " KiB", 3
  end
  if unit == "x" then return 1, "x", 3 end
  return 1, "", 3
end

--- Print `value` (and optional CI half-width `half`) in `unit`:
-- "12.3±0.41 ms", "99.73±0.05%"; `delta` = true prints a sign and uses
-- percentage points for ratios ("+0.12±0.03pp"). The scale and the
-- decimals (3 significant digits, 2 decimals for %) follow the larger of
-- |value| and half, and both numbers share them. nil prints "n/a".
function M.format(unit, value, half, delta)
  if value == nil then return "n/a" end
  local mag = math.max(math.abs(value), half and math.abs(half) or 0)
  local f, suffix, sig = scale(unit, mag)
  local d = sig and decimals(mag * f, sig) or 2
  if unit == "x" then d = 3 end
  if delta and unit == "ratio" then suffix = "pp" end
  local fmt = (delta and "%+." or "%.") .. d .. "f"
  local s = fmt:format(value * f)
  if s:match("^[-+]0%.?0*$") then s = "0" .. ("."):rep(d > 0 and 1 or 0) .. ("0"):rep(d) end
  if half ~= nil then s = s .. ("±%." .. d .. "f"):format(half * f) end
  return s .. suffix
end

return M

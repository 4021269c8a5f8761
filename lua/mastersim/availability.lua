--- Leader changes and unavailability windows of a run, shaped for the
-- result (docs/metrics.md): from the model's election records (outages
-- from the loss of a leader to the first time a follower hears the next)
-- and its phase intervals.
local M = {}

-- Nearest-rank percentile of a sorted list.
local function pct(sorted, p)
  if #sorted == 0 then return nil end
  local i = math.max(1, math.ceil(p / 100 * #sorted))
  return sorted[i]
end

--- The `elections` section: every outage (the first, cause `start`, is
-- the initial election), and statistics of the time to a new leader over
-- the closed outages after a leader was lost (cause other than `start`).
function M.elections(records, names, now)
  local list, times, split, open = {}, {}, 0, false
  for i, e in ipairs(records) do
    local closed = e.heard >= 0
    list[i] = {
      cause = e.cause, lost = e.lost, elected = e.elected >= 0 and e.elected or nil,
      heard = closed and e.heard or nil, leader = e.leader > 0 and names[e.leader] or nil,
      term = e.term, terms = e.terms, split_votes = e.split_votes, prevote_rounds = e.prevote_rounds,
      time_to_leader = closed and e.heard - e.lost or nil,
    }
    if closed and e.cause ~= "start" then
      times[#times + 1] = e.heard - e.lost
      split = split + e.split_votes
    end
    if not closed then
      open = true
      list[i].open_for = now - e.lost
    end
  end
  table.sort(times)
  local sum = 0
  for _, t in ipairs(times) do sum = sum + t end
  return {
    leader_changes = #times, split_votes = split, open = open, list = list,
    time_to_leader = #times > 0 and { count = #times, mean = sum / #times, p50 = pct(times, 50),
      p90 = pct(times, 90), p99 = pct(times, 99), max = times[#times] } or { count = 0 },
  }
end

-- Merge [t0, t1] windows (sorted by t0) into disjoint ones.
local function merge(windows)
  table.sort(windows, function(a, b) return a.t0 < b.t0 or (a.t0 == b.t0 and a.t1 < b.t1) end)
  local out = {}
  for _, w in ipairs(windows) do
    local last = out[#out]
    if last and w.t0 <= last.t1 then
      if w.t1 > last.t1 then last.t1 = w.t1 end
      if not last.why:find(w.why, 1, true) then last.why = last.why .. "+" .. w.why end
    else
      out[#out + 1] = { t0 = w.t0, t1 = w.t1, why = w.why }
    end
  end
  return out
end

local function total(windows)
  local s = 0
  for _, w in ipairs(windows) do s = s + (w.t1 - w.t0) end
  return { seconds = s, count = #windows, windows = windows }
end

--- The `unavailability` section. Cluster-wide: no leader a follower has
-- heard (an outage) or a leader still loading its view. Per node: the
-- node is down, applying a snapshot or loading. `phases` is the result's
-- per-node phase list ({t0, t1, phase}).
function M.unavailability(elections, phases, names, now)
  local cluster = {}
  for _, e in ipairs(elections.list) do
    cluster[#cluster + 1] = { t0 = e.lost, t1 = e.heard or now, why = "election" }
  end
  local nodes = {}
  for _, name in ipairs(names) do
    local w = {}
    for _, p in ipairs(phases[name] or {}) do
      if p.phase ~= "serving" and p.t1 > p.t0 then
        w[#w + 1] = { t0 = p.t0, t1 = p.t1, why = p.phase }
        if p.phase == "loading" then cluster[#cluster + 1] = { t0 = p.t0, t1 = p.t1, why = "loading" } end
      end
    end
    nodes[name] = total(merge(w))
  end
  return { cluster = total(merge(cluster)), nodes = nodes }
end

return M

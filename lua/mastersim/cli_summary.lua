--- The readable summary of one cluster run printed by `mastersim run`.
local schema = require "mastersim.schema"

local M = {}

local function ms_or_s(s)
  if s == nil then return "-" end
  if s >= 1 then return ("%.2f s"):format(s) end
  if s >= 1e-3 then return ("%.2f ms"):format(s * 1e3) end
  return ("%.0f us"):format(s * 1e6)
end
M.time = ms_or_s

local function pct(n, d) return d > 0 and ("%.2f%%"):format(100 * n / d) or "-" end

local function mib(b) return ("%.1f MiB"):format(b / 1048576) end

local function params_text(p)
  local parts = {}
  for _, k in ipairs(schema.sorted_keys(p or {})) do parts[#parts + 1] = k .. "=" .. tostring(p[k]) end
  return #parts > 0 and table.concat(parts, " ") or "none"
end

--- The summary text of result r.
function M.run(r)
  local out = {}
  local function line(fmt, ...) out[#out + 1] = fmt:format(...) end
  local reads = r.reads
  local o, n = reads.outcomes, reads.logical
  line("scenario  %s (%s)", r.scenario, r.sim_file or "?")
  line("policy    %s (%s)  mode %s  params %s", r.policy, r.policy_file or "?", r.snapshot_mode,
    params_text(r.params))
  line("seed      %d   virtual %.1f s   events %d   status %s%s", r.seed, r.virtual_s, r.events, r.status,
    r.partial and " (partial results)" or "")
  line("reads     %d logical, %d attempts (%.3f per read), %d retries, %d policy calls", n, reads.attempts,
    reads.attempts_per_read, reads.retries, reads.policy_calls)
  line("outcomes  fresh %s  stale %s  torn %s  crash %s  failed %s  timeout %s", pct(o.fresh, n),
    pct(o.stale, n), pct(o.torn, n), pct(o.crash, n), pct(o.failed, n), pct(o.timeout, n))
  line("          availability %s (fresh or stale)", pct(o.fresh + o.stale, n))
  local codes = {}
  for _, k in ipairs(schema.sorted_keys(reads.failed_by_code)) do
    codes[#codes + 1] = ("%s %d"):format(k, reads.failed_by_code[k])
  end
  if #codes > 0 then line("failures  %s", table.concat(codes, ", ")) end
  local l = reads.latency
  line("latency   p50 %s  p99 %s  p99.9 %s  max %s", ms_or_s(l.all.p50), ms_or_s(l.all.p99), ms_or_s(l.all.p999),
    ms_or_s(l.all.max))
  line("          during applies: %d reads, p99 %s; others p99 %s", l.during_apply.count,
    ms_or_s(l.during_apply.p99), ms_or_s(l.other.p99))
  local st = reads.staleness.time
  if st.count > 0 then
    line("staleness %d stale reads: mean %s, max %s behind; mean %.1f entries", st.count, ms_or_s(st.mean),
      ms_or_s(st.max), reads.staleness.index.mean)
  end
  line("crashes   %d by reads; %d monotonic-read regressions", reads.read_crashes, reads.monotonic_regressions)
  local snaps = {}
  for _, iv in ipairs(r.snapshots.intervals) do
    snaps[#snaps + 1] = ("%s %s %.1f-%s s"):format(iv.node, iv.mode, iv.start,
      iv.finish >= 0 and ("%.1f"):format(iv.finish) or "...")
  end
  line("snapshots %d installs%s%s", r.snapshots.installs, #snaps > 0 and ": " or "", table.concat(snaps, "; "))
  local fl = {}
  for _, f in ipairs(r.faults) do
    fl[#fl + 1] = ("%.1f s %s%s"):format(f.t, f.action, f.node and (" " .. f.node) or "")
  end
  if #fl > 0 then line("faults    %s", table.concat(fl, "; ")) end
  line("writes    proposed %d, committed %d, failed %d", r.writes.proposed, r.writes.committed, r.writes.failed)
  for _, name in ipairs(schema.sorted_keys(r.scans or {})) do
    local s = r.scans[name]
    local so = s.outcomes
    line("scan      %s: %d runs: fresh %d, stale %d, torn %d, crash %d, failed %d; waited %s", name, s.runs,
      so.fresh, so.stale, so.torn, so.crash, so.failed, ms_or_s(s.waited_s))
  end
  local c = r.cache
  if c and c.hits + c.misses + c.pushed + c.pulled > 0 then
    line("cache     %d hits, %d misses (ECACHEMISS); filled %d by the leader's push, %d by pulls; %d dropped",
      c.hits, c.misses, c.pushed, c.pulled, c.dropped)
  end
  local el = r.elections
  if el then
    local t = el.time_to_leader
    line("leaders   %d changes%s; %d split votes%s", el.leader_changes,
      t.count > 0 and (": time to a new leader p50 %s, max %s"):format(ms_or_s(t.p50), ms_or_s(t.max)) or "",
      el.split_votes, el.open and "; no leader at the end" or "")
  end
  local u = r.unavailability
  if u then
    local nodes = {}
    for _, k in ipairs(schema.sorted_keys(u.nodes)) do
      if u.nodes[k].seconds > 0 then nodes[#nodes + 1] = ("%s %s"):format(k, ms_or_s(u.nodes[k].seconds)) end
    end
    line("unavail   cluster %s in %d windows%s%s", ms_or_s(u.cluster.seconds), u.cluster.count,
      #nodes > 0 and "; nodes " or "", table.concat(nodes, ", "))
  end
  local mem = {}
  for _, k in ipairs(schema.sorted_keys(r.memory)) do mem[#mem + 1] = k .. " " .. mib(r.memory[k].peak) end
  line("memory    peak %s", table.concat(mem, ", "))
  line("checker   %d safety violations%s", r.checker.safety_violations,
    r.checker.first_violation and (": first " .. r.checker.first_violation) or "")
  line("digest    %s (arrivals %s)", r.digest, r.arrivals_digest)
  return table.concat(out, "\n") .. "\n"
end

return M

--- The run budget: a run stops, with partial results, once it has run
-- max_events simulated events or the process's resident memory exceeds
-- max_memory (checked by core.drive between slices of events, and while
-- the cluster image is built). The backstop for scenario values that are
-- each in range but together too big.
local core = require "mastersim.core"
local errors = require "mastersim.errors"

local M = {}

--- The run budget's defaults (opts.max_events, opts.max_memory; false or
-- 0: none): far above what any reference sim needs (the 8 cluster sims
-- under the 8 reference policies: at most 0.50 M events, snapshot_storm,
-- and 516 MB resident, large_cluster, when the budget came in; since the
-- compact records 101 MB, seed 1), so only a runaway run meets them:
-- in-range runaways (clients.rate=1e6, clients.count=1e6, writes.rate=1e6
-- on follower_catchup) stopped in 15 to 31 s.
M.BUDGET = { events = 20000000, memory = 8 << 30 }

--- The budget of a run from its opts: max_events, max_memory (0: none).
function M.of(opts)
  local e, m = opts.max_events, opts.max_memory
  if e == nil then e = M.BUDGET.events end
  if m == nil then m = M.BUDGET.memory end
  return e or 0, m or 0
end

--- What core.drive returned for a run stopped by its budget, as the
-- result's `stopped_by` (nil when the run was not stopped by it).
function M.stopped_by(status, kind, rss, max_events, max_memory)
  if status ~= "budget" then return nil end
  if kind == "events" then return { budget = "events", limit = max_events } end
  return { budget = "memory", limit = max_memory, resident = rss }
end

local function gib(bytes) return ("%.1f GiB"):format(bytes / (1 << 30)) end

--- The one-line message for result r of a run stopped by its budget.
function M.message(r)
  local b = r.stopped_by
  if b.budget == "events" then
    return ("run stopped by the event budget: %d events by virtual %.3f s (raise it with --max-events);" ..
      " results are partial"):format(b.limit, r.virtual_s)
  end
  return ("run stopped by the memory budget: %s resident, over %s, by virtual %.3f s (raise it with" ..
    " --max-memory); results are partial"):format(gib(b.resident), gib(b.limit), r.virtual_s)
end

--- The run budget flags --max-events N and --max-memory SIZE (0: no
-- limit) as ms.run options: max_events, max_memory (nil when not given:
-- the defaults of mastersim.budget apply). Bad values are usage errors.
function M.from_flags(opt)
  local events, memory
  if opt["max-events"] then
    local n = tonumber(opt["max-events"])
    events = n and n >= 0 and n < 2 ^ 63 and math.tointeger(n) or nil
    if not events then
      errors.usage("mastersim: bad --max-events '%s': expected a number of events (0: no limit)", opt["max-events"])
    end
  end
  if opt["max-memory"] then
    local text = opt["max-memory"]
    memory = text:match("^%d+$") and math.tointeger(tonumber(text)) or core.size(text)
    if not memory then
      errors.usage("mastersim: bad --max-memory '%s': expected a size such as 4GiB (0: no limit)", text)
    end
    memory = math.floor(memory)
  end
  return events, memory
end

return M

--- Experiments: the run matrix of a compare or sweep (policies x seeds x
-- the grid of --vary values), its order, shards, the runs file that makes
-- an experiment resumable, slim results, and the compare/sweep documents.
--
-- The matrix is ordered seed-major: for each grid point (the cartesian
-- product of the --vary values, first path slowest), for each seed
-- (ascending), for each policy (as given). So an experiment cut short has
-- every policy's run for its first seeds: a paired comparison over fewer
-- seeds. Run k (0-based) belongs to shard k mod n. Reports sort results by
-- grid point, policy, seed, so their bytes never depend on which run
-- finished first, on --jobs, or on sharding.
--
-- The runs file is JSON lines, one finished run per line:
--   {"experiment": <descriptor>, "result": <slim result>}
-- The descriptor (kind, sim, set, param, policies, baseline, seeds, vary)
-- is the same for every run of one experiment, whatever the shard.
local errors = require "mastersim.errors"
local json = require "mastersim.report.json"
local schema = require "mastersim.schema"
local summary = require "mastersim.report.summary"

local M = {}

--- Histogram buckets kept per decade in a slim result (see M.slim).
M.BUCKETS_PER_DECADE = 20

--- At most this many runs in one experiment (a typo such as 1-10000000).
M.MAX_RUNS = 1000000

--- Parse a seed list: "5", "1-20", "1,3,7", "1-3,10"; sorted, duplicates
-- removed. A malformed list is a usage error naming `flag`.
function M.parse_seeds(text, flag)
  flag = flag or "--seeds"
  local function bad(why)
    errors.usage("mastersim: bad %s '%s': %s", flag, tostring(text), why)
  end
  if type(text) ~= "string" or text == "" then bad("expected seeds such as 1-20, 1,3,7 or 5") end
  local set, out = {}, {}
  for item in (text .. ","):gmatch("([^,]*),") do
    local a, b = item:match("^(%d+)%-(%d+)$")
    if not a then a = item:match("^(%d+)$") b = a end
    if not a then bad(("'%s' is not a seed or a range (expected N or N-M, N and M non-negative integers)")
      :format(item)) end
    local lo, hi = math.tointeger(tonumber(a)), math.tointeger(tonumber(b))
    if not lo or not hi then bad("a seed is too large") end
    if lo > hi then bad(("the range %s is empty (%d > %d)"):format(item, lo, hi)) end
    if hi - lo >= M.MAX_RUNS or #out + (hi - lo) >= M.MAX_RUNS then bad("too many seeds") end
    for s = lo, hi do
      if not set[s] then set[s], out[#out + 1] = true, s end
    end
  end
  table.sort(out)
  return out
end

--- Parse "--shard i/n" (0 <= i < n): returns i, n.
function M.parse_shard(text)
  local i, n = tostring(text):match("^(%d+)/(%d+)$")
  i, n = tonumber(i), tonumber(n)
  if not i or n < 1 or i >= n then
    errors.usage("mastersim: bad --shard '%s': expected i/n with 0 <= i < n, e.g. 0/4", tostring(text))
  end
  return math.tointeger(i), math.tointeger(n)
end

--- Parse a positive integer flag (--jobs).
function M.parse_count(text, flag, max)
  local n = tostring(text):match("^%d+$") and math.tointeger(tonumber(text))
  if not n or n < 1 or n > max then
    errors.usage("mastersim: bad %s '%s': expected an integer from 1 to %d", flag, tostring(text), max)
  end
  return n
end

--- Parse a comma-separated policy list into names (duplicates are errors).
function M.parse_policies(text)
  local out, seen = {}, {}
  for item in (tostring(text) .. ","):gmatch("([^,]*),") do
    if item == "" then errors.usage("mastersim: bad --policies '%s': an empty policy name", tostring(text)) end
    if seen[item] then errors.usage("mastersim: --policies names '%s' twice", item) end
    seen[item], out[#out + 1] = true, item
  end
  return out
end

--- Check a scenario path (--set, --vary): a leaf of the scenario schema.
-- Usage error naming `flag`, with the nearest valid path when there is one.
function M.check_path(path, flag)
  local scenario = require "mastersim.scenario"
  local spec, hint = scenario.spec_at(path)
  if not spec then
    errors.usage("mastersim: %s: unknown scenario key '%s'%s", flag, path,
      hint and (" (did you mean '" .. hint .. "'?)") or "")
  end
  if spec.fields or spec.list then
    errors.usage("mastersim: %s: '%s' is a section, not a value (e.g. '%s.%s')", flag, path, path,
      schema.sorted_keys(spec.fields or spec.list.fields or {})[1] or "...")
  end
end

--- Parse the --vary flags ("path=v1,v2,...") into a list of
-- { path, values }; values are parsed as --set values are.
function M.parse_vary(list, parse_value)
  local out, seen = {}, {}
  for _, item in ipairs(list or {}) do
    local path, vals = item:match("^([%w_.]+)=(.+)$")
    if not path then errors.usage("mastersim: bad --vary '%s': expected path=v1,v2,...", item) end
    M.check_path(path, "--vary")
    if seen[path] then errors.usage("mastersim: --vary names '%s' twice", path) end
    seen[path] = true
    local values, vseen = {}, {}
    for v in (vals .. ","):gmatch("([^,]*),") do
      if v == "" then errors.usage("mastersim: bad --vary '%s': an empty value", item) end
      if vseen[v] then errors.usage("mastersim: bad --vary '%s': the value '%s' twice", item, v) end
      vseen[v], values[#values + 1] = true, parse_value(v)
    end
    out[#out + 1] = { path = path, values = values }
  end
  return out
end

--- The grid of a vary list: every combination as a map path -> value, the
-- first path varying slowest. One empty point when nothing varies.
function M.grid(vary)
  local points = { {} }
  for _, v in ipairs(vary or {}) do
    local nxt = {}
    for _, p in ipairs(points) do
      for _, val in ipairs(v.values) do
        local q = {}
        for k, x in pairs(p) do q[k] = x end
        q[v.path] = val
        nxt[#nxt + 1] = q
      end
    end
    points = nxt
  end
  return points
end

--- The identity of a run within an experiment: policy, seed, varied values
-- and effective params, as canonical text.
function M.key(policy, seed, vary, params)
  return json.encode({ policy = policy, seed = seed, vary = vary or {}, params = params or {} })
end

--- The key of a result.
function M.result_key(r)
  return M.key(r.policy, r.seed, r.vary, r.params)
end

--- The ordered run matrix of experiment `exp` (see the file comment):
-- a list of { k (0-based), point (grid index), policy, rank, seed, vary,
-- key }. `params_of(policy)` gives a policy's effective params.
function M.matrix(exp, params_of)
  local runs = {}
  for pi, point in ipairs(M.grid(exp.vary)) do
    for _, seed in ipairs(exp.seeds) do
      for rank, policy in ipairs(exp.policies) do
        local vary = next(point) and point or nil
        runs[#runs + 1] = { k = #runs, point = pi, policy = policy, rank = rank, seed = seed, vary = vary,
                            key = M.key(policy, seed, vary, params_of(policy)) }
      end
    end
  end
  if #runs > M.MAX_RUNS then errors.usage("mastersim: %d runs is too many (at most %d)", #runs, M.MAX_RUNS) end
  return runs
end

--- The runs of shard i of n: run k when k mod n == i.
function M.shard(runs, i, n)
  local out = {}
  for _, r in ipairs(runs) do
    if r.k % n == i then out[#out + 1] = r end
  end
  return out
end

-- Coarsen one histogram's buckets in place (see M.slim).
local function coarsen(h)
  local k, cells, order = M.BUCKETS_PER_DECADE, {}, {}
  for _, b in ipairs(h.buckets) do
    local id = b.lo > 0 and math.floor(math.log(b.lo, 10) * k + 1e-9) or ("z" .. json.number(b.lo))
    local c = cells[id]
    if not c then
      c = { lo = b.lo, hi = b.hi, count = 0 }
      cells[id], order[#order + 1] = c, c
    end
    c.lo, c.hi, c.count = math.min(c.lo, b.lo), math.max(c.hi, b.hi), c.count + b.count
  end
  table.sort(order, function(a, b) return a.lo < b.lo or (a.lo == b.lo and a.hi < b.hi) end)
  h.buckets = order
end

-- Walk a result and coarsen every histogram ({count, buckets = {{lo, hi,
-- count}...}}).
local function coarsen_all(t)
  for _, k in ipairs(schema.sorted_keys(t)) do
    local v = t[k]
    if type(v) == "table" then
      local b = v.buckets
      if type(b) == "table" and type(b[1]) == "table" and b[1].lo ~= nil and b[1].count ~= nil then
        coarsen(v)
      else
        coarsen_all(v)
      end
    end
  end
end

--- The result as experiments keep it: without `wall` (wall-clock figures
-- differ between identical runs), with histogram buckets merged into cells
-- of 1/BUCKETS_PER_DECADE of a decade (each cell the union of the buckets
-- in it: lo = their smallest lo, hi = their largest hi; buckets at or below
-- 0 kept apart). Percentiles, means and counts are the run's own, exact.
-- Adds `vary` when given. Modifies and returns r.
function M.slim(r, vary)
  r.wall = nil
  coarsen_all(r)
  r.vary = vary
  return r
end

--- Decoded JSON made canonical: floats with an integral value (below 2^53)
-- become integers, so a result read back from JSON equals, and prints as,
-- the one written.
function M.normalize(v)
  if type(v) == "number" then
    if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 53 then return math.tointeger(v) end
    return v
  end
  if type(v) ~= "table" then return v end
  for k, x in pairs(v) do v[k] = M.normalize(x) end
  return v
end

--- Decode JSON text into canonical values.
function M.decode(text)
  return M.normalize(json.decode(text))
end

--- The descriptor of an experiment (what its runs share), for the runs
-- file and the documents.
function M.descriptor(exp)
  local vary = {}
  for i, v in ipairs(exp.vary or {}) do vary[i] = { path = v.path, values = v.values } end
  return { kind = exp.kind, sim = exp.sim, set = exp.set or {}, param = exp.param or {},
           policies = exp.policies, baseline = exp.baseline, seeds = exp.seeds,
           vary = #vary > 0 and vary or json.empty_array }
end

--- One runs-file line for result r.
function M.line(exp, r)
  return json.encode({ experiment = M.descriptor(exp), result = r }) .. "\n"
end

--- Read a runs file: a list of { experiment, result } (missing file: empty
-- list). A line that is not JSON (a run cut short by a crash) ends the
-- file with a warning: every complete line before it is kept.
function M.read_runs(path, warn)
  local f = io.open(path, "rb")
  if not f then return {} end
  local out, n = {}, 0
  for line in f:lines() do
    n = n + 1
    if line ~= "" then
      local ok, v = pcall(M.decode, line)
      if not ok or type(v) ~= "table" or type(v.result) ~= "table" or type(v.experiment) ~= "table" then
        if warn then warn(("%s:%d: not a finished run (ignored from here on)"):format(path, n)) end
        break
      end
      out[#out + 1] = v
    end
  end
  f:close()
  return out
end

--- Whether two descriptors describe the same experiment.
function M.same(a, b)
  return json.encode(a) == json.encode(b)
end

--- The order of results in documents: grid point, policy, seed.
function M.sort(results, exp)
  local point_of = {}
  for i, p in ipairs(M.grid(exp.vary)) do point_of[json.encode(p)] = i end
  local rank = {}
  for i, p in ipairs(exp.policies) do rank[p] = i end
  local function pos(r) return point_of[json.encode(r.vary or {})] or math.huge end
  table.sort(results, function(a, b)
    local pa, pb = pos(a), pos(b)
    if pa ~= pb then return pa < pb end
    local ra, rb = rank[a.policy] or math.huge, rank[b.policy] or math.huge
    if ra ~= rb then return ra < rb end
    return a.seed < b.seed
  end)
  return results
end

-- The (grid point, seed) pairs every policy finished: a set of keys.
local function complete_pairs(exp, results)
  local seen, count, out = {}, {}, {}
  for _, r in ipairs(results) do
    local pair = json.encode({ r.vary or {}, r.seed })
    local k = pair .. json.encode(r.policy)
    if not seen[k] then
      seen[k] = true
      count[pair] = (count[pair] or 0) + 1
      if count[pair] == #exp.policies then out[pair] = true end
    end
  end
  return out
end

local function pair_of(r) return json.encode({ r.vary or {}, r.seed }) end

--- The seeds of `exp` that every policy finished at every grid point,
-- ascending.
function M.complete_seeds(exp, results)
  local pairs_done, out = complete_pairs(exp, results), {}
  for _, s in ipairs(exp.seeds) do
    local all = true
    for _, point in ipairs(M.grid(exp.vary)) do
      local vary = next(point) and point or {}
      all = all and pairs_done[json.encode({ vary, s })] == true
    end
    if all then out[#out + 1] = s end
  end
  return out
end

--- The compare or sweep document of `results` (runs of `exp`): sorted
-- results, the summary, the experiment descriptor, `partial` (true when
-- runs of the matrix are missing) and `runs_expected`. A partial
-- document's summary (at each grid point) is over the seeds every policy
-- finished there: the comparison stays paired; `seeds_complete` counts the
-- seeds complete at every point, of `seeds_expected`; `results` hold every
-- finished run. No wall-clock field: the same runs give the same bytes.
function M.document(exp, results, expected)
  M.sort(results, exp)
  local partial = #results < expected
  local kept = results
  if partial then
    local done = complete_pairs(exp, results)
    kept = {}
    for _, r in ipairs(results) do
      if done[pair_of(r)] then kept[#kept + 1] = r end
    end
  end
  local opts = { policies = exp.policies, baseline = exp.baseline }
  local doc = exp.kind == "sweep" and summary.sweep_document(kept, opts) or summary.compare_document(kept, opts)
  doc.results = results
  doc.experiment = M.descriptor(exp)
  doc.runs_expected = expected
  doc.partial = partial
  if partial then
    doc.seeds_complete, doc.seeds_expected = #M.complete_seeds(exp, results), #exp.seeds
  end
  return doc
end

return M

--- Per-policy summaries of a set of results (one parameter point): for each
-- key metric the mean and 95% CI across seeds and the paired difference
-- against a baseline policy; the compare and sweep documents built on them;
-- and a plain-text table renderer.
local metrics = require "mastersim.metrics"
local stats = require "mastersim.stats"

local M = {}

-- The distinct values of field(r) over results, in first-appearance order.
local function distinct(results, field)
  local seen, out = {}, {}
  for _, r in ipairs(results) do
    local v = field(r)
    if v ~= nil and not seen[v] then seen[v], out[#out + 1] = true, v end
  end
  return out
end

--- The policy names of `results`, in first-appearance order.
function M.policies(results)
  return distinct(results, function(r) return r.policy end)
end

--- The seeds of `results`, sorted.
function M.seeds(results)
  local s = distinct(results, function(r) return r.seed end)
  table.sort(s)
  return s
end

--- Seeds as ranges: {1,2,3,5} -> "1-3,5".
function M.seed_ranges(seeds)
  local parts, i = {}, 1
  while i <= #seeds do
    local j = i
    while j < #seeds and seeds[j + 1] == seeds[j] + 1 do j = j + 1 end
    parts[#parts + 1] = j > i and ("%d-%d"):format(seeds[i], seeds[j]) or tostring(seeds[i])
    i = j + 1
  end
  return table.concat(parts, ",")
end

-- Map policy -> seed -> result; an error on a duplicate (policy, seed).
local function index(results)
  local by = {}
  for _, r in ipairs(results) do
    by[r.policy] = by[r.policy] or {}
    if by[r.policy][r.seed] then
      error(("summary: two results for policy '%s' seed %s (summarise one parameter point at a time)")
        :format(tostring(r.policy), tostring(r.seed)), 2)
    end
    by[r.policy][r.seed] = r
  end
  return by
end

-- The seed -> value map of metric m over one policy's runs.
local function values(runs, m)
  local out = {}
  for seed, r in pairs(runs) do out[seed] = m.extract(r) end
  return out
end

-- The values of a seed -> value map in seed order (nils dropped).
local function in_seed_order(map)
  local xs = {}
  for _, s in ipairs(stats.sorted_seeds(map)) do xs[#xs + 1] = map[s] end
  return xs
end

--- Aggregate results into a summary. opts: policies (order; default first
-- appearance), baseline (default the first policy), metrics (default
-- metrics.list). Each policy entry: { policy, runs, metrics = { [name] =
-- { n, mean, sd, ci95 } }, delta = { [name] = { pairs, skipped, mean, sd,
-- ci95 } } (absent for the baseline) }.
function M.aggregate(results, opts)
  opts = opts or {}
  local list = opts.metrics or metrics.list
  local names = opts.policies or M.policies(results)
  local baseline = opts.baseline or names[1]
  local by = index(results)
  local out = { scenario = results[1] and results[1].scenario, baseline = baseline,
                seeds = M.seeds(results), metrics = {}, policies = {} }
  for i, m in ipairs(list) do out.metrics[i] = metrics.describe(m) end
  local base_vals = {}
  for _, m in ipairs(list) do base_vals[m.name] = values(by[baseline] or {}, m) end
  for _, name in ipairs(names) do
    local runs = by[name] or {}
    local entry = { policy = name, runs = #in_seed_order(runs), metrics = {},
                    delta = name ~= baseline and {} or nil }
    for _, m in ipairs(list) do
      local vals = values(runs, m)
      local c = stats.ci95(in_seed_order(vals))
      entry.metrics[m.name] = { n = c.n, mean = c.mean, sd = c.sd, ci95 = c.ci95 }
      if entry.delta then
        local d = stats.paired(base_vals[m.name], vals)
        entry.delta[m.name] = { pairs = d.pairs, skipped = d.skipped, mean = d.mean, sd = d.sd,
                                ci95 = d.ci95 }
      end
    end
    out.policies[#out.policies + 1] = entry
  end
  return out
end

--- The sorted union of the varied parameter paths of `results` (r.vary).
function M.vary_paths(results)
  local set, out = {}, {}
  for _, r in ipairs(results) do
    for k in pairs(r.vary or {}) do
      if not set[k] then set[k], out[#out + 1] = true, k end
    end
  end
  table.sort(out)
  return out
end

-- Compare two vary values: numbers numerically and before strings.
local function value_less(a, b)
  local na, nb = type(a) == "number", type(b) == "number"
  if na ~= nb then return na end
  if na then return a < b end
  return tostring(a) < tostring(b)
end
M.value_less = value_less

--- Group results by their varied values: a list of { vary = {path = v},
-- results = {...} }, sorted by the values of paths in order.
function M.points(results, paths)
  local groups, keys = {}, {}
  for _, r in ipairs(results) do
    local parts = {}
    for i, p in ipairs(paths) do parts[i] = tostring((r.vary or {})[p]) end
    local key = table.concat(parts, "\0")
    if not groups[key] then
      local vary = {}
      for _, p in ipairs(paths) do vary[p] = (r.vary or {})[p] end
      groups[key], keys[#keys + 1] = { vary = vary, results = {} }, key
    end
    table.insert(groups[key].results, r)
  end
  local out = {}
  for i, k in ipairs(keys) do out[i] = groups[k] end
  table.sort(out, function(a, b)
    for _, p in ipairs(paths) do
      if a.vary[p] ~= b.vary[p] then return value_less(a.vary[p], b.vary[p]) end
    end
    return false
  end)
  return out
end

-- The header fields shared by compare and sweep documents.
local function header(schema, results, opts)
  local first = results[1] or {}
  local names = opts.policies or M.policies(results)
  return { schema = schema, scenario = first.scenario, sim_file = first.sim_file,
           build = first.build, seeds = M.seeds(results), policies = names,
           baseline = opts.baseline or names[1], results = results }
end

--- The compare document ("mastersim.compare/1"): header, summary, results.
function M.compare_document(results, opts)
  opts = opts or {}
  local doc = header("mastersim.compare/1", results, opts)
  doc.summary = M.aggregate(results, { policies = doc.policies, baseline = doc.baseline,
                                       metrics = opts.metrics })
  return doc
end

--- The sweep document ("mastersim.sweep/1"): header, vary (the paths) and
-- points = { { vary = {path = v}, summary } } in increasing parameter order.
function M.sweep_document(results, opts)
  opts = opts or {}
  local doc = header("mastersim.sweep/1", results, opts)
  doc.vary = M.vary_paths(results)
  doc.points = {}
  for i, g in ipairs(M.points(results, doc.vary)) do
    doc.points[i] = { vary = g.vary, summary = M.aggregate(g.results,
      { policies = doc.policies, baseline = doc.baseline, metrics = opts.metrics }) }
  end
  return doc
end

-- Rendering --------------------------------------------------------------

local function width(s) return utf8.len(s) or #s end
local function pad_left(s, w) return (" "):rep(w - width(s)) .. s end
local function pad_right(s, w) return s .. (" "):rep(w - width(s)) end

--- Whether a paired difference's 95% CI excludes 0.
function M.significant(d)
  return d ~= nil and d.mean ~= nil and d.ci95 ~= nil and math.abs(d.mean) > d.ci95
end

-- The cells of one block: a list of rows, each a list of strings.
local function block_rows(s, cols)
  local rows = {}
  local function row(first, cell)
    local r = { first }
    for _, m in ipairs(cols) do r[#r + 1] = cell(m) end
    rows[#rows + 1] = r
  end
  row("policy", function(m) return m.label end)
  for _, p in ipairs(s.policies) do
    row(p.policy, function(m)
      local v = p.metrics[m.name]
      return metrics.format(m.unit, v.mean, v.ci95) .. " "
    end)
  end
  if #s.policies > 1 then
    row("Δ vs " .. tostring(s.baseline), function() return "" end)
    for _, p in ipairs(s.policies) do
      if p.delta then
        row(p.policy, function(m)
          local d = p.delta[m.name]
          return metrics.format(m.unit, d.mean, d.ci95, true) .. (M.significant(d) and "*" or " ")
        end)
      end
    end
  end
  return rows
end

-- Lay out rows as text lines; column 1 left-aligned, the rest right-aligned.
local function layout(rows)
  local w = {}
  for _, r in ipairs(rows) do
    for i, c in ipairs(r) do w[i] = math.max(w[i] or 0, width(c)) end
  end
  local lines = {}
  for ri, r in ipairs(rows) do
    local cells = { pad_right(r[1], w[1]) }
    for i = 2, #r do cells[i] = pad_left(r[i], w[i]) end
    lines[#lines + 1] = (table.concat(cells, "  "):gsub("%s+$", ""))
    if ri == 1 then
      local rule = {}
      for i = 1, #w do rule[i] = ("-"):rep(w[i]) end
      lines[#lines + 1] = table.concat(rule, "  ")
    end
  end
  return lines, w
end

-- Split the metrics into blocks: one per group, split again when a block
-- would be wider than `maxw` columns.
local function blocks(s, maxw)
  local out, cur, cur_group = {}, nil, nil
  for _, m in ipairs(s.metrics) do
    if m.group ~= cur_group then
      cur_group, cur = m.group, { group = m.group, cols = {} }
      out[#out + 1] = cur
    end
    table.insert(cur.cols, m)
    local _, w = layout(block_rows(s, cur.cols))
    local total = 0
    for _, x in ipairs(w) do total = total + x + 2 end
    if total - 2 > maxw and #cur.cols > 1 then
      table.remove(cur.cols)
      cur = { group = m.group, cols = { m }, cont = true }
      out[#out + 1] = cur
    end
  end
  return out
end

--- The summary as a plain-text table: one block of columns per metric
-- group, one row per policy ("mean±ci95"), then the paired differences
-- against the baseline. opts: width (default 120).
function M.render(s, opts)
  opts = opts or {}
  local out = {}
  out[#out + 1] = ("%s: %d policies x %d seeds (%s), baseline %s; mean±95%% CI over seeds")
    :format(tostring(s.scenario or "results"), #s.policies, #s.seeds, M.seed_ranges(s.seeds),
      tostring(s.baseline))
  for _, b in ipairs(blocks(s, opts.width or 120)) do
    out[#out + 1] = ""
    out[#out + 1] = (metrics.groups[b.group] or b.group) .. (b.cont and " (continued)" or "")
    for _, l in ipairs((layout(block_rows(s, b.cols)))) do out[#out + 1] = l end
  end
  out[#out + 1] = ""
  out[#out + 1] = "Δ: paired difference vs the baseline on the same seeds, mean±95% CI;"
    .. " pp = percentage points; * = CI excludes 0."
  return table.concat(out, "\n") .. "\n"
end

return M

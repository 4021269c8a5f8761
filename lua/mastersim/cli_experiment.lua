--- The experiment commands of the CLI: compare, sweep, check, merge, list,
-- and the hidden _worker that runs one task of them in its own process.
-- Every simulation of compare, sweep and check runs in a worker process
-- (--jobs N of them at a time); the results come back as JSON, so --jobs
-- never changes a byte of the output.
local core = require "mastersim.core"
local errors = require "mastersim.errors"
local experiment = require "mastersim.experiment"
local fileio = require "mastersim.report.fileio"
local json = require "mastersim.report.json"
local paths = require "mastersim.paths"
local pool = require "mastersim.pool"
local schema = require "mastersim.schema"
local summary = require "mastersim.report.summary"

local M = {}

M.MAX_JOBS = 256

M.USAGE = {
  compare = [==[
usage: mastersim compare SIM --policies a,b,c [--seeds 1-20] [--baseline P]
                         [--param k=v]... [--set path=value]... [--jobs N]
                         [--json FILE] [--csv FILE] [--html FILE] [--quiet]
                         [--runs FILE] [--shard i/n]

Run SIM under every policy with every seed (the same seeds give every policy
the same arrivals and faults), then print a table of the key metrics: the
mean and 95% CI over seeds, and the paired difference against the baseline.
  --policies a,b,c  the policies (names from policies/ or paths); required
  --seeds LIST      seeds: 1-20, 1,3,7 or 5 (default 1-10)
  --baseline P      the policy the others are compared with (default the first)
  --param k=v       a policy parameter for every policy that has it; p.k=v for
                    policy p only (repeatable)
  --set path=value  override a scenario value for every run, e.g.
                    snapshot.apply_rate=1e5 (repeatable)
  --jobs N          run N simulations at a time, each in its own process
                    (default 1; 1-256)
  --json FILE       the compare document (schema mastersim.compare/1)
  --csv FILE        tidy CSV: one row per run and metric
  --html FILE       a self-contained HTML report with charts
  --runs FILE       append each finished run to FILE (JSON lines) as it
                    finishes; runs already in FILE are not run again, so
                    repeating an interrupted command resumes it (--resume FILE
                    is the same flag)
  --shard i/n       run only runs k with k mod n = i (0 <= i < n) of the ordered
                    matrix; needs --runs; join shards with 'mastersim merge'
  --quiet           no progress bar and no table
  --max-events N, --max-memory SIZE
                    the run budget of each run (see 'mastersim run --help'); a
                    run stopped by it fails the command
The progress bar is drawn on stderr when it is a terminal. Files are written
atomically. On Ctrl-C the finished runs are kept and the outputs written with
"partial": true; exit 130.
]==],
  sweep = [==[
usage: mastersim sweep SIM --vary path=v1,v2,... [--vary ...] --policies a,b
                       [--seeds LIST] [compare options...]

A compare at every point of the grid of --vary values (the cartesian product
of every --vary, the first one changing slowest). Each run's result records
its point as `vary`; the table has one section per point; the CSV has one
vary.<path> column per varied path; the HTML has one chart per metric against
the varied parameter.
  --vary path=v1,v2,...  a scenario value (as --set) and the values it takes;
                    repeatable, required; a path may not also be --set
The other options are those of compare (see 'mastersim compare --help'):
--policies (required), --seeds, --baseline, --param, --set, --jobs, --json
(schema mastersim.sweep/1), --csv, --html, --runs/--resume, --shard, --quiet,
--max-events, --max-memory.
]==],
  merge = [==[
usage: mastersim merge RUNS.jsonl... [--json FILE] [--csv FILE] [--html FILE] [--quiet]

Join the runs files of the shards of one compare or sweep (--shard i/n
--runs FILE) into the report an unsharded run gives: the same table, and
byte-identical JSON, CSV and HTML. Missing runs make it partial. Files of
another experiment, or two different results of one run, are refused.
  --json FILE       the compare or sweep document
  --csv FILE        tidy CSV: one row per run and metric
  --html FILE       a self-contained HTML report with charts
  --quiet           no table
]==],
}

-- The parse() and write_file() of the CLI (set by M.install).
local parse, write_file

local FLAGS = {
  policies = "value", seeds = "value", baseline = "value", param = "list", set = "list", jobs = "value",
  json = "value", csv = "value", html = "value", quiet = "flag", runs = "value", resume = "value",
  shard = "value", help = "flag", ["max-events"] = "value", ["max-memory"] = "value",
}

local function exists(p)
  local f = io.open(p, "r")
  if f then f:close() end
  return f ~= nil
end

--- The policy names found in the search directories, sorted.
local function known_policies()
  local set, out = {}, {}
  for _, d in ipairs(paths.dirs("policies")) do
    for _, n in ipairs(paths.list(d)) do
      if not set[n] then set[n], out[#out + 1] = true, n end
    end
  end
  table.sort(out)
  return out
end

--- Resolve a policy name or path; an unknown one is a usage error naming
-- the nearest known policy and listing them.
local function policy_path(cmd, name)
  local p = paths.policy(name)
  if exists(p) then return p end
  local names = known_policies()
  local hint = errors.nearest(name, names)
  errors.usage("mastersim %s: unknown policy '%s'%s (policies: %s)", cmd, name,
    hint and (" (did you mean '" .. hint .. "'?)") or "", table.concat(names, ", "))
end

-- The label of policy `p` (an argument as given, or a label), or nil.
local function label_of(exp, p)
  if exp.policy_files[p] then return p end
  for _, label in ipairs(exp.policies) do
    if exp.arg_of[label] == p then return label end
  end
  return nil
end

--- Split param overrides per policy: "k" for every policy that has k,
-- "p.k" for policy p (its label or its argument). `list` holds { k, v }
-- pairs (from --param k=v, or ms.compare's params). Returns label -> {k = v}.
local function params_by_policy(cmd, exp, declared, list)
  local names, out = exp.policies, {}
  for _, p in ipairs(names) do out[p] = {} end
  for _, kv in ipairs(list or {}) do
    local k, v = kv[1], kv[2]
    local scope, key = k:match("^(.+)%.([%w_]+)$")
    scope = scope and label_of(exp, scope)
    if scope then
      if declared[scope][key] == nil then
        errors.usage("mastersim %s: policy %s has no param '%s'", cmd, scope, key)
      end
      out[scope][key] = v
    else
      local used = false
      for _, p in ipairs(names) do
        if declared[p][k] ~= nil then out[p][k], used = v, true end
      end
      if not used then
        local all = {}
        for _, p in ipairs(names) do
          for _, n in ipairs(schema.sorted_keys(declared[p])) do all[#all + 1] = n end
        end
        table.sort(all)
        local hint = errors.nearest(k, all)
        errors.usage("mastersim %s: no policy among %s has a param '%s'%s", cmd, table.concat(names, ", "), k,
          hint and (" (did you mean '" .. hint .. "'?)") or "")
      end
    end
  end
  return out
end

-- The "key=value" items of a list flag (--set, --param) as { key, value }
-- pairs, in order.
local function flag_pairs(flag, list)
  local out = {}
  for _, kv in ipairs(list or {}) do
    local k, v = kv:match("^([%w_.]+)=(.*)$")
    if not k then errors.usage("mastersim: bad --%s '%s': expected key=value", flag, kv) end
    out[#out + 1] = { k, v }
  end
  return out
end

--- Load the sim once (with sets) to validate it and the sets.
local function load_sim(sim, sets)
  local ms = require "mastersim"
  return ms.load_sim(sim, nil, next(sets) and sets or nil)
end

-- The scenario overrides, validated: opt.set_pairs ({ path, value }
-- pairs; string values parsed as --set values are), else the --set flags.
local function sets_of(opt)
  local policy = require "mastersim.policy"
  local out = {}
  for _, kv in ipairs(opt.set_pairs or flag_pairs("set", opt.set)) do
    experiment.check_path(kv[1], "--set")
    local v = kv[2]
    out[kv[1]] = type(v) == "string" and policy.parse_value(v) or v
  end
  return out
end

-- The identity of each policy argument: its `name`, or, where two
-- arguments' policies share a name, "name (path)". Returns the labels in
-- argument order and the maps label -> path, label -> argument and
-- label -> the policy's declared params.
local function policy_labels(cmd, args)
  local policy = require "mastersim.policy"
  local files, loaded, count = {}, {}, {}
  for i, a in ipairs(args) do
    files[i] = policy_path(cmd, a)
    loaded[i] = policy.load(files[i])
    count[loaded[i].name] = (count[loaded[i].name] or 0) + 1
  end
  local labels, file_of, arg_of, declared = {}, {}, {}, {}
  for i, a in ipairs(args) do
    local name = loaded[i].name
    local label = count[name] > 1 and ("%s (%s)"):format(name, files[i]) or name
    if file_of[label] then errors.usage("mastersim %s: --policies names %s twice", cmd, files[i]) end
    labels[i], file_of[label], arg_of[label], declared[label] = label, files[i], a, loaded[i].params
  end
  return labels, file_of, arg_of, declared
end

--- Build the experiment of compare/sweep/check from parsed flags. Runs and
-- summaries are keyed by each policy's resolved identity (its label: the
-- `name` its file declares, with the path where two share a name), so a
-- policy given by path is compared like a built-in one.
local function build(cmd, pos, opt, kind)
  if #pos ~= 1 then errors.usage("mastersim %s: expected one SIM argument (see 'mastersim %s --help')", cmd, cmd) end
  local policy = require "mastersim.policy"
  local exp = { kind = kind }
  exp.seeds = experiment.parse_seeds(opt.seeds or (kind == "check" and "1-20" or "1-10"))
  local args
  if kind == "check" then
    args = experiment.parse_policies(opt.policy or "block")
  else
    if not opt.policies then
      errors.usage("mastersim %s: --policies is required (e.g. --policies block,stale_read)", cmd)
    end
    args = experiment.parse_policies(opt.policies)
  end
  exp.vary = experiment.parse_vary(opt.vary, policy.parse_value)
  if kind == "sweep" and #exp.vary == 0 then
    errors.usage("mastersim sweep: --vary is required (e.g. --vary snapshot.apply_rate=1e5,1e6)")
  end
  exp.set = sets_of(opt)
  for _, v in ipairs(exp.vary) do
    if exp.set[v.path] ~= nil then errors.usage("mastersim %s: '%s' is both --set and --vary", cmd, v.path) end
  end
  local declared
  exp.policies, exp.policy_files, exp.arg_of, declared = policy_labels(cmd, args)
  exp.baseline = exp.policies[1]
  if opt.baseline then exp.baseline = label_of(exp, opt.baseline) end
  if not exp.baseline then
    errors.usage("mastersim %s: the baseline '%s' is not one of --policies", cmd, opt.baseline)
  end
  exp.jobs = opt.jobs and experiment.parse_count(opt.jobs, "--jobs", M.MAX_JOBS) or 1
  exp.max_events, exp.max_memory = require("mastersim.budget").from_flags(opt)
  exp.sim = paths.sim(pos[1])
  exp.sim_arg = pos[1]
  local sc = load_sim(exp.sim, exp.set)
  if not sc.cluster then
    errors.usage("mastersim %s: %s is a scripted sim without a cluster; it has no policies", cmd, pos[1])
  end
  for _, point in ipairs(experiment.grid(exp.vary)) do
    if next(point) then
      local s = {}
      for k, v in pairs(exp.set) do s[k] = v end
      for k, v in pairs(point) do s[k] = v end
      load_sim(exp.sim, s)
    end
  end
  exp.effective = {}
  local param_pairs = opt.param_pairs or flag_pairs("param", opt.param)
  exp.params = params_by_policy(cmd, exp, declared, param_pairs)
  exp.param = {}
  for _, kv in ipairs(param_pairs) do exp.param[kv[1]] = kv[2] end
  for _, p in ipairs(exp.policies) do
    exp.effective[p] = policy.load(exp.policy_files[p], exp.params[p]).params
  end
  return exp
end

--- The worker job of one run of the matrix.
local function job_of(exp, run, rep)
  local sets = {}
  for k, v in pairs(exp.set) do sets[k] = v end
  for k, v in pairs(run.vary or {}) do sets[k] = v end
  return { sim = exp.sim, set = sets, policy = exp.policy_files[run.policy], params = exp.params[run.policy],
           label = run.policy, seed = run.seed, vary = run.vary, ["repeat"] = rep or 1,
           max_events = exp.max_events, max_memory = exp.max_memory }
end

--- Run one worker job in this process: its slim result(s), a list of
-- `repeat` results. A run cut short by SIGINT raises "interrupted".
local function run_job(job)
  local ms = require "mastersim"
  local out = {}
  for i = 1, job["repeat"] or 1 do
    local sc = ms.load_sim(job.sim, nil, next(job.set) and job.set or nil)
    local pol = ms.load_policy(job.policy, job.params)
    local r = ms.run(sc, { seed = job.seed, policy = pol, progress = false, max_events = job.max_events,
      max_memory = job.max_memory })
    if r.stopped_by then errors.raise(job.sim, "%s", require("mastersim.budget").message(r)) end
    if r.partial then errors.raise(nil, "interrupted") end
    r.policy = job.label or r.policy -- the experiment's identity of the policy
    out[i] = experiment.slim(r, job.vary)
  end
  return out
end

-- pool.run's contract, one task after another in this process. The job
-- and the result go through JSON as a worker's do, so the result is the
-- same value.
local function run_here(tasks, opts)
  for i, t in ipairs(tasks) do
    local ok, res = pcall(function() return json.encode(run_job(experiment.decode(json.encode(t.job)))) end)
    if not ok then
      local msg = errors.is_user(res) and res.msg or tostring(res)
      if msg == "interrupted" then return "interrupted" end
      return "failed", t, msg
    end
    opts.on_done(t, res)
    if opts.on_progress then opts.on_progress(i, #tasks) end
  end
  return "done"
end

-- Run tasks in worker processes of opts.bin, or in this process when
-- opts.bin is false (see pool.run for the contract).
local function execute(tasks, opts)
  if opts.bin then return pool.run(tasks, opts) end
  return run_here(tasks, opts)
end

-- Open the runs file for appending; returns a writer of lines and a
-- closer. The first failed write (a full disk) is kept and raised by the
-- closer, once the workers are done, as a user error.
local function runs_writer(path)
  if not path then return function() end, function() end end
  local f, err = io.open(path, "ab")
  if not f then errors.raise(nil, "cannot write %s: %s", path, err) end
  local failed
  return function(line)
    local ok, msg = f:write(line)
    if ok then ok, msg = f:flush() end
    failed = failed or (not ok and msg)
  end, function()
    local ok, msg = f:close()
    failed = failed or (not ok and msg)
    if failed then errors.raise(nil, "cannot write %s: %s", path, failed) end
  end
end

-- The runs of the runs file that belong to this experiment, by key. Only
-- a regular file holds runs to resume: a device (/dev/null, or /dev/full,
-- which reads as endless zeros) or a FIFO is only written.
local function reuse(cmd, exp, path)
  local have = {}
  if not path or core.file_kind(path) ~= "regular" then return have end
  local desc = experiment.descriptor(exp)
  for _, e in ipairs(experiment.read_runs(path, function(msg) io.stderr:write("mastersim: ", msg, "\n") end)) do
    local d = e.experiment
    if d.sim ~= desc.sim or json.encode(d.set or {}) ~= json.encode(desc.set) then
      errors.usage("mastersim %s: %s holds runs of another experiment (sim or --set differ)", cmd, path)
    end
    have[experiment.result_key(e.result)] = e.result
  end
  return have
end

-- Write the outputs of a document.
local function write_outputs(opt, doc)
  if opt.json then write_file(opt.json, json.encode(doc, { indent = 2 }) .. "\n") end
  if opt.csv then
    write_file(opt.csv, require("mastersim.report.csv").encode(doc.results, { policies = doc.policies }))
  end
  if opt.html then write_file(opt.html, require("mastersim.report.html").render(doc)) end
end

-- The terminal table(s) of a document.
local function render(doc)
  if doc.schema ~= "mastersim.sweep/1" then return summary.render(doc.summary) end
  local out = {}
  for _, pt in ipairs(doc.points) do
    local parts = {}
    for _, p in ipairs(doc.vary) do parts[#parts + 1] = ("%s=%s"):format(p, json.encode(pt.vary[p])) end
    out[#out + 1] = ("== %s ==\n"):format(table.concat(parts, " ")) .. summary.render(pt.summary)
  end
  return table.concat(out, "\n")
end

-- Report a finished (or partial) document on the terminal.
local function report(opt, doc, interrupted)
  if not opt.quiet then io.stdout:write(render(doc)) end
  io.stdout:flush()
  local bad = 0
  for _, r in ipairs(doc.results) do
    if (r.checker or {}).safety_violations and r.checker.safety_violations > 0 then bad = bad + 1 end
  end
  if bad > 0 then
    io.stderr:write(("mastersim: %d runs reported raft safety violations (see 'mastersim check')\n"):format(bad))
  end
  if doc.partial then
    io.stderr:write(("mastersim: partial results: %d of %d runs%s; partial: %d complete seeds of %d"
      .. " (the summary compares the policies on those seeds only)\n"):format(#doc.results, doc.runs_expected,
      interrupted and " (interrupted)" or "", doc.seeds_complete, doc.seeds_expected))
  end
end

--- Run the runs of compare/sweep experiment `exp` that are not in the
-- runs file yet. o: runs (the runs file), shard_i, shard_n, progress
-- (draw the bar), bin (the worker binary, or false: in this process).
-- Returns status ("done" or "interrupted"), the results, the whole matrix.
-- A failed run raises.
local function collect(cmd, exp, o)
  local matrix = experiment.matrix(exp, function(p) return exp.effective[p] end)
  local mine = o.shard_n and experiment.shard(matrix, o.shard_i, o.shard_n) or matrix
  local have = reuse(cmd, exp, o.runs)
  local results, tasks = {}, {}
  for _, run in ipairs(mine) do
    if have[run.key] then
      results[#results + 1] = have[run.key]
    else
      tasks[#tasks + 1] = { run = run, job = job_of(exp, run) }
    end
  end
  local append, close = runs_writer(o.runs)
  local update, finish = pool.progress(cmd, o.progress)
  local ran, interrupt_after = 0, o.bin and math.tointeger(tonumber(os.getenv("MASTERSIM_TEST_SIGINT_AFTER") or ""))
  update(#mine - #tasks, #mine)
  local status, task, msg = execute(tasks, {
    jobs = exp.jobs, bin = o.bin,
    on_done = function(_, text)
      local r = experiment.decode(text)[1]
      results[#results + 1] = r
      append(experiment.line(exp, r))
      ran = ran + 1
      -- For the specs only: a real SIGINT after exactly N runs, raised
      -- while the worker pool waits (inside core.drive), so the interrupt
      -- path is tested without racing a timer.
      -- (popen, not os.execute: system() ignores SIGINT while it waits)
      if ran == interrupt_after then io.popen("kill -INT $PPID"):close() end
    end,
    on_progress = function(done) update(#mine - #tasks + done, #mine) end,
    on_tick = function() update() end,
  })
  finish()
  close()
  if status == "failed" and msg:match("interrupted$") then status = "interrupted" end
  if status == "failed" then
    errors.raise(nil, "%s: the run of policy %s seed %d failed: %s", cmd, task.run.policy, task.run.seed,
      (msg:gsub("^mastersim: ", "")))
  end
  return status, results, matrix
end

--- Run compare or sweep.
local function compare_like(cmd, args, argv0)
  local flags = {}
  for k, v in pairs(FLAGS) do flags[k] = v end
  if cmd == "sweep" then flags.vary = "list" end
  local pos, opt = parse(cmd, args, flags)
  if opt.help then
    io.stdout:write(M.USAGE[cmd])
    return 0
  end
  if opt.runs and opt.resume and opt.runs ~= opt.resume then
    errors.usage("mastersim %s: --runs and --resume are the same flag and name different files; give one", cmd)
  end
  opt.runs = opt.runs or opt.resume
  local shard_i, shard_n
  if opt.shard then
    shard_i, shard_n = experiment.parse_shard(opt.shard)
    if not opt.runs then errors.usage("mastersim %s: --shard needs --runs FILE (the shard's output)", cmd) end
    if opt.json or opt.csv or opt.html then
      errors.usage("mastersim %s: --shard writes only --runs; build the report with 'mastersim merge'", cmd)
    end
  end
  local exp = build(cmd, pos, opt, cmd)
  local status, results, matrix = collect(cmd, exp, { runs = opt.runs, shard_i = shard_i, shard_n = shard_n,
    progress = not opt.quiet and pool.stderr_is_tty(), bin = pool.binary(argv0) })
  if shard_n then
    if status == "interrupted" then io.stderr:write("mastersim: interrupted; rerun the same command to resume\n") end
    return status == "interrupted" and 130 or 0
  end
  local doc = experiment.document(exp, results, #matrix)
  write_outputs(opt, doc)
  report(opt, doc, status == "interrupted")
  return status == "interrupted" and 130 or 0
end

M.policy_path = policy_path
M.build, M.job_of = build, job_of -- for cli_check

function M.compare(args, argv0) return compare_like("compare", args, argv0) end
function M.sweep(args, argv0) return compare_like("sweep", args, argv0) end

-- The binary that runs ms.compare's workers: $MASTERSIM_BIN, else the
-- mastersim binary running this script (it preloads mastersim.core; Linux
-- /proc names it), else nil (stock lua5.4: no workers).
local function script_binary()
  local b = os.getenv("MASTERSIM_BIN")
  if b and b ~= "" then return b end
  if not package.preload["mastersim.core"] then return nil end
  local p = io.popen("readlink /proc/$PPID/exe 2>/dev/null")
  local exe = p and p:read("l")
  if p then p:close() end
  return exe and exe ~= "" and exe or nil
end

-- A map as { key, value } pairs sorted by key.
local function sorted_pairs(what, t)
  if t == nil then return {} end
  if type(t) ~= "table" then error(("ms.compare: %s must be a table of name = value"):format(what), 3) end
  local out = {}
  for _, k in ipairs(schema.sorted_keys(t)) do
    if type(k) ~= "string" then error(("ms.compare: %s keys must be strings"):format(what), 3) end
    local v = t[k]
    if type(v) ~= "string" and type(v) ~= "number" and type(v) ~= "boolean" then
      error(("ms.compare: %s.%s must be a string, number or boolean"):format(what, k), 3)
    end
    out[#out + 1] = { k, v }
  end
  return out
end

--- ms.compare (see mastersim/init.lua): run a compare matrix from Lua and
-- return its document.
function M.run_compare(spec)
  if type(spec) ~= "table" then error("ms.compare: expected a table { sim = ..., policies = {...} }", 2) end
  if type(spec.sim) ~= "string" then error("ms.compare: sim must be a sim name or path", 2) end
  local policies = spec.policies
  if type(policies) == "table" then policies = table.concat(policies, ",") end
  local seeds = spec.seeds
  if type(seeds) == "table" then
    local parts = {}
    for i, s in ipairs(seeds) do
      if math.type(s) ~= "integer" then error(("ms.compare: seeds[%d] must be an integer"):format(i), 2) end
      parts[i] = tostring(s)
    end
    seeds = table.concat(parts, ",")
  elseif type(seeds) == "number" then
    seeds = tostring(math.tointeger(seeds) or seeds)
  end
  local opt = { policies = policies and tostring(policies), seeds = seeds, baseline = spec.baseline,
                jobs = spec.jobs and tostring(spec.jobs), set_pairs = sorted_pairs("set", spec.set),
                param_pairs = sorted_pairs("params", spec.params),
                ["max-events"] = spec.max_events and tostring(spec.max_events),
                ["max-memory"] = spec.max_memory and tostring(spec.max_memory) }
  local exp = build("compare", { spec.sim }, opt, "compare")
  local bin = exp.jobs > 1 and script_binary() or false
  local _, results, matrix = collect("compare", exp, { bin = bin,
    progress = spec.progress == true and pool.stderr_is_tty() })
  return experiment.document(exp, results, #matrix)
end

--- mastersim merge RUNS...: join runs files into one report.
function M.merge(args)
  local pos, opt = parse("merge", args, { json = "value", csv = "value", html = "value", quiet = "flag",
    help = "flag" })
  if opt.help then
    io.stdout:write(M.USAGE.merge)
    return 0
  end
  if #pos == 0 then errors.usage("mastersim merge: expected one or more runs files (see 'mastersim merge --help')") end
  local desc, by_key, keys = nil, {}, {}
  for _, path in ipairs(pos) do
    if not exists(path) then errors.raise(nil, "cannot open %s: No such file or directory", path) end
    for _, e in ipairs(experiment.read_runs(path, function(m) io.stderr:write("mastersim: ", m, "\n") end)) do
      desc = desc or e.experiment
      if not experiment.same(desc, e.experiment) then
        errors.raise(nil, "merge: %s holds runs of another experiment than %s", path, pos[1])
      end
      local k = experiment.result_key(e.result)
      local prev = by_key[k]
      if prev and prev.digest ~= e.result.digest then
        errors.raise(nil, "merge: two different results of policy %s seed %d (digests %s, %s)", e.result.policy,
          e.result.seed, prev.digest, e.result.digest)
      end
      if not prev then by_key[k], keys[#keys + 1] = e.result, k end
    end
  end
  if not desc then errors.raise(nil, "merge: no finished runs in %s", table.concat(pos, ", ")) end
  local exp = { kind = desc.kind, sim = desc.sim, set = desc.set, param = desc.param, policies = desc.policies,
                baseline = desc.baseline, seeds = desc.seeds,
                vary = desc.vary == json.null and {} or desc.vary }
  local results = {}
  for _, k in ipairs(keys) do results[#results + 1] = by_key[k] end
  local expected = #exp.seeds * #exp.policies * #experiment.grid(exp.vary)
  local doc = experiment.document(exp, results, expected)
  write_outputs(opt, doc)
  report(opt, doc, false)
  return 0
end

--- The hidden worker: run the job in JOBFILE, write its result(s) as a
-- JSON list to job.out atomically.
function M._worker(args)
  local f = io.open(args[1] or "", "rb")
  if not f then errors.raise(nil, "worker: cannot open the job %s", tostring(args[1])) end
  local job = experiment.decode(f:read("a"))
  f:close()
  local out = run_job(job)
  local ok, err = fileio.write(job.out, json.encode(out))
  if not ok then errors.raise(nil, "worker: cannot write %s: %s", job.out, err) end
  return 0
end

--- Register the commands in the CLI's table; `cli` provides parse,
-- and write_file.
function M.install(commands, cli)
  parse, write_file = cli.parse, cli.write_file
  for _, name in ipairs({ "compare", "sweep", "merge", "_worker" }) do
    commands[name] = M[name]
  end
  M.sorted_keys = schema.sorted_keys
  require("mastersim.cli_check").install(commands, cli, M)
  require("mastersim.cli_list").install(commands, cli)
end

return M

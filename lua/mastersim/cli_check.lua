-- mastersim check: every seed run three times (twice in one worker process,
-- once in another) must give identical results and no raft safety
-- violation; a failing seed is printed with the command that replays it.
local errors = require "mastersim.errors"
local experiment = require "mastersim.experiment"
local json = require "mastersim.report.json"
local pool = require "mastersim.pool"

local M = {}

M.USAGE = [==[
usage: mastersim check SIM [--seeds 1-20] [--policy P[,Q...]] [--set path=value]...
                       [--param k=v]... [--jobs N] [--quiet]

Safety and determinism. Every seed runs twice in one worker process and once
more in another; the three results (digest and every field but wall-clock
time) must be identical, and the checker must report no raft safety
violation. Prints each seed that fails, with the command that replays the
first one, then a count; exit 1 when any seed fails.
  --seeds LIST      seeds: 1-20, 1,3,7 or 5 (default 1-20)
  --policy P,Q      the policies to check every seed under (default block)
  --param k=v       a policy parameter, as for compare (repeatable)
  --set path=value  override a scenario value (repeatable)
  --jobs N          worker processes at a time (default 1; 1-256)
  --quiet           no progress bar
  --max-events N, --max-memory SIZE
                    the run budget of each run (see 'mastersim run --help')
On Ctrl-C the seeds checked so far are reported; exit 130.
]==]

-- The CLI's parse() and cli_experiment's build() and job_of() (set by M.install).
local parse, exp_mod

-- A shell word: quoted only when it must be.
local function word(s)
  s = tostring(s)
  if s:match("^[%w_./:=,+-]+$") then return s end
  return pool.quote(s)
end

-- The replay command of one failed seed.
local function replay(exp, policy, seed)
  local parts = { "mastersim run", word(exp.sim_arg), "--policy", word(policy), "--seed", tostring(seed) }
  for _, kv in ipairs(exp.set_flags or {}) do parts[#parts + 1] = "--set " .. word(kv) end
  for _, kv in ipairs(exp.param_flags or {}) do parts[#parts + 1] = "--param " .. word(kv) end
  return table.concat(parts, " ")
end

--- mastersim check SIM: determinism and safety over seeds.
function M.check(args, argv0)
  local pos, opt = parse("check", args, { seeds = "value", policy = "value", set = "list", param = "list",
    jobs = "value", quiet = "flag", help = "flag", ["max-events"] = "value", ["max-memory"] = "value" })
  if opt.help then
    io.stdout:write(M.USAGE)
    return 0
  end
  local exp = exp_mod.build("check", pos, opt, "check")
  exp.set_flags, exp.param_flags = opt.set, opt.param
  local matrix = experiment.matrix(exp, function(p) return exp.effective[p] end)
  local tasks, texts = {}, {}
  for _, run in ipairs(matrix) do
    texts[run.k] = {}
    tasks[#tasks + 1] = { run = run, job = exp_mod.job_of(exp, run, 2) }
    tasks[#tasks + 1] = { run = run, job = exp_mod.job_of(exp, run, 1) }
  end
  local update, finish = pool.progress("check", not opt.quiet and pool.stderr_is_tty())
  local runs_done = 0
  update(0, 3 * #matrix)
  local status, task, msg = pool.run(tasks, {
    jobs = exp.jobs, bin = pool.binary(argv0),
    on_done = function(t, text)
      local list = texts[t.run.k]
      for _, r in ipairs(experiment.decode(text)) do
        list[#list + 1] = { text = json.encode(r), r = r, where = t.job["repeat"] == 2 and "one process" or "another" }
      end
      runs_done = runs_done + t.job["repeat"]
      update(runs_done, 3 * #matrix)
    end,
    on_tick = function() update() end,
  })
  finish()
  if status == "failed" and not msg:match("interrupted$") then
    errors.raise(nil, "check: the run of policy %s seed %d failed: %s", task.run.policy, task.run.seed,
      (msg:gsub("^mastersim: ", "")))
  end
  local failed, checked = {}, 0
  local out = io.stdout
  for _, run in ipairs(matrix) do
    local list = texts[run.k]
    if #list == 3 then
      checked = checked + 1
      table.sort(list, function(a, b) return a.where > b.where end) -- "one process" first
      local bad = {}
      local v = list[1].r.checker.safety_violations
      if v > 0 then
        bad[#bad + 1] = ("%d raft safety violations (first: %s)"):format(v, tostring(list[1].r.checker.first_violation))
      end
      if list[1].text ~= list[2].text or list[1].text ~= list[3].text then
        bad[#bad + 1] = ("diverged: digests %s, %s in one process, %s in another%s"):format(list[1].r.digest,
          list[2].r.digest, list[3].r.digest, (list[1].r.digest == list[2].r.digest and
          list[1].r.digest == list[3].r.digest) and " (other fields differ)" or "")
      end
      if #bad > 0 then
        failed[#failed + 1] = run
        out:write(("seed %d (%s): %s\n"):format(run.seed, run.policy, table.concat(bad, "; ")))
      end
    end
  end
  if #failed > 0 then
    out:write(("replay: %s\n"):format(replay(exp, exp.arg_of[failed[1].policy], failed[1].seed)))
  end
  out:write(("check %s: %d of %d seed runs checked (%s x %d seeds, each run 3 times): %d failed\n"):format(
    pos[1], checked, #matrix, table.concat(exp.policies, ","), #exp.seeds, #failed))
  if status ~= "done" then
    io.stderr:write("mastersim: interrupted: partial check\n")
    return 130
  end
  return #failed > 0 and 1 or 0
end

--- Register the command in the CLI's table; `cli` provides parse,
-- `experiment_cli` (cli_experiment) build and job_of.
function M.install(commands, cli, experiment_cli)
  parse, exp_mod = cli.parse, experiment_cli
  commands.check = M.check
end

return M

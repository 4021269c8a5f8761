--- mastersim: the public Lua API.
--   local ms = require "mastersim"
--   return ms.scenario { name = "...", duration = "60s", cluster = {...}, clients = {...},
--                        faults = { ms.at("20s", ms.crash "m3") } }
local core = require "mastersim.core"
local faults = require "mastersim.faults"
local loader = require "mastersim.loader"
local paths = require "mastersim.paths"
local policy = require "mastersim.policy"
local runner = require "mastersim.runner"
local scenario = require "mastersim.scenario"

local ms = {}

ms.version = core.version
ms.scenario = scenario.new
ms.load_sim = loader.load_sim

--- Load a policy by name (policies/NAME.lua) or path; params override its
-- defaults.
function ms.load_policy(name_or_path, params)
  return policy.load(paths.policy(name_or_path), params)
end

--- A reference policy decided in C rather than Lua (for measuring what a
-- Lua policy costs): "block" (param: timeout), "fail_fast" (retry_after),
-- "stale_read", "unguarded", "unsafe", "redirect_leader".
function ms.builtin_policy(name, param)
  local lua_twin = policy.load(paths.policy(name))
  return { name = name .. "(C)", builtin = name, param = param or 0, params = lua_twin.params,
           snapshot_mode = lua_twin.snapshot_mode, file = "(built in)" }
end

--- Run a scenario (a Scenario, or a sim name or path). opts: seed,
-- policy (a name, path or loaded policy; cluster sims need one, default
-- "block"), params, progress. Returns the result table.
function ms.run(sc, opts)
  opts = opts or {}
  if type(sc) == "string" then sc = loader.load_sim(paths.sim(sc)) end
  return runner.run(sc, opts)
end

--- Run a compare matrix, every policy x seed, and return the compare
-- document: the table that `mastersim compare --json` writes (schema
-- mastersim.compare/1: experiment, results, summary, partial,
-- runs_expected), equal to it for the same matrix.
--   ms.compare { sim = "follower_catchup", policies = { "block", "stale_read" },
--                seeds = "1-5" (or { 1, 2, 3 }; default 1-10), baseline = "block",
--                params = { timeout = "1s", ["block.timeout"] = "2s" },
--                set = { ["snapshot.apply_rate"] = 1e5 }, jobs = 4, progress = false }
-- sim is a sim name or path (not a loaded Scenario: workers load it by
-- path). params and set are as --param and --set (string values are parsed
-- as on the command line). With jobs > 1 the runs go to that many worker
-- processes of $MASTERSIM_BIN, else of the mastersim binary running the
-- script; when there is neither (a script under stock lua5.4 without
-- $MASTERSIM_BIN) they run in this process one after another, as they do
-- with jobs = 1; the document is the same either way. Bad arguments raise;
-- on SIGINT the finished runs are returned with partial = true.
function ms.compare(spec)
  return require("mastersim.cli_experiment").run_compare(spec)
end

--- Parse a duration ("250us", "1.5s", or seconds) into seconds.
function ms.seconds(v)
  local s, err = core.duration(v)
  if not s then error(err, 2) end
  return s
end

-- Faults (every action of faults.ACTIONS), triggers and distributions.
for _, def in ipairs(faults.ACTIONS) do ms[def.name] = faults[def.name] end
for _, k in ipairs { "at", "every", "when", "lognormal", "exponential", "constant", "uniform" } do
  ms[k] = faults[k]
end

return ms

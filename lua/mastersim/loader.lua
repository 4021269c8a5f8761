--- Loading sim and policy files into the sandbox.
local core = require "mastersim.core"
local errors = require "mastersim.errors"
local sandbox = require "mastersim.sandbox"
local scenario = require "mastersim.scenario"

local M = {}

-- What a script may require: "mastersim" is the scripting API, without
-- the functions that run, load or spawn outside the sandbox (a fresh table
-- per require, so one script cannot change what the next one gets).
local HOST_ONLY = { run = true, compare = true, load_sim = true, load_policy = true, builtin_policy = true }

local function script_api()
  local api = {}
  for k, v in pairs(require "mastersim") do
    api[k] = HOST_ONLY[k] and function()
      error(("mastersim sandbox: ms.%s is not available in a script (it runs or loads outside the sandbox)")
        :format(k), 2)
    end or v
  end
  return api
end

local ALLOWED = { mastersim = script_api }

-- Scripts loaded through here, keyed by the value they returned: the file,
-- and the control table of their sandbox (math.random's stream).
local loaded = setmetatable({}, { __mode = "k" })

--- Read and compile `path` (or `text`, named path, when given) in a fresh
-- sandbox; returns the chunk, its env control table and text. Missing
-- files and syntax errors are user errors.
function M.compile(path, text)
  if not text then
    local f, oerr = io.open(path, "rb")
    if not f then
      errors.raise(nil, "cannot open %s: %s", path, (oerr or ""):gsub("^[^:]*: ", ""))
    end
    text = f:read("a")
    f:close()
  end
  if text:byte(1) == 27 then errors.raise(path, "binary chunks are not accepted") end
  core.sandbox_reset() -- what the script names at load does not depend on earlier loads
  local env, ctl = sandbox.new_env(ALLOWED)
  local chunk, err = core.meter_load(text, "@" .. path, env)
  if not chunk then errors.raise(nil, "%s", err) end
  return chunk, env, ctl, text
end

--- Call a script's main chunk; errors about a key without a location get
-- the file and the key's line.
local function run_chunk(path, text, limits, chunk, anchor)
  local ok, res = pcall(sandbox.call, path, limits, chunk)
  -- what a sim changed in its scenario after ms.scenario checked it is checked again
  if ok and scenario.is(res) then ok, res = pcall(scenario.recheck, res) end
  if ok then return res end
  if errors.is_user(res) and res.bare and not res.msg:find(path, 1, true) then
    local line = errors.locate(text, res.key, anchor)
    res.msg = path .. (line and (":" .. line) or "") .. ": " .. res.bare
  end
  error(res, 0)
end

--- Load a sim file: it must return ms.scenario { ... }. `overrides` maps
-- dotted scenario paths to values (--set), applied before validation.
-- `text`, when given, is the file's contents (path then only names it).
function M.load_sim(path, limits, overrides, text)
  local chunk, _, ctl
  chunk, _, ctl, text = M.compile(path, text)
  scenario.pending_overrides = overrides
  local ok, sc = pcall(run_chunk, path, text, limits, chunk, "scenario%s*[{(]")
  scenario.pending_overrides = nil
  if not ok then error(sc, 0) end
  if not scenario.is(sc) then
    errors.raise(path, "a sim file must return ms.scenario { ... } (it returned %s)", type(sc))
  end
  loaded[sc] = { file = path, ctl = ctl, limits = limits }
  return sc
end

--- What the loader knows of a value returned by a script (or nil).
function M.meta(v) return loaded[v] end

return M

--- The script sandbox for sims and policies: an allow-listed environment,
-- a locked global table, math.random on a simulation stream, text-only
-- load, and the C-enforced instruction budget and memory cap.
local core = require "mastersim.core"
local errors = require "mastersim.errors"

local M = {}

M.defaults = { instructions = 100000000, memory = 256 * 1024 * 1024 }

local FORBIDDEN = {
  os = true, io = true, debug = true, package = true, dofile = true, loadfile = true,
  collectgarbage = true, loadstring = true, module = true,
}

local function copy(t, except)
  local c = {}
  for k, v in pairs(t) do
    if not (except and except[k]) then c[k] = v end
  end
  return c
end

local function refuse(what)
  return function() error("mastersim sandbox: " .. what .. " is not available in a script", 2) end
end

--- A fresh environment. `ctl.rng` (an Rng) backs math.random once set by the
-- runner; before that math.random is an error (no hidden global seed).
function M.new_env(allowed_modules)
  local ctl = {}
  local env = {
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
    pcall = pcall, xpcall = xpcall, select = select, tonumber = tonumber,
    tostring = tostring, type = type, rawequal = rawequal, rawget = rawget,
    rawset = rawset, rawlen = rawlen, setmetatable = setmetatable, print = print,
    _VERSION = _VERSION,
  }
  env.getmetatable = function(v)
    if type(v) == "string" then return nil end -- keep the string library out of reach
    return getmetatable(v)
  end
  env.string = copy(string, { dump = true })
  env.string.dump = refuse("string.dump")
  env.table = copy(table)
  env.utf8 = copy(utf8)
  env.coroutine = copy(coroutine)
  env.math = copy(math, { random = true, randomseed = true })
  env.math.random = function(m, n)
    if not ctl.rng then error("mastersim sandbox: math.random is only available during a run", 2) end
    if m == nil then return ctl.rng:uniform() end
    if n == nil then m, n = 1, m end
    if m > n then error("bad argument to 'random' (interval is empty)", 2) end
    return m + ctl.rng:below(n - m + 1)
  end
  env.math.randomseed = refuse("math.randomseed (runs are seeded by --seed)")
  env.load = function(chunk, name, mode, e)
    if mode ~= nil and mode ~= "t" then
      error("mastersim sandbox: binary chunks are not allowed (load mode must be 't')", 2)
    end
    if type(chunk) == "string" and chunk:byte(1) == 27 then
      error("mastersim sandbox: binary chunks are not allowed", 2)
    end
    return load(chunk, name, "t", e == nil and env or e)
  end
  env.require = function(name)
    if allowed_modules[name] then return require(name) end
    error(("mastersim sandbox: require of '%s' is not allowed (only %s)"):format(
      tostring(name), M.describe(allowed_modules)), 2)
  end
  env._G = env
  setmetatable(env, {
    __index = function(_, k)
      if FORBIDDEN[k] then
        error(("mastersim sandbox: '%s' is not available in a script"):format(tostring(k)), 2)
      end
      error(("undefined global '%s'"):format(tostring(k)), 2)
    end,
    __newindex = function(_, k)
      error(("assignment to undeclared global '%s' (use 'local')"):format(tostring(k)), 2)
    end,
    __metatable = false,
  })
  return env, ctl
end

function M.describe(set)
  local names = {}
  for k in pairs(set) do names[#names + 1] = "'" .. k .. "'" end
  table.sort(names)
  return table.concat(names, ", ")
end

--- Call fn(...) under the budget and cap. Returns the results of fn, or
-- raises a user error: the first line of what went wrong, naming the script
-- (Lua's own messages start with "file:line:"); the traceback is kept as
-- the error's detail for --debug.
function M.call(who, limits, fn, ...)
  local res = table.pack(core.sandbox_call(limits or M.defaults, fn, ...))
  if res[1] then return table.unpack(res, 2, res.n) end
  M.fail(who, res[2], res[3])
end

--- Raise the user error for a failed core.sandbox_call (kind, msg) made on
-- behalf of script `who`.
function M.fail(who, kind, msg)
  if errors.is_user(msg) then error(msg, 0) end
  if kind == "memory" then errors.raise(who, "%s", msg) end
  local line = errors.first_line(msg)
  if who and not line:find(who, 1, true) then line = who .. ": " .. line end
  errors.throw(line, 1, tostring(msg))
end

return M

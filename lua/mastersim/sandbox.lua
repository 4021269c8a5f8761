--- The script sandbox for sims and policies: an allow-listed environment,
-- a locked global table, math.random on a simulation stream, text-only
-- load, and the C-enforced step budget, wall-clock deadline and
-- memory cap (src/lua/lms_sandbox.c). What a script sees is the same in
-- every process: tostring names objects "table: #3" rather than by
-- address, next and pairs visit keys in a fixed order, and neither
-- finalizers (__gc: they run outside any budget) nor weak tables (__mode:
-- what the collector keeps would change results) are available.
local core = require "mastersim.core"
local errors = require "mastersim.errors"

local M = {}

M.defaults = { steps = 100000000, memory = 256 * 1024 * 1024, wall = 60 }

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

-- The metatables scripts set (weak keys: a host table, not a script's).
-- getmetatable shows a script only those: the metatables of mastersim's own
-- objects (the sim, streams, stations, distributions, triggers, the bound
-- classes) are shared by every run of the process, so a script that
-- changed one would change the runs after it.
local script_mts = setmetatable({}, { __mode = "k" })

local function sandbox_getmetatable(v)
  local mt = debug.getmetatable(v)
  if mt == nil then return nil end
  if script_mts[mt] then return getmetatable(v) end -- its __metatable, if any (a table's: only those get one)
  return false -- as a protected metatable reads in Lua
end

--- setmetatable without finalizers and weak tables. Lua marks a table for
-- finalization when its metatable has __gc at setmetatable time, so this
-- check is enough (setting __gc later does not make a finalizer).
local function sandbox_setmetatable(t, mt)
  if type(mt) == "table" then
    if rawget(mt, "__gc") ~= nil then
      error("mastersim sandbox: __gc metamethods are not available in a script " ..
        "(finalizers run outside the step budget)", 2)
    end
    if rawget(mt, "__mode") ~= nil then
      error("mastersim sandbox: weak tables (__mode) are not available in a script " ..
        "(what the garbage collector keeps would change results)", 2)
    end
  end
  setmetatable(t, mt)
  if type(mt) == "table" then script_mts[mt] = true end
  return t
end

--- A fresh environment. `ctl.rng` (an Rng) backs math.random once set by the
-- runner; before that math.random is an error (no hidden global seed).
function M.new_env(allowed_modules)
  local ctl = {}
  local env = {
    assert = assert, error = error, ipairs = ipairs, next = core.sandbox_next,
    pairs = core.sandbox_pairs, pcall = pcall, xpcall = xpcall, select = select,
    tonumber = tonumber, tostring = core.sandbox_tostring, type = type, rawequal = rawequal,
    rawget = rawget, rawset = rawset, rawlen = rawlen, setmetatable = sandbox_setmetatable,
    print = core.sandbox_print, _VERSION = _VERSION,
  }
  env.getmetatable = sandbox_getmetatable
  env.string = copy(core.sandbox_strings(), { dump = true })
  env.string.dump = refuse("string.dump")
  env.table = core.sandbox_table()
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
    if type(chunk) == "function" then -- a reader: its pieces, then the text
      local parts = {}
      for piece in chunk do
        if piece == "" then break end
        if type(piece) ~= "string" then error("bad argument #1 to 'load' (reader function must return a string)", 2) end
        parts[#parts + 1] = piece
      end
      chunk, name = table.concat(parts), name or "=(load)"
    end
    if type(chunk) ~= "string" then error("bad argument #1 to 'load' (string expected)", 2) end
    if chunk:byte(1) == 27 then
      error("mastersim sandbox: binary chunks are not allowed", 2)
    end
    return core.meter_load(chunk, name or chunk, e == nil and env or e)
  end
  env.require = function(name)
    local allowed = allowed_modules[name]
    if type(allowed) == "function" then return allowed() end
    if allowed then return require(name) end
    error(("mastersim sandbox: require of '%s' is not allowed (only %s)"):format(
      tostring(name), M.describe(allowed_modules)), 2)
  end
  env._G = env
  setmetatable(env, {
    __index = function(_, k)
      if FORBIDDEN[k] then
        error(("mastersim sandbox: '%s' is not available in a script"):format(k), 2)
      end
      error(("undefined global '%s'"):format(core.sandbox_tostring(k)), 2)
    end,
    __newindex = function(_, k)
      error(("assignment to undeclared global '%s' (use 'local')"):format(core.sandbox_tostring(k)), 2)
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

--- `line` with the script's name in full: Lua shortens a long chunk name
-- in messages to "..." and its last 56 characters.
local function full_name(line, who)
  if not who or line:sub(1, 3) ~= "..." then return line end
  for i = 2, #who do
    local tail = who:sub(i)
    if line:sub(4, 3 + #tail) == tail and line:sub(4 + #tail, 4 + #tail) == ":" then
      return who .. line:sub(4 + #tail)
    end
  end
  return line
end

--- The script's own line for an error raised elsewhere on its behalf
-- (mastersim's Lua library, or a C function it called: `sim:every(1, 5)`
-- fails inside runner.lua): the innermost frame of the script in the
-- traceback the sandbox's handler appended to `msg`, as "who:N", or nil.
local function script_line(msg, who)
  local trace = type(msg) == "string" and msg:match("\nstack traceback:\n(.*)")
  for frame in (trace or ""):gmatch("\t([^\n]*)") do
    local at = full_name(frame, who):match("^(.-:%d+):")
    if at and at:match("^(.*):%d+$") == who then return at end
  end
end

--- Raise the user error for a failed core.sandbox_call (kind, msg) made on
-- behalf of script `who`. The error value is read without calling its
-- metamethods (see errors.describe).
function M.fail(who, kind, msg)
  local user = errors.copy_user(msg)
  if user then error(user, 0) end
  if kind == "memory" then errors.raise(who, "%s", msg) end
  local line = full_name(errors.describe(msg), who)
  if who and not line:find(who, 1, true) then
    local at = script_line(msg, who)
    line = at and at .. ": " .. line:gsub("^[^:\n]+:%d+: ", "", 1) or who .. ": " .. line
  end
  errors.throw(line, 1, type(msg) == "string" and msg or nil)
end

return M

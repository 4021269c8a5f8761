--- Read policies: loading a policy file into the sandbox, validating it,
-- applying --param overrides, and turning what on_read returns into a
-- checked decision. A policy file returns a table (DESIGN.md section 6).
local core = require "mastersim.core"
local errors = require "mastersim.errors"
local loader = require "mastersim.loader"
local sandbox = require "mastersim.sandbox"
local schema = require "mastersim.schema"
local settings = require "mastersim.settings"

local M = {}

--- Per-decision limits: a decision is a few comparisons, so the budget is
-- far below a sim's; a runaway policy is stopped in well under a second.
M.limits = { steps = 10000000, memory = 64 * 1024 * 1024, wall = 10 }

-- The apply styles: the choices of snapshot.mode (settings.lua).
M.MODES = {}
for _, m in ipairs(settings.row("snapshot.mode").choices) do M.MODES[m] = true end

-- A wait or retry_after longer than this is this (a policy may say
-- math.huge: wait until woken); error codes are short names (the model
-- keeps 23 bytes).
M.MAX_WAIT = 1e7
M.MAX_CODE = 23

local FIELDS = {
  name = { type = "string", required = true },
  summary = { type = "string", required = true },
  params = { type = "table", default = {} },
  snapshot_mode = {
    type = "string",
    check = function(v)
      return M.MODES[v] ~= nil, "must be one of '" .. table.concat(settings.row("snapshot.mode").choices, "', '") .. "'"
    end,
  },
  on_read = { type = "func", required = true },
  every_read = { type = "boolean", default = false },
  on_apply_begin = "func",
  on_apply_end = "func",
}

--- A parameter value as policies see it: durations become seconds.
local function param_value(v)
  if type(v) == "string" then
    local s = core.duration(v)
    if s then return s end
  end
  return v
end

--- Parse a command-line value: number, boolean, duration or string.
function M.parse_value(text)
  if text == "true" then return true end
  if text == "false" then return false end
  local n = tonumber(text)
  if n then return n end
  return param_value(text)
end

local Policy = {}
Policy.__index = Policy

--- Load the policy file at `path`; `overrides` maps param names to values
-- (strings from --param, or values). Raises user errors naming the file.
function M.load(path, overrides)
  local chunk, _, ctl, text = loader.compile(path)
  local ok, t = pcall(sandbox.call, path, M.limits, chunk)
  if not ok then error(t, 0) end
  if type(t) ~= "table" then
    errors.raise(path, "a policy file must return a table with name, summary and on_read (it returned %s)",
      type(t))
  end
  -- the table is read outside the sandbox: metamethods would run unbudgeted
  if debug.getmetatable(t) ~= nil or debug.getmetatable(rawget(t, "params")) ~= nil then
    errors.raise(path, "a policy file must return a plain table (its table or params has a metatable)")
  end
  local where = function(key)
    local line = errors.locate(text, key, "return%s*{")
    return path .. (line and (":" .. line) or "")
  end
  local pok, p = pcall(schema.check, t, { fields = FIELDS }, "", nil)
  if not pok then
    if errors.is_user(p) and p.bare then errors.raise(where(p.key), "%s", p.bare) end
    error(p, 0)
  end
  local params = {}
  for _, k in ipairs(schema.sorted_keys(p.params)) do
    if type(k) ~= "string" then errors.raise(where("params"), "param names must be strings") end
    params[k] = param_value(p.params[k])
  end
  for _, k in ipairs(schema.sorted_keys(overrides or {})) do
    if params[k] == nil then
      local names = schema.sorted_keys(params)
      local hint = errors.nearest(k, names)
      errors.usage("unknown param '%s' for policy %s%s (its params: %s)", k, p.name,
        hint and (" (did you mean '" .. hint .. "'?)") or "",
        #names > 0 and table.concat(names, ", ") or "none")
    end
    local v = overrides[k]
    params[k] = type(v) == "string" and M.parse_value(v) or v
  end
  if params.cost ~= nil and (type(params.cost) ~= "number" or params.cost < 0) then
    errors.raise(where("cost"), "param 'cost' must be a non-negative duration")
  end
  local info = debug.getinfo(p.on_read, "S")
  local pol = setmetatable({
    name = p.name, summary = p.summary, file = path, params = params,
    snapshot_mode = p.snapshot_mode, every_read = p.every_read,
    on_read = p.on_read, on_apply_begin = p.on_apply_begin, on_apply_end = p.on_apply_end,
    line = info.linedefined, ctl = ctl, cost = params.cost or 0,
  }, Policy)
  return pol
end

local DECISIONS = "expected serve, stale, wait, fail or redirect"

--- A value returned by on_read, for a message: read without calling any
-- of its metamethods (they would run outside the sandbox).
local function display(v)
  local t = type(v)
  if t == "string" then return #v > 80 and v:sub(1, 80) .. "..." or v end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  return "a " .. t .. " value"
end

--- The policy's location for decision errors: "file:line" of on_read.
function Policy:where() return ("%s:%d"):format(self.file, self.line) end

--- Check what on_read returned; returns kind, a, b:
--   serve | stale | wait, seconds | fail, code, retry_after | redirect, target
function Policy:check(d, a, b)
  if d == "serve" or d == "stale" then return d end
  if d == "wait" then
    if type(a) ~= "number" or a ~= a then
      errors.raise(self:where(), "on_read returned 'wait' without a number of seconds")
    end
    if a < 0 then errors.raise(self:where(), "on_read returned 'wait' with a negative time (%s)", a) end
    return d, math.min(a, M.MAX_WAIT)
  end
  if d == "fail" then
    if type(a) ~= "string" or a == "" then
      errors.raise(self:where(), "on_read returned 'fail' without an error code (a string such as 'EAGAIN')")
    end
    if #a > M.MAX_CODE or a:find("[^%w_.:-]") then
      local shown = a:sub(1, 32):gsub("[^%w_.:-]", "?") .. (#a > 32 and "..." or "")
      errors.raise(self:where(), "on_read returned 'fail' with a bad error code '%s' (1 to %d letters, digits,"
        .. " '_', '.', ':' or '-')", shown, M.MAX_CODE)
    end
    if b ~= nil and (type(b) ~= "number" or not (b >= 0 and b <= M.MAX_WAIT)) then
      errors.raise(self:where(), "on_read returned 'fail' with a bad retry_after (%s; expected 0 to %g seconds)",
        type(b) ~= "number" and type(b) or b ~= b and "nan" or ("%g"):format(b), M.MAX_WAIT)
    end
    return d, a, b
  end
  if d == "redirect" then
    if type(a) ~= "string" then
      errors.raise(self:where(), "on_read returned 'redirect' without a target ('leader' or a node name)")
    end
    return d, a
  end
  if d == nil then errors.raise(self:where(), "on_read returned nothing (%s)", DECISIONS) end
  errors.raise(self:where(), "on_read returned unknown decision '%s' (%s)", display(d), DECISIONS)
end

-- Strict views: reading a field the read or node table does not have is
-- an error naming the field, the script's file and line, and the nearest
-- field it has ("attempt to compare nil with number" said none of it);
-- adding a field is an error too (the model refills the same tables).
local function strict(what)
  return { __index = function(t, k)
    local fields = {}
    for name in pairs(t) do fields[#fields + 1] = tostring(name) end
    table.sort(fields)
    local hint = type(k) == "string" and errors.nearest(k, fields)
    local info = debug.getinfo(2, "Sl")
    local where = info and info.source:match("^@(.*)") and (info.source:sub(2) .. ":" .. info.currentline) or nil
    errors.raise(where, "%s has no field '%s'%s (its fields: %s)", what, core.sandbox_tostring(k),
      hint and (" (did you mean '" .. hint .. "'?)") or "", table.concat(fields, ", "))
  end, __newindex = function(_, k)
    -- a field a policy added would outlive the call: the tables are reused
    local info = debug.getinfo(2, "Sl")
    local where = info and info.source:match("^@(.*)") and (info.source:sub(2) .. ":" .. info.currentline) or nil
    errors.raise(where, "%s is read-only (assignment to '%s')", what, core.sandbox_tostring(k))
  end }
end
local STRICT_READ, STRICT_NODE = strict("read"), strict("node")
M.strict_node = STRICT_NODE

-- Make t strict (once: the model hands the same tables back each call).
local function guard(t, mt)
  if type(t) == "table" and getmetatable(t) == nil then setmetatable(t, mt) end
  return t
end

--- Consult the policy: on_read(read, node, params) in the sandbox, checked.
-- (The hot path of a Lua policy: one protected call, no tables built.)
function Policy:decide(read, node)
  guard(read, STRICT_READ)
  guard(node, STRICT_NODE)
  local ok, d, a, b = core.sandbox_call(M.limits, self.on_read, read, node, self.params)
  if not ok then sandbox.fail(self.file, d, a) end
  return self:check(d, a, b)
end

--- Call an optional hook (on_apply_begin / on_apply_end) with the node view.
function Policy:hook(name, node)
  local fn = self[name]
  if fn then sandbox.call(self.file, M.limits, fn, guard(node, STRICT_NODE), self.params) end
end

M.Policy = Policy
return M

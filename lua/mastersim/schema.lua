--- Validation of script tables against a schema: unknown keys, wrong types
-- and bad units are errors naming the key path, the file and line, with the
-- nearest valid key suggested. Returns a normalised copy: durations become
-- seconds, sizes bytes, rates bytes per second; defaults are filled in.
local core = require "mastersim.core"
local errors = require "mastersim.errors"

local M = {}

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end
M.sorted_keys = sorted_keys

local function join(path, key)
  if path == "" then return tostring(key) end
  if math.type(key) == "integer" then return ("%s[%d]"):format(path, key) end
  return path .. "." .. tostring(key)
end

-- Scalar checkers: value -> normalised value, or nil and a reason.
local scalars = {}
function scalars.string(v) if type(v) == "string" then return v end return nil, "a string" end
function scalars.boolean(v) if type(v) == "boolean" then return v end return nil, "a boolean" end
function scalars.number(v) if type(v) == "number" then return v end return nil, "a number" end
function scalars.func(v) if type(v) == "function" then return v end return nil, "a function" end
function scalars.table(v) if type(v) == "table" then return v end return nil, "a table" end
function scalars.any(v) return v end
function scalars.integer(v)
  if math.type(v) == "integer" then return v end
  if type(v) == "number" and v == math.floor(v) and v >= -2^53 and v <= 2^53 then return math.tointeger(v) end
  return nil, "an integer"
end
function scalars.count(v)
  local i = scalars.integer(v)
  if i and i >= 0 then return i end
  return nil, "a non-negative integer"
end
function scalars.fraction(v)
  if type(v) == "number" and v >= 0 and v <= 1 then return v end
  return nil, "a number between 0 and 1"
end
function scalars.duration(v)
  if type(v) == "number" then
    if v >= 0 then return v end
    return nil, "a non-negative duration"
  end
  if type(v) ~= "string" then return nil, "a duration such as \"250ms\" or a number of seconds" end
  local s, err = core.duration(v)
  if not s then return nil, err end
  return s
end
function scalars.size(v)
  if math.type(v) == "integer" and v >= 0 then return v end
  if type(v) ~= "string" then return nil, "a size such as \"4KiB\" or a number of bytes" end
  local b, err = core.size(v)
  if not b then return nil, err end
  return b
end
function scalars.rate(v)
  if type(v) == "number" and v >= 0 then return v end
  if type(v) ~= "string" then return nil, "a rate such as \"200MB/s\" or bytes per second" end
  local r, err = core.rate(v)
  if not r then return nil, err end
  return r
end
M.scalars = scalars

--- Validate `value` against `spec` at `path`; `where` is "file:line".
-- spec: a scalar type name | { fields = {key = spec}, [default = v] } (a
-- record) | { list = spec } | { type = name, default = v, check = fn }.
function M.check(value, spec, path, where)
  if type(spec) == "string" then spec = { type = spec } end
  if value == nil then
    if spec.default ~= nil then value = spec.default
    elseif spec.required then errors.raise_key(where, path, "missing required key '%s'", path)
    else return nil end
  end
  if spec.fields then
    if type(value) ~= "table" then
      errors.raise_key(where, path, "'%s' must be a table, got %s", path, type(value))
    end
    local out = {}
    local names = sorted_keys(spec.fields)
    for _, k in ipairs(sorted_keys(value)) do
      if spec.fields[k] == nil then
        local hint = type(k) == "string" and errors.nearest(k, names)
        errors.raise_key(where, join(path, k), "unknown key '%s'%s", join(path, k),
          hint and (" (did you mean '%s'?)"):format(join(path, hint)) or "")
      end
    end
    for _, k in ipairs(names) do
      out[k] = M.check(value[k], spec.fields[k], join(path, k), where)
    end
    return out
  end
  if spec.list then
    if type(value) ~= "table" then
      errors.raise_key(where, path, "'%s' must be a list, got %s", path, type(value))
    end
    local out = {}
    for i = 1, #value do out[i] = M.check(value[i], spec.list, join(path, i), where) end
    for k in pairs(value) do
      if math.type(k) ~= "integer" or k < 1 or k > #value then
        errors.raise_key(where, path, "'%s' must be a list; unexpected key '%s'", path, tostring(k))
      end
    end
    return out
  end
  local checker = scalars[spec.type]
  assert(checker, "schema: unknown type " .. tostring(spec.type))
  local v, why = checker(value)
  if v == nil then
    if type(value) == "string" and why and why:find("'", 1, true) then
      errors.raise_key(where, path, "'%s': %s", path, why)
    end
    errors.raise_key(where, path, "'%s' must be %s, got %s", path, why, type(value) == "string"
      and ("'%s'"):format(value) or type(value))
  end
  if spec.check then
    local ok, msg = spec.check(v)
    if not ok then errors.raise_key(where, path, "'%s' %s", path, msg) end
  end
  return v
end

return M

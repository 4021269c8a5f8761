--- Deterministic JSON: the same Lua value gives the same bytes. lua-cjson
-- does not sort keys, so this encoder walks tables itself, sorts object keys
-- and uses cjson only to escape strings. Numbers: integers as integers;
-- floats in the shortest of %.15g, %.16g, %.17g that reads back to the same
-- double (round-trip exact); NaN and infinities are errors (JSON has none).
--
-- Tables: a sequence (keys exactly 1..n, n >= 1) is an array; any other
-- table is an object whose keys (strings or numbers; numbers written as
-- strings) are sorted, numbers first in numeric order, then strings
-- bytewise. An empty table is {} unless it is M.empty_array.
local fileio = require "mastersim.report.fileio"
local cjson = require("cjson").new() -- a private instance: no shared config

local M = {}

--- A marker for an empty JSON array (encode it as []).
M.empty_array = setmetatable({}, { __newindex = function() error("json.empty_array is read-only", 2) end })

--- The canonical text of a number (see the file comment); nil for NaN and
-- infinities.
function M.number(x)
  if math.type(x) == "integer" then return ("%d"):format(x) end
  if x ~= x or x == math.huge or x == -math.huge then return nil end
  for p = 15, 17 do
    local s = ("%." .. p .. "g"):format(x)
    if tonumber(s) == x then return s end
  end
  return ("%.17g"):format(x)
end

-- Compare object keys: numbers first, numerically; then strings bytewise.
local function key_less(a, b)
  local na, nb = type(a) == "number", type(b) == "number"
  if na ~= nb then return na end
  return a < b
end

-- The length n when t is a sequence with keys exactly 1..n (n >= 1), else nil.
local function array_length(t)
  local n = #t
  if n == 0 then return nil end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n and n or nil
end

local encode_value

-- Encode a table as an object or an array, appending to `buf`.
local function encode_table(t, buf, path, seen, indent, depth)
  if seen[t] then error(("json: a cycle at %s"):format(path), 0) end
  seen[t] = true
  local nl = indent and ("\n" .. (" "):rep(indent * (depth + 1))) or ""
  local close_nl = indent and ("\n" .. (" "):rep(indent * depth)) or ""
  local sep = indent and ": " or ":"
  local n = array_length(t)
  if n then
    buf[#buf + 1] = "["
    for i = 1, n do
      buf[#buf + 1] = (i > 1 and "," or "") .. nl
      encode_value(t[i], buf, path .. "[" .. i .. "]", seen, indent, depth + 1)
    end
    buf[#buf + 1] = close_nl .. "]"
  elseif t == M.empty_array then
    buf[#buf + 1] = "[]"
  else
    local keys = {}
    for k in pairs(t) do
      local kt = type(k)
      if kt ~= "string" and kt ~= "number" then
        error(("json: a %s key at %s"):format(kt, path), 0)
      end
      keys[#keys + 1] = k
    end
    table.sort(keys, key_less)
    buf[#buf + 1] = "{"
    local printed = {}
    for i, k in ipairs(keys) do
      local ks = type(k) == "number" and M.number(k) or k
      if printed[ks] then error(("json: the key '%s' twice at %s"):format(ks, path), 0) end
      printed[ks] = true
      buf[#buf + 1] = (i > 1 and "," or "") .. nl .. cjson.encode(ks) .. sep
      encode_value(t[k], buf, path .. "." .. ks, seen, indent, depth + 1)
    end
    buf[#buf + 1] = (#keys > 0 and close_nl or "") .. "}"
  end
  seen[t] = nil
end

-- Encode any value, appending to `buf`; `path` names it in errors.
function encode_value(v, buf, path, seen, indent, depth)
  local tv = type(v)
  if tv == "table" then
    encode_table(v, buf, path, seen, indent, depth)
  elseif tv == "string" then
    buf[#buf + 1] = cjson.encode(v)
  elseif tv == "number" then
    buf[#buf + 1] = M.number(v)
      or error(("json: cannot encode %s at %s"):format(v ~= v and "NaN" or tostring(v), path), 0)
  elseif tv == "boolean" then
    buf[#buf + 1] = tostring(v)
  elseif v == nil or v == cjson.null then
    buf[#buf + 1] = "null"
  else
    error(("json: cannot encode a %s at %s"):format(tv, path), 0)
  end
end

--- Encode `v` as JSON text. opts.indent: spaces per level (pretty print);
-- default compact. Errors name the path of the offending value ("$.a[2]").
function M.encode(v, opts)
  local buf = {}
  encode_value(v, buf, "$", {}, opts and opts.indent, 0)
  return table.concat(buf)
end

--- JSON null as decoded (cjson.null); encoded back as null.
M.null = cjson.null

--- Decode JSON text (cjson): null becomes M.null.
function M.decode(text)
  return cjson.decode(text)
end

--- JSON lines: each value of the list compact on its own line.
function M.encode_lines(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = M.encode(v) .. "\n" end
  return table.concat(out)
end

--- Write `v` to `path` atomically (pretty, 2 spaces, final newline).
-- Returns true, or nil and a message.
function M.write(path, v)
  return fileio.write(path, M.encode(v, { indent = 2 }) .. "\n")
end

--- Write a list of values to `path` as JSON lines, atomically.
function M.write_lines(path, list)
  return fileio.write(path, M.encode_lines(list))
end

return M

--- User-facing errors: a table with a one-line message, raised with error()
-- and recognised by the CLI, which prints the line and exits without a
-- traceback. Anything else that reaches the CLI is a bug in mastersim.
local M = {}

local UserError = {}
UserError.__index = UserError
UserError.__tostring = function(e) return e.msg end
-- Scripts catch these errors with pcall: they must not reach the metatable
-- shared by every error (nor replace its __tostring).
UserError.__metatable = false

local MAX_MSG = 1000

local ESCAPES = { ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t", ["\0"] = "\\0" }

--- `msg` as one line of at most MAX_MSG bytes: control characters (from
-- a value the user gave, such as a --set argument) are shown as escapes.
local function one_line(msg)
  msg = msg:gsub("%c", function(c) return ESCAPES[c] or ("\\%d"):format(c:byte()) end)
  if #msg > MAX_MSG then msg = msg:sub(1, MAX_MSG) .. "..." end
  return msg
end
M.one_line = one_line

--- Raise a user error with a message, an exit code and an optional detail
-- (a traceback shown only with --debug).
function M.throw(msg, code, detail)
  error(setmetatable({ msg = one_line(msg), code = code or 1, detail = detail }, UserError), 0)
end

--- Raise a user error. `where` is "file:line" or a file name (may be nil).
function M.raise(where, fmt, ...)
  local msg = select("#", ...) > 0 and fmt:format(...) or fmt
  if where and where ~= "" then msg = where .. ": " .. msg end
  error(setmetatable({ msg = one_line(msg), code = 1 }, UserError), 0)
end

--- Raise an error about the script key `key` (a path such as
-- "cluster.masters"). `where` may be nil when the caller's line is unknown;
-- the loader then finds the key's line in the file text (see locate).
function M.raise_key(where, key, fmt, ...)
  local bare = one_line(select("#", ...) > 0 and fmt:format(...) or fmt)
  local msg = where and (where .. ": " .. bare) or bare
  error(setmetatable({ msg = msg, bare = bare, key = key, code = 1 }, UserError), 0)
end

--- The line of `text` that defines `key`: for a path "a.b[2].c", the
-- first "c =" after the first "b =" after the first "a ="; else the first
-- "c =" anywhere; else the line of the first `anchor` pattern; else nil.
function M.locate(text, key, anchor)
  local function line_of(pos) return select(2, text:sub(1, pos):gsub("\n", "")) + 1 end
  local function find(name, from) return text:find("%f[%w_]" .. name .. "%s*=[^=]", from) end
  local names = {}
  for name in tostring(key or ""):gmatch("[%a_][%w_]*") do names[#names + 1] = name end
  if #names > 0 then
    local pos = 1
    for _, name in ipairs(names) do
      pos = find(name, pos)
      if not pos then break end
    end
    if pos then return line_of(pos) end
    pos = find(names[#names], 1)
    if pos then return line_of(pos) end
  end
  if anchor then
    local pos = text:find(anchor)
    if pos then return line_of(pos) end
  end
  return nil
end

--- Raise a usage error (bad flag, unknown command): exit code 2.
function M.usage(fmt, ...)
  local msg = select("#", ...) > 0 and fmt:format(...) or fmt
  error(setmetatable({ msg = one_line(msg), code = 2 }, UserError), 0)
end

function M.is_user(e) return rawequal(debug.getmetatable(e), UserError) end

--- A user error raised inside a script's call, rebuilt from its raw
-- fields (the script may have caught it and changed them before raising it
-- again): nil unless `e` is a user error with a string message.
function M.copy_user(e)
  if not M.is_user(e) then return nil end
  local function str(k)
    local v = rawget(e, k)
    return type(v) == "string" and v or nil
  end
  local msg, code = str("msg"), rawget(e, "code")
  if not msg then return nil end
  if code ~= 1 and code ~= 2 then code = 1 end
  return setmetatable({ msg = msg, code = code, detail = str("detail"), bare = str("bare"), key = str("key") },
    UserError)
end

--- A one-line text for any error value, calling none of its metamethods (a
-- script's error object may have a __tostring that never returns): a
-- string's or number's first line cut to `max` bytes (default 500), else
-- "error object is a <type> value".
function M.describe(e, max)
  local text
  if type(e) == "string" then text = e
  elseif type(e) == "number" then text = tostring(e)
  elseif M.is_user(e) and type(rawget(e, "msg")) == "string" then text = rawget(e, "msg")
  else return ("error object is a %s value"):format(type(e)) end
  text = text:match("^[^\n]*")
  max = max or 500
  if #text > max then text = text:sub(1, max) .. "..." end
  return text
end

--- The first line of an error string, without a traceback.
function M.first_line(s)
  s = tostring(s)
  return (s:match("^[^\n]*"))
end

--- Levenshtein distance, for "did you mean" suggestions.
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- The candidate nearest to `word` (sorted list), or nil when none is close.
function M.nearest(word, candidates)
  local best, best_d
  for _, c in ipairs(candidates) do
    local d = distance(word, c)
    if best_d == nil or d < best_d then best, best_d = c, d end
  end
  if best and best_d <= math.max(2, #word // 3) then return best end
  return nil
end

return M

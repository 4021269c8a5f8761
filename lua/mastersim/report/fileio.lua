--- Writing report files atomically: a reader of `path` sees the old file or
-- the new one, never a half-written one, and a failed write leaves nothing
-- behind. (No fsync: pure Lua cannot; the rename is atomic, not durable
-- across a power loss.)
local M = {}

-- This process's id (Linux /proc), else "0": part of the temp name.
local function process_id()
  local f = io.open("/proc/self/stat", "r")
  if not f then return "0" end
  local line = f:read("l")
  f:close()
  return line and line:match("^(%d+)") or "0"
end

local PID = process_id()
-- Unique per Lua state in this process while it lives (runs on several
-- threads each have their own state): the address of a table.
local STATE = (tostring({}):match("0x(%x+)$")) or "1"
local counter = 0

--- A temporary file name next to `path` (same directory, so the rename is
-- atomic), unique per process, Lua state and call; no random draws.
function M.temp_name(path)
  counter = counter + 1
  return ("%s.tmp.%s.%s.%d"):format(path, PID, STATE, counter)
end

--- Write `text` to `path` atomically: write a temp file, flush, close,
-- rename onto `path`. Returns true, or nil and a message (the temp file is
-- removed).
function M.atomic_write(path, text)
  assert(type(path) == "string" and type(text) == "string", "atomic_write(path, text): strings expected")
  local tmp = M.temp_name(path)
  local f, err = io.open(tmp, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  if ok then ok, werr = f:flush() end
  local closed, cerr = f:close()
  if ok and not closed then ok, werr = nil, cerr end
  if ok then ok, werr = os.rename(tmp, path) end
  if not ok then
    os.remove(tmp)
    return nil, werr
  end
  return true
end

return M

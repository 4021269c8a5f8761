--- Writing report and result files. A regular file (or a missing path) is
-- replaced atomically: a reader of `path` sees the old file or the new one,
-- never a half-written one, and a failed write leaves the old one and no
-- temporary file. Anything else -- a device (/dev/null, /dev/full), a FIFO,
-- a link such as /dev/stdout -- is written in place and never replaced.
-- (ms_outfile in the C core does the work; no fsync: the rename is atomic,
-- not durable across a power loss.)
local core = require "mastersim.core"

local M = {}

--- Write `text` to `path`. Returns true, or nil and the reason
-- ("No space left on device").
function M.write(path, text)
  assert(type(path) == "string" and type(text) == "string", "fileio.write(path, text): strings expected")
  return core.write_file(path, text)
end

return M

--- Helpers shared by the specs: temporary files and running the CLI.
local M = {}

M.bin = os.getenv("MASTERSIM_BIN") or "build/mastersim"
M.root = os.getenv("MASTERSIM_ROOT") or "."

local tmpdir
--- A fresh temporary directory for this spec process.
function M.tmpdir()
  if not tmpdir then
    local p = io.popen("mktemp -d /tmp/mastersim-spec.XXXXXX")
    tmpdir = p:read("l")
    p:close()
  end
  return tmpdir
end

--- Write `text` to a file named `name` in the temporary directory.
function M.write(name, text)
  local path = M.tmpdir() .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

--- Write a scripted sim `name` (the file name.lua in the temporary
-- directory) lasting `duration`, whose setup(sim) runs `body`: the body's
-- first line is line 5 of the file, which error messages name.
function M.scripted_sim(name, duration, body)
  return M.write(name .. ".lua", ('local ms = require "mastersim"\nreturn ms.scenario {\n'
    .. '  name = "%s", duration = "%s",\n  setup = function(sim)\n%s\n  end,\n}\n'):format(name, duration, body))
end

function M.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
M.quote = quote

--- Run the mastersim binary with `args` (a list); returns exit code,
-- stdout, stderr. opts: cwd, timeout (seconds: the process is killed
-- then, and the code is 137).
function M.cli(args, opts)
  opts = opts or {}
  local out, err = M.tmpdir() .. "/out", M.tmpdir() .. "/err"
  local parts = { quote(M.bin) }
  if opts.timeout then table.insert(parts, 1, ("timeout -s KILL %d"):format(opts.timeout)) end
  for _, a in ipairs(args) do parts[#parts + 1] = quote(a) end
  local cmd = table.concat(parts, " ")
  if opts.cwd then cmd = "cd " .. quote(opts.cwd) .. " && " .. cmd end
  local _, _, code = os.execute(cmd .. " >" .. out .. " 2>" .. err .. " </dev/null")
  return code, M.read(out), M.read(err)
end

--- Run a shell command; returns exit code, stdout.
function M.sh(cmd)
  local p = io.popen(cmd)
  local s = p:read("a")
  local _, _, code = p:close()
  return code, s
end

--- core.stress options for a short run on a small store, with t's on top.
local SHORT_STRESS = { keys = 2000, readers = 2, duration = "300ms", apply_every = "30ms" }
function M.stress_options(t)
  local o = {}
  for k, v in pairs(SHORT_STRESS) do o[k] = v end
  for k, v in pairs(t) do o[k] = v end
  return o
end

return M

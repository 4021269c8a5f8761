-- mastersim list: the sims and policies on the search path, each with its
-- description, or its load error.
local errors = require "mastersim.errors"
local paths = require "mastersim.paths"

local M = {}

M.USAGE = [==[
usage: mastersim list

The sims and policies found in $MASTERSIM_PATH and the built-in directories,
each with its description; a file that does not load is listed with its error.
]==]

local parse -- the CLI's (set by M.install)

-- Describe a sim or policy file: true and its description, or false and
-- its load error.
local function describe(kind, path)
  local ok, v = pcall(function()
    if kind == "sims" then
      local sc = require("mastersim").load_sim(path)
      return sc.description ~= "" and sc.description or ("(" .. (sc.cluster and "cluster" or "scripted") .. " sim)")
    end
    return require("mastersim.policy").load(path).summary
  end)
  if ok then return true, v end
  return false, "error: " .. errors.first_line(errors.is_user(v) and v.msg or v)
end

-- The entries of directory d for `kind`. In a directory of its kind every
-- file is listed; in a directory holding sims and policies side by side a
-- file is listed under the kind it loads as (one that loads as neither,
-- under sims, with its error).
local function entries(kind, d)
  local own = d:match("/" .. kind .. "$") ~= nil
  local out = {}
  for _, n in ipairs(paths.list(d)) do
    local path = d .. "/" .. n .. ".lua"
    local ok, text = describe(kind, path)
    if own or ok or (kind == "sims" and not describe("policies", path)) then
      out[#out + 1] = { name = n, text = text }
    end
  end
  return out
end

--- mastersim list: the sims and policies found, with descriptions.
function M.list(args)
  local _, opt = parse("list", args, { help = "flag" })
  if opt.help then
    io.stdout:write(M.USAGE)
    return 0
  end
  local out = io.stdout
  for _, kind in ipairs({ "policies", "sims" }) do
    local seen = {}
    out:write(kind, ":\n")
    for _, d in ipairs(paths.dirs(kind)) do
      local shown = entries(kind, d)
      if #shown > 0 then
        out:write("  ", d, "\n")
        local w = 0
        for _, s in ipairs(shown) do w = math.max(w, #s.name) end
        for _, s in ipairs(shown) do
          out:write(("    %-" .. w .. "s  %s%s\n"):format(s.name, s.text,
            seen[s.name] and (" (shadowed by " .. seen[s.name] .. ")") or ""))
          seen[s.name] = seen[s.name] or d
        end
      end
    end
  end
  return 0
end

--- Register the command in the CLI's table; `cli` provides parse.
function M.install(commands, cli)
  parse = cli.parse
  commands.list = M.list
end

return M

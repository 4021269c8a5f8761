--- Scenarios: what a sim file returns. ms.scenario validates the table at
-- the point of definition so errors name the sim file and line.
local schema = require "mastersim.schema"

local M = {}

local Scenario = {}
Scenario.__index = Scenario
Scenario.__name = "mastersim.Scenario"
M.Scenario = Scenario

local function positive(v) return v > 0, "must be greater than 0" end

M.spec = {
  fields = {
    name = { type = "string", required = true },
    description = { type = "string", default = "" },
    duration = { type = "duration", required = true, check = positive },
    setup = "func",
  },
}

--- Where the caller at stack `level` stands, as "file:line"; nil when it
-- is not a Lua file (e.g. `return ms.scenario {...}` is a tail call, whose
-- frame is gone: the loader then locates the line in the file text).
function M.caller(level)
  local info = debug.getinfo(level + 1, "Sl")
  if not info or info.what == "C" or info.currentline < 0 then return nil end
  local src = info.source:sub(1, 1) == "@" and info.source:sub(2) or info.short_src
  return ("%s:%d"):format(src, info.currentline)
end

--- ms.scenario(t): validate t and return a Scenario.
function M.new(t)
  local where = M.caller(2)
  local sc = schema.check(t, M.spec, "", where)
  sc.where = where
  return setmetatable(sc, Scenario)
end

function M.is(v) return getmetatable(v) == Scenario end

return M

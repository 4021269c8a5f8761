--- mastersim: the public Lua API.
--   local ms = require "mastersim"
--   return ms.scenario { name = "...", duration = "10s", setup = function(sim) ... end }
local core = require "mastersim.core"
local loader = require "mastersim.loader"
local runner = require "mastersim.runner"
local scenario = require "mastersim.scenario"

local ms = {}

ms.version = core.version
ms.scenario = scenario.new
ms.load_sim = loader.load_sim

--- Run a scenario (a Scenario, or the path of a sim file).
-- opts: seed, progress. Returns the result table.
function ms.run(sc, opts)
  if type(sc) == "string" then sc = loader.load_sim(sc) end
  return runner.run(sc, opts)
end

--- Parse a duration ("250us", "1.5s", or seconds) into seconds.
function ms.seconds(v)
  local s, err = core.duration(v)
  if not s then error(err, 2) end
  return s
end

return ms

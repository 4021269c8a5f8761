local ms = require "mastersim"
local support = require "support"

local function load_error(text)
  local path = support.write("bad.lua", text)
  local ok, e = pcall(ms.load_sim, path)
  assert.is_false(ok)
  assert.is_table(e, tostring(e))
  return e.msg, path
end

describe("scenario validation", function()
  it("names the file, the line and the nearest valid key", function()
    local msg, path = load_error([[
local ms = require "mastersim"
return ms.scenario {
  name = "x",
  duraton = "1s",
}]])
    assert.are.equal(path .. ":4: unknown key 'duraton' (did you mean 'duration'?)", msg)
  end)

  it("rejects bad units and wrong types", function()
    local msg, path = load_error([[
local ms = require "mastersim"
return ms.scenario { name = "x", duration = "10 parsecs" }]])
    assert.are.equal(path .. ":2: 'duration': bad duration '10 parsecs': unknown unit 'parsecs' (units: ns, us (µs),"
      .. " ms, s, m (min), h; also nsec, usec, msec, sec, second(s), minute(s), hour(s))", msg)
    msg = load_error([[
local ms = require "mastersim"
return ms.scenario { name = 5, duration = "1s" }]])
    assert.matches(":2: 'name' must be a string, got number$", msg)
    msg = load_error([[
local ms = require "mastersim"
return ms.scenario { name = "x" }]])
    assert.matches(":2: missing required key 'duration'$", msg)
  end)

  it("reports syntax errors and files that return something else", function()
    local msg, path = load_error("local x = = 1\n")
    assert.are.equal(path .. ":1: unexpected symbol near '='", msg)
    msg = load_error("return 42\n")
    assert.matches("a sim file must return ms.scenario { ... } %(it returned number%)$", msg)
    local ok, e = pcall(ms.load_sim, "/nonexistent/sim.lua")
    assert.is_false(ok)
    assert.are.equal("cannot open /nonexistent/sim.lua: No such file or directory", e.msg)
  end)
end)

local ms = require "mastersim"
local support = require "support"

-- Each escape is a sim whose setup tries it; loading or running must end
-- in a user error with exactly this message (first line).
local function sim_with(body)
  return ([[
local ms = require "mastersim"
return ms.scenario {
  name = "escape",
  duration = "1s",
  setup = function(sim)
    %s
  end,
}
]]):format(body)
end

local function user_error(path, opts)
  local ok, e = pcall(ms.run, path, opts)
  assert.is_false(ok, "expected the run to fail")
  assert.is_table(e, "expected a user error, got: " .. tostring(e))
  return e.msg
end

describe("sandbox", function()
  local cases = {
    { "os.exit", "os.exit(3)", ":6: mastersim sandbox: 'os' is not available in a script$" },
    { "io.open", "io.open('/etc/passwd')", ":6: mastersim sandbox: 'io' is not available in a script$" },
    { "require os", "require 'os'",
      ":6: mastersim sandbox: require of 'os' is not allowed %(only 'mastersim'%)$" },
    { "string.dump", "load(string.dump(function() end))",
      ":6: mastersim sandbox: string.dump is not available in a script$" },
    { "load binary", "load(('').dump(function() end))",
      ":6: mastersim sandbox: binary chunks are not allowed$" },
    { "load binary mode", "load('return 1', 'x', 'b')",
      ":6: mastersim sandbox: binary chunks are not allowed %(load mode must be 't'%)$" },
    { "debug", "debug.sethook()", ":6: mastersim sandbox: 'debug' is not available in a script$" },
    { "new global", "x = 1", ":6: assignment to undeclared global 'x' %(use 'local'%)$" },
    { "ms.compare (spawns workers)", "require('mastersim').compare { sim = 'hello', policies = { 'block' } }",
      ":6: mastersim sandbox: ms.compare is not available in a script %(it runs or loads outside the sandbox%)$" },
    { "ms.load_policy (reads any file)", "require('mastersim').load_policy('/etc/passwd')",
      ":6: mastersim sandbox: ms.load_policy is not available in a script %(it runs or loads outside the sandbox%)$" },
    { "infinite loop", "while true do end", ":6: step budget of 100000000 exceeded$" },
    { "loop that catches the kill", "while true do pcall(function() while true do end end) end",
      ":6: step budget of 100000000 exceeded$" },
    { "1 GiB string", "local s = string.rep('x', 1 << 30)",
      ": memory cap of 256 MiB exceeded$" },
    { "growing table", "local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(64) .. i end",
      ": memory cap of 256 MiB exceeded$" },
  }
  for _, c in ipairs(cases) do
    it("stops " .. c[1] .. " with its specific error", function()
      local path = support.write("escape.lua", sim_with(c[2]))
      local msg = user_error(path)
      assert.matches("^" .. path:gsub("%p", "%%%0"), msg)
      assert.matches(c[3], msg)
    end)
  end

  it("applies the budget to callbacks scheduled by the script", function()
    local path = support.write("late.lua", sim_with("sim:at('0.5s', function() while true do end end)"))
    assert.matches("late.lua:6: step budget of 100000000 exceeded$", user_error(path))
  end)

  it("applies the memory cap to callbacks scheduled by the script", function()
    local path = support.write("late_mem.lua",
      sim_with("sim:after('0.5s', function() local s = string.rep('x', 1 << 30) end)"))
    assert.matches("late_mem.lua: memory cap of 256 MiB exceeded$", user_error(path))
  end)

  it("gives every callback a budget of its own", function()
    -- 50 callbacks of ~6000 steps each under a budget of 20000: each
    -- fits, all together would not
    local path = support.write("each.lua", sim_with([[
      local function work(s) local x = 0 for i = 1, 1500 do x = x + i end s:count("done") end
      for i = 1, 50 do sim:after(i * 0.01, work) end]]))
    local sc = ms.load_sim(path, { steps = 20000, memory = 1 << 20 })
    assert.are.equal(50, ms.run(sc).counters.done)
    local path2 = support.write("one.lua", sim_with([[
      sim:after(0.1, function() local x = 0 for i = 1, 1e5 do x = x + i end end)]]))
    local ok, e = pcall(ms.run, ms.load_sim(path2, { steps = 20000, memory = 1 << 20 }))
    assert.is_false(ok)
    assert.matches("one.lua:6: step budget of 20000 exceeded$", e.msg)
  end)

  it("calls callbacks with the sim and leaves no hook behind", function()
    local path = support.write("arg.lua", sim_with([[
      sim:after(0.1, function(s) s:count("self", s == sim and 1 or 0) end)
      sim:at("0.2s", function(s) s:count("at", s:now() == 0.2 and 1 or 0) end)
      sim:every(0.25, function(s) s:count("every", s == sim and 1 or 0) end)]]))
    local r = ms.run(path)
    assert.are.same({ self = 1, at = 1, every = 4 }, r.counters) -- 0.25 .. 1 s
    assert.is_nil(debug.gethook())
  end)

  it("takes a smaller budget when asked", function()
    local path = support.write("small.lua", sim_with("for _ = 1, 1e6 do end"))
    local sc = ms.load_sim(path, { steps = 20000, memory = 1 << 20 })
    local ok, e = pcall(ms.run, sc)
    assert.is_false(ok)
    assert.matches("step budget of 20000 exceeded", e.msg)
  end)

  it("gives scripts math.random on the run's 'script' stream", function()
    local path = support.write("rand.lua", sim_with("sim:count('r', math.random(1000))"))
    local a = ms.run(path, { seed = 7 }).counters.r
    local b = ms.run(path, { seed = 7 }).counters.r
    local c = ms.run(path, { seed = 8 }).counters.r
    assert.are.equal(a, b)
    assert.are_not.equal(a, c)
    assert.is_true(a >= 1 and a <= 1000)
  end)

  it("leaves the host state usable after a memory-cap hit", function()
    local path = support.write("mem.lua", sim_with("local s = string.rep('x', 1 << 30)"))
    user_error(path)
    local big = string.rep("y", 300 * 1024 * 1024) -- outside the sandbox: no cap
    assert.are.equal(300 * 1024 * 1024, #big)
  end)
end)

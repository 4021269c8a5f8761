-- The step meter (src/lua/lms_meter.c): scripts are rewritten so that every
-- function entry, loop iteration and backward-goto label charges the
-- sandbox's budget; there is no debug hook. The rewriting must leave the
-- script's meaning and line numbers alone and leave no way to run on
-- without charging.
local core = require "mastersim.core"
local sandbox = require "mastersim.sandbox"
local support = require "support"

local small = { steps = 100000, memory = 64 << 20, wall = 20 }

--- Run `src` metered in a fresh sandbox env with args; ok, results... or
-- false, kind, message (first line).
local function run(src, limits, ...)
  local fn, err = core.meter_load(src, "=script", sandbox.new_env({}))
  assert(fn, err)
  local res = table.pack(core.sandbox_call(limits or small, fn, ...))
  if not res[1] then res[3] = tostring(res[3]):match("^[^\n]*") end
  return table.unpack(res, 1, res.n)
end

describe("the step meter", function()
  it("leaves a script's results and its errors' line numbers as they were", function()
    local ok, v = run([[
      local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
      local t = {}
      for i = 1, 10 do t[#t + 1] = fib(i) end
      local s = 0
      for _, x in ipairs(t) do s = s + x end
      local i = 0
      repeat i = i + 1 until i >= 3
      while i < 6 do i = i + 1 end
      return s + i, select("#", ...)]], small, "a", "b")
    assert.is_true(ok)
    assert.are.equal(143 + 6, v)
    for _, case in ipairs {
      { "local x = nil\nfor i = 1, 2 do\n  x.y = i\nend", "script:3:" },
      { "local function f()\n\n  error('here')\nend\nf()", "script:3: here" },
      { "local i = 0\n::top::\ni = i + 1\nif i > 2 then error('three') end\ngoto top", "script:4: three" },
      { "repeat\n  local z = nil\nuntil z.w", "script:3:" },
    } do
      local ok2, kind, msg = run(case[1])
      assert.is_false(ok2)
      assert.are.equal("error", kind)
      assert.are.equal(case[2], msg:sub(1, #case[2]), case[1])
    end
  end)

  it("keeps the labels a goto may only jump forward to where Lua wants them", function()
    -- `::continue::` at the end of a loop body is outside the scope of the
    -- body's locals only while nothing but void statements follows it
    local ok, v = run([[
      local n = 0
      for i = 1, 10 do
        local x = i
        if x % 2 == 0 then goto continue end
        n = n + x
        ::continue::
      end
      do goto done; local y = 1; ::done:: ; end
      repeat local z = 1 ::again:: until z == 1
      return n]])
    assert.is_true(ok)
    assert.are.equal(25, v)
  end)

  local loops = {
    { "while", "while true do end" },
    { "repeat", "repeat until false" },
    { "numeric for", "for _ = 1, math.huge do end" },
    { "generic for", "for _ in function() return 1 end do end" },
    { "backward goto", "::top:: goto top" },
    { "recursion", "local function f() return 1 + f() end f()" },
    { "tail recursion", "local function f() return f() end f()" },
    { "an __index chain",
      "local t = setmetatable({}, {}) getmetatable(t).__index = function(s, k) return s[k] end return t.x" },
    { "a coroutine",
      "local co = coroutine.wrap(function() while true do coroutine.yield() end end) while true do co() end" },
    { "gsub's replacement function", "local s = ('x'):rep(1e4) while true do s:gsub('x', function() end) end" },
    { "sort's comparator",
      "local t = {} for i = 1, 500 do t[i] = -i end while true do table.sort(t, function(a, b) return a < b end) end" },
    { "a chunk loaded from text", "load('while true do end')()" },
    { "a chunk loaded from a reader",
      "local p = { 'while true ', 'do end' } local i = 0 load(function() i = i + 1 return p[i] end)()" },
    { "a pcall loop", "while true do pcall(function() while true do end end) end" },
  }
  for _, case in ipairs(loops) do
    it("stops " .. case[1] .. " with the budget", function()
      local ok, kind, msg = run(case[2])
      assert.is_false(ok)
      if kind == "error" then -- Lua's own limit may come first for unbounded recursion
        assert.matches("stack overflow", msg)
      else
        assert.are.equal("budget", kind, msg)
        assert.matches(":%d+: step budget of 100000 exceeded$", msg)
      end
    end)
  end

  it("stops at exactly the first charge past the budget", function()
    -- the chunk charges 1 + 7/2 = 4 (`local t = ... while true do`), each
    -- iteration 1 + 10/2 = 6 (`t.n = t.n + 1 end`): 4 + 6k > 100000 first
    -- at k = 16667, whose charge raises before its body runs
    for _ = 1, 3 do
      local t = { n = 0 }
      local ok, kind = run("local t = ... while true do t.n = t.n + 1 end", small, t)
      assert.is_false(ok)
      assert.are.equal("budget", kind)
      assert.are.equal(16666, t.n)
    end
  end)

  it("charges a long branch when it is taken, and a short one with the code around it", function()
    -- a call costs f's own code (`if x then`, `return 0 end`: 1 + 6/2 = 4)
    -- and the loop's body (`f(false) end`: 1 + 5/2 = 3); the long branch,
    -- with the if's `end`, 1 + 25/2 = 13 more when it runs: 7 or 20 a call
    local src = [[
      local f = function(x)
        if x then local a = 1 local b = a + 1 local c = b + 1 local d = c + 1 return d end
        return 0
      end
      local n = ...
      for _ = 1, n do f(false) end
      return true]]
    local limits = { steps = 10 * 15000, memory = 64 << 20, wall = 20 }
    assert.is_true(run(src, limits, 15000))
    assert.are.equal("budget", select(2, run(src:gsub("f%(false%)", "f(true)"), limits, 15000)))
  end)

  it("compiles every Lua file of the project, and a cut of one exactly when Lua does", function()
    local files = {}
    for _, dir in ipairs { "lua/mastersim", "lua/mastersim/report", "sims", "policies", "spec", "bench", "scripts" } do
      local p = io.popen("ls " .. support.root .. "/" .. dir .. "/*.lua 2>/dev/null")
      for f in p:lines() do files[#files + 1] = f end
      p:close()
    end
    assert.is_true(#files > 60, "found " .. #files .. " files")
    local rng = core.rng(7, "meter_spec")
    for _, path in ipairs(files) do
      local f = assert(io.open(path, "rb"))
      local text = f:read("a")
      f:close()
      text = text:gsub("^#[^\n]*", "") -- a script's #! line, which only lua.c skips
      local fn, err = core.meter_load(text, "@" .. path)
      assert(fn, err)
      for _ = 1, 20 do -- cut anywhere: an error exactly when Lua's own is one, and the same error
        local cut = text:sub(1, rng:below(#text + 1))
        local ok_lua, lua_err = load(cut, "=cut", "t")
        local ok_meter, meter_err = core.meter_load(cut, "=cut")
        assert.are.equal(ok_lua == nil, ok_meter == nil, path)
        assert.are.equal(lua_err, meter_err, path)
      end
    end
  end)

  it("refuses the names it uses itself", function()
    local fn, err = core.meter_load("local x = 1\nlocal __ms_t = {}", "@sim.lua")
    assert.is_nil(fn)
    assert.are.equal("sim.lua:2: names starting with '__ms_' are reserved for the sandbox", err)
  end)

  it("reports a syntax error as Lua does, for the text as written", function()
    local _, expected = load("x = = 1", "=s", "t")
    local fn, err = core.meter_load("x = = 1", "=s")
    assert.is_nil(fn)
    assert.are.equal(expected, err)
    local _, at_end = load("while true do", "=s", "t")
    assert.are.equal(at_end, select(2, core.meter_load("while true do", "=s")))
  end)

  it("charges a weighted draw for its pass over the weights", function()
    -- 100 draws over 20,000 weights: a step each would be far under the
    -- budget; n / 8 + 1 each is 250,100 steps, over it
    local rng = core.rng(1, "w")
    local w = {}
    for i = 1, 20000 do w[i] = 1 end
    local ok, kind = core.sandbox_call(small, function() for _ = 1, 100 do rng:weighted(w) end end)
    assert.is_false(ok)
    assert.are.equal("budget", kind)
    assert.is_true(core.sandbox_call(small, function() for _ = 1, 30 do rng:weighted(w) end end))
  end)

  it("loads mastersim's own modules metered, so library loops charge the script", function()
    -- the meter's searcher comes right after package.preload's, before
    -- Lua's own file searcher, and takes only mastersim's modules
    assert.are.equal("function", type(package.searchers[2]("mastersim.stats")))
    assert.is_nil(package.searchers[2]("busted"))
    local old = package.loaded["mastersim.stats"] -- maybe loaded before the searcher was in place
    package.loaded["mastersim.stats"] = nil
    local stats = require "mastersim.stats"
    package.loaded["mastersim.stats"] = old
    local xs = {}
    for i = 1, 2e5 do xs[i] = i end
    local ok, kind = core.sandbox_call(small, stats.mean, xs)
    assert.is_false(ok)
    assert.are.equal("budget", kind)
    assert.are.equal(1e5 + 0.5, stats.mean(xs))
  end)
end)

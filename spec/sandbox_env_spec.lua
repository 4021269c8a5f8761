-- What a script sees in the sandbox: the counted string matchers give the
-- stock results, C loops are charged to the budget, objects are named
-- without addresses, next and pairs have a fixed order, and finalizers and
-- weak tables are refused.
local core = require "mastersim.core"
local sandbox = require "mastersim.sandbox"

--- Run `src` as a script in a fresh sandbox (names restart at #1);
-- returns ok, results... or false, kind, message.
local function script(src, limits)
  local env = sandbox.new_env({})
  local fn = assert(core.meter_load(src, "=script", env))
  core.sandbox_reset()
  return core.sandbox_call(limits or sandbox.defaults, fn)
end

local function value(src, limits)
  local ok, a, b = script(src, limits)
  assert(ok, tostring(b))
  return a
end

local function failure(src, limits)
  local ok, kind, msg = script(src, limits)
  assert.is_false(ok)
  return kind, msg:match("^[^\n]*")
end

describe("the sandbox's string functions", function()
  local mine = core.sandbox_strings()

  -- Call f(...) and describe the outcome: results, or the error message
  -- without the function's name (stock functions are found by name).
  local function outcome(f, ...)
    local r = table.pack(pcall(f, ...))
    if not r[1] then return "error: " .. tostring(r[2]):gsub("to '[^']*'", "to ?") end
    local parts = {}
    for i = 2, r.n do parts[#parts + 1] = type(r[i]) .. ":" .. tostring(r[i]) end
    return table.concat(parts, "|")
  end

  local function gmatch_all(lib, s, p, init)
    return function()
      local out = {}
      for a, b in lib.gmatch(s, p, init) do out[#out + 1] = tostring(a) .. "," .. tostring(b) end
      return table.concat(out, ";")
    end
  end

  local function same(s, p, init, repl)
    for _, fn in ipairs { "find", "match" } do
      assert.are.equal(outcome(string[fn], s, p, init), outcome(mine[fn], s, p, init), fn .. " " .. p)
    end
    assert.are.equal(outcome(string.find, s, p, init, true), outcome(mine.find, s, p, init, true))
    assert.are.equal(outcome(gmatch_all(string, s, p, init)), outcome(gmatch_all(mine, s, p, init)), p)
    assert.are.equal(outcome(string.gsub, s, p, repl), outcome(mine.gsub, s, p, repl), "gsub " .. p)
  end

  it("match what Lua's own match on chosen patterns", function()
    local subjects = { "", "hello world", "a=1, b=2", "  trim me  ", "THE (quick) fox", "aaab",
                       "x(y(z)y)x", "key = value # c", "\0a\0b", "12.5e3 -7" }
    local patterns = { "a*b", "(%w+)=(%w+)", "^%s*(.-)%s*$", "%bxy", "%b()", "%f[%w]%w+", "(a)(b)%2",
                       "()aa()", "[%a_][%w_]*", "[^%d]+", "%d+%.?%d*", ".-b", "a?b?c?", "[a-c]+", "%%",
                       "^", "$", "", "x*", "(", "%", "[a", "%g+", "%P+", "%Z", "%1", "(()", "[]]", "[^]]",
                       "%z", "[%]]", "a-", "(.)%1", "%w-=" }
    local repls = { "<%0>", "%1-%1", "%%", "%2", { a = "A", hello = false }, function(x) return x and #x end }
    for i, s in ipairs(subjects) do
      for j, p in ipairs(patterns) do
        same(s, p, (i + j) % 5 - 2, repls[(i + j) % #repls + 1])
      end
    end
  end)

  it("match what Lua's own match on 3000 random patterns", function()
    local rng = core.rng(11, "patterns")
    local alphabet = { "a", "b", "(", ")", ".", "%", "[", "]", "^", "$", "*", "+", "-", "?", "%a", "%b()", "%1" }
    for _ = 1, 3000 do
      local p, s = {}, {}
      for k = 1, 1 + rng:below(8) do p[k] = alphabet[1 + rng:below(#alphabet)] end
      for k = 1, rng:below(12) do s[k] = ("ab()"):sub(1 + rng:below(4)):sub(1, 1) end
      same(table.concat(s), table.concat(p), 1 + rng:below(3), "[%0]")
    end
  end)

  it("repeat as string.rep does", function()
    for _, c in ipairs { { "ab", 3 }, { "ab", 3, "," }, { "", 5 }, { "x", 0 }, { "x", -1 }, { "x", 1, "sep" } } do
      assert.are.equal(string.rep(table.unpack(c)), mine.rep(table.unpack(c)))
    end
    -- (too large: n * (#s + #sep) beyond 2^31 - 1, refused before anything is made)
    local more = { { "abc", 7, "--" }, { "a", 1000, "bc" }, { "x", 2 ^ 31 }, { "x", 2 ^ 30, "y" }, { "x", 1.5 } }
    for _, c in ipairs(more) do
      assert.are.equal(outcome(string.rep, table.unpack(c)), outcome(mine.rep, table.unpack(c)))
    end
  end)

  -- What the manual leaves to the implementation, as the stock functions
  -- do it: a malformed part is an error only once a match reaches it, the
  -- reading of sets, quantifiers after items that take none, '$' and '^'
  -- where they are not anchors, the recursion limit (200 frames, one per
  -- capture item and per choice), empty matches next to matches.
  it("agree with Lua's own where the manual is silent", function()
    local a300 = ("a"):rep(300)
    local cases = {
      { "b", "a%" }, { "a", "a%" }, { "x", "[a" }, { "", "%b" }, { "ab", "%bx" }, { "ab", "%f" }, { "ab", "%fa" },
      { "ab", "(a%1)" }, { "ab", "%0" }, { "ab", ".)" }, { "ab", "b)" }, { "ab", "(()" }, { "x", ("(x?)"):rep(33) },
      { a300, ("a?"):rep(199) }, { a300, ("a?"):rep(200) }, { a300, ("a-"):rep(200) .. "$" },
      { a300, ("(a?)"):rep(16) .. ("a?"):rep(135) }, { a300, ("(a?)"):rep(16) .. ("a?"):rep(136) },
      { "x-z)", "[%a-z]+" }, { "%(", "[a-%d]" }, { "]^-", "[]-a]+" }, { "]a", "[^]]" }, { "a-", "[a-]+" },
      { "]]", "[%]]+" }, { "\0\31 ", "[\0-\31]+" }, { "abaab", "%baa" }, { "((a)", "%b()" }, { "(a)**", "%b()*" },
      { "a*", "()*" }, { "aa*", "(a)%1*" }, { "a", "%f[%z]" }, { "a", "%f[%Z]" }, { " a ", "%f[^%z]" },
      { "aXa", "()a%1" }, { "abab", "((a)b)%1" }, { "a$b", "a$b" }, { "$a", "$a" }, { "a$", "(a$)" },
      { "^a^", "^a" }, { "^a^", "a^" }, { "abc", "" }, { "abc", "x*" }, { "aaa", "a-" }, { "a,b,,c", "[^,]*" },
      { "abc", "^" }, { "abc", "$" }, { "a\0b", "%z" }, { "\255\128a", "[\128-\255]+" },
    }
    for i, c in ipairs(cases) do
      for _, init in ipairs { 1, -2, 3, 10 } do same(c[1], c[2], init, i % 2 == 0 and "<%0>" or "%1") end
    end
  end)

  it("replace as Lua's own gsub does", function()
    local repls = { "%0%1%2", "%9", "%", "%x", "a%", "%%", 5, 2.5, { a = "A", b = false, ["("] = 1.5, x = {} },
                    function(...) return select("#", ...) .. (...) end, function() return nil end,
                    function() return {} end }
    local patterns = { "a", "(a)(b)", "()b", "(a", "[ab]", "", "b*", "%f[%w]" }
    for _, r in ipairs(repls) do
      for _, p in ipairs(patterns) do
        for _, n in ipairs { false, 0, -1, 1, 2, 2.5 } do
          local s = "ab(x ab"
          assert.are.equal(outcome(string.gsub, s, p, r, n or nil), outcome(mine.gsub, s, p, r, n or nil), p)
        end
      end
    end
    assert.are.equal(outcome(string.gsub, "a", "a"), outcome(mine.gsub, "a", "a"))
    assert.are.equal(outcome(string.gsub, "a", "a", true), outcome(mine.gsub, "a", "a", true))
  end)

  it("see the same character classes in every byte", function()
    for c = 0, 255 do
      local ch = string.char(c)
      for cl in ("acdglpsuwxzqACDGLPSUWXZQ%]"):gmatch(".") do
        for _, p in ipairs { "%" .. cl, "[%" .. cl .. "]", "[^%" .. cl .. "]", "%f[%" .. cl .. "]" } do
          assert.are.equal(string.find(ch, p), mine.find(ch, p), c .. " " .. p)
        end
      end
    end
  end)

  it("match what Lua's own match on 3000 random patterns of sets and escapes", function()
    local rng = core.rng(12, "pattern characters")
    local chars = { "a", "b", "(", ")", ".", "%", "[", "]", "^", "$", "*", "+", "-", "?", "A", "1", "\0", "\255", " ",
                    "f", "w", "_" }
    local repls = { "[%0]", "%1", "%%", { a = 1, b = false }, function(x) return x end }
    for i = 1, 3000 do
      local p, s = {}, {}
      for k = 1, 1 + rng:below(12) do p[k] = chars[1 + rng:below(#chars)] end
      for k = 1, rng:below(14) do s[k] = chars[1 + rng:below(#chars)] end
      same(table.concat(s), table.concat(p), rng:below(9) - 3, repls[i % #repls + 1])
    end
  end)

  it("are what method calls on strings reach inside a script, and only there", function()
    assert.are.equal(true, value("return ('x').find == string.find and ('x').gsub == string.gsub"))
    assert.are.equal(string.find, ("").find) -- outside the sandbox: the stock function
    assert.are_not.equal(mine.find, ("").find)
  end)
end)

describe("the sandbox's budget", function()
  -- (the wall limit turns a regression into a failure instead of a hang)
  local small = { steps = 100000, memory = 64 << 20, wall = 20 }
  local cases = {
    { "an exponential pattern", "return ('a'):rep(30) :find(('a*'):rep(10) .. 'b')" },
    { "string.rep of nothing", "return string.rep('', 1e12)" },
    { "table.concat over a C __index",
      "return table.concat(setmetatable({}, { __index = table.concat }), '', 1, 1e9)" },
    { "table.move", "return table.move({}, 1, 1e15, 1)" },
    { "table.insert under a huge __len",
      "table.insert(setmetatable({}, { __len = function() return 1e15 end }), 1, 1)" },
    { "table.remove under a huge __len", "table.remove(setmetatable({}, { __len = function() return 1e15 end }), 1)" },
    { "table.sort under a huge __len", "table.sort(setmetatable({}, { __len = function() return 2^30 end }))" },
  }
  for _, c in ipairs(cases) do
    it("is charged for " .. c[1], function()
      local kind, msg = failure(c[2], small)
      assert.are.equal("budget", kind)
      assert.are.equal("script:1: step budget of 100000 exceeded", msg)
    end)
  end

  it("is charged for backtracking in gmatch, a plain find's comparisons, and little for a common match", function()
    for _, src in ipairs {
      "return ('a'):rep(4e4):find(('a*'):rep(12) .. 'b')",
      "for _ in ('a'):rep(30):gmatch(('a*'):rep(10) .. 'b') do end",
      "return ('a'):rep(2e4):find(('a'):rep(1e4) .. 'b', 1, true)",
      "return ('('):rep(2e4):find('%b()')",
    } do
      local kind, msg = failure(src, small)
      assert.are.equal("budget", kind, src)
      assert.are.equal("script:1: step budget of 100000 exceeded", msg)
    end
    -- about 40 instructions a match, with the loop's 6
    assert.are.equal(1000, value([[
      local n = 0
      for _ = 1, 1000 do
        if ("key = value"):match("^(%w+)%s*=%s*(.-)%s*$") then n = n + 1 end
      end
      return n]], small))
  end)

  it("stops a pcall loop once a coroutine spent it", function()
    local kind, msg = failure([[
      pcall(coroutine.wrap(function() while true do end end))
      while true do pcall(function() for _ = 1, 1e7 do end end) end]], small)
    assert.are.equal("budget", kind)
    assert.are.equal("script:2: step budget of 100000 exceeded", msg)
  end)

  it("counts coroutines' instructions against the call's budget", function()
    -- 4e5 loop iterations cost about 1.2e6 instructions: within 2e6, and
    -- five times as many are not
    local src = [[
      local n = 0
      local co = coroutine.wrap(function() for _ = 1, %d do n = n + 1 end end)
      co()
      return n]]
    local limits = { steps = 2000000, memory = 64 << 20, wall = 20 }
    assert.are.equal(400000, value(src:format(400000), limits))
    assert.are.equal("budget", (failure(src:format(2000000), limits)))
  end)

  it("stops slow instructions at the wall-clock limit", function()
    local slow = { steps = 1e12, memory = 256 << 20, wall = 0.5 }
    local t0 = core.wall()
    local kind, msg = failure([[
      local s = ("x"):rep(1 << 24)
      while true do pcall(function() return #(s .. s) end) end]], slow)
    assert.are.equal("budget", kind)
    assert.are.equal("script:2: wall-clock limit of 0.5 s exceeded", msg)
    -- uncaught, the first copy refused after the deadline ends the call
    kind, msg = failure([[
      local s = ("x"):rep(1 << 24)
      while true do local _ = #(s .. s) end]], slow)
    assert.are.equal("budget", kind)
    assert.are.equal("wall-clock limit of 0.5 s exceeded", msg)
    assert.is_true(core.wall() - t0 < 30) -- 1 s idle; a bound, not a benchmark
  end)
end)

describe("the sandbox's names for objects", function()
  it("are numbered in the order tostring first meets them", function()
    assert.are.equal("table: #1 table: #2 table: #1 function: #3", value([[
      local a, b = {}, {}
      return tostring(a) .. " " .. tostring(b) .. " " .. tostring(a) .. " " .. tostring(print)]]))
  end)

  it("are the same in string.format's %s; %p is refused", function()
    assert.are.equal("table: #1/table: #1/7", value("local t = {} return ('%s/%s/%d'):format(t, t, 7)"))
    local _, msg = failure("local s = string.format('%5p', {}) return s")
    assert.are.equal("script:1: mastersim sandbox: string.format's '%p' is not available in a script " ..
      "(addresses differ from run to run)", msg)
    assert.are.equal("100%p", value("return ('%d%%p'):format(100)"))
    -- only %s names objects: other conversions keep format's own errors
    _, msg = failure("local s = ('%q'):format({}) return s")
    assert.are.equal("script:1: bad argument #2 to 'string.format' (value has no literal form)", msg)
  end)

  it("leave __tostring and __name to the object", function()
    assert.are.equal("mine thing: #1", value([[
      local a = setmetatable({}, { __tostring = function() return "mine" end })
      local b = setmetatable({}, { __name = "thing" })
      return tostring(a) .. " " .. tostring(b)]]))
  end)
end)

describe("the sandbox's next and pairs", function()
  it("visit booleans, numbers, then strings, each in order", function()
    assert.are.equal("false true -1 1 2 2.5 3 1e+300 10 a b", value([[
      local t = { b = 1, a = 2, [3] = 3, [1] = 1, [2] = 2, [2.5] = 4, [-1] = 0, [true] = 1,
                  [false] = 0, ["10"] = 1, [1e300] = 1 }
      local out = {}
      for k in pairs(t) do out[#out + 1] = tostring(k) end
      local k, viaNext = nil, {}
      repeat
        k = next(t, k)
        viaNext[#viaNext + 1] = k ~= nil and tostring(k) or nil
      until k == nil
      assert(table.concat(out, " ") == table.concat(viaNext, " "))
      return table.concat(out, " ")]]))
  end)

  it("allow clearing fields during a traversal, as Lua does", function()
    assert.are.equal("a b c 0", value([[
      local t = { a = 1, b = 2, c = 3 }
      local seen = {}
      for k in pairs(t) do seen[#seen + 1] = k t[k] = nil end
      local k = next({ x = 1, y = 2 })
      return table.concat(seen, " ") .. " " .. (next(t) == nil and 0 or 1) .. (k == "x" and "" or "?")]]))
  end)

  it("honour __pairs, and refuse keys that have no order", function()
    assert.are.equal(3, value([[
      local function iter(_, k) if not k then return 3 end end
      local t = setmetatable({}, { __pairs = function() return iter, nil, nil end })
      for k in pairs(t) do return k end]]))
    local _, msg = failure("for k in pairs({ [{}] = 1 }) do end")
    assert.are.equal("script:1: mastersim sandbox: next/pairs over a table with a table key has no fixed " ..
      "order (keep such keys in a list)", msg)
    _, msg = failure("return next({ a = 1 }, 'zz')")
    assert.are.equal("script:1: invalid key to 'next'", msg)
  end)
end)

describe("the sandbox's setmetatable", function()
  it("refuses finalizers and weak tables", function()
    local _, msg = failure("setmetatable({}, { __gc = true })")
    assert.are.equal("script:1: mastersim sandbox: __gc metamethods are not available in a script " ..
      "(finalizers run outside the step budget)", msg)
    _, msg = failure("setmetatable({}, { __mode = 'k' })")
    assert.are.equal("script:1: mastersim sandbox: weak tables (__mode) are not available in a script " ..
      "(what the garbage collector keeps would change results)", msg)
    assert.are.equal(2, value("return setmetatable({}, { __index = function() return 2 end }).x"))
  end)
end)

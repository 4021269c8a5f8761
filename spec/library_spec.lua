--- mastersim as a library under busted: the .busted file at the root makes a
-- plain `busted` there use mastersim's Lua and the source tree's library,
-- with nothing set in the environment; docs/example_spec.lua is the sample
-- the README points at.
local support = require "support"

local q = support.quote
-- None of the test environment: what a researcher's shell has.
local CLEAN_ENV = "env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 -u MASTERSIM_ROOT"
  .. " -u MASTERSIM_PATH -u MASTERSIM_BIN"

-- busted in the root on `file`; returns exit code and output. The plain
-- build is what .busted names; another build (ASan) passes its own --lua.
local function busted(file)
  local root = support.root
  local bin_dir = support.bin:match("^(.*)/[^/]*$") or "."
  local lua = ""
  if not bin_dir:match("/build$") and bin_dir ~= "build" then lua = " --lua=" .. q(bin_dir .. "/mastersim-lua") end
  return support.sh(("cd %s && %s busted%s -o TAP %s 2>&1 </dev/null"):format(q(root), CLEAN_ENV, lua, q(file)))
end

describe("busted in the repository root", function()
  it("runs a spec under mastersim's Lua 5.4 with the library found, from .busted alone", function()
    local probe = support.write("probe_spec.lua", [[
describe("the interpreter", function()
  it("is mastersim's", function()
    assert.are.equal("Lua 5.4", _VERSION)
    assert.is_function(package.preload["mastersim.core"])
    assert.are.equal("lua/mastersim/init.lua", package.searchpath("mastersim", package.path))
  end)
end)]])
    local code, out = busted(probe)
    assert.are.equal(0, code, out)
    assert.matches("ok 1 %- the interpreter is mastersim's", out)
  end)

  it("runs docs/example_spec.lua, the README's sample, which stays about 10 lines", function()
    local code, out = busted("docs/example_spec.lua")
    assert.are.equal(0, code, out)
    assert.matches("ok 1 %- wait_then_redirect on follower_catchup serves no torn or crashed read", out)
    assert.matches("\n1%.%.1\n", "\n" .. out)
    local lines = select(2, support.read(support.root .. "/docs/example_spec.lua"):gsub("\n", ""))
    assert.is_true(lines <= 12, lines .. " lines")
  end)
end)

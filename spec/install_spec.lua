--- Installing: `cmake --install` into a prefix and `luarocks make` into a
-- tree, then the installed CLI and module used from outside the source tree,
-- with none of the test environment that points at it. The luarocks case
-- builds the project again (a copy of the tree under /tmp, so nothing is
-- written into the source tree), so these run once: under lua5.4 only.
local support = require "support"

local q = support.quote
local once = os.getenv("MS_TEST_INTERP") == "lua5.4"
-- The variables of the test environment that lead back to the source tree.
local CLEAN_ENV = "env -u MASTERSIM_ROOT -u MASTERSIM_PATH -u MASTERSIM_LUA_DIR -u MASTERSIM_BIN"
  .. " -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4"

local function slow_it(name, fn)
  if once then
    it(name, fn)
  else
    pending(name .. " (slow: runs only under lua5.4, MS_TEST_INTERP=lua5.4)")
  end
end

--- A fresh directory under /tmp (its canonical path), removed when the
-- calling test ends.
local function scratch()
  local code, dir = support.sh("cd \"$(mktemp -d /tmp/mastersim-install.XXXXXX)\" && pwd -P")
  assert(code == 0, "mktemp failed")
  dir = dir:gsub("%s+$", "")
  finally(function() os.execute("rm -rf " .. q(dir)) end)
  return dir
end

local function is_file(p)
  local f = io.open(p, "rb")
  if f then f:close() end
  return f ~= nil
end

--- Run a shell command with stderr folded in; returns exit code, output.
local function sh(cmd) return support.sh("(" .. cmd .. ") 2>&1 </dev/null") end

local function argline(args)
  local parts = {}
  for i, a in ipairs(args) do parts[i] = q(a) end
  return table.concat(parts, " ")
end

--- Run an installed binary from / without the test environment; returns
-- exit code, stdout, stderr.
local function run_installed(bin, args)
  local out, err = support.tmpdir() .. "/inst.out", support.tmpdir() .. "/inst.err"
  local _, _, code = os.execute(("cd / && %s %s %s >%s 2>%s </dev/null"):format(CLEAN_ENV, q(bin), argline(args),
    q(out), q(err)))
  return code, support.read(out), support.read(err)
end

--- The digest line of a run of the build tree's binary, for comparison.
local function built_digest(args)
  local code, out = support.cli(args)
  assert.are.equal(0, code)
  return out:match("\ndigest%s+[^\n]+")
end

local RUN = { "run", "follower_catchup", "--policy", "block", "--set", "duration=5s" }

describe("install", function()
  slow_it("cmake --install lays out a prefix whose binary needs no source tree", function()
    local prefix = scratch() .. "/prefix"
    local build = support.bin:match("^(.*)/[^/]*$") or "."
    local code, out = sh(("cmake --install %s --prefix %s"):format(q(build), q(prefix)))
    assert.are.equal(0, code, out)
    for _, p in ipairs { "bin/mastersim", "share/lua/5.4/mastersim/init.lua", "share/lua/5.4/mastersim/cli.lua",
      "share/lua/5.4/mastersim/report/json.lua", "lib/lua/5.4/mastersim/core.so",
      "share/mastersim/sims/follower_catchup.lua", "share/mastersim/policies/block.lua",
      "share/man/man1/mastersim.1" } do
      assert.is_true(is_file(prefix .. "/" .. p), "not installed: " .. p)
    end

    local bin = prefix .. "/bin/mastersim"
    local err
    code, out, err = run_installed(bin, RUN)
    assert.are.equal(0, code, err)
    assert.matches("scenario  follower_catchup (" .. prefix .. "/share/mastersim/sims/follower_catchup.lua)",
      out, 1, true)
    assert.matches("(" .. prefix .. "/share/mastersim/policies/block.lua)", out, 1, true)
    assert.are.equal(built_digest(RUN), out:match("\ndigest%s+[^\n]+"))

    -- The library comes from the prefix too, and so does the C module path.
    local script = support.write("where.lua",
      'print(package.searchpath("mastersim.cli", package.path))\nprint((package.cpath:match("^[^;]+")))\n')
    code, out, err = run_installed(bin, { "lua", script })
    assert.are.equal(0, code, err)
    assert.are.equal(prefix .. "/share/lua/5.4/mastersim/cli.lua\n" .. prefix .. "/lib/lua/5.4/?.so\n", out)

    local _, help = support.cli({ "--help" })
    if help:match("\n  list ") then
      code, out, err = run_installed(bin, { "list" })
      assert.are.equal(0, code, err)
      assert.matches(prefix .. "/share/mastersim/sims\n", out, 1, true)
      assert.matches("follower_catchup", out, 1, true)
    else
      code, out, err = run_installed(bin, { "version" })
      assert.are.equal(0, code, err)
      assert.matches("^mastersim %d+%.%d+%.%d+ ", out)
    end

    -- busted with the prefix's mastersim-lua runs a researcher's spec from
    -- anywhere, nothing set (README: "from an installed prefix").
    local spec_dir = scratch()
    local f = assert(io.open(spec_dir .. "/my_spec.lua", "wb"))
    f:write('local ms = require "mastersim"\ndescribe("mastersim", function()\n  it("runs hello", function()\n'
      .. '    local r = ms.run("hello")\n    assert.are.equal("done", r.status)\n  end)\nend)\n')
    f:close()
    code, out = sh(("cd %s && %s busted --lua=%s -o TAP my_spec.lua"):format(q(spec_dir), CLEAN_ENV,
      q(prefix .. "/bin/mastersim-lua")))
    assert.are.equal(0, code, out)
    assert.matches("ok 1 %- mastersim runs hello", out)

    -- The man page renders without warnings (where man is installed).
    if os.execute("command -v man >/dev/null 2>&1") then
      code, out = sh(("LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l %s 2>&1 >/dev/null")
        :format(q(prefix .. "/share/man/man1/mastersim.1")))
      assert.are.equal(0, code, out)
      assert.are.equal("", out)
    end
  end)

  slow_it("luarocks make installs a tree that stock lua5.4 and the CLI use", function()
    local dir = scratch()
    assert.are.equal(0, (sh("command -v luarocks")), "luarocks is not installed (scripts/bootstrap installs it)")
    -- Build from a copy: luarocks builds in ./build.luarocks of where it runs.
    local code, out = sh(("mkdir %s/src && tar -C %s --exclude=./.git --exclude=./build --exclude='./build-*'"
      .. " --exclude=./build.luarocks -cf - . | tar -C %s/src -xf -"):format(q(dir), q(support.root), q(dir)))
    assert.are.equal(0, code, out)
    local tree = dir .. "/tree"
    local _, jobs = support.sh("nproc 2>/dev/null || echo 2")
    -- the README's command, without --deps-mode=none: Debian's lua-cjson is
    -- no rock, and no line may call it missing (nor may luarocks go online)
    code, out = sh(("cd %s/src && CMAKE_BUILD_PARALLEL_LEVEL=%d luarocks --lua-version=5.4 make --tree=%s"
      .. " mastersim-0.1.0-1.rockspec"):format(q(dir), tonumber(jobs:match("%d+")) or 2, q(tree)))
    assert.are.equal(0, code, out:sub(-3000))
    assert.is_nil(out:find("Missing dependencies", 1, true), out:sub(-3000))
    assert.is_nil(out:find("cjson", 1, true), out:sub(-3000))
    assert.is_nil(out:find("Warning", 1, true), out:sub(-3000))
    for _, p in ipairs { "bin/mastersim", "lib/lua/5.4/mastersim/core.so", "share/lua/5.4/mastersim/init.lua",
      "share/lua/5.4/mastersim/sims/hello.lua", "share/lua/5.4/mastersim/policies/block.lua" } do
      assert.is_true(is_file(tree .. "/" .. p), "not installed: " .. p)
    end

    local _, lpath = support.sh(("luarocks --lua-version=5.4 path --tree=%s --lr-path"):format(q(tree)))
    local _, lcpath = support.sh(("luarocks --lua-version=5.4 path --tree=%s --lr-cpath"):format(q(tree)))
    local chunk = ("package.path = %q .. ';' .. package.path; package.cpath = %q .. ';' .. package.cpath;"
      .. " local ms = require 'mastersim'; print(ms.version);"
      .. " print(package.searchpath('mastersim.core', package.cpath)); print(require('mastersim.paths').root())")
      :format((lpath:gsub("%s+$", "")), (lcpath:gsub("%s+$", "")))
    code, out = sh(("cd / && %s lua5.4 -e %s"):format(CLEAN_ENV, q(chunk)))
    assert.are.equal(0, code, out)
    local _, version = support.cli({ "version" })
    local lib = tree .. "/share/lua/5.4/mastersim"
    assert.are.equal(version:match("^mastersim (%S+)") .. "\n" .. tree .. "/lib/lua/5.4/mastersim/core.so\n"
      .. lib .. "\n", out)

    local args = { "run", "hello" }
    local err
    code, out, err = run_installed(tree .. "/bin/mastersim", args)
    assert.are.equal(0, code, err)
    assert.matches("(" .. lib .. "/sims/hello.lua)", out, 1, true)
    assert.are.equal(built_digest(args), out:match("\ndigest%s+[^\n]+"))
  end)
end)

local support = require "support"

describe("mastersim CLI", function()
  it("prints help and version", function()
    local code, out = support.cli({ "--help" })
    assert.are.equal(0, code)
    assert.matches("usage: mastersim", out)
    code, out = support.cli({ "version" })
    assert.are.equal(0, code)
    assert.matches("^mastersim %d+%.%d+%.%d+ %(Lua 5%.4%)\n$", out)
  end)

  it("rejects unknown commands and flags with one line and exit 2", function()
    local code, out, err = support.cli({ "frobnicate" })
    local _
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.are.equal("mastersim: unknown command 'frobnicate' (see 'mastersim --help')\n", err)
    code, _, err = support.cli({ "run", "hello", "--sede", "3" })
    assert.are.equal(2, code)
    assert.are.equal("mastersim run: unknown option '--sede'\n", err)
    code, _, err = support.cli({ "run", "hello", "--seed", "x1" })
    assert.are.equal(2, code)
    assert.are.equal("mastersim: bad seed 'x1': expected a non-negative integer\n", err)
  end)

  it("reports a missing or broken sim file in one line with exit 1", function()
    local code, _, err = support.cli({ "run", "/nonexistent.lua" })
    assert.are.equal(1, code)
    assert.are.equal("mastersim: cannot open /nonexistent.lua: No such file or directory\n", err)
    local path = support.write("syntax.lua", "return ms.scenario {\n  name = ,\n}\n")
    code, _, err = support.cli({ "run", path })
    assert.are.equal(1, code)
    assert.are.equal("mastersim: " .. path .. ":2: unexpected symbol near ','\n", err)
    path = support.write("loop.lua", [[
local ms = require "mastersim"
return ms.scenario { name = "l", duration = "1s", setup = function() while true do end end }]])
    code, _, err = support.cli({ "run", path })
    assert.are.equal(1, code)
    assert.are.equal("mastersim: " .. path .. ":2: step budget of 100000000 exceeded\n", err)
  end)

  it("shows a traceback only with --debug", function()
    local path = support.write("err.lua", [[
local ms = require "mastersim"
return ms.scenario { name = "e", duration = "1s", setup = function() error("nope") end }]])
    local code, _, err = support.cli({ "run", path })
    assert.are.equal(1, code)
    assert.are.equal("mastersim: " .. path .. ":2: nope\n", err)
    code, _, err = support.cli({ "--debug", "run", path })
    assert.are.equal(1, code)
    assert.matches("stack traceback", err)
  end)

  it("gives the same output for the same seed and different digests for different seeds", function()
    local c1, o1 = support.cli({ "run", "hello", "--seed", "5" })
    local c2, o2 = support.cli({ "run", "hello", "--seed", "5" })
    local _, o3 = support.cli({ "run", "hello", "--seed", "6" })
    assert.are.equal(0, c1)
    assert.are.equal(0, c2)
    assert.are.equal(o1, o2)
    assert.matches("virtual   10.000000 s", o1)
    assert.are_not.equal(o1:match("digest%s+(%x+)"), o3:match("digest%s+(%x+)"))
  end)

  it("prints nothing but errors with --quiet", function()
    local json = support.tmpdir() .. "/quiet.json"
    local code, out, err = support.cli({ "run", "hello", "--quiet", "--json", json })
    assert.are.same({ 0, "", "" }, { code, out, err })
    assert.matches('"digest"', support.read(json))
    code, out, err = support.cli({ "run", "follower_catchup", "--set", "duration=2s", "--quiet" })
    assert.are.same({ 0, "", "" }, { code, out, err })
    code, out, err = support.cli({ "run", "follower_catchup", "--set", "duration=2s", "--quiet",
      "--json", "/dev/full" })
    assert.are.same({ 1, "", "mastersim: cannot write /dev/full: No space left on device\n" }, { code, out, err })
  end)

  it("writes --json and --history to devices in place and reports a failed write", function()
    local function kind(path) return select(2, support.sh("stat -c %F " .. support.quote(path))) end
    for _, flag in ipairs { "--json", "--history" } do
      local code, out, err = support.cli({ "run", "follower_catchup", "--set", "duration=2s", flag, "/dev/full" })
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.are.equal("mastersim: cannot write /dev/full: No space left on device\n", err)
      assert.are.equal("character special file\n", kind("/dev/full"))
      code = support.cli({ "run", "follower_catchup", "--set", "duration=2s", flag, "/dev/null" })
      assert.are.equal(0, code)
      assert.are.equal("character special file\n", kind("/dev/null"))
    end
    -- /dev/stdout: the result goes to standard output, the link stays
    local code, out = support.cli({ "run", "hello", "--quiet", "--json", "/dev/stdout" })
    assert.are.equal(0, code)
    assert.matches('^{\n  "counters"', out)
    local code2, _, err = support.cli({ "run", "follower_catchup", "--set", "duration=2s",
      "--history", "/nonexistent/h.jsonl" })
    assert.are.equal(1, code2)
    assert.are.equal("mastersim: cannot write /nonexistent/h.jsonl: No such file or directory\n", err)
    -- a runs file on a device: nothing to resume from it (/dev/full reads as
    -- endless zeros: reading it ran out of memory), and the append fails
    code2, _, err = support.cli({ "compare", "follower_catchup", "--set", "duration=1s", "--policies", "block",
      "--seeds", "1", "--runs", "/dev/full", "--quiet" })
    assert.are.equal(1, code2)
    assert.are.equal("mastersim: cannot write /dev/full: No space left on device\n", err)
    assert.are.equal("character special file\n", kind("/dev/full"))
  end)

  it("stops cleanly on SIGINT and marks the results partial", function()
    local path = support.write("long.lua", [[
local ms = require "mastersim"
return ms.scenario {
  name = "long", duration = "1000000s",
  setup = function(sim)
    local function tick() sim:after(0.001, tick) end
    sim:after(0, tick)
  end,
}]])
    local cmd = ("%s run %s >%s/sig.out 2>&1 & pid=$!; sleep 1; kill -INT $pid; wait $pid; echo $?")
      :format(support.quote(support.bin), support.quote(path), support.tmpdir())
    local _, rc = support.sh(cmd)
    local out = support.read(support.tmpdir() .. "/sig.out")
    assert.are.equal("130", rc:match("%d+"))
    assert.matches("status    interrupted %(partial results%)", out)
    assert.matches("digest    %x+", out)
  end)
end)

describe("mastersim run: messages for common mistakes", function()
  local READ_FIELDS = "arrived, attempt, client, last_seen_index, op, source, timed_out, waited, wakeups"

  it("names a misspelt read or node field, the policy's file and line, and the nearest field", function()
    local typo = support.write("typo.lua", [[
return {
  name = "typo",
  summary = "A typo in a read field.",
  params = { timeout = "1s" },
  on_read = function(read, node, p)
    if node.phase ~= "applying" then return "serve" end
    if read.waitd >= p.timeout then return "fail", "ETIMEDOUT" end
    return "wait", p.timeout
  end,
}]])
    local code, out, err = support.cli({ "run", "follower_catchup", "--policy", typo, "--quiet" })
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.are.equal(("mastersim: %s:7: read has no field 'waitd' (did you mean 'waited'?) (its fields: %s)\n")
      :format(typo, READ_FIELDS), err)
    local node_typo = support.write("node_typo.lua", [[
return { name = "n", summary = "A typo in a node field.",
  on_read = function(read, node)
    if node.phse == "applying" then return "fail", "EAGAIN" end
    return "serve"
  end }]])
    local _
    code, _, err = support.cli({ "run", "follower_catchup", "--policy", node_typo, "--quiet" })
    assert.are.equal(1, code)
    assert.matches("^mastersim: " .. node_typo:gsub("%p", "%%%0") .. ":3: node has no field 'phse' %(did you mean"
      .. " 'phase'%?%) %(its fields: [%w_, ]+%)\n$", err)
  end)

  it("names a misspelt node field in a trigger, with the sim's file and line", function()
    local sim = support.write("trigger_typo.lua", [[
local ms = require "mastersim"
return ms.scenario { name = "t", duration = "3s", cluster = { masters = 3 },
  clients = { { count = 1, rate = 1 } },
  faults = { ms.when(function(c) return c.m1.aply_progress > 0.5 end, ms.crash "m1") } }]])
    local code, _, err = support.cli({ "run", sim, "--quiet" })
    assert.are.equal(1, code)
    assert.matches("^mastersim: " .. sim:gsub("%p", "%%%0") .. ":4: node has no field 'aply_progress' %(did you"
      .. " mean 'apply_progress'%?%)", err)
  end)

  it("suggests the nearest policy name for an unknown --policy", function()
    local code, out, err = support.cli({ "run", "follower_catchup", "--policy", "blok" })
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.are.equal("mastersim run: unknown policy 'blok' (did you mean 'block'?) (policies: block,"
      .. " block_then_stale, bounded_lag, fail_fast, redirect_leader, stale_read, unguarded, unsafe)\n", err)
  end)

  it("accepts '40 sec' and lists the units for an unknown one", function()
    local code, out = support.cli({ "run", "follower_catchup", "--set", "duration=5 sec" })
    assert.are.equal(0, code)
    assert.matches("virtual 5%.%d s", out) -- the last read ends within the grace
    local _, _, err = support.cli({ "run", "follower_catchup", "--set", "duration=5 parsecs", "--quiet" })
    assert.matches("bad duration '5 parsecs': unknown unit 'parsecs' %(units: ns, us %(µs%), ms, s, m %(min%), h;",
      err)
  end)
end)

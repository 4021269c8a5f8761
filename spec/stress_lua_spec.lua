--- Lua policies in the stress harness: a policy file decides the reads of
-- each reader thread, in a Lua state of that thread's own
-- (src/lua/lms_stress_policy.c; the C side is tests/test_stress_decide.c).
local support = require "support"
local core = require "mastersim.core"

local with = support.stress_options

local function policy(name) return support.root .. "/policies/" .. name .. ".lua" end

local function policy_file(name, on_read)
  return support.write(name .. ".lua", ([[
return {
  name = %q,
  summary = "A test policy.",
  on_read = function(read, node, p)
    %s
  end,
}
]]):format(name, on_read))
end

describe("core.stress with a Lua policy", function()
  it("waits behind the gate with policies/block.lua: no torn read, every waiter woken", function()
    local r = assert(core.stress(with { lua_policy = policy("block") }))
    assert.are.equal("lua", r.policy)
    local o = r.outcomes
    assert.are.equal(0, o.torn + o.failed + o.timed_out)
    assert.is_true(r.applies > 0 and r.reads > 0)
    assert.are.equal(r.gate.waits, r.gate.wakeups)
    assert.are.equal(0, r.leaked_bytes)
  end)

  it("reads the live store as it is with policies/unguarded.lua (torn during an inplace apply)", function()
    local torn = 0
    for _ = 1, 5 do -- real threads on a busy machine may miss it in one short run
      local r = assert(core.stress(with { lua_policy = policy("unguarded"), keys = 20000, duration = "500ms" }))
      torn = torn + r.outcomes.torn
      if torn > 0 then break end
    end
    assert.is_true(torn > 0)
  end)

  it("serves the previous version with policies/stale_read.lua, and fails with fail_fast", function()
    local r = assert(core.stress(with { lua_policy = policy("stale_read"), mode = "aside" }))
    assert.are.equal(0, r.outcomes.torn)
    local f = assert(core.stress(with { lua_policy = policy("fail_fast"), mode = "aside", every_read = true }))
    assert.are.equal(0, f.outcomes.torn)
  end)

  it("takes params as --param gives them", function()
    local r = assert(core.stress(with { lua_policy = policy("block"), params = { timeout = "1us" },
      keys = 20000, duration = "500ms" }))
    assert.is_true(r.outcomes.timed_out > 0)
  end)

  it("rejects bad Lua-policy options with a precise message", function()
    assert.has_error(function() core.stress(with { lua_policy = {} }) end,
      "core.stress: field 'lua_policy' must be a path")
    assert.has_error(function() core.stress(with { lua_policy = policy("block"), params = "x" }) end,
      "core.stress: field 'params' must be a table of strings")
    assert.has_error(function() core.stress(with { lua_policy = policy("block"), params = { 1 } }) end,
      "core.stress: field 'params' must map names to strings")
  end)
end)

describe("mastersim stress with a Lua policy", function()
  it("prints which file decides, and writes it in the JSON", function()
    local json = support.tmpdir() .. "/stress_lua.json"
    local code, out, err = support.cli({ "stress", "--policy", "block", "--lua", "--every-read", "--keys", "2000",
      "--duration", "300ms", "--apply-every", "30ms", "--json", json })
    assert.are.equal(0, code, err)
    assert.matches("policy    block %(Lua: [^,]*/policies/block%.lua, every read%), mode inplace, 2 readers", out)
    assert.matches("torn 0", out)
    local r = require("cjson").decode(support.read(json))
    assert.are.equal("block", r.policy)
    assert.matches("policies/block%.lua$", r.policy_file)
    assert.is_true(r.every_read)
  end)

  it("takes a policy file's path and its snapshot_mode", function()
    local code, out = support.cli({ "stress", "--policy", policy("stale_read"), "--keys", "2000",
      "--duration", "300ms", "--apply-every", "30ms" })
    assert.are.equal(0, code)
    assert.matches("policy    stale_read %(Lua: .*%), mode aside", out)
  end)

  it("stops on a policy's error with one line naming the file and line, exit 1", function()
    local cases = {
      { policy_file("boom", [[error("boom")]]), ":5: boom\n$" },
      { policy_file("typo", [[return node.phse == "applying" and "fail" or "serve", "EX"]]),
        ":5: node has no field 'phse' %(did you mean 'phase'%?%)" },
      { policy_file("spin", [[while true do end]]), ":5: step budget of 10000000 exceeded\n$" },
      { policy_file("odd", [[return "maybe"]]), ":4: on_read returned unknown decision 'maybe'" },
    }
    for _, c in ipairs(cases) do
      -- every read: the first read meets the error, whatever the applies do
      local code, out, err = support.cli({ "stress", "--policy", c[1], "--every-read", "--keys", "2000",
        "--duration", "2s", "--apply-every", "30ms" })
      assert.are.equal(1, code, c[1] .. ": " .. err .. out)
      assert.are.equal("", out)
      assert.matches("^mastersim: ms_stress: the policy: " .. c[1]:gsub("%p", "%%%0"), err)
      assert.matches(c[2], err)
      assert.are.equal(1, select(2, err:gsub("\n", "")))
    end
  end)
end)

local policy = require "mastersim.policy"
local support = require "support"

local ROOT = support.root

local function node(phase, extra)
  local n = { name = "m3", role = "follower", phase = phase, applied = 100, commit = 200, lag = 100,
              apply_progress = 0.5, stale_index = 100, waiters = 0, last_contact = 0 }
  for k, v in pairs(extra or {}) do n[k] = v end
  return n
end

local function read(extra)
  local r = { op = "get_vol", client = 1, attempt = 1, arrived = 10, waited = 0, wakeups = 0,
              timed_out = false, last_seen_index = 0 }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

local function ref(name) return policy.load(ROOT .. "/policies/" .. name .. ".lua") end

local function err_of(fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  assert.is_table(e, tostring(e))
  return e.msg
end

describe("reference policies", function()
  it("each loads with a name, a summary and a snapshot mode", function()
    for _, n in ipairs { "unsafe", "unguarded", "block", "fail_fast", "stale_read", "block_then_stale",
                         "bounded_lag", "redirect_leader" } do
      local p = ref(n)
      assert.are.equal(n, p.name)
      assert.is_true(#p.summary > 10)
      assert.is_not_nil(policy.MODES[p.snapshot_mode])
    end
  end)

  it("block waits for the rest of its timeout, then fails with ETIMEDOUT", function()
    local p = ref("block")
    assert.are.equal(5, p.params.timeout)
    assert.are.equal("serve", p:decide(read(), node("serving")))
    assert.are.same({ "wait", 5 }, { p:decide(read(), node("applying")) })
    assert.are.same({ "wait", 3 }, { p:decide(read { waited = 2 }, node("applying")) })
    assert.are.same({ "fail", "ETIMEDOUT" }, { p:decide(read { waited = 5 }, node("applying")) })
  end)

  it("takes --param overrides and refuses unknown params", function()
    local p = policy.load(ROOT .. "/policies/block.lua", { timeout = "250ms" })
    assert.are.equal(0.25, p.params.timeout)
    local msg = err_of(policy.load, ROOT .. "/policies/block.lua", { timout = "1s" })
    assert.are.equal("unknown param 'timout' for policy block (did you mean 'timeout'?) (its params: timeout)", msg)
  end)

  it("fail_fast, stale_read, bounded_lag and redirect_leader decide as documented", function()
    assert.are.same({ "fail", "ENOTREADY", 0.01 }, { ref("fail_fast"):decide(read(), node("applying")) })
    assert.are.equal("stale", ref("stale_read"):decide(read(), node("applying")))
    local bl = ref("bounded_lag")
    assert.are.same({ "fail", "ENOTREADY", 0.01 }, { bl:decide(read(), node("applying")) })
    assert.are.same({ "wait", 1 }, { bl:decide(read(), node("applying", { apply_progress = 0.9 })) })
    assert.are.same({ "redirect", "leader" }, { ref("redirect_leader"):decide(read(), node("applying")) })
    assert.are.same({ "wait", 0.05 }, { ref("block_then_stale"):decide(read(), node("applying")) })
    assert.are.equal("stale", ref("block_then_stale"):decide(read { waited = 0.05 }, node("applying")))
  end)
end)

describe("bad policy files", function()
  local function policy_file(body)
    return support.write("pol.lua", body)
  end
  local function with_on_read(body)
    return policy_file(([[
return {
  name = "bad",
  summary = "a policy with a bug",
  on_read = function(read, node, p)
    %s
  end,
}
]]):format(body))
  end

  it("reports a syntax error with file and line", function()
    local path = policy_file("return {\n  name = 'x',\n  on_read = function() return 'serve' end end,\n}\n")
    assert.are.equal(path .. ":3: '}' expected (to close '{' at line 1) near 'end'", err_of(policy.load, path))
  end)

  it("reports a missing on_read", function()
    local path = policy_file("return {\n  name = 'x',\n  summary = 'y',\n}\n")
    assert.are.equal(path .. ":1: missing required key 'on_read'", err_of(policy.load, path))
  end)

  it("reports an unknown key with a suggestion", function()
    local path = policy_file("return {\n  name = 'x',\n  summary = 'y',\n  on_raed = function() end,\n}\n")
    assert.are.equal(path .. ":4: unknown key 'on_raed' (did you mean 'on_read'?)", err_of(policy.load, path))
  end)

  it("reports a decision it does not know", function()
    local p = policy.load(with_on_read("return 'maybe'"))
    assert.are.equal(p.file .. ":4: on_read returned unknown decision 'maybe' (expected serve, stale, wait, "
      .. "fail or redirect)", err_of(p.decide, p, read(), node("applying")))
  end)

  it("reports a wait with a negative time", function()
    local p = policy.load(with_on_read("return 'wait', -1"))
    assert.are.equal(p.file .. ":4: on_read returned 'wait' with a negative time (-1)",
      err_of(p.decide, p, read(), node("applying")))
  end)

  it("stops an infinite loop", function()
    local p = policy.load(with_on_read("while true do end"))
    assert.are.equal(p.file .. ":5: step budget of 10000000 exceeded",
      err_of(p.decide, p, read(), node("applying")))
  end)

  it("reports an error raised inside on_read", function()
    local p = policy.load(with_on_read("error('no quorum today')"))
    assert.are.equal(p.file .. ":5: no quorum today", err_of(p.decide, p, read(), node("applying")))
  end)

  it("reports a fail without a code and a redirect without a target", function()
    local p = policy.load(with_on_read("return 'fail'"))
    assert.matches("on_read returned 'fail' without an error code", err_of(p.decide, p, read(), node("applying")))
    p = policy.load(with_on_read("return 'redirect'"))
    assert.matches("on_read returned 'redirect' without a target", err_of(p.decide, p, read(), node("applying")))
  end)
end)

-- Hostile scripts (spec/fixtures/hostile/), each as a sim and as a policy,
-- run through the CLI under a hard wall limit: every one must stop with
-- exit code 1 and exactly the expected first line on stderr. Before the
-- sandbox held through finalizers, coroutines, pcall'd errors, error
-- objects and the string and table libraries, each of them ran until
-- killed (some past 4 GB).
local core = require "mastersim.core"
local ms = require "mastersim"
local support = require "support"

local DIR = support.root .. "/spec/fixtures/hostile/"
local LIMIT = 60 -- seconds: a case that takes longer hangs
local GC = "mastersim sandbox: __gc metamethods are not available in a script " ..
  "(finalizers run outside the step budget)"
local BUDGET = "step budget of %d exceeded"
local SIM_BUDGET, POLICY_BUDGET = 100000000, 10000000

-- name, line of the sim's message (the policy's is one less; nil: no
-- line), message (BUDGET takes the script's budget)
local CASES = {
  { "gc_loop", 8, GC },
  { "gc_alloc", 8, GC },
  { "find_backtrack", 8, BUDGET },
  { "match_backtrack", 8, BUDGET },
  { "gsub_backtrack", 8, BUDGET },
  { "rep_huge", 8, BUDGET },
  { "table_concat", 9, BUDGET },
  { "coroutine_pcall", 10, BUDGET },
  { "tostring_loop", nil, "error object is a table value" },
  { "tostring_alloc", nil, "error object is a table value" },
}

--- Run the CLI on args under the hard limit; returns code, the first line
-- of stderr, seconds taken.
local function run(args)
  local t0 = core.wall()
  local code, _, err = support.cli(args, { timeout = LIMIT })
  return code, err:match("^[^\n]*"), core.wall() - t0
end

local function expect(path, line, msg, budget)
  return ("mastersim: %s%s: %s"):format(path, line and (":" .. line) or "", msg:format(budget))
end

local function sim_args(path) return { "run", path, "--quiet" } end
local function policy_args(path) return { "run", DIR .. "cluster.lua", "--policy", path, "--quiet" } end

describe("hostile scripts", function()
  for _, c in ipairs(CASES) do
    local name, line, msg = c[1], c[2], c[3]
    it(name .. " (sim) stops with one line", function()
      local path = DIR .. name .. "_sim.lua"
      local code, first, took = run(sim_args(path))
      assert.is_true(took < LIMIT, "hung")
      assert.are.equal(expect(path, line, msg, SIM_BUDGET), first)
      assert.are.equal(1, code)
    end)
    it(name .. " (policy) stops with one line", function()
      local path = DIR .. name .. "_policy.lua"
      local code, first, took = run(policy_args(path))
      assert.is_true(took < LIMIT, "hung")
      assert.are.equal(expect(path, line and line - 1, msg, POLICY_BUDGET), first)
      assert.are.equal(1, code)
    end)
  end

  it("a scenario section whose __index never returns (sim) is stopped by the budget", function()
    local path = DIR .. "metatable_sim.lua"
    local code, first = run(sim_args(path))
    assert.are.equal(expect(path, 8, BUDGET, SIM_BUDGET), first)
    assert.are.equal(1, code)
  end)

  it("a policy table with a metatable (policy) is refused before its fields are read", function()
    local path = DIR .. "metatable_policy.lua"
    local code, first = run(policy_args(path))
    assert.are.equal(expect(path, nil, "a policy file must return a plain table (its table or params has a metatable)"),
      first)
    assert.are.equal(1, code)
  end)

  it("slow instructions (policy) are stopped by the wall-clock deadline", function()
    local path = DIR .. "concat_loop_policy.lua"
    local code, first, took = run(policy_args(path))
    assert.are.equal(expect(path, 9, "wall-clock limit of 10 s exceeded"), first)
    assert.are.equal(1, code)
    assert.is_true(took >= 10 and took < LIMIT, "took " .. took)
  end)

  it("slow instructions (sim) are stopped by the deadline its limits set", function()
    local path = DIR .. "concat_loop_sim.lua"
    local sc = ms.load_sim(path, { steps = SIM_BUDGET, memory = 256 << 20, wall = 1 })
    local ok, e = pcall(ms.run, sc)
    assert.is_false(ok)
    assert.are.equal(path .. ":11: wall-clock limit of 1 s exceeded", e.msg)
  end)
end)

describe("hostile command-line values", function()
  it("a --set argument with a newline is reported in one line (found by fuzz_loader)", function()
    local code, _, err = support.cli({ "run", "hello", "--set", "a\nb" }, { timeout = LIMIT })
    assert.are.equal(2, code)
    assert.are.equal("mastersim: bad --set 'a\\nb': expected key=value\n", err)
  end)
end)

describe("determinism in the sandbox", function()
  -- The policy branches on next()/pairs order over string keys and on
  -- tostring({}); the sim counts them into its digest. String hashing is
  -- seeded per process (luai_makeseed: time and addresses), so before the
  -- sandbox fixed both orders five processes gave five different digests.
  local function digest_cli(args)
    local code, out = support.cli(args, { timeout = LIMIT })
    assert.are.equal(0, code)
    return out:match("digest%s+(%x+)")
  end
  -- in this process: stock lua5.4 under spec_lua54, the mastersim
  -- interpreter under spec_mastersim
  local function digest_here(sim, policy)
    return ms.run(sim, { seed = 3, progress = false, policy = policy }).digest
  end

  it("gives a policy the same digest for a seed in every process", function()
    local args = { "run", DIR .. "cluster.lua", "--policy", DIR .. "order_policy.lua", "--seed", "3" }
    local a, b = digest_cli(args), digest_cli(args)
    assert.is_string(a)
    assert.are.equal(a, b)
    local c, d = digest_here(DIR .. "cluster.lua", DIR .. "order_policy.lua"),
      digest_here(DIR .. "cluster.lua", DIR .. "order_policy.lua")
    assert.are.equal(c, d) -- twice in one process: names restart with each run
    assert.are.equal(a, c) -- this interpreter and the mastersim binary agree
  end)

  it("keeps mastersim's own metatables from a script: runs in one process do not leak into each other", function()
    local sim = ms.load_sim(DIR .. "metatable_leak.lua")
    local first = ms.run(sim, { seed = 1 })
    local second = ms.run(ms.load_sim(DIR .. "metatable_leak.lua"), { seed = 1 })
    assert.are.same({ reachable = 0, marks = 0, own = 1, guarded = 1 }, first.counters)
    assert.are.same(first.counters, second.counters)
    assert.are.equal(first.digest, second.digest)
  end)

  it("gives a sim the same digest and counters in every process", function()
    local args = { "run", DIR .. "order_sim.lua", "--seed", "3" }
    local code, out = support.cli(args, { timeout = LIMIT })
    assert.are.equal(0, code)
    assert.matches("count     first_key1 = 1\n", out, 1, true)
    assert.matches("count     seventh_key15 = 1\n", out, 1, true)
    assert.matches("count     table: #1 = 1\n", out, 1, true)
    assert.matches("count     function: #2 = 1\n", out, 1, true)
    assert.are.equal(out:match("digest%s+(%x+)"), digest_cli(args))
    assert.are.equal(out:match("digest%s+(%x+)"), digest_here(DIR .. "order_sim.lua"))
  end)
end)

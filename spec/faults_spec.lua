-- Fault actions are declared once (faults.ACTIONS): every declared action
-- is exported as ms.<name>, checks its arguments, is carried out by the
-- cluster method of its name with its nodes resolved (names, "leader",
-- "last_crashed"), appears in the result under its name, and is written
-- back by shrink as a call that loads to the same action.
local ms = require "mastersim"
local faults = require "mastersim.faults"
local shrink = require "mastersim.shrink"

-- Valid arguments of each kind, as a sim gives them (by field, then by
-- kind) and as recorded.
local GIVE = { node = "m3", nodes = { "m1" }, factor = 2, b = { "m2", "m3" } }
local BAD = { node = {}, nodes = 7, factor = -1 }
local RECORDED = { node = 3, nodes = { 1 }, factor = 2, b = { 2, 3 } }

local function args_of(def, values)
  local out = {}
  for i, arg in ipairs(def.args) do
    local v = values[arg[1]]
    if v == nil then v = values[arg[2]] end
    out[i] = v
  end
  return table.unpack(out, 1, #def.args)
end

-- A small cluster (cubefs: m1 leads from the start) with these faults.
local function run(actions)
  local sc = ms.scenario {
    name = "faults_each", duration = "2s",
    cluster = { masters = 3, volumes = 5, data_partitions = 100, meta_partitions = 10, nodes = 10, users = 2 },
    clients = { { count = 1, rate = 5 } },
    faults = actions,
  }
  return ms.run(sc, { policy = ms.load_policy("block"), seed = 1, sigint = false })
end

-- What an action needs before it can act (a restart needs a crashed node).
local BEFORE = { restart = ms.crash "m3" }

describe("fault actions", function()
  it("are each exported, and refuse a bad argument naming the action", function()
    assert.is_true(#faults.ACTIONS >= 9)
    for _, def in ipairs(faults.ACTIONS) do
      assert.are.equal(faults[def.name], ms[def.name], def.name)
      local a = ms[def.name](args_of(def, GIVE))
      assert.are.equal(def.name, a.action)
      for _, arg in ipairs(def.args) do
        local bad = {}
        for i = 1, #def.args do bad[i] = select(i, args_of(def, GIVE)) end
        for i, x in ipairs(def.args) do if x == arg then bad[i] = BAD[x[2]] end end
        local ok, err = pcall(ms[def.name], table.unpack(bad, 1, #def.args))
        assert.is_false(ok, def.name .. " took a bad " .. arg[1])
        assert.matches(def.name .. " expects", err)
      end
    end
  end)

  it("are each carried out by the cluster and listed in the result under their name", function()
    for _, def in ipairs(faults.ACTIONS) do
      local list = { ms.at("1s", ms[def.name](args_of(def, GIVE))) }
      if BEFORE[def.name] then table.insert(list, 1, ms.at("0.5s", BEFORE[def.name])) end
      local r = run(list)
      local last = r.faults[#r.faults]
      assert.are.equal(def.name, last and last.action, def.name .. " is the last fault of its run")
      assert.are.equal(1, last.t)
    end
  end)

  it("resolve leader and last_crashed when they fire, in every node argument", function()
    local r = run {
      ms.at("0.5s", ms.crash "leader"),
      ms.at("1s", ms.block("m2", "last_crashed")),
      ms.at("1.5s", ms.restart "last_crashed"),
    }
    local got = {}
    for _, f in ipairs(r.faults) do got[#got + 1] = f.action .. " " .. tostring(f.node) end
    assert.are.same({ "crash m1", "block m2", "restart m1" }, got)
  end)

  it("are written back by shrink as calls that make the same action", function()
    for _, def in ipairs(faults.ACTIONS) do
      local rec = { action = def.name }
      for i, v in ipairs({ args_of(def, RECORDED) }) do rec[def.args[i][1]] = v end
      local src = shrink.fault_source({ t = 1, a = rec })
      local made = assert(load("local ms = ...; return " .. src))(ms)
      local want = faults.resolve(ms[def.name](args_of(def, GIVE)), { m1 = 1, m2 = 2, m3 = 3 })
      assert.are.same(want, faults.resolve(made.action, { m1 = 1, m2 = 2, m3 = 3 }), src)
    end
  end)
end)

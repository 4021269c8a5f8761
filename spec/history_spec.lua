--- History exports (--history-format porcupine|edn) and their cross-check
-- with an independent linearizability checker (scripts/check-linearizable:
-- Python, a Wing & Gong / Lowe search over a register per key, reading the
-- files only, never mastersim's classification of reads).
local cjson = require "cjson"
local support = require "support"

local q = support.quote
local CHECKER = support.root .. "/scripts/check-linearizable"

-- A small follower catch-up; ROUTE is where clients send reads.
local SIM = [[
local ms = require "mastersim"
return ms.scenario {
  name = "tiny_history", duration = "6s", profile = "generic", -- followers read their own store
  cluster = { masters = 3, volumes = 20, data_partitions = 2000, meta_partitions = 200, nodes = 40, users = 5 },
  log = { retain = 200 },
  snapshot = { mode = "inplace", chunk = 512, apply_rate = 4000 },
  server = { workers = 4, queue = 256, service = { default = ms.lognormal("200us", "2ms") } },
  network = { latency = ms.lognormal("250us", "2ms") },
  clients = { { count = 8, rate = 20, route = "ROUTE", timeout = "500ms",
                retry = { max = 2, backoff = "20ms", cap = "200ms" },
                ops = { get_vol = 0.5, get_cluster = 0.3, get_node = 0.2 } } },
  writes = { rate = 80, ops = { create_dp = 0.4, heartbeat = 0.6 } },
  faults = { ms.at("1.5s", ms.crash "m3"), ms.at("3s", ms.restart "m3") },
}]]
local LOCAL = support.write("hist_local.lua", (SIM:gsub("ROUTE", "local")))
local LEADER = support.write("hist_leader.lua", (SIM:gsub("ROUTE", "leader")))

local function check(path)
  return support.sh(("python3 %s %s 2>&1"):format(q(CHECKER), q(path)))
end

local function export(sim, policy, format, name)
  local path = support.tmpdir() .. "/" .. name
  local code, out, err = support.cli({ "run", sim, "--policy", policy, "--history", path, "--history-format", format })
  assert.are.equal(0, code, err)
  return path, out
end

describe("the linearizability checker (scripts/check-linearizable)", function()
  -- hand-made histories with known answers, in both formats
  local function edn(lines) return support.write("hand.edn", table.concat(lines, "\n") .. "\n") end
  local function op(i, typ, f, key, v, p, t)
    return ('{:index %d, :type :%s, :f :%s, :value ["%s" %s], :process %d, :time %d}'):format(i, typ, f, key,
      v == nil and "nil" or tostring(v), p, t)
  end

  it("accepts linearizable register histories", function()
    local cases = {
      { op(0, "invoke", "write", "k", 1, 0, 0), op(1, "ok", "write", "k", 1, 0, 10),
        op(2, "invoke", "read", "k", nil, 1, 20), op(3, "ok", "read", "k", 1, 1, 30) },
      -- a read concurrent with a write may see either value, in real-time order
      { op(0, "invoke", "write", "k", 1, 0, 0), op(1, "invoke", "read", "k", nil, 1, 5),
        op(2, "ok", "read", "k", 0, 1, 10), op(3, "invoke", "read", "k", nil, 1, 12),
        op(4, "ok", "read", "k", 1, 1, 20), op(5, "ok", "write", "k", 1, 0, 30) },
      -- a write that never completed may take effect later
      { op(0, "invoke", "write", "k", 7, 0, 0), op(1, "invoke", "read", "k", nil, 1, 50),
        op(2, "ok", "read", "k", 0, 1, 60), op(3, "invoke", "read", "k", nil, 1, 70),
        op(4, "ok", "read", "k", 7, 1, 80) },
      '{:type :info, :f :crash, :value "m3", :process :nemesis, :time 5}',
    }
    cases[4] = { cases[4], op(0, "invoke", "read", "other", nil, 2, 6), op(1, "ok", "read", "other", 0, 2, 7) }
    for i, lines in ipairs(cases) do
      local code, out = check(edn(lines))
      assert.are.equal(0, code, "case " .. i .. ": " .. out)
      assert.matches("^linearizable: ", out)
    end
  end)

  it("finds stale, non-monotonic and never-written reads", function()
    local cases = {
      { op(0, "invoke", "write", "k", 1, 0, 0), op(1, "ok", "write", "k", 1, 0, 10),
        op(2, "invoke", "read", "k", nil, 1, 20), op(3, "ok", "read", "k", 0, 1, 30) },
      { op(0, "invoke", "write", "k", 1, 0, 0), op(1, "invoke", "read", "k", nil, 1, 5),
        op(2, "ok", "read", "k", 1, 1, 10), op(3, "invoke", "read", "k", nil, 1, 12),
        op(4, "ok", "read", "k", 0, 1, 20), op(5, "ok", "write", "k", 1, 0, 30) },
      { op(0, "invoke", "write", "k", 7, 0, 0), op(1, "invoke", "read", "k", nil, 1, 50),
        op(2, "ok", "read", "k", 7, 1, 60), op(3, "invoke", "read", "k", nil, 1, 70),
        op(4, "ok", "read", "k", 0, 1, 80) },
      { op(0, "invoke", "read", "k", nil, 1, 1), op(1, "ok", "read", "k", -1, 1, 2) },
    }
    for i, lines in ipairs(cases) do
      local code, out = check(edn(lines))
      assert.are.equal(1, code, "case " .. i .. ": " .. out)
      assert.matches("^not linearizable: key k ", out)
    end
    -- the same stale read as a Porcupine history
    local porc = support.write("hand.json", cjson.encode({ operations = {
      { ClientId = 0, Input = { op = "write", key = "k", value = 1 }, Call = 0, Output = {}, Return = 10 },
      { ClientId = 1, Input = { op = "read", key = "k" }, Call = 20, Output = { value = 0 }, Return = 30 } } }))
    local code = check(porc)
    assert.are.equal(1, code)
  end)
end)

describe("run --history-format", function()
  it("on a run with stale follower reads, the independent checker finds a violation in both formats", function()
    for _, fmt in ipairs({ "edn", "porcupine" }) do
      local path = export(LOCAL, "stale_read", fmt, "local." .. fmt)
      local code, out = check(path)
      assert.are.equal(1, code, fmt .. ": " .. out)
      assert.matches("^not linearizable: key ", out)
    end
  end)

  it("on a leader-only run, the checker finds none, in both formats", function()
    for _, policy in ipairs({ "block", "stale_read" }) do
      for _, fmt in ipairs({ "edn", "porcupine" }) do
        local path = export(LEADER, policy, fmt, "leader." .. fmt)
        local code, out = check(path)
        assert.are.equal(0, code, policy .. " " .. fmt .. ": " .. out)
        assert.matches("^linearizable: %d+ operations on %d+ keys\n$", out)
      end
    end
  end)

  it("writes a well-formed EDN history: reads, writes and nemesis ops, one op per process at a time", function()
    local path = export(LOCAL, "block", "edn", "shape.edn")
    local text = support.read(path)
    local open, seen, last_t = {}, { read = 0, write = 0, nemesis = 0 }, -1
    for line in text:gmatch("[^\n]+") do
      if line:sub(1, 1) == "{" then
        local typ, f, proc, t = line:match("^{:index %d+, :type :(%a+), :f :([%a_]+), :value .-, :process ([%w:]+),"
          .. " :time (%d+)}$")
        assert.is_not_nil(typ, line)
        t = tonumber(t)
        assert.is_true(t >= last_t, "not in time order: " .. line)
        last_t = t
        if proc == ":nemesis" then
          seen.nemesis = seen.nemesis + 1
          assert.are.equal("info", typ)
        else
          seen[f] = seen[f] + 1
          if typ == "invoke" then
            assert.is_nil(open[proc], "process " .. proc .. " invoked twice")
            open[proc] = f
          else
            assert.are.equal(open[proc], f, line)
            open[proc] = nil
          end
        end
      end
    end
    assert.is_true(seen.read > 100 and seen.write > 100, cjson.encode(seen))
    assert.are.equal(4, seen.nemesis) -- crash m3 and restart m3, each an :info pair
    assert.matches(':f :crash, :value "m3", :process :nemesis', text)
    assert.matches(":type :ok, :f :write, :value %[\"node:%d+\" %d+%]", text)
  end)

  it("is deterministic and changes nothing in the run", function()
    local a, out_a = export(LOCAL, "unguarded", "porcupine", "a.json")
    local b, out_b = export(LOCAL, "unguarded", "porcupine", "b.json")
    assert.are.equal(support.read(a), support.read(b))
    local _, plain = support.cli({ "run", LOCAL, "--policy", "unguarded" })
    assert.are.equal(plain, out_a)
    assert.are.equal(out_a, out_b)
    local doc = cjson.decode(support.read(a))
    assert.is_true(#doc.operations > 100)
    local o = doc.operations[1]
    assert.is_number(o.Call)
    assert.is_true(o.Return >= o.Call)
    assert.are.equal("nemesis", doc.annotations[1].Tag)
  end)

  it("rejects an unknown format and a format without --history", function()
    local code, _, err = support.cli({ "run", LOCAL, "--history", support.tmpdir() .. "/x", "--history-format",
      "knossos" })
    assert.are.equal(2, code)
    assert.are.equal("mastersim run: unknown --history-format 'knossos' (formats: jsonl, porcupine, edn)\n", err)
    code, _, err = support.cli({ "run", LOCAL, "--history-format", "edn" })
    assert.are.equal(2, code)
    assert.are.equal("mastersim run: --history-format needs --history FILE\n", err)
  end)
end)

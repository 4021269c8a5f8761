-- Values outside the sane range of a setting, and settings that contradict
-- each other, are one-line errors naming the file, the line and the key
-- (exit 1), never an internal error (exit 70) or a run that never ends.
-- The ranges come from the rows of lua/mastersim/settings.lua.
local support = require "support"

local SIM = [[
local ms = require "mastersim"
return ms.scenario {
  name = "v",
  duration = "2s",
  cluster = { masters = 3, volumes = 4, data_partitions = 40, meta_partitions = 8, nodes = 6 },
  clients = { { count = 2, rate = 5, route = "local", retry = { max = 1 } } },
  writes = { rate = 5, ops = { create_dp = 1 } },
  faults = { ms.at("1s", ms.crash "m3") },
}
]]

local function run(args, text)
  local path = support.write("validate.lua", text or SIM)
  local full = { "run", path, "--policy", "block" }
  for _, a in ipairs(args) do full[#full + 1] = a end
  local code, _, err = support.cli(full)
  return code, err, path
end

describe("scenario ranges", function()
  local cases = {
    { "duration=1e300", ":4: 'duration' must be at most 1e+07s (got 1e+300s)" },
    { "cluster.masters=17", ":5: 'cluster.masters' must be at most 16 (got 17)" },
    { "cluster.meta_partitions=2", ":5: 'cluster.meta_partitions' must be at least cluster.volumes (4):" },
    { "raft.election_min=5s", ":2: 'raft.election_max' must not be below raft.election_min (5s)" },
    { "raft.heartbeat=0", ":2: 'raft.heartbeat' must be at least 1ms (got 0s)" },
    { "raft.heartbeat=1ns", ":2: 'raft.heartbeat' must be at least 1ms (got 1ns)" },
    { "raft.heartbeat=100ms", ":2: 'raft.tick' must not be above raft.heartbeat (0.1s) (timers count ticks:" },
    { "timeline.bucket=1ns", ":2: 'timeline.bucket' must be at least 1ms (got 1ns)" },
    { "snapshot.chunk_bytes=0", ":2: 'snapshot.chunk_bytes' must be at least 1024 bytes (got 0 bytes)" },
    { "snapshot.apply_rate=1e-300", ":2: 'snapshot.apply_rate' must be at least 1 (got 1e-300)" },
    { "clients.rate=1e9", ":6: 'clients[1].rate' must be at most 1e+06 (got 1e+09)" },
    { "clients.count=1e7", ":6: 'clients[1].count' must be at most 1e+06 (got 1e+07)" },
    { "writes.rate=1e9", ":7: 'writes.rate' must be at most 1e+06 (got 1e+09)" },
    { "cluster.nodes=1e9", ":5: 'cluster.nodes' must be at most 1e+06 (got 1e+09)" },
    -- fewer than 3 data and 3 meta nodes was an internal error of the image generator (rc 70)
    { "cluster.nodes=5", ":5: 'cluster.nodes' must be at least 6 (got 5)" },
    { "clients.retry.max=1e9", ":6: 'clients[1].retry.max' must be at most 1000 (got 1e+09)" },
  }
  for _, c in ipairs(cases) do
    it("rejects --set " .. c[1], function()
      local code, err, path = run({ "--set", c[1] })
      assert.are.equal(1, code, err)
      assert.are.equal(1, select(2, err:gsub("\n", "")), err)
      assert.are.equal("mastersim: " .. path .. c[2], err:sub(1, #("mastersim: " .. path .. c[2])))
    end)
  end

  it("rejects an infinite duration", function()
    local code, err, path = run({}, SIM:gsub('duration = "2s"', "duration = math.huge"))
    assert.are.equal(1, code, err)
    assert.are.equal(("mastersim: %s:4: 'duration' must be a finite number\n"):format(path), err)
  end)

  it("rejects a fault beyond the longest run and a fault on an unknown node, naming the line", function()
    local code, err, path = run({}, SIM:gsub('ms.at%("1s"', 'ms.at(1e300'))
    assert.are.equal(1, code, err)
    assert.are.equal(("mastersim: %s:8: at: 1e+300s is beyond the longest run (1e+07s)\n"):format(path), err)
    code, err, path = run({}, SIM:gsub('crash "m3"', 'crash "m9"'))
    assert.are.equal(1, code, err)
    assert.are.equal(("mastersim: %s:8: 'faults[1]' names unknown node 'm9' (nodes: m1..m3, leader,"
      .. " last_crashed)\n"):format(path), err)
  end)

  it("checks again what a sim changed in its scenario after ms.scenario checked it", function()
    local text = SIM:gsub("return ms%.scenario {", "local sc = ms.scenario {", 1)
    local code, err, path = run({}, text .. "sc.cluster.nodes = 1e9\nreturn sc\n")
    assert.are.equal(1, code, err)
    assert.are.equal(("mastersim: %s:2: 'cluster.nodes' must be at most 1e+06 (got 1e+09)\n"):format(path), err)
  end)

  it("keeps the cluster view read-only for a fault function", function()
    local code, err, path = run({}, SIM:gsub('ms.at%("1s", ms.crash "m3"%)',
      'ms.at("1s", function(c) c.m1 = "mine" end)'))
    assert.are.equal(1, code, err)
    assert.are.equal(1, select(2, err:gsub("\n", "")), err)
    assert.matches(path:gsub("%p", "%%%0") .. ":8: the cluster view is read%-only %(assignment to 'm1'%)", err)
  end)

  it("lets the generic profile keep its own defaults and rejects an unknown profile", function()
    local code, err = run({ "--set", "profile=generic" })
    assert.are.equal(0, code, err)
    local path
    code, err, path = run({ "--set", "profile=cubfs" })
    assert.are.equal(1, code)
    assert.are.equal(("mastersim: %s:2: 'profile' must be one of 'cubefs', 'generic'\n"):format(path), err)
  end)
end)

describe("policy decisions", function()
  local function policy(body)
    return support.write("pol.lua", ([[
return {
  name = "p", summary = "s", every_read = true,
  on_read = function(read, node)
    %s
  end,
}
]]):format(body))
  end

  local cases = {
    { 'return "fail", "EAGAIN", 0/0',
      "on_read returned 'fail' with a bad retry_after (nan; expected 0 to 1e+07 seconds)" },
    { 'return "fail", string.rep("X", 10000000)', "on_read returned 'fail' with a bad error code '"
      .. ("X"):rep(32) .. "...' (1 to 23 letters, digits, '_', '.', ':' or '-')" },
    { 'return "fail", "E\\nVIL"', "on_read returned 'fail' with a bad error code 'E?VIL'" },
  }
  for _, c in ipairs(cases) do
    it("rejects " .. c[1]:sub(1, 40), function()
      local pol = policy(c[1])
      local path = support.write("validate.lua", SIM)
      local code, out, err = support.cli({ "run", path, "--policy", pol, "--set", "clients.route=local" })
      assert.are.equal(1, code, out .. err)
      assert.are.equal(1, select(2, err:gsub("\n", "")), err)
      assert.is_truthy(err:find("mastersim: " .. pol .. ":3: " .. c[2], 1, true), err)
    end)
  end
end)

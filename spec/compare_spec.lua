-- compare, sweep, merge, check and list through the CLI, on a small sim
-- (about 0.1 s a run) so that the suite stays quick under two interpreters.
local cjson = require "cjson"
local support = require "support"

local SIM = [[
local ms = require "mastersim"
return ms.scenario {
  name = "tiny",
  description = "A small follower catch-up for the specs.",
  duration = "6s",
  cluster = { masters = 3, volumes = 20, data_partitions = 2000, meta_partitions = 200, nodes = 40, users = 5 },
  log = { retain = 200 },
  snapshot = { mode = "inplace", chunk = 512, apply_rate = 4000 },
  server = { workers = 4, queue = 256, service = { default = ms.lognormal("200us", "2ms") } },
  network = { latency = ms.lognormal("250us", "2ms") },
  clients = { { count = 8, rate = 20, route = "local", timeout = "500ms",
                retry = { max = 2, backoff = "20ms", cap = "200ms" },
                ops = { get_vol = 0.6, get_cluster = 0.4 } } },
  writes = { rate = 80, ops = { create_dp = 0.3, heartbeat = 0.7 } },
  faults = { ms.at("1.5s", ms.crash "m3"), ms.at("3s", ms.restart "m3") },
}
]]

local sim = support.write("tiny.lua", SIM)
local dir = support.tmpdir()
local POLICIES = "block,unguarded,stale_read"

local function path(name) return dir .. "/" .. name end

-- compare over the 3 policies x seeds 1-5, writing NAME.json/.csv/.html.
local function compare(name, extra)
  local args = { "compare", sim, "--policies", POLICIES, "--seeds", "1-5", "--json", path(name .. ".json"),
                 "--csv", path(name .. ".csv"), "--html", path(name .. ".html") }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  return support.cli(args)
end

local reference -- the outputs of the plain compare: code, stdout, json, csv, html
local function plain()
  if not reference then
    local code, out, err = compare("plain")
    reference = { code = code, out = out, err = err, json = support.read(path("plain.json")),
                  csv = support.read(path("plain.csv")), html = support.read(path("plain.html")) }
  end
  return reference
end

local function same_outputs(name, out)
  local ref = plain()
  assert.are.equal(ref.json, support.read(path(name .. ".json")))
  assert.are.equal(ref.csv, support.read(path(name .. ".csv")))
  assert.are.equal(ref.html, support.read(path(name .. ".html")))
  if out then assert.are.equal(ref.out, out) end
end

local function count(s, pattern) return select(2, s:gsub(pattern, "")) end

describe("mastersim compare", function()
  it("runs every policy x seed and writes the table, JSON, CSV and HTML", function()
    local ref = plain()
    assert.are.equal(0, ref.code)
    assert.are.equal("", ref.err)
    assert.matches("tiny: 3 policies x 5 seeds %(1%-5%), baseline block; mean±95%% CI over seeds", ref.out)
    assert.matches("Δ vs block", ref.out)
    local doc = cjson.decode(ref.json)
    assert.are.equal("mastersim.compare/1", doc.schema)
    assert.is_false(doc.partial)
    assert.are.equal(15, #doc.results)
    assert.are.same({ "block", "unguarded", "stale_read" }, doc.policies)
    assert.is_nil(doc.results[1].wall)
    assert.are.same({ "block", 1 }, { doc.results[1].policy, doc.results[1].seed })
    assert.are.same({ "stale_read", 5 }, { doc.results[15].policy, doc.results[15].seed })
    assert.matches("^scenario,policy,seed,param_key,metric,value\r\n", ref.csv)
    assert.are.equal(1 + 15 * #require("mastersim.metrics").list, count(ref.csv, "\r\n"))
    assert.matches("^<!DOCTYPE html>", ref.html)
    for _, chart in ipairs({ "latency-cdf", "timeline", "outcome-mix", "staleness", "phases" }) do
      assert.is_truthy(ref.html:find('data-chart="' .. chart .. '"', 1, true))
    end
  end)

  it("computes the means, 95% CIs and paired deltas of a reference computation", function()
    local doc = cjson.decode(plain().json)
    local t4 = 2.776445 -- t(0.975, 4)
    local function avail(policy)
      local xs = {}
      for _, r in ipairs(doc.results) do
        if r.policy == policy then xs[#xs + 1] = (r.reads.outcomes.fresh + r.reads.outcomes.stale) / r.reads.logical end
      end
      return xs
    end
    local function ci(xs)
      local m = 0
      for _, x in ipairs(xs) do m = m + x / #xs end
      local ss = 0
      for _, x in ipairs(xs) do ss = ss + (x - m) ^ 2 end
      return m, t4 * math.sqrt(ss / (#xs - 1)) / math.sqrt(#xs)
    end
    local base = avail("block")
    for i, p in ipairs(doc.summary.policies) do
      local xs = avail(p.policy)
      assert.are.equal(5, #xs)
      local m, h = ci(xs)
      local got = p.metrics.availability
      assert.is_true(math.abs(got.mean - m) < 1e-12)
      assert.is_true(math.abs((got.ci95 or 0) - h) < 1e-12)
      if i > 1 then
        local d = {}
        for k = 1, 5 do d[k] = xs[k] - base[k] end
        local dm, dh = ci(d)
        assert.is_true(math.abs(p.delta.availability.mean - dm) < 1e-12)
        assert.is_true(math.abs((p.delta.availability.ci95 or 0) - dh) < 1e-12)
      end
    end
  end)

  it("gives byte-identical outputs for --jobs 1 and --jobs 2", function()
    local code, out = compare("jobs2", { "--jobs", "2" })
    assert.are.equal(0, code)
    same_outputs("jobs2", out)
  end)

  it("merges shards into the output of an unsharded run", function()
    local files = {}
    for i = 0, 2 do
      files[#files + 1] = path("shard" .. i .. ".jsonl")
      os.remove(files[#files])
      local code, _, err = support.cli({ "compare", sim, "--policies", POLICIES, "--seeds", "1-5",
        "--shard", i .. "/3", "--runs", files[#files], "--jobs", "2" })
      assert.are.equal(0, code, err)
      assert.are.equal(5, count(support.read(files[#files]), "\n"))
    end
    local code, out = support.cli({ "merge", files[3], files[1], files[2], "--json", path("merged.json"),
      "--csv", path("merged.csv"), "--html", path("merged.html") })
    assert.are.equal(0, code)
    same_outputs("merged", out)
  end)

  it("keeps the finished runs on SIGINT, summarises the complete seeds, and resumes to the uninterrupted result",
    function()
    local runs = path("resume.jsonl")
    os.remove(runs)
    -- A real SIGINT after exactly 7 runs (MASTERSIM_TEST_SIGINT_AFTER, raised
    -- by the compare itself while it waits on its workers): no timing luck.
    -- Runs go seed-major, so 7 runs are seeds 1-2 for all 3 policies + one.
    local args = { support.bin, "compare", sim, "--policies", POLICIES, "--seeds", "1-5", "--runs", runs,
                   "--json", path("resume.json"), "--csv", path("resume.csv"), "--html", path("resume.html") }
    for i, a in ipairs(args) do args[i] = support.quote(a) end
    local cmd = ("MASTERSIM_TEST_SIGINT_AFTER=7 %s >%s 2>%s </dev/null; echo $?")
      :format(table.concat(args, " "), path("int.out"), path("int.err"))
    local _, rc = support.sh(cmd)
    assert.are.equal("130", rc:match("%d+"))
    assert.are.equal(7, count(support.read(runs), "\n"))
    local doc = cjson.decode(support.read(path("resume.json")))
    assert.is_true(doc.partial)
    assert.are.equal(7, #doc.results)
    assert.are.same({ 1, 2 }, doc.summary.seeds)
    assert.are.same({ 2, 5 }, { doc.seeds_complete, doc.seeds_expected })
    for _, p in ipairs(doc.summary.policies) do assert.are.equal(2, p.runs) end
    assert.matches("tiny: 3 policies x 2 seeds %(1%-2%)", support.read(path("int.out")))
    assert.matches("partial results: 7 of 15 runs %(interrupted%); partial: 2 complete seeds of 5",
      support.read(path("int.err")))
    local code = compare("resume", { "--runs", runs })
    assert.are.equal(0, code)
    assert.are.equal(15, count(support.read(runs), "\n")) -- nothing ran twice
    same_outputs("resume")
  end)

  it("keys the summary by the policy's name, for a policy file named otherwise, as the baseline too", function()
    local mine = support.write("mine.lua", [[
return {
  name = "patient",
  summary = "Wait on the gate up to 2 s.",
  params = { timeout = "2s" },
  on_read = function(read, node, p)
    if node.phase ~= "applying" then return "serve" end
    if read.waited >= p.timeout then return "fail", "ETIMEDOUT" end
    return "wait", p.timeout - read.waited
  end,
}]])
    local code, out, err = support.cli({ "compare", sim, "--policies", mine .. ",unguarded", "--baseline", mine,
      "--seeds", "1-2", "--runs", path("mine.jsonl"), "--json", path("mine.json") })
    assert.are.equal(0, code, err)
    assert.matches("baseline patient;", out)
    assert.matches("\npatient +[%d.]+±[%d.]+%%", out) -- its row has values, not n/a
    local doc = cjson.decode(support.read(path("mine.json")))
    assert.are.same({ "patient", "unguarded" }, doc.policies)
    assert.are.equal(2, doc.summary.policies[1].runs)
    assert.are.equal(2, doc.summary.policies[2].delta.availability.pairs)
    -- the runs file is keyed the same way: a second run resumes everything
    code = support.cli({ "compare", sim, "--policies", mine .. ",unguarded", "--baseline", "patient",
      "--seeds", "1-2", "--runs", path("mine.jsonl"), "--quiet" })
    assert.are.equal(0, code)
    assert.are.equal(4, count(support.read(path("mine.jsonl")), "\n"))
    -- ms.compare with the path: the same document
    local api = require("mastersim").compare({ sim = sim, policies = { mine, "unguarded" }, seeds = "1-2",
      baseline = mine })
    assert.are.equal(support.read(path("mine.json")), require("mastersim.report.json").encode(api, { indent = 2 })
      .. "\n")
    -- two policies named alike are told apart by their paths
    local other = support.write("block.lua", 'return { name = "block", summary = "s", on_read = function() '
      .. 'return "serve" end }')
    code, out, err = support.cli({ "compare", sim, "--policies", "block," .. other, "--seeds", "1" })
    assert.are.equal(0, code, err)
    assert.matches("block %(" .. other:gsub("%p", "%%%0") .. "%)", out)
    assert.matches("block %([^)]*policies/block%.lua%)", out)
  end)

  it("rejects bad input with one line and exit 2", function()
    local cases = {
      { { "compare", sim, "--policies", "block,nope" }, "mastersim compare: unknown policy 'nope' (policies: "
        .. "block, block_then_stale, bounded_lag, fail_fast, redirect_leader, stale_read, unguarded, unsafe)" },
      { { "compare", sim, "--policies", "blok" }, "mastersim compare: unknown policy 'blok' (did you mean 'block'?)"
        .. " (policies: block, block_then_stale, bounded_lag, fail_fast, redirect_leader, stale_read, unguarded,"
        .. " unsafe)" },
      { { "compare", sim }, "mastersim compare: --policies is required (e.g. --policies block,stale_read)" },
      { { "compare", sim, "--policies", "block,block" }, "mastersim: --policies names 'block' twice" },
      { { "compare", sim, "--policies", "block", "--seeds", "5-1" },
        "mastersim: bad --seeds '5-1': the range 5-1 is empty (5 > 1)" },
      { { "compare", sim, "--policies", "block", "--seeds", "1..5" }, "mastersim: bad --seeds '1..5': '1..5' is"
        .. " not a seed or a range (expected N or N-M, N and M non-negative integers)" },
      { { "compare", sim, "--policies", "block", "--jobs", "0" },
        "mastersim: bad --jobs '0': expected an integer from 1 to 256" },
      { { "compare", sim, "--policies", "block", "--frobs" }, "mastersim compare: unknown option '--frobs'" },
      { { "compare", sim, "--policies", "block", "--baseline", "stale_read" },
        "mastersim compare: the baseline 'stale_read' is not one of --policies" },
      { { "compare", sim, "--policies", "block", "--param", "timout=1s" },
        "mastersim compare: no policy among block has a param 'timout' (did you mean 'timeout'?)" },
      { { "compare", sim, "--policies", "block", "--set", "snapshot.aply_rate=1" },
        "mastersim: --set: unknown scenario key 'snapshot.aply_rate' (did you mean 'snapshot.apply_rate'?)" },
      { { "compare", sim, "--policies", "block", "--shard", "3/3", "--runs", path("x.jsonl") },
        "mastersim: bad --shard '3/3': expected i/n with 0 <= i < n, e.g. 0/4" },
      { { "compare", sim, "--policies", "block", "--shard", "0/3" },
        "mastersim compare: --shard needs --runs FILE (the shard's output)" },
      { { "sweep", sim, "--policies", "block", "--vary", "snapshot.aply_rate=1,2" },
        "mastersim: --vary: unknown scenario key 'snapshot.aply_rate' (did you mean 'snapshot.apply_rate'?)" },
      { { "sweep", sim, "--policies", "block", "--vary", "snapshot=1,2" },
        "mastersim: --vary: 'snapshot' is a section, not a value (e.g. 'snapshot.apply_rate')" },
      { { "sweep", sim, "--policies", "block", "--vary", "snapshot.apply_rate" },
        "mastersim: bad --vary 'snapshot.apply_rate': expected path=v1,v2,..." },
      { { "sweep", sim, "--policies", "block" },
        "mastersim sweep: --vary is required (e.g. --vary snapshot.apply_rate=1e5,1e6)" },
      { { "check", sim, "--seeds", "x" }, "mastersim: bad --seeds 'x': 'x' is not a seed or a range"
        .. " (expected N or N-M, N and M non-negative integers)" },
      { { "merge" }, "mastersim merge: expected one or more runs files (see 'mastersim merge --help')" },
    }
    for _, c in ipairs(cases) do
      local code, out, err = support.cli(c[1])
      assert.are.equal(c[2] .. "\n", err)
      assert.are.equal(2, code)
      assert.are.equal("", out)
    end
  end)
end)

describe("mastersim sweep", function()
  it("runs the grid and writes vary columns and one chart per metric", function()
    local code, out, err = support.cli({ "sweep", sim, "--vary", "snapshot.apply_rate=2000,8000", "--policies",
      "block,stale_read", "--seeds", "1-2", "--jobs", "2", "--json", path("sweep.json"), "--csv", path("sweep.csv"),
      "--html", path("sweep.html") })
    assert.are.equal(0, code, err)
    assert.matches("== snapshot.apply_rate=2000 ==", out)
    assert.matches("== snapshot.apply_rate=8000 ==", out)
    local doc = cjson.decode(support.read(path("sweep.json")))
    assert.are.equal("mastersim.sweep/1", doc.schema)
    assert.are.equal(8, #doc.results)
    assert.are.same({ "snapshot.apply_rate" }, doc.vary)
    assert.are.equal(2, #doc.points)
    assert.are.equal(2000, doc.results[1].vary["snapshot.apply_rate"])
    local csv = support.read(path("sweep.csv"))
    assert.matches("^scenario,policy,seed,param_key,vary%.snapshot%.apply_rate,metric,value\r\n", csv)
    assert.matches("\r\ntiny,block,1,timeout=5,8000,availability,", csv)
    local html = support.read(path("sweep.html"))
    assert.are.equal(#require("mastersim.metrics").list, count(html, 'data%-chart="sweep"'))
  end)
end)

describe("mastersim check", function()
  it("passes a deterministic, safe sim", function()
    local code, out = support.cli({ "check", sim, "--seeds", "1-2", "--jobs", "2" })
    assert.are.equal(0, code)
    assert.are.equal("check " .. sim .. ": 2 of 2 seed runs checked (block x 2 seeds, each run 3 times): 0 failed\n",
      out)
  end)

  it("lists the seeds that violate safety and how to replay one, exit 1", function()
    local unsafe = support.write("unsafe.lua", [[
local ms = require "mastersim"
return ms.scenario {
  name = "unsafe_partition", duration = "6s", profile = "generic",
  cluster = { masters = 3, volumes = 20, data_partitions = 300, meta_partitions = 30, nodes = 20, users = 5 },
  raft = { unsafe_commit_without_majority = true },
  clients = { { count = 2, rate = 10 } },
  writes = { rate = 50 },
  faults = { ms.at("2s", ms.partition({ "m1" }, { "m2", "m3" })), ms.at("4s", ms.heal()) },
}]])
    -- whether a seed violates depends on m1 leading when it is cut off (about
    -- two seeds in three): eight seeds keep the spec from hanging on one draw
    local code, out = support.cli({ "check", unsafe, "--seeds", "1-8" })
    assert.are.equal(1, code)
    assert.matches("seed %d+ %(block%): %d+ raft safety violations %(first: t=", out)
    assert.matches("replay: mastersim run " .. unsafe:gsub("%p", "%%%0") .. " %-%-policy block %-%-seed %d+\n", out)
  end)
end)

describe("mastersim list", function()
  it("lists policies and sims with their descriptions, and files that fail to load with their error", function()
    local extra = support.tmpdir() .. "/extra"
    os.execute("mkdir -p " .. support.quote(extra .. "/policies"))
    local f = assert(io.open(extra .. "/policies/broken.lua", "w"))
    f:write("return {\n  name = ,\n}\n")
    f:close()
    local code, out = support.sh(("MASTERSIM_PATH=%s %s list"):format(support.quote(extra), support.quote(support.bin)))
    assert.are.equal(0, code)
    assert.matches("block%s+Wait on the apply gate until the snapshot is applied, up to a timeout%.", out)
    assert.matches("follower_catchup%s+A follower restarts past the truncated log", out)
    assert.matches("broken%s+error: " .. (extra .. "/policies/broken.lua:2:"):gsub("%p", "%%%0"), out)
  end)
end)

describe("ms.compare", function()
  it("returns the document that 'mastersim compare --json' writes for the same matrix", function()
    local ms = require "mastersim"
    local json = require "mastersim.report.json"
    local code, _, err = support.cli({ "compare", sim, "--policies", "block,stale_read", "--seeds", "1-2",
      "--param", "timeout=1s", "--set", "snapshot.apply_rate=8000", "--json", path("api.json"), "--quiet" })
    assert.are.equal(0, code, err)
    local want = support.read(path("api.json"))
    local spec = { sim = sim, policies = { "block", "stale_read" }, seeds = "1-2", params = { timeout = "1s" },
                   set = { ["snapshot.apply_rate"] = 8000 } }
    assert.are.equal(want, json.encode(ms.compare(spec), { indent = 2 }) .. "\n") -- in this process
    spec.seeds, spec.jobs = { 2, 1 }, 2 -- worker processes when there is a binary
    assert.are.equal(want, json.encode(ms.compare(spec), { indent = 2 }) .. "\n")
  end)
end)

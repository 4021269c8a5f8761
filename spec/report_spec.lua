local fixtures = require "fixtures.results"
local cjson = require "cjson"
local csv = require "mastersim.report.csv"
local fileio = require "mastersim.report.fileio"
local html = require "mastersim.report.html"
local json = require "mastersim.report.json"
local metrics = require "mastersim.metrics"
local stats = require "mastersim.stats"
local summary = require "mastersim.report.summary"
local support = require "support"

local POLICIES = { "block", "fail_fast", "stale_read" }
local SEEDS = { 1, 2, 3, 4, 5 }
local results = fixtures.matrix(POLICIES, SEEDS)

-- The same results in another order (as parallel runs may finish).
local function shuffled(list)
  local out = {}
  for i = #list, 1, -1 do out[#out + 1] = list[(i * 7) % #list + 1] end
  return out
end

-- An RFC 4180 parser written for this spec: a list of records.
local function parse_csv(text)
  local rows, row, field, i, n = {}, {}, {}, 1, #text
  local quoted = false
  while i <= n do
    local c = text:sub(i, i)
    if quoted then
      if c == '"' and text:sub(i + 1, i + 1) == '"' then field[#field + 1], i = '"', i + 1
      elseif c == '"' then quoted = false
      else field[#field + 1] = c end
    elseif c == '"' then quoted = true
    elseif c == "," then row[#row + 1], field = table.concat(field), {}
    elseif c == "\r" and text:sub(i + 1, i + 1) == "\n" then
      row[#row + 1], field = table.concat(field), {}
      rows[#rows + 1], row, i = row, {}, i + 1
    else field[#field + 1] = c end
    i = i + 1
  end
  assert(#row == 0 and #field == 0, "the CSV does not end with CRLF")
  return rows
end

-- Deep equality of a value and its JSON round trip (numbers by ==).
local function same(a, b, path)
  path = path or "$"
  if type(a) ~= "table" then
    assert(a == b, ("%s: %s ~= %s"):format(path, tostring(a), tostring(b)))
    return
  end
  assert(type(b) == "table", path .. ": not a table after decoding")
  for k, v in pairs(a) do same(v, b[k], path .. "." .. tostring(k)) end
  for k in pairs(b) do assert(a[k] ~= nil, path .. ": extra key " .. tostring(k)) end
end

-- A deep copy whose keys are inserted in reverse sorted order.
local function rebuilt(v)
  if type(v) ~= "table" then return v end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) > tostring(b) end)
  local out = {}
  for _, k in ipairs(keys) do out[k] = rebuilt(v[k]) end
  return out
end

local function count(s, pattern)
  return select(2, s:gsub(pattern, ""))
end

describe("metrics", function()
  it("lists the key metrics in a fixed order with units and directions", function()
    local names = {}
    for i, m in ipairs(metrics.list) do names[i] = m.name end
    assert.are.same({ "availability", "fresh_share", "stale_share", "torn_share", "crash_share",
      "failed_share", "timeout_share", "latency_p50_s", "latency_p99_s", "latency_p999_s", "latency_max_s",
      "apply_p99_s", "staleness_mean_s", "staleness_max_s", "attempts_per_read", "memory_peak_bytes",
      "safety_violations", "read_crashes", "monotonic_regressions", "leader_changes", "time_to_leader_p50_s",
      "time_to_leader_max_s", "split_votes", "cluster_unavailable_s", "scan_torn", "scan_crashes" }, names)
    assert.is_true(metrics.get("availability").higher_better)
    assert.is_false(metrics.get("latency_p99_s").higher_better)
    assert.has_error(function() metrics.get("nope") end, "unknown metric 'nope'")
  end)

  it("names each metric in seconds or bytes with its unit, as the CSV carries raw numbers", function()
    for _, m in ipairs(metrics.list) do
      if m.unit == "s" then assert.matches("_s$", m.name) end
      if m.unit == "bytes" then assert.matches("_bytes$", m.name) end
      if m.name:match("_s$") then assert.are.equal("s", m.unit, m.name) end
    end
  end)

  it("extracts values and returns nil where a run has nothing to measure", function()
    local r = results[1]
    local v = metrics.extract(r)
    assert.are.equal(r.reads.availability, v.availability)
    assert.are.equal(r.reads.outcomes.stale / r.reads.logical, v.stale_share)
    assert.are.equal(r.reads.latency.all.p999, v.latency_p999_s)
    assert.are.equal(r.memory.m3.peak, v.memory_peak_bytes)
    local empty = metrics.extract({ reads = { logical = 0, latency = { all = { count = 0 } } } })
    assert.is_nil(empty.availability)
    assert.is_nil(empty.latency_p99_s)
    assert.is_nil(empty.memory_peak_bytes)
  end)

  it("formats values with units", function()
    assert.are.equal("99.73±0.05%", metrics.format("ratio", 0.9973, 0.0005))
    assert.are.equal("+0.12±0.03pp", metrics.format("ratio", 0.0012, 0.0003, true))
    assert.are.equal("12.3±0.4 ms", metrics.format("s", 0.0123, 0.00041))
    assert.are.equal("1.23±0.41 ms", metrics.format("s", 0.00123, 0.00041))
    assert.are.equal("250 us", metrics.format("s", 0.00025))
    assert.are.equal("5.02 s", metrics.format("s", 5.02))
    assert.are.equal("185 MiB", metrics.format("bytes", 185 * 2 ^ 20))
    assert.are.equal("n/a", metrics.format("s", nil))
  end)
end)

describe("summary table", function()
  local s = summary.aggregate(results, { baseline = "block" })
  local text = summary.render(s)

  it("has a row per policy holding the mean and CI computed by stats", function()
    for _, p in ipairs(POLICIES) do
      local avail, by_seed = {}, {}
      for _, r in ipairs(results) do
        if r.policy == p then
          avail[#avail + 1] = (r.reads.outcomes.fresh + r.reads.outcomes.stale) / r.reads.logical
          by_seed[r.seed] = avail[#avail]
        end
      end
      local c = stats.ci95(avail)
      local cell = metrics.format("ratio", c.mean, c.ci95)
      assert.truthy(text:find("\n" .. p .. " +" .. cell:gsub("[%.%%%+%-]", "%%%0")), p .. ": " .. cell)
      local e = s.policies[(p == "block" and 1) or (p == "fail_fast" and 2) or 3]
      assert.are.equal(p, e.policy)
      assert.is_true(math.abs(e.metrics.availability.mean - c.mean) < 1e-12)
      assert.is_true(math.abs(e.metrics.availability.ci95 - c.ci95) < 1e-12)
      if p ~= "block" then
        local diffs = {}
        for _, seed in ipairs(SEEDS) do
          local base
          for _, r in ipairs(results) do
            if r.policy == "block" and r.seed == seed then base = r.reads.availability end
          end
          diffs[#diffs + 1] = by_seed[seed] - base
        end
        local d = e.delta.availability
        assert.are.equal(5, d.pairs)
        assert.are.equal(0, d.skipped)
        assert.is_true(math.abs(d.mean - stats.mean(diffs)) < 1e-12)
        assert.is_true(math.abs(d.ci95 - stats.t975(4) * stats.stdev(diffs) / math.sqrt(5)) < 1e-12)
        local dcell = metrics.format("ratio", d.mean, d.ci95, true)
        assert.truthy(text:find(dcell, 1, true), dcell)
      end
    end
    assert.is_nil(s.policies[1].delta)
  end)

  it("fits in 120 columns and does not depend on the order of the results", function()
    for line in text:gmatch("[^\n]*") do
      assert.is_true(utf8.len(line) <= 120, line)
    end
    assert.are.equal(text, summary.render(summary.aggregate(shuffled(results),
      { policies = POLICIES, baseline = "block" })))
    assert.truthy(text:find("Δ vs block", 1, true))
  end)

  it("counts seeds missing on one side of a paired difference", function()
    local partial = {}
    for _, r in ipairs(results) do
      if not (r.policy == "fail_fast" and r.seed == 3) then partial[#partial + 1] = r end
    end
    local d = summary.aggregate(partial).policies[2].delta.availability
    assert.are.equal(4, d.pairs)
    assert.are.equal(1, d.skipped)
    assert.has_error(function() summary.aggregate({ results[1], results[1] }) end)
  end)
end)

describe("tidy CSV", function()
  local text = csv.encode(results, { policies = POLICIES })

  it("has one row per run x metric and parses back to the exact values", function()
    local rows = parse_csv(text)
    assert.are.equal(1 + #results * #metrics.list, #rows)
    assert.are.same({ "scenario", "policy", "seed", "param_key", "metric", "value" }, rows[1])
    local by = {}
    for _, r in ipairs(results) do by[r.policy .. "/" .. r.seed] = metrics.extract(r) end
    for i = 2, #rows do
      local row = rows[i]
      assert.are.equal(6, #row)
      local want = by[row[2] .. "/" .. row[3]][row[5]]
      if want == nil then assert.are.equal("", row[6]) else assert.are.equal(want, tonumber(row[6])) end
    end
    assert.are.same({ "follower_catchup", "block", "1", "timeout=5", "availability" },
      { table.unpack(rows[2], 1, 5) })
    assert.are.equal("latency_p99_s", rows[2 + 8][5])
    assert.are.equal("memory_peak_bytes", rows[2 + 15][5])
  end)

  it("is byte-for-byte deterministic whatever the order of the runs", function()
    assert.are.equal(text, csv.encode(shuffled(results), { policies = POLICIES }))
  end)

  it("quotes per RFC 4180 and adds a column per varied parameter", function()
    assert.are.equal('"a,b"', csv.field("a,b"))
    assert.are.equal('"say ""hi"""', csv.field('say "hi"'))
    assert.are.equal('"two\nlines"', csv.field("two\nlines"))
    assert.are.equal("0.1", csv.field(0.1))
    assert.are.equal("", csv.field(nil))
    local sweep = fixtures.sweep({ "block" }, { 1 }, "snapshot.apply_rate", { 1e5, 4e5 })
    sweep[1].scenario = 'odd, "name"'
    local rows = parse_csv(csv.encode(sweep))
    assert.are.equal("vary.snapshot.apply_rate", rows[1][5])
    assert.are.equal('odd, "name"', rows[2][1])
    assert.are.equal(1e5, tonumber(rows[2][5]))
    assert.are.equal(1 + 2 * #metrics.list, #rows)
  end)
end)

describe("deterministic JSON", function()
  local doc = summary.compare_document(results, { policies = POLICIES })

  it("encodes the same value to the same bytes with sorted keys", function()
    local a = json.encode(doc)
    assert.is_true(a == json.encode(doc))
    assert.is_true(a == json.encode(rebuilt(doc)), "insertion order changed the bytes")
    assert.are.equal('{"a":2,"b":{"x":[1,2.5,"s"],"y":{}},"c":[]}',
      json.encode({ b = { y = {}, x = { 1, 2.5, "s" } }, a = 2, c = json.empty_array }))
    assert.are.equal('{"1":"a","3":"c"}', json.encode({ [3] = "c", [1] = "a" }))
    local text, last = json.encode(results[1]), ""
    for _, k in ipairs({ "arrivals_digest", "build", "checker", "digest", "events", "faults", "memory",
                         "params", "partial", "phases", "policy", "reads", "scenario", "schema" }) do
      local pos = text:find('"' .. k .. '":', 1, true)
      assert.truthy(pos, k)
      assert.is_true(k > last)
      last = k
    end
  end)

  it("decodes with cjson to the same values, numbers exact", function()
    same(doc, cjson.decode(json.encode(doc)))
    same(results[2], cjson.decode(json.encode(results[2], { indent = 2 })))
    assert.are.equal("0.1", json.encode(0.1))
    assert.are.equal("0.30000000000000004", json.encode(0.1 + 0.2))
    assert.are.equal("42", json.encode(42))
    assert.are.equal(1 / 3, cjson.decode(json.encode(1 / 3)))
  end)

  it("rejects what JSON cannot hold, naming the path", function()
    assert.has_error(function() json.encode({ a = { 0 / 0 } }) end, "json: cannot encode NaN at $.a[1]")
    assert.has_error(function() json.encode({ x = math.huge }) end, "json: cannot encode inf at $.x")
    local t = {}
    t.self = t
    assert.has_error(function() json.encode(t) end, "json: a cycle at $.self")
    assert.has_error(function() json.encode({ f = print }) end, "json: cannot encode a function at $.f")
  end)

  it("writes JSON lines: one value per line", function()
    local text = json.encode_lines(results)
    local n = 0
    for line in text:gmatch("([^\n]*)\n") do
      n = n + 1
      assert.are.equal(results[n].digest, cjson.decode(line).digest)
    end
    assert.are.equal(#results, n)
  end)
end)

describe("HTML report", function()
  local doc = summary.compare_document(results, { policies = POLICIES })
  local page = html.render(doc)

  -- The text of the <svg> element with data-chart=kind (exactly one).
  local function chart(kind)
    local pattern = '<svg[^>]*data%-chart="' .. kind:gsub("%-", "%%-") .. '"'
    assert.are.equal(1, count(page, pattern), kind)
    local start = page:find(pattern)
    return page:sub(start, page:find("</svg>", start, true))
  end

  it("has one chart of each kind and one series per policy", function()
    for _, kind in ipairs({ "latency-cdf", "timeline", "outcome-mix", "staleness" }) do
      local svg = chart(kind)
      for _, p in ipairs(POLICIES) do
        assert.are.equal(1, count(svg, 'data%-series="' .. p .. '"'), kind .. " " .. p)
        local points = tonumber(svg:match('data%-points="(%d+)" data%-series="' .. p .. '"'))
        assert.is_true(points > 0, kind .. " " .. p)
      end
      assert.are.equal(#POLICIES, count(svg, "data%-series="))
    end
    assert.truthy(chart("timeline"):find('data-points="120" data-series="block"', 1, true))
    local phases = chart("phases")
    for _, node in ipairs({ "m1", "m2", "m3" }) do
      assert.are.equal(1, count(phases, 'data%-lane="' .. node .. '"'))
    end
    assert.truthy(phases:find('data-policy="block"', 1, true))
  end)

  it("is self-contained: no network references, no script", function()
    local stripped = page:gsub('xmlns="http://www%.w3%.org/2000/svg"', "")
    assert.is_nil(stripped:find("http://", 1, true))
    assert.is_nil(stripped:find("https://", 1, true))
    assert.is_nil(page:lower():find("<script", 1, true))
    assert.truthy(page:find("<table class=\"summary\">", 1, true))
  end)

  it("is deterministic", function()
    assert.are.equal(page, html.render(doc))
    local again = summary.compare_document(shuffled(results), { policies = POLICIES })
    assert.are.equal(page, html.render(again))
  end)

  it("draws one chart per metric for a sweep, a point per parameter value", function()
    local values = { 1e5, 2e5, 4e5, 1e6 }
    local sw = summary.sweep_document(fixtures.sweep({ "block", "stale_read" }, { 1, 2 },
      "snapshot.apply_rate", values))
    local text = html.render(sw)
    assert.are.equal(#metrics.list, count(text, 'data%-chart="sweep"'))
    assert.are.equal(2 * #metrics.list, count(text, 'data%-points="4" data%-series='))
    assert.are.same({ "snapshot.apply_rate" }, sw.vary)
    assert.are.equal(1e5, sw.points[1].vary["snapshot.apply_rate"])
  end)
end)

describe("fileio.write", function()
  local dir = support.tmpdir() .. "/atomic"
  os.execute("mkdir -p " .. support.quote(dir))

  local function listing()
    local _, out = support.sh("ls -A " .. support.quote(dir))
    return out
  end

  it("replaces the file and leaves no temporary file", function()
    local path = dir .. "/report.json"
    assert.is_true(fileio.write(path, "old"))
    assert.is_true(fileio.write(path, "new\n"))
    assert.are.equal("new\n", support.read(path))
    assert.are.equal("report.json\n", listing())
    assert.is_true(json.write(path, { b = 1, a = { 1, 2 } }))
    assert.are.equal('{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n', support.read(path))
  end)

  it("fails cleanly, removing its temporary file", function()
    local ok, err = fileio.write(dir .. "/missing/x.json", "x")
    assert.is_nil(ok)
    assert.truthy(err:find("No such file", 1, true))
    os.execute("mkdir -p " .. support.quote(dir .. "/adir/inner"))
    ok, err = fileio.write(dir .. "/adir", "x")
    assert.is_nil(ok)
    assert.is_string(err)
    assert.are.equal("adir\nreport.json\n", listing())
  end)

  local function kind(path)
    local _, out = support.sh("stat -c %F " .. support.quote(path))
    return (out:gsub("\n$", ""))
  end

  it("writes a device in place and reports a failed write, never replacing it", function()
    local ok, err = fileio.write("/dev/full", ("x"):rep(10000))
    assert.is_nil(ok)
    assert.are.equal("No space left on device", err)
    assert.are.equal("character special file", kind("/dev/full"))
    assert.is_true(fileio.write("/dev/null", "x"))
    assert.are.equal("character special file", kind("/dev/null"))
    -- a device node of our own, when we may make one (root, as in CI): the
    -- old code renamed a regular file over it
    local node = dir .. "/full"
    if os.execute("mknod " .. support.quote(node) .. " c 1 7 2>/dev/null") then
      err = select(2, fileio.write(node, "x"))
      assert.are.equal("No space left on device", err)
      assert.are.equal("character special file", kind(node))
      os.remove(node)
    end
    assert.are.equal("adir\nreport.json\n", listing())
  end)

  it("writes through a FIFO and a symbolic link without replacing them", function()
    local fifo, link = dir .. "/fifo", dir .. "/link"
    assert.is_true(os.execute("mkfifo " .. support.quote(fifo)))
    -- opened read-write here (Linux: does not block), so the write below
    -- finds a reader; 8 bytes fit the pipe's buffer
    local reader = assert(io.open(fifo, "r+b"))
    assert.is_true(fileio.write(fifo, "through\n"))
    assert.are.equal("through\n", reader:read(8))
    reader:close()
    assert.are.equal("fifo", kind(fifo))
    assert.is_true(os.execute(("ln -s report.json %s"):format(support.quote(link))))
    assert.is_true(fileio.write(link, "via link\n"))
    assert.are.equal("symbolic link", kind(link))
    assert.are.equal("via link\n", support.read(dir .. "/report.json"))
    os.remove(fifo)
    os.remove(link)
  end)
end)

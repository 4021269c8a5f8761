-- The HTML report rendered by headless Chromium: every chart lays out one
-- series per policy inside its SVG, and the latency CDFs end in the order
-- of the runs' maximum latencies. Pending when chromium is not installed
-- (scripts/bootstrap --test installs it).
local cjson = require "cjson"
local support = require "support"

-- Appended to a copy of the report: the layout of every series as text.
local PROBE = [[
<script>
const out = [];
for (const svg of document.querySelectorAll('svg[data-chart]')) {
  const vb = svg.viewBox.baseVal;
  for (const g of svg.querySelectorAll('g[data-series], g[data-lane]')) {
    const b = g.getBBox();
    out.push([svg.dataset.chart, g.dataset.series || g.dataset.lane, g.dataset.points,
              b.x, b.y, b.width, b.height, vb.width, vb.height].join(' '));
  }
}
const pre = document.createElement('pre');
pre.id = 'probe';
pre.textContent = out.join('\n');
document.body.appendChild(pre);
</script>
]]

local SIM = [[
local ms = require "mastersim"
return ms.scenario {
  name = "tiny", duration = "6s",
  cluster = { masters = 3, volumes = 20, data_partitions = 2000, meta_partitions = 200, nodes = 40, users = 5 },
  log = { retain = 200 },
  snapshot = { mode = "inplace", chunk = 512, apply_rate = 4000 },
  clients = { { count = 8, rate = 20, route = "local", timeout = "500ms", ops = { get_vol = 1 } } },
  writes = { rate = 80 },
  faults = { ms.at("1.5s", ms.crash "m3"), ms.at("3s", ms.restart "m3") },
}
]]

local function chromium()
  local code, out = support.sh("command -v chromium || command -v chromium-browser")
  return code == 0 and out:match("[^\n]+") or nil
end

describe("the HTML report in headless Chromium", function()
  it("draws every policy's series inside its chart, in the order of the data", function()
    local bin = chromium()
    if not bin then
      pending("chromium is not installed (scripts/bootstrap --test installs it)")
      return
    end
    local sim = support.write("chromium_tiny.lua", SIM)
    local dir = support.tmpdir()
    local code, _, err = support.cli({ "compare", sim, "--policies", "block,stale_read", "--seeds", "1-2", "--quiet",
      "--jobs", "2", "--html", dir .. "/chromium.html", "--json", dir .. "/chromium.json" })
    assert.are.equal(0, code, err)
    local page = support.write("probe.html", support.read(dir .. "/chromium.html") .. PROBE)
    local _, dom = support.sh(("timeout 60 %s --headless=new --no-sandbox --disable-gpu --dump-dom %s 2>/dev/null")
      :format(support.quote(bin), support.quote("file://" .. page)))
    local probe = assert(dom:match('<pre id="probe">(.-)</pre>'), "the probe did not run")
    local charts = {}
    for line in probe:gmatch("[^\n]+") do
      local chart, name, points, x, y, w, h, vw, vh =
        line:match("^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$")
      x, y, w, h, vw, vh = tonumber(x), tonumber(y), tonumber(w), tonumber(h), tonumber(vw), tonumber(vh)
      charts[chart] = charts[chart] or {}
      charts[chart][name] = { points = tonumber(points), right = x + w }
      assert.is_true(w > 0 and h > 0, line)
      assert.is_true(x >= 0 and y >= 0 and x + w <= vw + 0.5 and y + h <= vh + 0.5, line)
    end
    for _, chart in ipairs({ "latency-cdf", "timeline", "outcome-mix", "staleness" }) do
      assert.is_truthy(charts[chart], chart)
      assert.is_true(charts[chart].block.points > 0 and charts[chart].stale_read.points > 0, chart)
    end
    assert.is_truthy(charts.phases.m3)
    local doc = cjson.decode(support.read(dir .. "/chromium.json"))
    local max = {}
    for _, r in ipairs(doc.results) do max[r.policy] = math.max(max[r.policy] or 0, r.reads.latency.all.max) end
    local cdf = charts["latency-cdf"]
    assert.are.equal(max.block > max.stale_read, cdf.block.right > cdf.stale_read.right)
  end)
end)

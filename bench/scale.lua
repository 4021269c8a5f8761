-- Cost growth (issue 17): wall time and peak RSS of one `mastersim run` of
-- sims/follower_catchup.lua (cubefs profile, block policy, a snapshot
-- install) against the image size, the number of masters and the request
-- rate, each series varying one of them from the sim's defaults, with the
-- growth exponent of each: the least-squares slope of log(cost) against
-- log(size), and the slope between the last two points (at small sizes the
-- fixed costs flatten the curve; the last segment shows the growth).
--   image size: 1e4, 1e5, 1e6 keys (and 1e7 with MASTERSIM_BENCH_LONG=1);
--     the snapshot applies keys/5 per second, so every install takes ~5 s
--   masters: 3, 5, 7, 9 (image ~67K keys, 1500 reads/s)
--   rate: x1, x10, x100 the sim's 1500 reads/s (duration 30 s)
-- Each run is its own process, timed by /usr/bin/time (peak RSS: its max
-- resident set). Run: mastersim lua bench/scale.lua [series...]
local cjson = require "cjson"

local root = os.getenv("MASTERSIM_ROOT") or "."
local exe = os.getenv("MASTERSIM_BIN") or "mastersim"
local long = os.getenv("MASTERSIM_BENCH_LONG") == "1"

local function sh(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The image settings for about `keys` keys: 88% data partitions, 8.8% meta
-- partitions, one volume per 200 keys, 50 users, the rest (~2.5%) nodes.
local function image(keys)
  local vols = math.max(10, keys // 200)
  local dps, mps, users = math.floor(keys * 0.88), math.floor(keys * 0.088), 50
  local nodes = math.max(16, keys - dps - mps - vols - users - 5)
  return {
    ["cluster.volumes"] = vols, ["cluster.data_partitions"] = dps, ["cluster.meta_partitions"] = mps,
    ["cluster.nodes"] = nodes, ["cluster.users"] = users,
    ["snapshot.apply_rate"] = math.max(40000, keys // 5),
  }
end

-- One run: wall seconds, peak RSS in MiB, logical reads, keys per store.
local function run(sets)
  local args, json = {}, os.tmpname()
  for _, k in ipairs((function()
    local ks = {}
    for k in pairs(sets) do ks[#ks + 1] = k end
    table.sort(ks)
    return ks
  end)()) do
    args[#args + 1] = ("--set %s=%s"):format(k, tostring(sets[k]))
  end
  -- the run budget's event limit (2e7) would cut the x100 rate short
  local cmd = ("/usr/bin/time -f 'scale-time %%e %%M' %s run %s %s --max-events 1000000000 --quiet --json %s 2>&1")
    :format(sh(exe), sh(root .. "/sims/follower_catchup.lua"), table.concat(args, " "), sh(json))
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  local f = io.open(json)
  local text = f and f:read("a") or ""
  if f then f:close() end
  os.remove(json)
  local wall, kb = out:match("scale%-time ([%d.]+) (%d+)")
  local ok, r = pcall(cjson.decode, text)
  if not wall or not ok or r.status ~= "done" then error("run failed: " .. cmd .. "\n" .. out) end
  return { wall = tonumber(wall), rss = tonumber(kb) / 1024, reads = r.reads.logical, keys = r.nodes.m1.keys }
end

-- Least-squares slope of log(y) on log(x).
local function slope(xs, ys)
  local n, sx, sy, sxx, sxy = #xs, 0, 0, 0, 0
  for i = 1, n do
    local x, y = math.log(xs[i]), math.log(ys[i])
    sx, sy, sxx, sxy = sx + x, sy + y, sxx + x * x, sxy + x * y
  end
  return (n * sxy - sx * sy) / (n * sxx - sx * sx)
end

local function last(xs, ys)
  local n = #xs
  return math.log(ys[n] / ys[n - 1]) / math.log(xs[n] / xs[n - 1])
end

local series = {
  { name = "image", label = "keys", points = long and { 1e4, 1e5, 1e6, 1e7 } or { 1e4, 1e5, 1e6 },
    sets = function(k) return image(k) end },
  { name = "masters", label = "masters", points = { 3, 5, 7, 9 },
    sets = function(n) return { ["cluster.masters"] = n } end },
  { name = "rate", label = "rate x", points = { 1, 10, 100 },
    sets = function(x) return { ["clients.rate"] = 25 * x, duration = "30s" } end },
}

local want = {}
for _, a in ipairs(arg or {}) do want[a] = true end
print("cost growth on sims/follower_catchup.lua (cubefs profile, policy block, seed 1); one process per run")
for _, s in ipairs(series) do
  if next(want) == nil or want[s.name] then
    print(("%-8s %12s %9s %10s %10s %12s"):format(s.name, s.label, "wall s", "peak MiB", "reads", "keys/store"))
    local xs, walls, rsss = {}, {}, {}
    for _, x in ipairs(s.points) do
      local r = run(s.sets(x))
      xs[#xs + 1], walls[#walls + 1], rsss[#rsss + 1] = x, r.wall, r.rss
      print(("%-8s %12s %9.2f %10.1f %10d %12d"):format("", ("%g"):format(x), r.wall, r.rss, r.reads, r.keys))
    end
    print(("%-8s growth exponent: wall %.2f (last step %.2f), peak RSS %.2f (last step %.2f)"):format(
      "", slope(xs, walls), last(xs, walls), slope(xs, rsss), last(xs, rsss)))
  end
end
if not long then print("(1e7 keys: MASTERSIM_BENCH_LONG=1; about 1.5 GB and half a minute)") end

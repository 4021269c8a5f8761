-- large_cluster: a CubeFS-sized image (1M data partitions, about 1.1M keys)
-- so a snapshot apply takes long: the follower is in the `applying` phase for
-- ~10 s of virtual time, which is where the policies differ most. Its
-- clients read whatever the profile routes (followers serve from their
-- store under `generic`; under `cubefs` the store is read by the vol scan).
local ms = require "mastersim"

return ms.scenario {
  name = "large_cluster",
  description = "1M data partitions: a follower's snapshot apply lasts about 10 s under load.",
  duration = "45s",
  cluster = { masters = 3, volumes = 2000, data_partitions = 1000000, meta_partitions = 100000, nodes = 2000,
              users = 100 },
  -- m3 misses ~2000 entries (> retain: it needs a snapshot); the ~1000
  -- written during its apply stay within retain, so one install suffices
  log = { retain = 1500 },
  snapshot = { mode = "inplace", chunk = 8192, bandwidth = "400MB/s", apply_rate = 120000 },
  clients = { { count = 50, rate = 20, ops = { get_vol = 0.5, get_dp = 0.3, get_cluster = 0.2 } } },
  writes = { rate = 100 },
  faults = { ms.at("5s", ms.crash "m3"), ms.at("25s", ms.restart "m3") },
}

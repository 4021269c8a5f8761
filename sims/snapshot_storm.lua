-- snapshot_storm: repeated snapshot installs under load. Every 15 s the
-- leader's log is compacted past a follower (m2 and m3 in turn; a fault
-- naming the leader itself does nothing), which must install a snapshot
-- while reads go on.
local ms = require "mastersim"

return ms.scenario {
  name = "snapshot_storm",
  description = "Followers install a snapshot every 15 s, in turn, under read and write load.",
  duration = "75s",
  cluster = { masters = 3, volumes = 300, data_partitions = 30000, meta_partitions = 3000, nodes = 300, users = 30 },
  log = { retain = 1000 },
  snapshot = { mode = "inplace", apply_rate = 30000 },
  clients = { { count = 60, rate = 20, ops = { get_vol = 0.5, get_partitions = 0.4, get_cluster = 0.1 } } },
  writes = { rate = 200 },
  faults = {
    ms.at("10s", ms.force_snapshot "m2"),
    ms.at("25s", ms.force_snapshot "m3"),
    ms.at("40s", ms.force_snapshot "m2"),
    ms.at("55s", ms.force_snapshot "m3"),
  },
}

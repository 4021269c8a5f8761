-- partition: the leader is cut off from the other two masters. The
-- minority side stops committing (its reads go stale or fail), the majority
-- elects a new leader and carries on; when the partition heals the old
-- leader steps down and catches up.
local ms = require "mastersim"

return ms.scenario {
  name = "partition",
  description = "The leader is partitioned from the majority for 15 s, then the network heals.",
  duration = "45s",
  cluster = { masters = 3, volumes = 200, data_partitions = 20000, meta_partitions = 2000, nodes = 200, users = 20 },
  log = { retain = 2000 },
  snapshot = { mode = "inplace", apply_rate = 40000 },
  clients = { { count = 40, rate = 25, ops = { get_vol = 0.6, get_partitions = 0.3, get_cluster = 0.1 } } },
  writes = { rate = 200 },
  faults = {
    ms.at("10s", ms.partition({ "m1" }, { "m2", "m3" })),
    ms.at("25s", ms.heal()),
  },
}

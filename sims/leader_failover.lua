-- leader_failover: the leader crashes under load. A follower wins the
-- election and, as CubeFS's master does, rebuilds its in-memory view before
-- it serves ("meta not ready" while loading); the old leader comes back and
-- catches up from the log or, if it fell too far behind, by a snapshot.
local ms = require "mastersim"

return ms.scenario {
  name = "leader_failover",
  description = "The leader crashes; a new leader loads its view, then the old one rejoins and catches up.",
  duration = "50s",
  cluster = { masters = 3, volumes = 300, data_partitions = 30000, meta_partitions = 3000, nodes = 300, users = 30 },
  log = { retain = 1500 },
  snapshot = { mode = "inplace", apply_rate = 40000 },
  master = { load_rate = 50000 },
  clients = {
    { count = 40, rate = 25, ops = { get_vol = 0.5, get_partitions = 0.3, get_cluster = 0.2 } },
    { count = 20, rate = 25, ops = { get_vol = 0.7, list_vols = 0.3 } },
  },
  writes = { rate = 200 },
  faults = { ms.at("12s", ms.crash "leader"), ms.at("30s", ms.restart "last_crashed") },
}

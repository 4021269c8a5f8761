-- crash_repro: CubeFS issue 3152. With a reopen-style apply (PR 2124) the
-- follower closes its live store while it rebuilds it from the snapshot; a
-- reader of the store that comes meanwhile uses the closed handle and the
-- process crashes. Under the cubefs profile that reader is the follower's
-- vol scan before each cache pass (master/cluster.go getVolumeDpView); under
-- `--set profile=generic` it is a client's follower read. Run it with the
-- `unsafe` policy to see the crash, and with `block` to see it gone.
local ms = require "mastersim"

return ms.scenario {
  name = "crash_repro",
  description = "A follower applies a snapshot by reopening its store while it is read (issue 3152).",
  duration = "40s",
  cluster = { masters = 3, volumes = 300, data_partitions = 30000, meta_partitions = 3000, nodes = 300, users = 30 },
  log = { retain = 1000 },
  snapshot = { mode = "reopen", chunk = 2048, bandwidth = "100MB/s", apply_rate = 30000 },
  master = { restart_delay = "3s" },
  server = { workers = 8, queue = 1024, service = { default = ms.lognormal("200us", "2ms") } },
  clients = { { count = 30, rate = 30, ops = { get_vol = 0.6, get_partitions = 0.3, list_vols = 0.1 } } },
  writes = { rate = 150 },
  faults = { ms.at("8s", ms.crash "m3"), ms.at("18s", ms.restart "m3") },
}

-- follower_catchup: the default scenario. A follower (m3) crashes, the
-- leader keeps taking writes and truncates its log past it, and when m3
-- restarts it must install a snapshot, streamed from the leader and applied
-- chunk by chunk, while clients keep sending it local (follower) reads.
-- What the reads that reach m3 during the apply get is up to the policy.
local ms = require "mastersim"

return ms.scenario {
  name = "follower_catchup",
  description = "A follower restarts past the truncated log and installs a snapshot while serving local reads.",
  duration = "60s",
  cluster = { masters = 3, volumes = 500, data_partitions = 60000, meta_partitions = 6000, nodes = 400, users = 50 },
  log = { retain = 2000 },
  snapshot = { mode = "inplace", chunk = 4096, bandwidth = "200MB/s", apply_rate = 40000 },
  server = { workers = 8, queue = 1024, service = { default = ms.lognormal("200us", "2ms") } },
  network = { latency = ms.lognormal("250us", "2ms") },
  clients = {
    { count = 60, rate = 25, route = "local", timeout = "1s",
      retry = { max = 3, backoff = "20ms", cap = "1s", jitter = 0.1, other = true },
      ops = { get_vol = 0.5, get_partitions = 0.4, get_cluster = 0.1 } },
  },
  writes = { rate = 200, ops = { create_dp = 0.3, heartbeat = 0.7 } },
  faults = { ms.at("10s", ms.crash "m3"), ms.at("25s", ms.restart "m3") },
}

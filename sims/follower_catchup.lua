-- follower_catchup: the default scenario. A follower (m3) crashes, the
-- leader keeps taking writes and truncates its log past it, and when m3
-- restarts it must install a snapshot, streamed from the leader and applied
-- chunk by chunk, while clients keep reading.
--
-- Under the cubefs profile (the default) the clients are CubeFS's SDK: reads
-- go to the leader they know, get_partitions to a random master; a follower
-- forwards every read to the leader but get_partitions, which it answers
-- from its cache of the leader's answers. The store of m3 is read during
-- its apply by its background vol scan (the one before each cache pass):
-- what that scan meets is up to the policy. Under `--set profile=generic`
-- clients read from their own master, which serves every read from its
-- store: what the reads that reach m3 during the apply get is up to the
-- policy.
local ms = require "mastersim"

return ms.scenario {
  name = "follower_catchup",
  description = "A follower restarts past the truncated log and installs a snapshot while clients read.",
  duration = "60s",
  cluster = { masters = 3, volumes = 500, data_partitions = 60000, meta_partitions = 6000, nodes = 400, users = 50 },
  log = { retain = 1000 },
  snapshot = { chunk = 4096, bandwidth = "200MB/s", apply_rate = 40000 },
  server = { workers = 8, queue = 1024, service = { default = ms.lognormal("200us", "2ms") } },
  network = { latency = ms.lognormal("250us", "2ms") },
  clients = {
    { count = 60, rate = 25, ops = { get_vol = 0.5, get_partitions = 0.4, get_cluster = 0.1 } },
  },
  writes = { rate = 200 },
  faults = { ms.at("10s", ms.crash "m3"), ms.at("25s", ms.restart "m3") },
}

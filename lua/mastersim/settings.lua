--- Every scenario setting, declared once. A row gives the key (a dotted
-- path; `clients[].x` is a field of each client group, `scans[].x` of each
-- background scan), its type, its
-- default (one for both profiles, or one per profile), its range, its C
-- config field and a doc line. Everything else derives from these rows:
-- the scenario schema and its range checks (lua/mastersim/scenario.lua),
-- the C config struct and its defaults (scripts/gen-settings.lua writes
-- ms_settings_gen.h at build time), the binding that fills the struct
-- (src/lua/lms_cluster_config.c), and the table in docs/writing-sims.md
-- (scripts/gen-docs; spec/docs_spec.lua checks it is current).
--
-- This file is plain data (no require): the build reads it with lua5.4.
--
-- Row fields:
--   key       dotted path
--   type      string | enum | boolean | count | number | fraction |
--             duration | size | rate | dist | service | routing |
--             read_weights | write_weights | func | faults | list (the
--             rows `<key>[].x` are its items' fields; its default is the
--             number of items that take their fields' defaults)
--   default   the default of both profiles, or
--   cubefs, generic   the default per profile (nil: none)
--   required  the key must be given
--   min, max  inclusive bounds of a number (durations in seconds, sizes in
--             bytes); `above` an exclusive lower bound
--   choices   the values of an enum (their order is the C enum's)
--   c         the C field the value is stored in (absent: Lua only);
--   ctype     the C type when not the type's usual one
--   unit      the unit shown in the docs, for plain numbers
--   doc       one line for the docs table
--   cite      where in CubeFS's source the cubefs default comes from
local S = {}

S.PROFILES = { "cubefs", "generic" }

S.rows = {
  { key = "profile", type = "enum", choices = { "cubefs", "generic" }, default = "cubefs",
    doc = "the model's defaults: `cubefs` follows the CubeFS master's source; `generic` is the what-if"
      .. " in which followers serve reads from their own store" },
  { key = "name", type = "string", required = true, doc = "the scenario's name in results" },
  { key = "description", type = "string", default = "", doc = "one line, shown by `mastersim list`" },
  { key = "duration", type = "duration", required = true, above = 0, max = 1e7, c = "duration",
    doc = "reads and writes arrive until this time; in-flight reads then get their clients' timeouts"
      .. " (with retries) to finish" },
  { key = "setup", type = "func",
    doc = "scripted set-up: `run:at(t, fn)`, `run:after(d, fn)`, `run:fault(action)`, `run:now()`,"
      .. " `run.cluster` (the view below)" },

  { key = "cluster.masters", type = "count", default = 3, min = 1, max = 16, c = "masters", ctype = "int",
    doc = "raft masters, named `m1`, `m2`, ..." },
  { key = "cluster.volumes", type = "count", cubefs = 300, generic = 50, min = 1, max = 1e6, c = "image_volumes",
    cite = "PR 2124's benchmark (300 volumes); the source sets no figure",
    doc = "volumes in the generated image every master starts with" },
  { key = "cluster.data_partitions", type = "count", cubefs = 100000, generic = 2000, min = 1, max = 1e8,
    c = "image_data_partitions", cite = "a CubeFS master holds 1e5-1e6 keys, mostly #dp# (an estimate)",
    doc = "data partitions in the image (one key each)" },
  { key = "cluster.meta_partitions", type = "count", cubefs = 10000, generic = 200, min = 1, max = 1e7,
    c = "image_meta_partitions", doc = "meta partitions in the image (one key each)" },
  { key = "cluster.nodes", type = "count", cubefs = 400, generic = 100, min = 6, max = 1e6, c = "image_nodes",
    doc = "data and meta nodes in the image, half each (one key each); a partition's 3 replicas are on distinct "
      .. "nodes of its kind" },
  { key = "cluster.users", type = "count", cubefs = 50, generic = 10, min = 0, max = 1e6, c = "image_users",
    doc = "users in the image (one key each)" },

  { key = "cluster.start", type = "enum", choices = { "cold", "elected" }, cubefs = "elected", generic = "cold",
    c = "start", ctype = "ms_start",
    doc = "`elected`: the run starts as a cluster that has been running, m1 leading term 1 with its view"
      .. " loaded; `cold`: every master starts as a follower and the first election comes first" },

  { key = "log.retain", type = "count", default = 20000, min = 1, max = 1e9, c = "retain", ctype = "uint64_t",
    cite = "master/server.go (retainLogs); master/metadata_fsm.go (Apply: Truncate)",
    doc = "entries a leader keeps behind its applied index; a follower further behind needs a snapshot" },
  { key = "log.apply_rate", type = "number", unit = "entries/s", cubefs = 1000, generic = 0, min = 0, max = 1e9,
    c = "log_apply_rate",
    cite = "master/metadata_fsm.go (Apply: one synced RocksDB batch per entry; ~1 ms an fsync is an estimate)",
    doc = "log entries per second a master applies (0: `snapshot.apply_rate`)" },
  { key = "log.truncate", type = "enum", choices = { "continuous", "periodic" }, cubefs = "periodic",
    generic = "continuous", c = "truncate", ctype = "ms_truncate",
    cite = "master/metadata_fsm.go (Apply: every retainLogs applies); depends/tiglabs/raft/raft.go (truncate)",
    doc = "`continuous`: the log always holds `retain` entries behind applied; `periodic`: it is cut back to"
      .. " `retain` entries whenever applied is a multiple of `retain` (it holds retain..2 x retain)" },

  { key = "snapshot.mode", type = "enum", choices = { "reopen", "inplace", "aside" }, default = "inplace",
    c = "mode", ctype = "ms_snap_mode", doc = "the apply style (a policy's `snapshot_mode` overrides it)" },
  { key = "snapshot.chunk", type = "count", default = 4096, min = 1, max = 1e7, c = "chunk_entries",
    ctype = "uint32_t", doc = "entries per snapshot frame" },
  { key = "snapshot.chunk_bytes", type = "size", default = 1048576, min = 1024, max = 1073741824,
    c = "chunk_bytes", ctype = "uint32_t", doc = "bytes per frame at most" },
  { key = "snapshot.bandwidth", type = "rate", default = 200e6, min = 1e3, max = 1e12, c = "bandwidth",
    doc = "bandwidth of the link a snapshot streams over; streams on one link take turns" },
  { key = "snapshot.apply_rate", type = "number", unit = "keys/s", cubefs = 100000, generic = 400000, min = 1,
    max = 1e9, c = "apply_rate",
    cite = "master/metadata_fsm.go (ApplySnapshot: one unsynced Put per key; the rate is an estimate)",
    doc = "snapshot keys per second a master applies (and log entries too when `log.apply_rate` is 0)" },

  { key = "master.load_rate", type = "number", unit = "keys/s", cubefs = 50000, generic = 0, min = 0, max = 1e9,
    c = "load_rate", cite = "master/master_manager.go (loadMetadata; the rate is an estimate)",
    doc = "keys per second a new leader rebuilds its in-memory view at (phase `loading`, reads get"
      .. " `ENOTREADY`, CubeFS's HTTP 400 while metaReady is false); 0 = no loading phase" },
  { key = "master.restart_delay", type = "duration", default = 5, min = 0, max = 1e6, c = "restart_delay",
    doc = "a master crashed by a read restarts after this" },

  { key = "raft.election_min", type = "duration", cubefs = 2.5, generic = 1, above = 0, max = 3600,
    c = "election_min", cite = "master/server.go (electionTick 5); depends/tiglabs/raft/raft_fsm.go"
      .. " (resetRandomizedElectionTimeout: [5, 9] ticks)",
    doc = "election timeouts are drawn uniformly between `election_min` and `election_max`" },
  { key = "raft.election_max", type = "duration", cubefs = 4.5, generic = 2, above = 0, max = 3600,
    c = "election_max", cite = "depends/tiglabs/raft/raft_fsm.go (resetRandomizedElectionTimeout)",
    doc = "see `raft.election_min`" },
  { key = "raft.heartbeat", type = "duration", cubefs = 0.5, generic = 0.2, min = 1e-3, max = 600, c = "heartbeat",
    cite = "depends/tiglabs/raft/config.go (HeartbeatTick 1); depends/tiglabs/raft/server.go (run)",
    doc = "leader heartbeat interval" },
  { key = "raft.tick", type = "duration", cubefs = 0.5, generic = 0, min = 0, max = 60, c = "tick",
    cite = "master/server.go (tickInterval 500 ms); depends/tiglabs/raft/server.go (run)",
    doc = "raft timers count ticks of this length on each node's own ticker (0: continuous timers);"
      .. " election timeouts are then whole ticks in [election_min, election_max]" },
  { key = "raft.lease_timeout", type = "duration", cubefs = 5, generic = 0, min = 0, max = 3600,
    c = "lease_timeout", cite = "depends/tiglabs/raft/raft_fsm_follower.go (tickElection: 2 x ElectionTick)",
    doc = "a follower that knows its leader campaigns after this long without hearing it"
      .. " (0: after the randomized election timeout)" },
  { key = "raft.prevote", type = "boolean", cubefs = true, generic = false, c = "prevote", ctype = "int",
    cite = "raftstore/raftstore.go (NewRaftStore: PreVote)", doc = "a pre-vote round before each real election" },
  { key = "raft.check_quorum", type = "boolean", default = true, c = "check_quorum", ctype = "int",
    cite = "raftstore/raftstore.go (LeaseCheck); depends/tiglabs/raft/raft_fsm.go (Step)",
    doc = "a leader steps down when it has not heard a quorum, and a follower ignores vote requests while"
      .. " it hears its leader" },
  { key = "raft.quorum_check", type = "duration", cubefs = 2, generic = 0, min = 0, max = 3600,
    c = "quorum_check", cite = "depends/tiglabs/raft/raft_fsm_leader.go (tickHeartbeat: every 4 ticks)",
    doc = "the leader's check-quorum interval (0: `raft.election_min`)" },
  { key = "raft.unsafe_commit_without_majority", type = "boolean", default = false, c = "unsafe_commit",
    ctype = "int", doc = "test only: a broken raft, to show the checker catches it" },

  { key = "network.latency", type = "dist", default = { "lognormal", 250e-6, 2e-3 }, c = "latency",
    doc = "one-way latency between masters and between clients and masters" },
  { key = "network.loss", type = "fraction", default = 0, c = "loss", doc = "message loss between masters" },

  { key = "server.workers", type = "count", default = 8, min = 1, max = 1e5, c = "workers", ctype = "int",
    doc = "requests a master serves at once" },
  { key = "server.queue", type = "count", default = 1024, min = 0, max = 1e7, c = "queue", ctype = "int",
    doc = "requests waiting for a worker; beyond it a read fails with `EBUSY`" },
  { key = "server.service", type = "service", default = { default = { "lognormal", 200e-6, 2e-3 } },
    c = "service", doc = "service time per read op (`server.service.<op>`, `.default` for the rest)" },

  { key = "routing", type = "routing", choices = { "store", "proxy", "cache" },
    cubefs = { default = "proxy", get_partitions = "cache" }, generic = { default = "store" }, c = "routing",
    cite = "master/http_server.go (registerAPIMiddleware, isFollowerRead)",
    doc = "what a follower does with each read op that reaches it (`routing.<op>`, `.default` for the rest):"
      .. " `store` serves it from its own store; `proxy` forwards it to the leader it knows (none: fails"
      .. " `ENOLEADER`); `cache` answers from its cache of the leader's answers (a miss fails `ECACHEMISS`)" },
  { key = "cache.pass", type = "duration", default = 5, above = 0, max = 3600, c = "cache_pass",
    cite = "master/cluster.go (scheduleToCheckFollowerReadCache, getVolumeDpView, sendFollowerVolumeDpView)",
    doc = "a follower's cache is refreshed in passes over the volumes, each spread over this time: the leader"
      .. " pushes every volume's view, and each follower, after its vol scan, fetches the volumes it listed" },
  { key = "cache.expiry", type = "duration", default = 300, above = 0, max = 1e6, c = "cache_expiry",
    cite = "master/cluster.go (checkStatus)", doc = "a cached volume view older than this is a miss" },
  { key = "cache.cleanup", type = "duration", default = 60, above = 0, max = 1e6, c = "cache_cleanup",
    cite = "master/monitor_metrics.go (setVolNoCacheMetrics); master/cluster.go (DelObsoleteVolRecord)",
    doc = "how often a follower drops the cache entries of volumes its last vol scan did not list" },

  { key = "clients", type = "list", max = 8, c = "groups", ctype = "int", doc = "client groups: see below" },
  { key = "clients[].count", type = "count", default = 1, min = 1, max = 1e6, c = "count", ctype = "int",
    doc = "clients in the group" },
  { key = "clients[].rate", type = "number", unit = "1/s", default = 10, min = 0, max = 1e6, c = "rate",
    doc = "reads per second per client" },
  { key = "clients[].arrivals", type = "enum", choices = { "poisson", "fixed", "closed" }, default = "poisson",
    c = "arrivals", ctype = "ms_arrivals",
    doc = "open loop (Poisson or fixed rate; latency counts from the intended send time, so there is no"
      .. " coordinated omission) or closed loop" },
  { key = "clients[].think", type = "duration", default = 0, min = 0, max = 3600, c = "think",
    doc = "closed loop: pause between a reply and the next read" },
  { key = "clients[].route", type = "enum", choices = { "leader", "any", "local", "sdk" }, cubefs = "sdk",
    generic = "local", c = "route", ctype = "ms_route", cite = "sdk/master/client.go (serveRequest);"
      .. " sdk/master/api_client.go (GetDataPartitions)",
    doc = "`leader`: to the leader; `any`: to the client's own master, which forwards every read to the"
      .. " leader; `local`: to the client's own master, which does what `routing` says; `sdk`: CubeFS's SDK,"
      .. " one pass over the cached leader (a random master for `get_partitions`) then every master in"
      .. " order, the next at once after a failure (`retry` does not apply)" },
  { key = "clients[].timeout", type = "duration", cubefs = 30, generic = 1, above = 0, max = 3600, c = "timeout",
    cite = "sdk/master/client.go (requestTimeout)", doc = "per attempt" },
  { key = "clients[].retry.max", type = "count", default = 3, min = 0, max = 1000, c = "retry_max",
    ctype = "int", doc = "retries after a failure or timeout" },
  { key = "clients[].retry.backoff", type = "duration", default = 0.02, min = 0, max = 3600, c = "backoff",
    doc = "first backoff; it doubles per retry" },
  { key = "clients[].retry.cap", type = "duration", default = 1, min = 0, max = 3600, c = "backoff_cap",
    doc = "the backoff's cap" },
  { key = "clients[].retry.jitter", type = "fraction", default = 0.1, c = "jitter",
    doc = "the backoff is multiplied by 1 ± jitter" },
  { key = "clients[].retry.other", type = "boolean", default = true, c = "retry_other", ctype = "int",
    doc = "retry on the next master" },
  { key = "clients[].ops", type = "read_weights", default = { get_vol = 1 }, c = "ops",
    doc = "mix of read ops" },
  { key = "clients[].keys", type = "enum", choices = { "uniform", "zipf" }, default = "uniform", c = "keys",
    ctype = "ms_keys", doc = "which vol a read is about" },
  { key = "clients[].zipf_s", type = "number", unit = "", default = 1.1, above = 0, max = 100, c = "zipf_s",
    doc = "zipf exponent" },

  { key = "writes.rate", type = "number", unit = "1/s", default = 0, min = 0, max = 1e6, c = "write_rate",
    doc = "proposals per second to the leader (Poisson)" },
  { key = "writes.ops", type = "write_weights", cubefs = { create_dp = 1 },
    generic = { create_dp = 0.3, heartbeat = 0.7 }, c = "write_ops",
    cite = "master/cluster_task.go (node heartbeats update memory, not raft); master/metadata_fsm_op.go (syncAdd*)",
    doc = "mix of write ops (`heartbeat` updates a node record through raft: not what CubeFS does)" },
  { key = "writes.timeout", type = "duration", default = 1, above = 0, max = 3600, c = "write_timeout",
    doc = "a proposal not committed by then is retried (3 times)" },

  { key = "scans", type = "list", max = 4, cubefs = 1, generic = 0, c = "scans", ctype = "int",
    cite = "master/cluster.go (getVolumeDpView: loadVolsViews, panics on a store error)",
    doc = "background readers of a master's own store (not clients): see below; the cubefs profile has one,"
      .. " the follower's vol scan before each cache pass" },
  { key = "scans[].name", type = "string", default = "vol_view", doc = "its name in results" },
  { key = "scans[].op", type = "enum", choices = { "list_vols", "get_cluster" }, default = "list_vols", c = "op",
    ctype = "int", cite = "master/metadata_fsm_op.go (loadVolsViews: SeekForPrefix #vol#)",
    doc = "what it reads: every `#vol#` key, or the cluster record and id allocators" },
  { key = "scans[].on", type = "enum", choices = { "followers", "leader", "all" }, default = "followers",
    c = "on", ctype = "int", doc = "the masters it runs on (a node's role when the scan starts)" },
  { key = "scans[].period", type = "duration", default = 5, above = 0, max = 3600, c = "period",
    cite = "master/cluster.go (scheduleToCheckFollowerReadCache)",
    doc = "between the starts of two scans (a cache-feeding scan: the next starts when its pass ends)" },
  { key = "scans[].cost_per_key", type = "duration", default = 2e-6, min = 0, max = 1, c = "cost_per_key",
    doc = "time the scan takes per key it reads (an estimate); it reads the store as of its start" },
  { key = "scans[].feeds_cache", type = "boolean", default = true, c = "feeds_cache", ctype = "int",
    cite = "master/cluster.go (getVolumeDpView)",
    doc = "the volumes it lists are the ones this follower fetches into its cache in the pass that follows" },

  { key = "faults", type = "faults", doc = "faults and their triggers: see below" },
  { key = "timeline.bucket", type = "duration", default = 1, min = 1e-3, max = 1e6, c = "bucket",
    doc = "width of the result's timeline buckets" },
}

--- Checks across settings of one scenario: each names the key it reports
-- on and returns nil or the reason (the scenario is validated and
-- normalised: durations in seconds).
S.relations = {
  { key = "raft.election_max", why = function(sc)
    if sc.raft.election_max < sc.raft.election_min then
      return ("must not be below raft.election_min (%gs)"):format(sc.raft.election_min)
    end
  end },
  { key = "raft.heartbeat", why = function(sc)
    if sc.raft.heartbeat >= sc.raft.election_min then
      return ("must be below raft.election_min (%gs): followers would campaign between heartbeats")
        :format(sc.raft.election_min)
    end
  end },
  { key = "raft.tick", why = function(sc)
    if sc.raft.tick > sc.raft.heartbeat then
      return ("must not be above raft.heartbeat (%gs)"):format(sc.raft.heartbeat)
        .. " (timers count ticks: set raft.tick = 0 for continuous ones)"
    end
  end },
  { key = "cluster.meta_partitions", why = function(sc)
    if sc.cluster.meta_partitions < sc.cluster.volumes then
      return ("must be at least cluster.volumes (%d): every volume has a meta partition"):format(sc.cluster.volumes)
    end
  end },
  { key = "cluster.data_partitions", why = function(sc)
    if sc.cluster.data_partitions < sc.cluster.volumes then
      return ("must be at least cluster.volumes (%d): every volume has a data partition"):format(sc.cluster.volumes)
    end
  end },
  { key = "timeline.bucket", why = function(sc)
    if sc.duration / sc.timeline.bucket > 1e6 then
      return ("gives %.3g buckets over the duration (at most 1e6)"):format(sc.duration / sc.timeline.bucket)
    end
  end },
}

--- The keys of t, sorted (as strings).
function S.sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

--- The row with `key`, or nil.
function S.row(key)
  for _, r in ipairs(S.rows) do
    if r.key == key then return r end
  end
end

--- The default of `row` under `profile`.
function S.default(row, profile)
  if row.default ~= nil then return row.default end
  return row[profile]
end

return S

/* The cluster model: N raft-replicated masters (store, apply pipeline,
 * snapshot install in the scenario's mode, apply gate, request server) on
 * the simulated network, a write workload, read clients, and the metrics
 * and checks of a run. Everything runs on one ms_sched; randomness comes
 * from named streams of the run's seed: "workload" (read arrivals, ops and
 * keys: identical under every policy), "writes", "service", "client"
 * (client network and retry jitter), plus the net's and raft's own.
 *
 * What a node does with a read that reaches it while it is not serving is
 * asked of a policy through ms_policy (implemented in Lua by src/lua, or in
 * C by the built-in policies of ms_policy.h). */
#ifndef MS_CLUSTER_H
#define MS_CLUSTER_H

#include "ms_dist.h"
#include "ms_gen.h"
#include "ms_hist.h"
#include "ms_ops.h"
#include "ms_metrics.h"
#include "ms_policy.h"
#include "ms_raft.h"
#include "ms_sched.h"
#include "ms_settings_gen.h"
#include "ms_snapshot.h"
#include "ms_write.h"

#include <stddef.h>
#include <stdint.h>

#define MS_MAX_MASTERS 16
#define MS_MAX_CLIENT_GROUPS 8
#define MS_MAX_SCANS 4

/* Where a client sends a read (see clients[].route in settings.lua). */
typedef enum ms_route { MS_ROUTE_LEADER = 0, MS_ROUTE_ANY, MS_ROUTE_LOCAL, MS_ROUTE_SDK } ms_route;
/* What a follower does with a read op that reaches it (`routing`). */
typedef enum ms_follower_read {
    MS_FOLLOWER_STORE = 0,
    MS_FOLLOWER_PROXY,
    MS_FOLLOWER_CACHE
} ms_follower_read;
/* A scan's read (scans[].op) and where it runs (scans[].on). */
typedef enum ms_scan_op { MS_SCAN_LIST_VOLS = 0, MS_SCAN_GET_CLUSTER } ms_scan_op;
typedef enum ms_scan_on { MS_SCAN_FOLLOWERS = 0, MS_SCAN_LEADER, MS_SCAN_ALL } ms_scan_on;
typedef enum ms_arrivals {
    MS_ARRIVALS_POISSON = 0,
    MS_ARRIVALS_FIXED,
    MS_ARRIVALS_CLOSED
} ms_arrivals;
typedef enum ms_keys { MS_KEYS_UNIFORM = 0, MS_KEYS_ZIPF } ms_keys;
typedef enum ms_start { MS_START_COLD = 0, MS_START_ELECTED } ms_start;
typedef enum ms_truncate { MS_TRUNCATE_CONTINUOUS = 0, MS_TRUNCATE_PERIODIC } ms_truncate;

/* The fields of both structs below that are scenario settings are
 * declared by the generated lists of ms_settings_gen.h: their key, type,
 * unit, defaults and range are rows of lua/mastersim/settings.lua (units
 * here: durations in ns, rates per second). See ms_settings.h. */
#define MS_SETTING_FIELD(ctype, name, dims, kind, key, choices) ctype name dims;

typedef struct ms_client_group {
    MS_GROUP_SETTINGS(MS_SETTING_FIELD)
} ms_client_group;

typedef struct ms_scan_config {
    MS_SCAN_SETTINGS(MS_SETTING_FIELD)
} ms_scan_config;

typedef struct ms_cluster_config {
    MS_CLUSTER_SETTINGS(MS_SETTING_FIELD)
    uint64_t seed;    /* groups and scans (settings): how many of these slots are used */
    uint64_t max_rss; /* the run budget's memory limit, bytes (0: none): the image
                         generator fails once the process's resident memory passes it */
    ms_client_group group[MS_MAX_CLIENT_GROUPS];
    ms_scan_config scan[MS_MAX_SCANS];
    /* TEST ONLY: every read scans its records (no ms_ops_memo); results must
     * be identical either way. */
    int read_memo_off;
} ms_cluster_config;

typedef struct ms_cluster ms_cluster;

/* Defaults: the generic profile's (ms_settings_defaults), no clients. */
void ms_cluster_config_default(ms_cluster_config *cfg);

/* Build the cluster on s: generate the image (identical on every master),
 * wire raft, schedule the workloads. err names what is wrong with cfg. */
ms_cluster *ms_cluster_new(ms_sched *s, const ms_cluster_config *cfg, const ms_policy *pol,
                           char *err, size_t errlen);
void ms_cluster_free(ms_cluster *c);

/* --- faults (take effect at the current virtual time) ---------------------- */
int ms_cluster_crash(ms_cluster *c, int node);
int ms_cluster_restart(ms_cluster *c, int node);
int ms_cluster_partition(ms_cluster *c, const int *a, size_t na, const int *b, size_t nb);
int ms_cluster_block(ms_cluster *c, int from, int to);
int ms_cluster_heal(ms_cluster *c);
/* From now on the node applies entries (log and snapshot) `factor` times
 * slower (factor > 0; 1 restores the normal rate, below 1 is faster). */
int ms_cluster_slow_apply(ms_cluster *c, int node, double factor);
/* Make `node` (not the leader) install the leader's snapshot, as if the
 * leader's log had been compacted past it. */
int ms_cluster_force_snapshot(ms_cluster *c, int node);
/* An operator restore: install the leader's current state on `node`. */
int ms_cluster_apply_snapshot(ms_cluster *c, int node);
int ms_cluster_transfer_leader(ms_cluster *c, int target);

/* A hook called after events that change a node's state (phase, apply
 * progress, crash, restart), for ms.when triggers: in an event of its own
 * at the same virtual instant, never inside the model's own state changes,
 * so it may call the fault functions. */
void ms_cluster_on_change(ms_cluster *c, void (*fn)(void *ctx), void *ctx);

/* One read attempt as the client saw it end (for a history file). Times in
 * ns; queue, gate and service are spent at the node, network is the rest
 * (both hops, a proxy's extra hops, a redirect's reply). */
typedef struct ms_attempt_record {
    int64_t t;     /* when the attempt ended for the client */
    uint64_t read; /* the logical read's id */
    int attempt;   /* 1 for the first attempt */
    int client, op, node;
    const char *role;    /* the node's role when the attempt arrived ("" if it never did) */
    const char *phase;   /* the node's phase when the attempt arrived */
    uint64_t applied;    /* index the answer reflected (results only) */
    uint64_t commit;     /* commit index when the logical read was issued */
    const char *outcome; /* fresh, stale, torn, crash, failed, timeout, redirect */
    const char *code;    /* failure code, or NULL */
    int64_t latency, queue, gate, service, network;
    int host; /* the master the client sent it to (node: where it was answered) */
} ms_attempt_record;

/* Call fn for every attempt that ends (NULL to stop). */
void ms_cluster_on_attempt(ms_cluster *c, void (*fn)(void *ctx, const ms_attempt_record *r),
                           void *ctx);

/* The operations a linearizability checker needs (for history exports):
 * a logical read when it ends (when it was issued, the outcome, the index
 * the answer reflected), a write proposal when the leader takes it (the
 * entry's index and term), and every entry every node applies (the ack of
 * a proposal is its proposer applying it). Times in ns. */
typedef enum ms_op_kind { MS_OPR_READ = 1, MS_OPR_PROPOSE, MS_OPR_APPLY } ms_op_kind;

typedef struct ms_op_record {
    ms_op_kind kind;
    int64_t t;       /* the read ended; the proposal was made; the entry was applied */
    int64_t invoked; /* reads: when the logical read was issued */
    uint64_t id;     /* reads: the read's id; proposals: the write's id */
    int tries;       /* proposals: 1 for the first, more for a retry */
    int client;      /* reads */
    int node;        /* proposals: the leader; applies: the node */
    int op;          /* reads: ms_read_op; writes: ms_write_op (0: a no-op entry) */
    uint64_t a, b;   /* reads: vol or node id, dp id; writes: vol, node id */
    int outcome;     /* reads: ms_outcome */
    uint64_t index;  /* reads: the index the answer reflected; writes: the entry's */
    uint64_t term;   /* writes: the entry's term */
} ms_op_record;

/* Call fn for every operation record (NULL to stop). */
void ms_cluster_on_op(ms_cluster *c, void (*fn)(void *ctx, const ms_op_record *r), void *ctx);

/* --- observation (ms_node_state is in ms_policy.h) ------------------------ */
struct ms_metrics;
struct ms_check;

int ms_cluster_size(const ms_cluster *c);
/* Bytes the model holds, roughly (a lower bound: the stores and the
 * metrics): what a binding reports to a garbage collector. */
size_t ms_cluster_footprint(const ms_cluster *c);
const struct ms_metrics *ms_cluster_metrics(const ms_cluster *c);
const struct ms_check *ms_cluster_check(const ms_cluster *c);
/* Content digest of a node's live store (O(store size)). */
uint64_t ms_cluster_store_digest(const ms_cluster *c, int node);
/* The generated image every master's store starts from, built once and
 * shared copy-on-write (ms_store_from_base), and its accounting. */
const struct ms_version *ms_cluster_image(const ms_cluster *c);
const struct ms_store_mem *ms_cluster_image_mem(const ms_cluster *c);
/* The error that stopped the run (a C policy's), or NULL. */
const char *ms_cluster_error(const ms_cluster *c);
int ms_cluster_node_state(const ms_cluster *c, int node, ms_node_state *out);
int ms_cluster_leader(const ms_cluster *c);
/* A background scan's counts (scans[k]) and the follower cache's. */
typedef struct ms_scan_stats {
    uint64_t runs, policy_calls;
    uint64_t outcomes[MS_OUT_COUNT];
    int64_t waited, busy; /* ns waited on gates, ns spent reading */
} ms_scan_stats;

typedef struct ms_cache_stats {
    uint64_t hits, misses;   /* reads a follower answered from its cache / failed ECACHEMISS */
    uint64_t pushed, pulled; /* entries filled by the leader's push / a follower's pull */
    uint64_t dropped;        /* entries dropped: not listed by the follower's last vol scan */
} ms_cache_stats;

const ms_scan_stats *ms_cluster_scan_stats(const ms_cluster *c, int k);
const ms_cache_stats *ms_cluster_cache_stats(const ms_cluster *c);

/* The leader changes so far (ms_raft_elections). */
const ms_raft_election *ms_cluster_elections(const ms_cluster *c, size_t *n);

#endif

/* Internal structures of the cluster model, shared by ms_cluster.c (wiring,
 * faults, observation), ms_master.c (the FSM: apply pipeline, snapshot
 * install, phases), ms_reads.c (a read at a node: routing table, policy,
 * gate, request server), ms_reads_client.c (its client: sending, replies,
 * classification, retries), ms_arrivals.c, ms_cache.c, ms_scans.c and
 * ms_writes.c (the write workload). Not part of the public interface. */
#ifndef MS_CLUSTER_IMPL_H
#define MS_CLUSTER_IMPL_H

#include "ms_check.h"
#include "ms_cluster.h"
#include "ms_gate.h"
#include "ms_metrics.h"
#include "ms_net.h"
#include "ms_raft.h"
#include "ms_rng.h"
#include "ms_store.h"
#include "ms_timerq.h"

/* Event kinds of the model (range 0x4d53xxxx: "MS"). */
enum {
    EV_APPLY = 0x4d530001,       /* a = node: apply the next committed entry */
    EV_CHUNK = 0x4d530002,       /* a = node: a snapshot chunk's apply time ended */
    EV_LOADED = 0x4d530003,      /* a = node: a new leader finished loading */
    EV_RESTART = 0x4d530004,     /* a = node: restart after a crash caused by a read */
    EV_ROLE = 0x4d530005,        /* a = node: raft changed the node's role */
    EV_CHANGED = 0x4d530006,     /* the state changed: run the on_change hook */
    EV_END = 0x4d530007,         /* arrivals stopped: end the run if no read is left */
    EV_ARRIVE = 0x4d530010,      /* a = group: the next open-loop read arrives */
    EV_SEND = 0x4d530011,        /* a = read id: an attempt is sent */
    EV_AT_NODE = 0x4d530012,     /* a = read id, b = node: the attempt reaches the node */
    EV_DECIDED = 0x4d530013,     /* a = read id: a policy decision takes effect (after its cost) */
    EV_SERVED = 0x4d530014,      /* a = read id, b = node: service ended */
    EV_REPLY = 0x4d530015,       /* a = read id: the reply reaches the client */
    EV_TIMEOUT = 0x4d530016,     /* a = read id: the client's attempt timer fired */
    EV_WRITE = 0x4d530020,       /* the next write is proposed */
    EV_WRITE_CHECK = 0x4d530021, /* a = write id: has the proposal committed? (timer queue) */
    EV_CACHE = 0x4d530030,       /* a = node: the cache task's next tick or pass step */
    EV_CLEANUP = 0x4d530031,     /* a = node: drop cache entries of vols the last scan missed */
    EV_SCAN = 0x4d530040,        /* a = node, b = scan: a scan starts */
    EV_SCAN_STEP = 0x4d530041    /* a = node, b = scan: a scan's decision took effect or it ended */
};

/* One background scan on one master (ms_scans.c): its state between the
 * policy, the gate and the end of its read. */
typedef enum { SCAN_IDLE = 0, SCAN_DECIDING, SCAN_WAITING, SCAN_READING } scan_stage;

typedef struct ms_scan_run {
    struct ms_cluster *c;
    int node, scan;
    uint64_t runs;
    scan_stage stage;
    ms_event_id ev;
    int64_t arrived, wait_start, waited;
    int wakeups, timed_out, consultations;
    ms_decision dec;
    ms_read_result res; /* the read, taken at its start, reported at its end */
    ms_outcome out;
} ms_scan_run;

typedef struct ms_read ms_read;
typedef struct ms_attempt ms_attempt;

typedef struct ms_master {
    struct ms_cluster *c;
    int idx;
    char name[8];
    ms_store_mem mem;
    ms_store *store;
    ms_ops_memo *memo; /* read results by content stamp; NULL when cfg.read_memo_off */
    ms_phase phase;
    ms_gate *gate;
    /* apply pipeline */
    uint64_t commit_seen, applied_term;
    ms_event_id apply_ev;
    double apply_scale; /* slow_apply factor: applies take this many times as long */
    /* snapshot install */
    ms_snap_imp *imp;
    ms_version *prev; /* aside: the previous version, for stale reads */
    uint64_t install_index, install_term;
    const void *chunk;
    size_t chunk_len;
    ms_event_id chunk_ev;
    size_t apply_interval, phase_interval;
    uint64_t applied_before_install;
    int lost; /* an interrupted install left the store unusable: a snapshot must replace it */
    /* leader view */
    int64_t loading_until;
    ms_event_id loading_ev, role_ev;
    int was_leader;
    /* request server */
    int busy;
    ms_attempt *qhead, *qtail;
    int qlen;
    ms_attempt *present; /* attempts at this node (any stage but AT_NET/AT_REPLY) */
    /* follower cache of the leader's volume views (ms_cache.c), by vol
     * id 1..V: when filled (-1: none) and the leader's applied index then */
    int64_t *cache_at;
    uint64_t *cache_index;
    uint8_t *listed; /* vols the last cache-feeding scan listed */
    ms_event_id cache_ev, cleanup_ev;
    uint64_t
        *pass_vols; /* the pass's vols, in order: pass_n of them, in steps; pass_next steps done */
    uint64_t pass_n, pass_next;
    int64_t pass_start;
    int pass_push; /* 1: the leader pushes; 0: this follower pulls */
    /* background scans (ms_scans.c) */
    ms_scan_run scan[MS_MAX_SCANS];
} ms_master;

/* A logical read (client side) and its attempts (server side). An attempt
 * outlives its read when the client gives up on it (timeout): the server
 * still does the work, and the reply is dropped. Events carry sequential
 * ids (a) for the digest and the object as their context. */

struct ms_read {
    struct ms_cluster *c;
    uint64_t id;
    int group, client, op;
    uint64_t key_a, key_b;
    int64_t intended; /* when the logical read was meant to be sent */
    uint64_t commit_at_issue;
    uint64_t apply_epoch; /* cluster apply epoch at issue */
    int applying_at_issue;
    int attempts, retries, redirects;
    int64_t total_wait;
    uint64_t observed; /* the index the last answer reflected (history) */
    int target;        /* node of the next attempt */
    int sdk_try;       /* route sdk: 0 the first host, k the k-th master after it */
    ms_attempt *cur;   /* the attempt in flight, or NULL */
    uint64_t timeout;  /* the attempt's timer: a ticket in its group's timeout queue */
    ms_event_id retry; /* the retry backoff */
    ms_read *next_free;
};

typedef enum { AT_NET = 0, AT_DECIDING, AT_WAIT, AT_QUEUED, AT_SERVICE, AT_REPLY } attempt_stage;

struct ms_attempt {
    struct ms_cluster *c;
    uint64_t id;
    ms_read *r; /* NULL once the client gave up on this attempt */
    int op, client;
    uint64_t key_a, key_b, last_seen;
    int node, number;
    int host;    /* the master the client sent it to (node moves when a follower forwards it) */
    int proxied; /* hops through followers that forwarded it to a leader */
    int cached;  /* served from the follower cache, not the store */
    attempt_stage stage;
    ms_event_id ev; /* the pending event of this attempt, if any */
    int64_t arrived, wait_start, waited;
    int wakeups, timed_out, consultations;
    ms_version *pinned; /* stale: the previous version it reads */
    ms_phase admitted;  /* the node's phase when the attempt was let in */
    /* for the history: when it was sent, time queued and in service, and
     * the node's role and phase on arrival */
    int64_t sent, queued_at, queue_ns, service_start, service_ns;
    const char *arr_role, *arr_phase;
    ms_decision dec;
    /* the reply */
    int kind; /* REPLY_RESULT, REPLY_FAIL, REPLY_REDIRECT */
    ms_read_result result;
    char code[MS_CODE_MAX];
    int64_t retry_after;
    int redirect_to;
    ms_attempt *qnext;             /* server queue */
    ms_attempt *prev_at, *next_at; /* attempts present at a node */
    ms_attempt *next_free;
};

enum { REPLY_RESULT = 0, REPLY_FAIL, REPLY_REDIRECT };

typedef struct ms_pool {
    void **blocks;
    size_t n, cap;
} ms_pool;

#define MS_POOL_BLOCK 256

typedef struct client_state {
    uint64_t last_seen;
    int home;       /* local routing: the client's master */
    int busy;       /* closed loop: a read in progress */
    int sdk_leader; /* route sdk: the host that last answered (the SDK's leader), -1 */
} client_state;

typedef struct ms_cluster {
    ms_sched *s;
    ms_cluster_config cfg;
    ms_gen_desc image; /* the generated image, from cfg's image_* settings */
    /* the image, built once and pinned: every master's store starts as a
     * copy-on-write copy of it (ms_store_from_base), in its own family */
    ms_store_mem image_mem;
    ms_version *image_ver;
    ms_policy pol;
    ms_net *net;
    ms_raft *raft;
    ms_check *check;
    ms_master m[MS_MAX_MASTERS];
    int n;
    ms_rng workload, writes, service, client;
    ms_metrics metrics;
    /* reads: objects come from pools and are reused */
    ms_read *free_reads;
    ms_attempt *free_attempts;
    ms_pool read_pool, attempt_pool; /* blocks, freed with the cluster */
    uint64_t next_read, next_attempt;
    uint64_t reads_open; /* logical reads not finished: the run ends when the last after `duration`
                            does */

    client_state *clients[MS_MAX_CLIENT_GROUPS];
    ms_timerq timeouts[MS_MAX_CLIENT_GROUPS]; /* per group: one duration, so FIFO */
    int client_base[MS_MAX_CLIENT_GROUPS];
    /* commit times, for staleness in time */
    int64_t *commit_time;
    uint64_t *commit_term; /* term of the entry committed at each index (0: unknown) */
    size_t ncommit, capcommit;
    uint64_t commit_max;
    /* applies in progress, and how many began so far */
    int applying;
    uint64_t apply_epoch;
    uint64_t check_every; /* replicas' digests are compared at multiples of this index */
    /* writes */
    uint64_t write_seq;
    ms_pool write_pool;
    /* a proposal's commit check, after write_timeout or (no leader)
     * write_timeout / 10 + 1: one duration per queue, so FIFO */
    ms_timerq write_checks[2];
    struct ms_pending_write *free_writes;
    uint64_t max_vol_hint, max_node_id, min_node_id, nodes_dn;
    /* triggers */
    void (*on_change)(void *ctx);
    void (*on_attempt)(void *ctx, const ms_attempt_record *r);
    void *attempt_ctx;
    void (*on_op)(void *ctx, const ms_op_record *r);
    void *op_ctx;
    void *change_ctx;
    int changing; /* inside the hook */
    ms_event_id change_ev;
    /* the follower cache and the scans */
    int cache_on; /* some op is routed to the cache */
    ms_cache_stats cache;
    ms_scan_stats scan_stats[MS_MAX_SCANS];
    char err[256];
} ms_cluster;

/* ms_master.c */
int ms__master_init(ms_cluster *c, int i);
void ms__master_free(ms_master *m);
void ms__master_fsm(ms_master *m, ms_raft_fsm *fsm);
void ms__master_set_phase(ms_master *m, ms_phase p);
void ms__master_crash(ms_master *m);
void ms__master_restarted(ms_master *m);
void ms__master_role_check(ms_master *m);
void ms__node_state(const ms_cluster *c, int i, ms_node_state *out);

/* The state of the client that issued r. */
static inline client_state *ms__client_of(ms_cluster *c, const ms_read *r) {
    return &c->clients[r->group][r->client - c->client_base[r->group]];
}

/* ms_arrivals.c */
int ms__reads_start(ms_cluster *c);
/* A closed-loop client's next read, after delay ns. */
void ms__reads_next_closed(ms_cluster *c, int group, int client, int64_t delay);
/* The SDK's first host of read r, and the next after a failure (0: none left). */
void ms__sdk_first(ms_cluster *c, ms_read *r);
int ms__sdk_next(ms_cluster *c, ms_read *r);

/* ms_read_pool.c */
void ms__reads_free(ms_cluster *c);
ms_read *ms__read_new(ms_cluster *c);
void ms__read_free(ms_cluster *c, ms_read *r);
ms_attempt *ms__attempt_new(ms_cluster *c);
void ms__attempt_free(ms_cluster *c, ms_attempt *a);

/* One network hop's delay, drawn from the client stream. */
static inline int64_t ms__hop(ms_cluster *c) {
    return ms_dist_sample_i64(&c->cfg.latency, &c->client);
}

/* ms_reads_client.c */
/* Send read r's next attempt to r->target (as routed). */
void ms__read_send(ms_cluster *c, ms_read *r);
/* A client's attempt timer fired (the callback of its group's timeout queue). */
void ms__read_timeout(void *ctx, void *item, uint64_t id);
/* Send the reply of attempt a (which has left its node) to its client; the
 * _fail form first makes it an error answer (code, retry_after seconds). */
void ms__read_reply(ms_cluster *c, ms_attempt *a);
void ms__read_reply_fail(ms_cluster *c, ms_attempt *a, const char *code, double retry_after);
/* Attempt a is never answered (its node cannot reach the leader it forwards
 * to): an ETIMEDOUT reply that arrives after the client's timeout, dropped. */
void ms__read_reply_lost(ms_cluster *c, ms_attempt *a);

/* ms_reads.c */
/* Ask the policy about a read or a scan: *d is its decision (folded into
 * the digest), or -1 when the policy failed: c->err holds why and the run
 * stops. */
int ms__policy_ask(ms_cluster *c, const ms_read_state *rs, const ms_node_state *ns, ms_decision *d);
/* An attempt reaches node `node` (an EV_AT_NODE event). */
void ms__read_at_node(ms_sched *s, void *ctx, uint64_t id, uint64_t node);
void ms__reads_node_down(ms_cluster *c, int node);
void ms__reads_apply_begins(ms_cluster *c, int node);

/* ms_cache.c */
int ms__cache_init(ms_master *m);
void ms__cache_free(ms_master *m);
int ms__cache_start(ms_cluster *c);
/* The node went down (its cache is lost) or came back up. */
void ms__cache_node_down(ms_master *m);
void ms__cache_node_up(ms_master *m);
/* Is vol's entry on m ready now; its index. */
int ms__cache_ready(const ms_master *m, uint64_t vol);
uint64_t ms__cache_index(const ms_master *m, uint64_t vol);
/* A cache-feeding scan on follower m ended: listed[] holds what it found
 * (`ok` = 0: it failed). Starts the pull pass; the cache task goes on. */
void ms__cache_scan_done(ms_master *m, int ok);

/* ms_scans.c */
int ms__scans_start(ms_cluster *c);
void ms__scans_node_down(ms_master *m);
void ms__scans_node_up(ms_master *m);
/* Start scan k on m now (the cache task's follower tick uses this). */
void ms__scan_begin(ms_master *m, int k);
/* A crash caused by a read or a scan of a closed store: count it, crash
 * the node, restart it after restart_delay. */
void ms__crash_by_read(ms_cluster *c, ms_master *m, const char *what);

/* ms_writes.c */
int ms__writes_start(ms_cluster *c);
void ms__writes_free(ms_cluster *c);

/* ms_cluster.c */
void ms__changed(ms_cluster *c);
void ms__commit_advanced(ms_cluster *c, int node, uint64_t commit);

#endif

/* The cluster: wiring of net, raft, masters and workloads; faults;
 * observation; commit times for staleness. */
#include "ms_cluster_impl.h"

#include "ms_settings.h"
#include "ms_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ms_cluster_config_default(ms_cluster_config *cfg) {
    ms_settings_defaults(cfg, MS_PROFILE_GENERIC);
}

static int bad(char *err, size_t n, const char *msg) {
    snprintf(err, n, "%s", msg);
    return -1;
}

static int check_config(const ms_cluster_config *cfg, const ms_policy *pol, char *err, size_t n) {
    if (cfg->masters < 1 || cfg->masters > MS_MAX_MASTERS)
        return bad(err, n, "cluster.masters must be 1..16");
    if (cfg->duration <= 0) return bad(err, n, "duration must be positive");
    if (cfg->apply_rate <= 0) return bad(err, n, "snapshot.apply_rate must be positive");
    if (cfg->bandwidth <= 0) return bad(err, n, "snapshot.bandwidth must be positive");
    if (cfg->workers < 1) return bad(err, n, "server.workers must be at least 1");
    if (cfg->groups < 0 || cfg->groups > MS_MAX_CLIENT_GROUPS)
        return bad(err, n, "at most 8 client groups");
    if (!pol || !pol->on_read) return bad(err, n, "no read policy");
    for (int g = 0; g < cfg->groups; g++) {
        double sum = 0;
        for (int i = 0; i < MS_OP_COUNT; i++) sum += cfg->group[g].ops[i];
        if (cfg->group[g].count > 0 && sum <= 0)
            return bad(err, n, "clients: ops weights must not all be 0");
        if (cfg->group[g].timeout <= 0) return bad(err, n, "clients: timeout must be positive");
    }
    return 0;
}

/* Node ids in the generated image: vols take 1..V of the common allocator,
 * then data nodes, then meta nodes (see ms_gen.h). */
static void image_ids(ms_cluster *c) {
    const ms_gen_desc *d = &c->image;
    uint64_t dn = d->data_nodes, mn = d->meta_nodes;
    if (!(dn && mn)) {
        dn = (d->nodes + 1) / 2;
        mn = d->nodes / 2;
    }
    c->nodes_dn = dn;
    c->min_node_id = d->volumes + 1;
    c->max_node_id = d->volumes + dn + mn;
    c->max_vol_hint = d->volumes;
}

/* Generate the image once into a shareable family and pin it. */
static int build_image(ms_cluster *c, char *err, size_t errlen) {
    char msg[256];
    c->image_mem.shareable = 1;
    ms_store *b = ms_store_new(&c->image_mem);
    if (!b) return bad(err, errlen, "out of memory");
    if (ms_gen_build(b, &c->image, c->cfg.seed, NULL, msg, sizeof msg) != 0) {
        ms_store_free(b);
        snprintf(err, errlen, "cluster image: %.200s", msg);
        return -1;
    }
    c->image_ver = ms_store_snapshot(b);
    ms_store_free(b);
    return c->image_ver ? 0 : bad(err, errlen, "out of memory");
}

ms_cluster *ms_cluster_new(ms_sched *s, const ms_cluster_config *cfg, const ms_policy *pol,
                           char *err, size_t errlen) {
    if (check_config(cfg, pol, err, errlen) != 0) return NULL;
    ms_cluster *c = calloc(1, sizeof *c);
    if (!c) {
        bad(err, errlen, "out of memory");
        return NULL;
    }
    c->s = s;
    c->cfg = *cfg;
    c->pol = *pol;
    if (pol->ud == &pol->param) c->pol.ud = &c->pol.param; /* a built-in's parameter */
    c->n = cfg->masters;
    c->image = (ms_gen_desc){.volumes = cfg->image_volumes,
                             .data_partitions = cfg->image_data_partitions,
                             .meta_partitions = cfg->image_meta_partitions,
                             .nodes = cfg->image_nodes,
                             .users = cfg->image_users,
                             .max_rss = cfg->max_rss};
    image_ids(c);
    for (int op = 0; op < MS_OP_COUNT; op++) c->cache_on |= cfg->routing[op] == MS_FOLLOWER_CACHE;
    ms_rng_init(&c->workload, cfg->seed, "workload");
    ms_rng_init(&c->writes, cfg->seed, "writes");
    ms_rng_init(&c->service, cfg->seed, "service");
    ms_rng_init(&c->client, cfg->seed, "client");
    if (ms_metrics_init(&c->metrics, cfg->bucket, cfg->duration) != 0) goto oom;
    c->net = ms_net_new(s, c->n, cfg->seed);
    c->check = ms_check_new(s);
    if (!c->net || !c->check) goto oom;
    ms_net_set_latency(c->net, cfg->latency);
    ms_net_set_loss(c->net, cfg->loss);
    ms_net_set_bandwidth(c->net, cfg->bandwidth);
    ms_raft_config rc;
    ms_raft_config_default(&rc, c->n);
    rc.seed = cfg->seed;
    rc.election_min = cfg->election_min;
    rc.election_max = cfg->election_max;
    rc.heartbeat = cfg->heartbeat;
    rc.tick = cfg->tick;
    rc.lease_timeout = cfg->lease_timeout;
    rc.quorum_check = cfg->quorum_check;
    rc.prevote = cfg->prevote;
    rc.check_quorum = cfg->check_quorum;
    rc.truncate_periodic = cfg->truncate == MS_TRUNCATE_PERIODIC;
    rc.retain = cfg->retain;
    rc.unsafe_commit_without_majority = cfg->unsafe_commit;
    c->raft = ms_raft_new(s, c->net, c->check, &rc);
    if (!c->raft) goto oom;
    if (build_image(c, err, errlen) != 0) {
        ms_cluster_free(c);
        return NULL;
    }
    for (int i = 0; i < c->n; i++) {
        if (ms__master_init(c, i) != 0) {
            snprintf(err, errlen, "%s", c->err[0] ? c->err : "out of memory");
            ms_cluster_free(c);
            return NULL;
        }
        ms_raft_fsm fsm;
        ms__master_fsm(&c->m[i], &fsm);
        ms_raft_set_fsm(c->raft, i, &fsm);
    }
    /* Replicas' store digests are compared every check_every indices (and
     * after every install). A digest costs O(keys), so the interval grows
     * with the store: the smallest power of two >= max(1024, keys / 2),
     * which keeps digests under ~2 hash passes per key per interval. */
    c->check_every = 1024;
    while (c->check_every < ms_store_count(c->m[0].store) / 2) c->check_every *= 2;
    if (cfg->start == MS_START_ELECTED) {
        c->m[0].was_leader = 1; /* its view is loaded: it led before time 0 */
        ms_raft_start_elected(c->raft, 0);
    } else {
        ms_raft_start(c->raft);
    }
    if (ms__reads_start(c) != 0 || ms__writes_start(c) != 0 || ms__cache_start(c) != 0 ||
        ms__scans_start(c) != 0)
        goto oom;
    return c;
oom:
    bad(err, errlen, "out of memory");
    ms_cluster_free(c);
    return NULL;
}

void ms_cluster_free(ms_cluster *c) {
    if (!c) return;
    ms__reads_free(c);
    ms__writes_free(c);
    ms_raft_free(c->raft);
    for (int i = 0; i < c->n; i++) ms__master_free(&c->m[i]);
    ms_version_release(c->image_ver); /* after the masters: they refer into it */
    ms_net_free(c->net);
    ms_check_free(c->check);
    ms_metrics_free(&c->metrics);
    free(c->commit_time);
    free(c->commit_term);
    free(c);
}

/* --- change notification and commit times ------------------------------------ */

void ms_cluster_on_attempt(ms_cluster *c, void (*fn)(void *ctx, const ms_attempt_record *r),
                           void *ctx) {
    c->on_attempt = fn;
    c->attempt_ctx = ctx;
}

void ms_cluster_on_op(ms_cluster *c, void (*fn)(void *ctx, const ms_op_record *r), void *ctx) {
    c->on_op = fn;
    c->op_ctx = ctx;
}

void ms_cluster_on_change(ms_cluster *c, void (*fn)(void *ctx), void *ctx) {
    c->on_change = fn;
    c->change_ctx = ctx;
}

static void on_changed(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    ms_cluster *c = ctx;
    c->change_ev = 0;
    if (!c->on_change) return;
    c->changing = 1;
    c->on_change(c->change_ctx);
    c->changing = 0;
}

/* State changed: the hook runs in an event of its own at this instant, so
 * a trigger's action (a crash) never runs inside raft or the master's
 * half-done state changes; changes within one event are reported once,
 * and those a trigger's action makes are reported by a further event. */
void ms__changed(ms_cluster *c) {
    if (!c->on_change || c->change_ev) return;
    c->change_ev = ms_sched_after(c->s, 0, EV_CHANGED, on_changed, c, 0, 0);
}

/* The cluster-wide commit index advanced, as node `node` learned: remember
 * when each index first committed (for staleness in time) and the term of
 * the entry committed there (so a write knows whether it was its own). The
 * node's log still holds those entries: committed entries are not compacted
 * before they are applied. */
void ms__commit_advanced(ms_cluster *c, int node, uint64_t commit) {
    if (commit <= c->commit_max) return;
    if (commit + 1 > c->capcommit) {
        size_t cap = c->capcommit ? c->capcommit : 1024;
        while (cap < commit + 1) cap *= 2;
        int64_t *t = realloc(c->commit_time, cap * sizeof *t);
        if (!t) return;
        c->commit_time = t;
        uint64_t *terms = realloc(c->commit_term, cap * sizeof *terms);
        if (!terms) return;
        c->commit_term = terms;
        c->capcommit = cap;
    }
    int64_t now = ms_sched_now(c->s);
    for (uint64_t i = c->commit_max + 1; i <= commit; i++) {
        ms_raft_entry e;
        c->commit_time[i] = now;
        c->commit_term[i] = ms_raft_entry_at(c->raft, node, i, &e) == 0 ? e.term : 0;
    }
    c->ncommit = commit + 1;
    c->commit_max = commit;
}

/* --- faults ---------------------------------------------------------------------- */

static int valid(const ms_cluster *c, int node) {
    return node >= 0 && node < c->n;
}

int ms_cluster_crash(ms_cluster *c, int node) {
    if (!valid(c, node) || !ms_raft_is_up(c->raft, node)) return -1;
    ms_metrics_fault(&c->metrics, ms_sched_now(c->s), "crash", node);
    int rc = ms_raft_crash(c->raft, node); /* calls ms__master_crash */
    if (c->m[node].phase != MS_PHASE_DOWN) ms__master_crash(&c->m[node]);
    ms__changed(c);
    return rc == MS_RAFT_OK ? 0 : -1;
}

int ms_cluster_restart(ms_cluster *c, int node) {
    if (!valid(c, node)) return -1;
    if (ms_raft_restart(c->raft, node) != MS_RAFT_OK) return -1;
    ms_metrics_fault(&c->metrics, ms_sched_now(c->s), "restart", node);
    ms__master_restarted(&c->m[node]);
    ms__changed(c);
    return 0;
}

int ms_cluster_partition(ms_cluster *c, const int *a, size_t na, const int *b, size_t nb) {
    ms_metrics_fault(&c->metrics, ms_sched_now(c->s), "partition", na == 1 ? a[0] : -1);
    return ms_net_partition(c->net, a, na, b, nb);
}

int ms_cluster_block(ms_cluster *c, int from, int to) {
    ms_metrics_fault(&c->metrics, ms_sched_now(c->s), "block", from);
    return ms_net_block(c->net, from, to);
}

int ms_cluster_heal(ms_cluster *c) {
    ms_metrics_fault(&c->metrics, ms_sched_now(c->s), "heal", -1);
    ms_net_heal(c->net);
    return 0;
}

int ms_cluster_slow_apply(ms_cluster *c, int node, double factor) {
    if (!valid(c, node) || !(factor > 0)) return -1;
    ms_metrics_fault(&c->metrics, ms_sched_now(c->s), "slow_apply", node);
    c->m[node].apply_scale = factor;
    return 0;
}

/* The node asks the leader for its snapshot, as if the leader's log had
 * been compacted past it (compacting would also cut off every other
 * lagging follower, and cannot reach a follower that is up to date). */
/* The leader streams node a snapshot; the fault is recorded as `what`. */
static int stream_snapshot(ms_cluster *c, int node, const char *what) {
    int leader = ms_cluster_leader(c);
    if (!valid(c, node) || leader < 0 || leader == node) return -1;
    ms_metrics_fault(&c->metrics, ms_sched_now(c->s), what, node);
    return ms_raft_request_snapshot(c->raft, node) == MS_RAFT_OK ? 0 : -1;
}

int ms_cluster_force_snapshot(ms_cluster *c, int node) {
    return stream_snapshot(c, node, "force_snapshot");
}

int ms_cluster_apply_snapshot(ms_cluster *c, int node) {
    /* An operator restore is the same stream as raft's, under its own name. */
    return stream_snapshot(c, node, "apply_snapshot");
}

int ms_cluster_transfer_leader(ms_cluster *c, int target) {
    int leader = ms_cluster_leader(c);
    if (!valid(c, target) || leader < 0) return -1;
    ms_metrics_fault(&c->metrics, ms_sched_now(c->s), "transfer_leader", target);
    return ms_raft_transfer_leader(c->raft, leader, target) == MS_RAFT_OK ? 0 : -1;
}

/* --- observation ----------------------------------------------------------------- */

int ms_cluster_size(const ms_cluster *c) {
    return c->n;
}

size_t ms_cluster_footprint(const ms_cluster *c) {
    size_t n = sizeof *c + ms_metrics_memory(&c->metrics);
    for (int i = 0; i < c->n; i++) n += c->m[i].mem.bytes_in_use;
    return n;
}

/* The leader of the highest term among live nodes, or -1. */
int ms_cluster_leader(const ms_cluster *c) {
    int best = -1;
    uint64_t term = 0;
    for (int i = 0; i < c->n; i++) {
        if (ms_raft_role_of(c->raft, i) == MS_RAFT_LEADER && ms_raft_term(c->raft, i) >= term) {
            best = i;
            term = ms_raft_term(c->raft, i);
        }
    }
    return best;
}

int ms_cluster_node_state(const ms_cluster *c, int node, ms_node_state *out) {
    if (!valid(c, node)) return -1;
    ms__node_state(c, node, out);
    return 0;
}

const ms_version *ms_cluster_image(const ms_cluster *c) {
    return c->image_ver;
}

const ms_store_mem *ms_cluster_image_mem(const ms_cluster *c) {
    return &c->image_mem;
}

const ms_metrics *ms_cluster_metrics(const ms_cluster *c) {
    return &c->metrics;
}
const char *ms_cluster_error(const ms_cluster *c) {
    return c->err[0] ? c->err : NULL;
}

const ms_check *ms_cluster_check(const ms_cluster *c) {
    return c->check;
}

uint64_t ms_cluster_store_digest(const ms_cluster *c, int node) {
    return valid(c, node) ? ms_store_digest(c->m[node].store) : 0;
}

const ms_raft_election *ms_cluster_elections(const ms_cluster *c, size_t *n) {
    return ms_raft_elections(c->raft, n);
}

const ms_scan_stats *ms_cluster_scan_stats(const ms_cluster *c, int k) {
    return k >= 0 && k < c->cfg.scans ? &c->scan_stats[k] : NULL;
}

const ms_cache_stats *ms_cluster_cache_stats(const ms_cluster *c) {
    return &c->cache;
}

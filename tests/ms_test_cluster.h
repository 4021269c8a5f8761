/* Helpers for the cluster model tests: a small cluster with one local
 * client group, faults scheduled at virtual times, a poller, and the
 * end-of-run checks (safety verdict, replicas converged). */
#ifndef MS_TEST_CLUSTER_H
#define MS_TEST_CLUSTER_H

#include "ms_check.h"
#include "ms_cluster.h"
#include "ms_metrics.h"
#include "ms_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000000LL
#define TCL_ACTIONS 64

typedef struct tcl tcl;
typedef void (*tcl_fn)(tcl *t, int arg);

typedef struct tcl_action {
    tcl *t;
    tcl_fn fn;
    int arg;
} tcl_action;

struct tcl {
    ms_sched *s;
    ms_cluster *c;
    ms_cluster_config cfg;
    tcl_action act[TCL_ACTIONS];
    int nact;
    int picked; /* a node chosen by an action (e.g. the follower it crashed) */
    void *user;
};

/* ~22K keys, a log of 500 entries, a slow apply (~1.1 s for a snapshot),
 * 300 writes/s, 30 clients x 20 reads/s routed locally. */
static inline void tcl_config(ms_cluster_config *cfg, uint64_t seed) {
    ms_cluster_config_default(cfg);
    cfg->seed = seed;
    cfg->duration = 30 * SEC;
    cfg->image_volumes = 200;
    cfg->image_data_partitions = 20000;
    cfg->image_meta_partitions = 2000;
    cfg->image_nodes = 200;
    cfg->image_users = 10;
    cfg->retain = 500;
    cfg->apply_rate = 20000;
    cfg->write_rate = 300;
    /* node-record updates only: the image keeps its key count */
    for (int i = 0; i < MS_WRITE_OP_SLOTS; i++) cfg->write_ops[i] = 0;
    cfg->write_ops[MS_W_HEARTBEAT] = 1;
    cfg->restart_delay = 3 * SEC;
    cfg->groups = 1;
    ms_client_group *g = &cfg->group[0];
    *g = (ms_client_group){.count = 30,
                           .rate = 20,
                           .route = MS_ROUTE_LOCAL,
                           .timeout = 2 * SEC,
                           .retry_max = 2,
                           .backoff = SEC / 50,
                           .backoff_cap = SEC,
                           .jitter = 0.1,
                           .retry_other = 1};
    g->ops[MS_OP_GET_VOL] = 0.4;
    g->ops[MS_OP_GET_PARTITIONS] = 0.4;
    g->ops[MS_OP_LIST_VOLS] = 0.2;
}

/* Build t->c from t->cfg with a built-in policy; 0 or -1 (reported). */
static inline int tcl_start(tcl *t, const char *policy, double param) {
    ms_policy pol;
    CHECK_EQ_I64(ms_policy_builtin(policy, param, &pol), 0);
    t->s = ms_sched_new();
    char err[256];
    t->c = ms_cluster_new(t->s, &t->cfg, &pol, err, sizeof err);
    if (!t->c) fprintf(stderr, "cluster: %s\n", err);
    CHECK(t->c != NULL);
    t->picked = -1;
    return t->c ? 0 : -1;
}

static inline void tcl_free(tcl *t) {
    ms_cluster_free(t->c);
    ms_sched_free(t->s);
    t->c = NULL;
    t->s = NULL;
}

static inline void tcl_fire(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    tcl_action *x = ctx;
    x->fn(x->t, x->arg);
}

/* Run fn(t, arg) at virtual second `sec`. */
static inline void tcl_at(tcl *t, double sec, tcl_fn fn, int arg) {
    if (t->nact == TCL_ACTIONS) return;
    tcl_action *x = &t->act[t->nact++];
    *x = (tcl_action){t, fn, arg};
    ms_sched_at(t->s, (int64_t)(sec * SEC), 1, tcl_fire, x, (uint64_t)t->nact, 0);
}

/* Run to `sec`, past the stop the model requests when its last read ends
 * (a run of the CLI ends there; these tests look at what comes after). */
static inline void tcl_run_to(tcl *t, double sec) {
    int64_t until = (int64_t)(sec * SEC);
    while (ms_sched_now(t->s) < until && ms_sched_next_time(t->s) <= until)
        ms_sched_run(t->s, until, 0);
    ms_sched_run(t->s, until, 0); /* moves the clock to `until` */
}

static inline double tcl_now(const tcl *t) {
    return (double)ms_sched_now(t->s) / SEC;
}

/* Actions. */
static inline void tcl_crash(tcl *t, int node) {
    ms_cluster_crash(t->c, node);
}
static inline void tcl_restart(tcl *t, int node) {
    ms_cluster_restart(t->c, node);
}
/* Crash a follower (remembered in t->picked). */
static inline void tcl_crash_follower(tcl *t, int unused) {
    (void)unused;
    int l = ms_cluster_leader(t->c);
    t->picked = (l + 1) % ms_cluster_size(t->c);
    ms_cluster_crash(t->c, t->picked);
}
static inline void tcl_restart_picked(tcl *t, int unused) {
    (void)unused;
    ms_cluster_restart(t->c, t->picked);
}
static inline void tcl_crash_leader(tcl *t, int unused) {
    (void)unused;
    t->picked = ms_cluster_leader(t->c);
    ms_cluster_crash(t->c, t->picked);
}

static inline ms_node_state tcl_node(const tcl *t, int node) {
    ms_node_state ns;
    ms_cluster_node_state(t->c, node, &ns);
    return ns;
}

/* Safety violations so far (the first one printed). */
static inline uint64_t tcl_violations(const tcl *t) {
    const ms_check *k = ms_cluster_check(t->c);
    uint64_t v = ms_check_violations(k);
    if (v)
        fprintf(stderr, "  violation at %.3f s on node %d: %s\n",
                (double)ms_check_first(k)->time / SEC, ms_check_first(k)->node,
                ms_check_first(k)->what);
    return v;
}

/* 1 when every node is up and serving at one applied index with one store
 * digest; prints the nodes when not. */
static inline int tcl_converged(const tcl *t) {
    int n = ms_cluster_size(t->c), same = 1;
    ms_node_state n0 = tcl_node(t, 0);
    uint64_t d0 = ms_cluster_store_digest(t->c, 0);
    for (int i = 0; i < n; i++) {
        ms_node_state ns = tcl_node(t, i);
        uint64_t d = ms_cluster_store_digest(t->c, i);
        if (ns.phase != MS_PHASE_SERVING || ns.applied != n0.applied || d != d0) same = 0;
    }
    for (int i = 0; !same && i < n; i++) {
        ms_node_state ns = tcl_node(t, i);
        fprintf(stderr, "  %s %-9s %-8s applied %llu digest %016llx\n", ns.name, ns.role,
                ms_phase_name(ns.phase), (unsigned long long)ns.applied,
                (unsigned long long)ms_cluster_store_digest(t->c, i));
    }
    return same;
}

/* Snapshot applies (intervals) that began on `node`; completed ones only
 * when `done`. */
static inline int tcl_applies(const tcl *t, int node, int done) {
    const ms_metrics *m = ms_cluster_metrics(t->c);
    int k = 0;
    for (size_t i = 0; i < m->applies.n; i++)
        k += m->applies.v[i].node == node && (!done || m->applies.v[i].finish >= 0);
    return k;
}

/* Failed reads whose final code is `code`. */
static inline uint64_t tcl_code(const tcl *t, const char *code) {
    const ms_metrics *m = ms_cluster_metrics(t->c);
    for (int i = 0; i < m->ncodes; i++)
        if (strcmp(m->code_name[i], code) == 0) return m->code_count[i];
    return 0;
}

static inline uint64_t tcl_read_crashes(const tcl *t) {
    return ms_cluster_metrics(t->c)->read_crashes;
}

#endif

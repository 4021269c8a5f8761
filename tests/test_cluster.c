/* The cluster model end to end: a follower falls behind the truncated log,
 * installs a snapshot while serving local reads, and each reference policy
 * shows its signature (torn reads, crashes, stale reads or none). */
#include "ms_cluster.h"
#include "ms_metrics.h"
#include "ms_test.h"

#include <stdio.h>

#define SEC 1000000000LL

typedef struct {
    ms_cluster *c;
} fault_ctx;

static void crash3(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    ms_cluster_crash(ctx, 2);
}

static void restart3(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    ms_cluster_restart(ctx, 2);
}

typedef struct {
    uint64_t outcomes[MS_OUT_COUNT], logical, digest, arrivals, applies, violations;
    uint64_t crashes;
} run_result;

static run_result run(const char *policy, double param, ms_snap_mode mode, uint64_t seed) {
    ms_cluster_config cfg;
    ms_cluster_config_default(&cfg);
    cfg.seed = seed;
    cfg.duration = 30 * SEC;
    cfg.image = (ms_gen_desc){.volumes = 200,
                              .data_partitions = 20000,
                              .meta_partitions = 2000,
                              .nodes = 200,
                              .users = 10};
    cfg.retain = 500;
    cfg.mode = mode;
    cfg.apply_rate = 20000; /* a slow apply: ~1.2 s for ~22K entries */
    cfg.write_rate = 300;
    cfg.restart_delay = 3 * SEC;
    cfg.groups = 1;
    ms_client_group *g = &cfg.group[0];
    *g = (ms_client_group){.count = 30,
                           .rate = 20,
                           .poisson = 1,
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
    ms_policy pol;
    CHECK_EQ_I64(ms_policy_builtin(policy, param, &pol), 0);
    ms_sched *s = ms_sched_new();
    char err[256];
    ms_cluster *c = ms_cluster_new(s, &cfg, &pol, err, sizeof err);
    if (!c) fprintf(stderr, "cluster: %s\n", err);
    CHECK(c != NULL);
    run_result r = {0};
    if (!c) return r;
    ms_sched_at(s, 5 * SEC, 1, crash3, c, 0, 0);
    ms_sched_at(s, 12 * SEC, 1, restart3, c, 0, 0);
    ms_sched_run(s, cfg.duration + 5 * SEC, 0);
    const ms_metrics *m = ms_cluster_metrics(c);
    for (int i = 0; i < MS_OUT_COUNT; i++) r.outcomes[i] = m->outcomes[i];
    r.logical = m->logical;
    r.digest = ms_sched_digest(s);
    r.arrivals = m->arrivals_digest;
    r.applies = m->applies.n;
    r.crashes = 0;
    for (size_t i = 0; i < m->nfaults; i++)
        if (m->faults[i].action[0] == 'r' && m->faults[i].action[1] == 'e' &&
            m->faults[i].action[5] == 'c')
            r.crashes++;
    printf(
        "  %-12s logical %6llu fresh %6llu stale %5llu torn %5llu crash %3llu failed %5llu "
        "timeout %4llu applies %llu read-crashes %llu\n",
        policy, (unsigned long long)r.logical, (unsigned long long)r.outcomes[MS_OUT_FRESH],
        (unsigned long long)r.outcomes[MS_OUT_STALE], (unsigned long long)r.outcomes[MS_OUT_TORN],
        (unsigned long long)r.outcomes[MS_OUT_CRASH], (unsigned long long)r.outcomes[MS_OUT_FAILED],
        (unsigned long long)r.outcomes[MS_OUT_TIMEOUT], (unsigned long long)r.applies,
        (unsigned long long)r.crashes);
    ms_cluster_free(c);
    ms_sched_free(s);
    return r;
}

static void test_policies_show_their_signature(void) {
    run_result ug = run("unguarded", 0, MS_SNAP_INPLACE, 1);
    CHECK(ug.applies >= 1);
    CHECK(ug.outcomes[MS_OUT_TORN] > 0);
    CHECK_EQ_I64(ug.crashes, 0);
    run_result bl = run("block", 5.0, MS_SNAP_INPLACE, 1);
    CHECK_EQ_I64(bl.outcomes[MS_OUT_TORN], 0);
    CHECK_EQ_I64(bl.crashes, 0);
    run_result st = run("stale_read", 0, MS_SNAP_ASIDE, 1);
    CHECK_EQ_I64(st.outcomes[MS_OUT_TORN], 0);
    CHECK(st.outcomes[MS_OUT_STALE] > 0);
    run_result un = run("unsafe", 0, MS_SNAP_REOPEN, 1);
    CHECK(un.crashes > 0);
    run_result ff = run("fail_fast", 0.01, MS_SNAP_INPLACE, 1);
    CHECK_EQ_I64(ff.outcomes[MS_OUT_TORN], 0);
    /* common random numbers: the same arrivals under every policy */
    CHECK(ug.arrivals == bl.arrivals && bl.arrivals == st.arrivals && st.arrivals == ff.arrivals);
}

static void test_determinism(void) {
    run_result a = run("block", 5.0, MS_SNAP_INPLACE, 7);
    run_result b = run("block", 5.0, MS_SNAP_INPLACE, 7);
    run_result c = run("block", 5.0, MS_SNAP_INPLACE, 8);
    CHECK(a.digest == b.digest);
    CHECK(a.digest != c.digest);
}

int main(void) {
    RUN(test_policies_show_their_signature);
    RUN(test_determinism);
    return ms_test_end();
}

/* The cluster model's throughput (figures only, no assertions):
 *  (i)  issue 4: three masters with 100K-key stores, 1000 writes/s, one
 *       snapshot install per virtual minute (force_snapshot on a follower
 *       every 60 s), 300 s virtual, no reads: events/s and simulated
 *       seconds per wall second;
 *  (ii) issue 5 baseline: follower catch-up under 20K reads/s in total for
 *       300 s virtual, three masters with 200K-key stores, local routing, a
 *       follower restarted past the truncated log (it installs a snapshot),
 *       the C built-in `block` policy: logical reads per wall second and
 *       events/s. */
#include "ms_cluster.h"
#include "ms_metrics.h"

#include <stdio.h>
#include <time.h>

#define SEC 1000000000LL

static double clock_of(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wall(void) {
    return clock_of(CLOCK_MONOTONIC);
}

/* CPU seconds of this process: the figure to trust on a busy machine. */
static double cpu(void) {
    return clock_of(CLOCK_PROCESS_CPUTIME_ID);
}

static void force_follower(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)a, (void)b;
    ms_cluster *c = ctx;
    int l = ms_cluster_leader(c);
    if (l >= 0) ms_cluster_force_snapshot(c, (l + 1) % ms_cluster_size(c));
    ms_sched_after(s, 60 * SEC, 1, force_follower, c, 0, 0);
}

static void crash_node(ms_sched *s, void *ctx, uint64_t node, uint64_t b) {
    (void)s, (void)b;
    ms_cluster_crash(ctx, (int)node);
}

static void restart_node(ms_sched *s, void *ctx, uint64_t node, uint64_t b) {
    (void)s, (void)b;
    ms_cluster_restart(ctx, (int)node);
}

static ms_cluster *build(ms_sched *s, const ms_cluster_config *cfg, const char *policy) {
    ms_policy pol;
    char err[256];
    ms_policy_builtin(policy, 5.0, &pol);
    ms_cluster *c = ms_cluster_new(s, cfg, &pol, err, sizeof err);
    if (!c) fprintf(stderr, "bench_cluster: %s\n", err);
    return c;
}

static int applies(const ms_cluster *c) {
    const ms_metrics *m = ms_cluster_metrics(c);
    int k = 0;
    for (size_t i = 0; i < m->applies.n; i++) k += m->applies.v[i].finish >= 0;
    return k;
}

static void issue4(void) {
    ms_cluster_config cfg;
    ms_cluster_config_default(&cfg);
    cfg.duration = 300 * SEC;
    cfg.image_volumes = 500;
    cfg.image_data_partitions = 90000;
    cfg.image_meta_partitions = 9000;
    cfg.image_nodes = 500;
    cfg.image_users = 20;
    cfg.write_rate = 1000;
    ms_sched *s = ms_sched_new();
    double t0 = wall();
    ms_cluster *c = build(s, &cfg, "block");
    if (!c) return;
    double t1 = wall();
    ms_node_state ns;
    ms_cluster_node_state(c, 0, &ns);
    ms_sched_at(s, 60 * SEC, 1, force_follower, c, 0, 0);
    double c1 = cpu();
    ms_sched_run(s, cfg.duration, 0);
    double t2 = wall(), w = t2 - t1, u = cpu() - c1;
    uint64_t ev = ms_sched_events(s);
    const ms_metrics *m = ms_cluster_metrics(c);
    printf("issue-4: 3 masters, %llu keys per store, %.0f writes/s, force_snapshot on a follower "
           "every 60 s, %s mode, 300 s virtual, no reads\n",
           (unsigned long long)ns.store_keys, cfg.write_rate, ms_snap_mode_name(cfg.mode));
    printf("  build %.2f s wall; run %.2f s wall, %.2f s CPU: %llu events, %.0f events/s "
           "(%.0f per CPU s), %.1f simulated s per wall s (%.1f per CPU s); %llu writes "
           "committed, %d installs\n",
           t1 - t0, w, u, (unsigned long long)ev, (double)ev / w, (double)ev / u, 300.0 / w,
           300.0 / u, (unsigned long long)m->writes_committed, applies(c));
    ms_cluster_free(c);
    ms_sched_free(s);
}

static void issue5(void) {
    ms_cluster_config cfg;
    ms_cluster_config_default(&cfg);
    cfg.duration = 300 * SEC;
    cfg.image_volumes = 1000;
    cfg.image_data_partitions = 180000;
    cfg.image_meta_partitions = 18000;
    cfg.image_nodes = 1000;
    cfg.image_users = 20;
    cfg.write_rate = 300;
    cfg.groups = 1;
    ms_client_group *g = &cfg.group[0];
    *g = (ms_client_group){.count = 200,
                           .rate = 100,
                           .route = MS_ROUTE_LOCAL,
                           .timeout = 2 * SEC,
                           .retry_max = 3,
                           .backoff = SEC / 50,
                           .backoff_cap = SEC,
                           .jitter = 0.1,
                           .retry_other = 1};
    g->ops[MS_OP_GET_VOL] = 0.5;
    g->ops[MS_OP_GET_PARTITIONS] = 0.4;
    g->ops[MS_OP_GET_CLUSTER] = 0.1;
    ms_sched *s = ms_sched_new();
    double t0 = wall();
    ms_cluster *c = build(s, &cfg, "block");
    if (!c) return;
    double t1 = wall();
    ms_node_state ns;
    ms_cluster_node_state(c, 0, &ns);
    /* down 100 s: 30K entries at 300 writes/s, past the 20K-entry log */
    ms_sched_at(s, 60 * SEC, 1, crash_node, c, 2, 0);
    ms_sched_at(s, 160 * SEC, 1, restart_node, c, 2, 0);
    double c1 = cpu();
    ms_sched_run(s, cfg.duration + 5 * SEC, 0);
    double t2 = wall(), w = t2 - t1, u = cpu() - c1;
    uint64_t ev = ms_sched_events(s);
    const ms_metrics *m = ms_cluster_metrics(c);
    printf("issue-5 baseline: 3 masters, %llu keys per store, %d clients x %.0f reads/s = %.0f "
           "reads/s, local routing, %.0f writes/s, m3 down 60-160 s (snapshot install, %s "
           "mode), policy block (C), 300 s virtual\n",
           (unsigned long long)ns.store_keys, g->count, g->rate, g->count * g->rate, cfg.write_rate,
           ms_snap_mode_name(cfg.mode));
    printf("  build %.2f s wall; run %.2f s wall, %.2f s CPU: %llu logical reads (%llu "
           "attempts), %.0f reads/wall s (%.0f per CPU s), %llu events, %.0f events/s (%.0f per "
           "CPU s); %d installs, torn %llu, %llu policy calls\n",
           t1 - t0, w, u, (unsigned long long)m->logical, (unsigned long long)m->attempts,
           (double)m->logical / w, (double)m->logical / u, (unsigned long long)ev, (double)ev / w,
           (double)ev / u, applies(c), (unsigned long long)m->outcomes[MS_OUT_TORN],
           (unsigned long long)m->policy_calls);
    ms_cluster_free(c);
    ms_sched_free(s);
}

/* No argument: both; "4" or "5": one of them. */
int main(int argc, char **argv) {
    if (argc < 2 || argv[1][0] == '4') issue4();
    if (argc < 2 || argv[1][0] == '5') issue5();
    return 0;
}

/* Random faults against the whole cluster model: crashes (also in the
 * middle of installs), restarts, partitions, heals, forced snapshots and
 * slow applies under writes and reads, every snapshot mode and policy.
 * Raft and state-machine safety must hold in every seed, and once the
 * faults stop every replica must converge to the same contents. With the
 * raft's unsafe commit switch the checker must catch a violation. */
#include "ms_rng.h"
#include "ms_test_cluster.h"

#include <math.h>

#define CHAOS_SEEDS 30
#define FAULTS_END 20.0
#define RUN_END 45.0

typedef struct chaos {
    tcl t;
    ms_rng rng;
    int faults;
} chaos;

static int pick(chaos *x, int up) {
    int n = ms_cluster_size(x->t.c), k = (int)ms_rng_below(&x->rng, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        int node = (k + i) % n;
        if ((tcl_node(&x->t, node).phase != MS_PHASE_DOWN) == up) return node;
    }
    return -1;
}

static void random_partition(chaos *x) {
    int n = ms_cluster_size(x->t.c), a[MS_MAX_MASTERS], b[MS_MAX_MASTERS], na = 0, nb = 0;
    for (int i = 0; i < n; i++) {
        if (ms_rng_below(&x->rng, 2))
            a[na++] = i;
        else
            b[nb++] = i;
    }
    if (na && nb) ms_cluster_partition(x->t.c, a, (size_t)na, b, (size_t)nb);
}

/* One random fault, then the next after an exponential pause. */
static void fault(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)a, (void)b;
    chaos *x = ctx;
    ms_cluster *c = x->t.c;
    int n = ms_cluster_size(c), node;
    x->faults++;
    switch (ms_rng_below(&x->rng, 8)) {
    case 0:
    case 1:
        if ((node = pick(x, 1)) >= 0) ms_cluster_crash(c, node);
        break;
    case 2:
    case 3:
        if ((node = pick(x, 0)) >= 0) ms_cluster_restart(c, node);
        break;
    case 4:
        random_partition(x);
        break;
    case 5:
        ms_cluster_heal(c);
        break;
    case 6:
        ms_cluster_force_snapshot(c, (int)ms_rng_below(&x->rng, (uint64_t)n));
        break;
    default:
        ms_cluster_slow_apply(c, (int)ms_rng_below(&x->rng, (uint64_t)n),
                              0.5 + 3 * ms_rng_uniform(&x->rng));
        break;
    }
    double dt = -1.5 * log(1 - ms_rng_uniform(&x->rng));
    int64_t next = ms_sched_now(s) + (int64_t)(dt * SEC);
    if (next < (int64_t)(FAULTS_END * SEC)) ms_sched_at(s, next, 3, fault, x, 0, 0);
}

/* on_change: now and then, crash a node in the middle of its install. */
static void crash_applying(void *ctx) {
    chaos *x = ctx;
    if (ms_sched_now(x->t.s) >= (int64_t)(FAULTS_END * SEC)) return;
    for (int i = 0; i < ms_cluster_size(x->t.c); i++) {
        ms_node_state ns = tcl_node(&x->t, i);
        if (ns.phase == MS_PHASE_APPLYING && ns.apply_progress > 0.2 &&
            ms_rng_below(&x->rng, 8) == 0) {
            ms_cluster_crash(x->t.c, i);
            x->faults++;
        }
    }
}

/* The faults stop: heal, restore the apply rate, restart everyone. */
static void calm(tcl *t, int unused) {
    (void)unused;
    ms_cluster_heal(t->c);
    for (int i = 0; i < ms_cluster_size(t->c); i++) {
        ms_cluster_slow_apply(t->c, i, 1);
        ms_cluster_restart(t->c, i);
    }
}

typedef struct {
    uint64_t violations, logical, torn;
    int converged, faults;
} chaos_result;

static chaos_result chaos_run(uint64_t seed, int unsafe_commit) {
    static const char *const policies[] = {"block", "fail_fast", "stale_read", "unsafe",
                                           "redirect_leader"};
    static const ms_snap_mode modes[] = {MS_SNAP_INPLACE, MS_SNAP_INPLACE, MS_SNAP_ASIDE,
                                         MS_SNAP_REOPEN, MS_SNAP_REOPEN};
    chaos x = {0};
    chaos_result r = {0};
    int k = (int)(seed % 5);
    tcl_config(&x.t.cfg, seed);
    x.t.cfg.masters = seed % 3 == 0 ? 5 : 3;
    x.t.cfg.duration = (int64_t)(FAULTS_END * SEC);
    x.t.cfg.image_volumes = 20;
    x.t.cfg.image_data_partitions = 1500;
    x.t.cfg.image_meta_partitions = 150;
    x.t.cfg.image_nodes = 40;
    x.t.cfg.image_users = 4;
    x.t.cfg.retain = 200;
    x.t.cfg.apply_rate = 4000; /* installs of ~0.4 s */
    x.t.cfg.write_rate = 150;
    x.t.cfg.load_rate = seed % 2 ? 20000 : 0;
    x.t.cfg.group[0].count = 10;
    x.t.cfg.group[0].rate = 10;
    x.t.cfg.mode = modes[k];
    x.t.cfg.unsafe_commit = unsafe_commit;
    if (tcl_start(&x.t, policies[k], 0.5)) return r;
    ms_rng_init(&x.rng, seed, "chaos");
    ms_cluster_on_change(x.t.c, crash_applying, &x);
    ms_sched_at(x.t.s, 3 * SEC, 3, fault, &x, 0, 0);
    tcl_at(&x.t, FAULTS_END, calm, 0);
    tcl_run_to(&x.t, RUN_END);
    const ms_metrics *m = ms_cluster_metrics(x.t.c);
    r.violations = ms_check_violations(ms_cluster_check(x.t.c));
    r.logical = m->logical;
    r.torn = m->outcomes[MS_OUT_TORN];
    r.faults = x.faults;
    r.converged = unsafe_commit || tcl_converged(&x.t);
    if (r.violations && !unsafe_commit) tcl_violations(&x.t);
    tcl_free(&x.t);
    return r;
}

static void test_chaos_is_safe(void) {
    uint64_t faults = 0, reads = 0;
    for (uint64_t seed = 1; seed <= CHAOS_SEEDS; seed++) {
        chaos_result r = chaos_run(seed, 0);
        faults += (uint64_t)r.faults;
        reads += r.logical;
        if (r.violations || !r.converged)
            fprintf(stderr, "  seed %llu\n", (unsigned long long)seed);
        CHECK_EQ_I64(r.violations, 0);
        CHECK(r.converged);
        CHECK(r.logical > 1000);
    }
    printf("  %d seeds, %llu faults, %llu reads: 0 violations\n", CHAOS_SEEDS,
           (unsigned long long)faults, (unsigned long long)reads);
}

static void test_unsafe_commit_is_caught(void) {
    int caught = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) caught += chaos_run(seed, 1).violations > 0;
    printf("  unsafe commit: violations in %d of 10 seeds\n", caught);
    CHECK(caught >= 1);
}

int main(void) {
    RUN(test_chaos_is_safe);
    RUN(test_unsafe_commit_is_caught);
    return ms_test_end();
}

/* The cluster model under faults: follower catch-up by snapshot and crashes
 * during an install in every mode (the replica ends with the leader's
 * contents), a new leader's loading phase, leader crash and partition,
 * slow_apply, force_snapshot. The random-fault safety runs are in
 * test_cluster_chaos.c. */
#include "ms_test_cluster.h"

static const ms_snap_mode modes[3] = {MS_SNAP_REOPEN, MS_SNAP_INPLACE, MS_SNAP_ASIDE};

/* A follower crashes at 3 s and restarts at 10 s, past the truncated log:
 * it installs a snapshot, then the replicas agree. */
static void test_catchup_by_snapshot_each_mode(void) {
    for (int i = 0; i < 3; i++) {
        tcl t = {0};
        tcl_config(&t.cfg, 3);
        t.cfg.mode = modes[i];
        t.cfg.duration = 20 * SEC;
        if (tcl_start(&t, "block", 5.0)) return;
        tcl_at(&t, 3, tcl_crash_follower, 0);
        tcl_at(&t, 10, tcl_restart_picked, 0);
        tcl_run_to(&t, 30);
        printf("  %-8s follower m%d: %d installs\n", ms_snap_mode_name(modes[i]), t.picked + 1,
               tcl_applies(&t, t.picked, 1));
        CHECK(tcl_applies(&t, t.picked, 1) >= 1);
        CHECK(tcl_converged(&t));
        CHECK_EQ_I64(tcl_violations(&t), 0);
        CHECK_EQ_I64(ms_cluster_metrics(t.c)->outcomes[MS_OUT_TORN], 0);
        CHECK_EQ_I64(tcl_read_crashes(&t), 0);
        tcl_free(&t);
    }
}

/* --- a crash in the middle of an install ------------------------------------ */

typedef struct {
    int crashed, restarted;
    ms_phase phase_after_restart;
} mid_install;

static void restart_and_look(tcl *t, int unused) {
    (void)unused;
    mid_install *x = t->user;
    ms_cluster_restart(t->c, t->picked);
    x->restarted = 1;
    x->phase_after_restart = tcl_node(t, t->picked).phase;
}

/* Is it time for the mid-install fault (once, at 30% of the install)? */
static int mid_install_due(tcl *t) {
    mid_install *x = t->user;
    if (x->crashed || t->picked < 0) return 0;
    ms_node_state ns = tcl_node(t, t->picked);
    if (ns.phase != MS_PHASE_APPLYING || ns.apply_progress < 0.3) return 0;
    x->crashed = 1;
    return 1;
}

/* on_change: crash the follower once its install is 30% done. */
static void crash_mid_install(void *ctx) {
    tcl *t = ctx;
    if (!mid_install_due(t)) return;
    ms_cluster_crash(t->c, t->picked);
    tcl_at(t, tcl_now(t) + 2, restart_and_look, 0);
}

static void slow_picked(tcl *t, int factor) {
    ms_cluster_slow_apply(t->c, t->picked, factor);
}

/* A follower lags (down 3..8 s), then installs 4x slower than normal with
 * `fault` (an on_change hook) armed for the middle of the install. */
static int start_mid_install(tcl *t, mid_install *x, uint64_t seed, ms_snap_mode mode,
                             double duration, void (*fault)(void *ctx)) {
    tcl_config(&t->cfg, seed);
    t->cfg.mode = mode;
    t->cfg.duration = (int64_t)(duration * SEC);
    if (tcl_start(t, "block", 5.0)) return -1;
    t->user = x;
    ms_cluster_on_change(t->c, fault, t);
    tcl_at(t, 3, tcl_crash_follower, 0);
    tcl_at(t, 8, slow_picked, 4);
    tcl_at(t, 8, tcl_restart_picked, 0);
    return 0;
}

/* Crash during an install, restart: reopen and inplace left the store
 * unusable, so the node restarts `applying` and must get a snapshot (never
 * apply later entries onto it); aside kept the old state. Either way the
 * node ends with the leader's contents, and `block` serves no torn read. */
static void test_crash_during_install_each_mode(void) {
    for (int i = 0; i < 3; i++) {
        tcl t = {0};
        mid_install x = {0};
        if (start_mid_install(&t, &x, 5, modes[i], 20, crash_mid_install)) return;
        tcl_run_to(&t, 40);
        printf("  %-8s m%d crashed %d, after restart %s, applies %d\n", ms_snap_mode_name(modes[i]),
               t.picked + 1, x.crashed, ms_phase_name(x.phase_after_restart),
               tcl_applies(&t, t.picked, 1));
        CHECK(x.crashed && x.restarted);
        ms_phase want = modes[i] == MS_SNAP_ASIDE ? MS_PHASE_SERVING : MS_PHASE_APPLYING;
        CHECK_EQ_I64(x.phase_after_restart, want);
        CHECK(tcl_applies(&t, t.picked, 1) >= 2);
        CHECK(tcl_converged(&t));
        CHECK_EQ_I64(tcl_violations(&t), 0);
        CHECK_EQ_I64(ms_cluster_metrics(t.c)->outcomes[MS_OUT_TORN], 0);
        CHECK_EQ_I64(ms_cluster_metrics(t.c)->served_while_applying, 0);
        CHECK_EQ_I64(tcl_read_crashes(&t), 0);
        tcl_free(&t);
    }
}

static void heal(tcl *t, int unused);

/* on_change: cut the leader off once the follower's install is 30% done. */
static void isolate_mid_install(void *ctx) {
    tcl *t = ctx;
    if (!mid_install_due(t)) return;
    int l = ms_cluster_leader(t->c), n = ms_cluster_size(t->c), rest[MS_MAX_MASTERS], k = 0;
    for (int i = 0; i < n; i++)
        if (i != l) rest[k++] = i;
    ms_cluster_partition(t->c, &l, 1, rest, (size_t)k);
}

/* The leader is cut off in the middle of an install: the stream stalls,
 * the follower abandons it after the snapshot timeout (reopen and inplace:
 * its store is lost and it stays `applying`), and the new leader's
 * snapshot brings it to the same contents. */
static void test_leader_lost_during_install_each_mode(void) {
    for (int i = 0; i < 3; i++) {
        tcl t = {0};
        mid_install x = {0};
        if (start_mid_install(&t, &x, 7, modes[i], 30, isolate_mid_install)) return;
        tcl_at(&t, 35, heal, 0);
        tcl_run_to(&t, 50);
        int k = tcl_applies(&t, t.picked, 1);
        printf("  %-8s m%d: leader cut off mid-install, applies %d\n", ms_snap_mode_name(modes[i]),
               t.picked + 1, k);
        /* reopen, inplace: one apply interval from the first install's start
         * to the second's end (the node was unusable all along) */
        CHECK(x.crashed && k >= (modes[i] == MS_SNAP_ASIDE ? 2 : 1));
        CHECK(tcl_converged(&t));
        CHECK_EQ_I64(tcl_violations(&t), 0);
        CHECK_EQ_I64(ms_cluster_metrics(t.c)->outcomes[MS_OUT_TORN], 0);
        CHECK_EQ_I64(tcl_read_crashes(&t), 0);
        tcl_free(&t);
    }
}

/* --- leadership --------------------------------------------------------------- */

typedef struct {
    int old;
    double seen; /* first time a new leader was seen */
} watch;

/* Every millisecond until a new leader shows. */
static void poll_leader(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)a, (void)b;
    tcl *t = ctx;
    watch *w = t->user;
    int l = ms_cluster_leader(t->c);
    if (w->seen == 0 && l >= 0 && l != w->old) w->seen = tcl_now(t);
    if (w->seen == 0) ms_sched_after(s, SEC / 1000, 2, poll_leader, t, 0, 0);
}

static void crash_leader_and_watch(tcl *t, int unused) {
    (void)unused;
    watch *w = t->user;
    w->old = ms_cluster_leader(t->c);
    t->picked = w->old;
    ms_cluster_crash(t->c, w->old);
    poll_leader(t->s, t, 0, 0);
}

static void use_leader_route(ms_cluster_config *cfg) {
    cfg->group[0].route = MS_ROUTE_LEADER;
    cfg->group[0].retry_other = 0;
}

/* The last loading interval of `node`: start and finish in seconds. */
static int last_loading(const tcl *t, int node, double *start, double *finish) {
    const ms_metrics *m = ms_cluster_metrics(t->c);
    int found = 0;
    for (size_t i = 0; i < m->phases.n; i++) {
        const ms_interval *v = &m->phases.v[i];
        if (v->node != node || v->kind != MS_PHASE_LOADING) continue;
        *start = (double)v->start / SEC;
        *finish = v->finish < 0 ? -1 : (double)v->finish / SEC;
        found = 1;
    }
    return found;
}

/* A new leader enters `loading` the instant it is elected, answers reads
 * ENOTREADY, and serves after store_keys / load_rate seconds. */
static void test_new_leader_loads(void) {
    tcl t = {0};
    watch w = {0};
    tcl_config(&t.cfg, 11);
    use_leader_route(&t.cfg);
    t.cfg.group[0].retry_max = 0;
    t.cfg.load_rate = 20000;
    if (tcl_start(&t, "block", 5.0)) return;
    t.user = &w;
    tcl_at(&t, 10, crash_leader_and_watch, 0);
    tcl_run_to(&t, 30);
    int now_leader = ms_cluster_leader(t.c);
    double start = 0, finish = 0;
    CHECK(w.seen > 10 && now_leader >= 0 && now_leader != w.old);
    CHECK(last_loading(&t, now_leader, &start, &finish));
    double want = (double)tcl_node(&t, now_leader).store_keys / t.cfg.load_rate;
    printf("  leader m%d crashed at 10 s; m%d leads at %.3f s, loading %.3f..%.3f s (%.3f s)\n",
           w.old + 1, now_leader + 1, w.seen, start, finish, want);
    CHECK(start <= w.seen && w.seen - start < 0.0011); /* prompt: not at the next commit */
    CHECK(finish > 0 && finish - start > want - 1e-6 && finish - start < want + 1e-6);
    CHECK(tcl_code(&t, "ENOTREADY") > 0);
    CHECK_EQ_I64(tcl_node(&t, now_leader).phase, MS_PHASE_SERVING);
    /* once it serves, leader reads succeed */
    const ms_metrics *m = ms_cluster_metrics(t.c);
    for (int b = (int)finish + 3; b < 29; b++) CHECK_EQ_I64(m->tl[b].outcomes[MS_OUT_FAILED], 0);
    CHECK_EQ_I64(tcl_violations(&t), 0);
    tcl_free(&t);
}

/* The leader crashes: a new one within the election window, and reads
 * and writes continue. */
static void test_leader_crash_failover(void) {
    tcl t = {0};
    watch w = {0};
    tcl_config(&t.cfg, 13);
    use_leader_route(&t.cfg);
    t.cfg.duration = 25 * SEC;
    if (tcl_start(&t, "block", 5.0)) return;
    t.user = &w;
    tcl_at(&t, 10, crash_leader_and_watch, 0);
    tcl_run_to(&t, 14);
    uint64_t committed = ms_cluster_metrics(t.c)->writes_committed;
    tcl_at(&t, 15, tcl_restart_picked, 0);
    tcl_run_to(&t, 35);
    const ms_metrics *m = ms_cluster_metrics(t.c);
    double window = (double)t.cfg.election_max / SEC + 0.5;
    printf("  leader m%d crashed at 10 s, new leader at %.3f s; writes committed %llu -> %llu\n",
           w.old + 1, w.seen, (unsigned long long)committed,
           (unsigned long long)m->writes_committed);
    CHECK(w.seen > 10 && w.seen - 10 <= window);
    CHECK(m->writes_committed > committed + 1000);
    for (int b = 14; b < 25; b++) {
        CHECK(m->tl[b].outcomes[MS_OUT_FRESH] > 0);
        CHECK_EQ_I64(m->tl[b].outcomes[MS_OUT_FAILED] + m->tl[b].outcomes[MS_OUT_TIMEOUT], 0);
    }
    CHECK(tcl_converged(&t));
    CHECK_EQ_I64(tcl_violations(&t), 0);
    tcl_free(&t);
}

typedef struct {
    int old;
    uint64_t applied_early, applied_late, new_term, old_term;
    int new_leader, old_role_leader;
} split;

static void isolate_leader(tcl *t, int unused) {
    (void)unused;
    split *x = t->user;
    int n = ms_cluster_size(t->c), rest[MS_MAX_MASTERS], k = 0;
    x->old = ms_cluster_leader(t->c);
    x->old_term = tcl_node(t, x->old).term;
    for (int i = 0; i < n; i++)
        if (i != x->old) rest[k++] = i;
    ms_cluster_partition(t->c, &x->old, 1, rest, (size_t)k);
}

static void look_early(tcl *t, int unused) {
    (void)unused;
    split *x = t->user;
    x->applied_early = tcl_node(t, x->old).applied;
}

static void look_late(tcl *t, int unused) {
    (void)unused;
    split *x = t->user;
    ms_node_state o = tcl_node(t, x->old);
    x->applied_late = o.applied;
    x->old_role_leader = strcmp(o.role, "leader") == 0;
    x->new_leader = ms_cluster_leader(t->c);
    if (x->new_leader >= 0) x->new_term = tcl_node(t, x->new_leader).term;
}

static void heal(tcl *t, int unused) {
    (void)unused;
    ms_cluster_heal(t->c);
}

/* The leader is cut off: it stops committing (and steps down), the
 * majority elects a leader of a later term; after the heal all agree. */
static void test_partitioned_leader(void) {
    tcl t = {0};
    split x = {0};
    tcl_config(&t.cfg, 17);
    t.cfg.duration = 25 * SEC;
    if (tcl_start(&t, "block", 5.0)) return;
    t.user = &x;
    tcl_at(&t, 10, isolate_leader, 0);
    tcl_at(&t, 10.5, look_early, 0);
    tcl_at(&t, 15.9, look_late, 0);
    tcl_at(&t, 16, heal, 0);
    tcl_run_to(&t, 40);
    printf("  m%d isolated: applied %llu at 10.5 s, %llu at 15.9 s; new leader m%d term %llu\n",
           x.old + 1, (unsigned long long)x.applied_early, (unsigned long long)x.applied_late,
           x.new_leader + 1, (unsigned long long)x.new_term);
    CHECK_EQ_I64(x.applied_late, x.applied_early);
    CHECK(!x.old_role_leader);
    CHECK(x.new_leader >= 0 && x.new_leader != x.old && x.new_term > x.old_term);
    CHECK(tcl_converged(&t));
    CHECK_EQ_I64(tcl_violations(&t), 0);
    tcl_free(&t);
}

/* --- snapshot faults ------------------------------------------------------------ */

/* Seconds the (last) install on `node` took. */
static double install_seconds(const tcl *t, int node) {
    const ms_metrics *m = ms_cluster_metrics(t->c);
    double d = -1;
    for (size_t i = 0; i < m->applies.n; i++)
        if (m->applies.v[i].node == node && m->applies.v[i].finish >= 0)
            d = (double)(m->applies.v[i].finish - m->applies.v[i].start) / SEC;
    return d;
}

static double catchup_install(double factor) {
    tcl t = {0};
    tcl_config(&t.cfg, 19);
    t.cfg.duration = 20 * SEC;
    if (tcl_start(&t, "block", 5.0)) return -1;
    tcl_at(&t, 3, tcl_crash_follower, 0);
    tcl_at(&t, 9, slow_picked, (int)factor);
    tcl_at(&t, 10, tcl_restart_picked, 0);
    tcl_run_to(&t, 35);
    double d = install_seconds(&t, t.picked);
    CHECK(tcl_converged(&t));
    CHECK_EQ_I64(tcl_violations(&t), 0);
    tcl_free(&t);
    return d;
}

static void test_slow_apply_scales_install(void) {
    double d1 = catchup_install(1), d3 = catchup_install(3);
    printf("  install %.3f s at factor 1, %.3f s at factor 3 (x%.2f)\n", d1, d3, d3 / d1);
    CHECK(d1 > 0.5 && d3 / d1 > 2.7 && d3 / d1 < 3.1);
}

static void force_follower(tcl *t, int unused) {
    (void)unused;
    t->picked = (ms_cluster_leader(t->c) + 1) % ms_cluster_size(t->c);
    CHECK_EQ_I64(ms_cluster_force_snapshot(t->c, t->picked), 0);
}

/* An up-to-date follower told to install does so promptly, and ends with
 * the leader's contents. */
static void test_force_snapshot(void) {
    for (int i = 0; i < 3; i++) {
        tcl t = {0};
        tcl_config(&t.cfg, 23);
        t.cfg.mode = modes[i];
        t.cfg.duration = 20 * SEC;
        if (tcl_start(&t, "block", 5.0)) return;
        tcl_at(&t, 10, force_follower, 0);
        tcl_run_to(&t, 30);
        const ms_metrics *m = ms_cluster_metrics(t.c);
        int k = 0;
        for (size_t j = 0; j < m->applies.n; j++) {
            const ms_interval *v = &m->applies.v[j];
            if (v->node != t.picked) continue;
            k++;
            CHECK(v->start >= 10 * SEC && v->start < 11 * SEC && v->finish > v->start);
        }
        CHECK_EQ_I64(k, 1);
        CHECK(tcl_converged(&t));
        CHECK_EQ_I64(tcl_violations(&t), 0);
        CHECK_EQ_I64(ms_cluster_force_snapshot(t.c, ms_cluster_leader(t.c)), -1);
        tcl_free(&t);
    }
}

int main(void) {
    RUN(test_catchup_by_snapshot_each_mode);
    RUN(test_crash_during_install_each_mode);
    RUN(test_leader_lost_during_install_each_mode);
    RUN(test_new_leader_loads);
    RUN(test_leader_crash_failover);
    RUN(test_partitioned_leader);
    RUN(test_slow_apply_scales_install);
    RUN(test_force_snapshot);
    return ms_test_end();
}

/* The cluster model end to end: a follower falls behind the truncated log,
 * installs a snapshot while serving local reads, and each reference policy
 * shows its signature (torn reads, crashes, stale reads or none). */
#include "ms_test_cluster.h"

typedef struct {
    uint64_t outcomes[MS_OUT_COUNT], logical, digest, arrivals, applies, violations;
    uint64_t crashes, served_applying, etimedout;
    int64_t wait_max;
    int converged;
} run_result;

static int memo_off; /* runs read without the ms_ops memo */

static run_result run(const char *policy, double param, ms_snap_mode mode, uint64_t seed) {
    tcl t = {0};
    run_result r = {0};
    tcl_config(&t.cfg, seed);
    t.cfg.mode = mode;
    t.cfg.read_memo_off = memo_off;
    if (tcl_start(&t, policy, param)) return r;
    tcl_at(&t, 5, tcl_crash, 2);
    tcl_at(&t, 12, tcl_restart, 2);
    tcl_run_to(&t, 35);
    const ms_metrics *m = ms_cluster_metrics(t.c);
    for (int i = 0; i < MS_OUT_COUNT; i++) r.outcomes[i] = m->outcomes[i];
    r.logical = m->logical;
    r.digest = ms_sched_digest(t.s);
    r.arrivals = m->arrivals_digest;
    r.applies = m->applies.n;
    r.crashes = m->read_crashes;
    r.served_applying = m->served_while_applying;
    r.wait_max = m->wait_max;
    r.etimedout = m->attempt_outcomes[MS_OUT_FAILED]; /* the policy's only failure: ETIMEDOUT */
    r.violations = tcl_violations(&t);
    r.converged = tcl_converged(&t);
    printf("  %-15s logical %5llu fresh %5llu stale %5llu torn %4llu failed %4llu timeout %3llu "
           "applies %llu read-crashes %llu served-applying %llu\n",
           policy, (unsigned long long)r.logical, (unsigned long long)r.outcomes[MS_OUT_FRESH],
           (unsigned long long)r.outcomes[MS_OUT_STALE],
           (unsigned long long)r.outcomes[MS_OUT_TORN],
           (unsigned long long)r.outcomes[MS_OUT_FAILED],
           (unsigned long long)r.outcomes[MS_OUT_TIMEOUT], (unsigned long long)r.applies,
           (unsigned long long)r.crashes, (unsigned long long)r.served_applying);
    tcl_free(&t);
    return r;
}

/* What every policy must keep: raft and state-machine safety, and replicas
 * that agree once the faults are over. */
static void check_safe_run(const run_result *r) {
    CHECK_EQ_I64(r->violations, 0);
    CHECK(r->converged);
    CHECK(r->applies >= 1);
}

static void test_policies_show_their_signature(void) {
    run_result ug = run("unguarded", 0, MS_SNAP_INPLACE, 1);
    check_safe_run(&ug);
    CHECK(ug.outcomes[MS_OUT_TORN] > 0);
    CHECK(ug.served_applying > 0);
    CHECK_EQ_I64(ug.crashes, 0);
    run_result bl = run("block", 5.0, MS_SNAP_INPLACE, 1);
    check_safe_run(&bl);
    CHECK_EQ_I64(bl.outcomes[MS_OUT_TORN], 0);
    CHECK_EQ_I64(bl.crashes, 0);
    run_result st = run("stale_read", 0, MS_SNAP_ASIDE, 1);
    check_safe_run(&st);
    CHECK_EQ_I64(st.outcomes[MS_OUT_TORN], 0);
    CHECK_EQ_I64(st.served_applying, 0);
    CHECK(st.outcomes[MS_OUT_STALE] > 0);
    /* unsafe crash-loops (issue 3152): each restart finds the store still
     * unusable, a read crashes it again before the snapshot completes, so
     * it need not converge; safety holds all the same */
    run_result un = run("unsafe", 0, MS_SNAP_REOPEN, 1);
    CHECK_EQ_I64(un.violations, 0);
    CHECK(un.crashes > 0);
    run_result ff = run("fail_fast", 0.01, MS_SNAP_INPLACE, 1);
    check_safe_run(&ff);
    run_result rl = run("redirect_leader", 0, MS_SNAP_INPLACE, 1);
    check_safe_run(&rl);
    for (int i = 0; i < 2; i++) {
        const run_result *r = i ? &rl : &ff;
        CHECK_EQ_I64(r->outcomes[MS_OUT_TORN], 0);
        CHECK_EQ_I64(r->outcomes[MS_OUT_CRASH], 0);
        CHECK_EQ_I64(r->crashes, 0);
        CHECK_EQ_I64(r->served_applying, 0);
    }
    /* common random numbers: the same arrivals under every policy */
    CHECK(ug.arrivals == bl.arrivals && bl.arrivals == st.arrivals && st.arrivals == ff.arrivals);
    CHECK(ff.arrivals == rl.arrivals && rl.arrivals == un.arrivals);
}

/* block: no read is served from the live store of the applying node before
 * the apply ends, in every mode, and no wait outlasts the timeout; with a
 * timeout shorter than the apply, waits end in ETIMEDOUT. */
static void test_block_gates_reads(void) {
    static const ms_snap_mode modes[3] = {MS_SNAP_REOPEN, MS_SNAP_INPLACE, MS_SNAP_ASIDE};
    for (int i = 0; i < 3; i++) {
        run_result r = run("block", 5.0, modes[i], 2);
        check_safe_run(&r);
        CHECK_EQ_I64(r.served_applying, 0);
        CHECK_EQ_I64(r.outcomes[MS_OUT_TORN], 0);
        CHECK_EQ_I64(r.crashes, 0);
        CHECK(r.wait_max > 0 && r.wait_max <= 5 * SEC);
    }
    run_result r = run("block", 0.25, MS_SNAP_INPLACE, 2);
    printf("  block 0.25 s: longest wait %.3f s, %llu attempts failed ETIMEDOUT\n",
           (double)r.wait_max / SEC, (unsigned long long)r.etimedout);
    check_safe_run(&r);
    CHECK_EQ_I64(r.served_applying, 0);
    CHECK(r.wait_max > 0 && r.wait_max <= SEC / 4);
    CHECK(r.etimedout > 0);
}

static void test_determinism(void) {
    run_result a = run("block", 5.0, MS_SNAP_INPLACE, 7);
    run_result b = run("block", 5.0, MS_SNAP_INPLACE, 7);
    run_result c = run("block", 5.0, MS_SNAP_INPLACE, 8);
    CHECK(a.digest == b.digest);
    CHECK(a.digest != c.digest);
}

/* The read memo is invisible: every outcome and the event digest are the
 * same with it and without it, for policies that read torn, stale and
 * crashing stores. */
static void test_read_memo_invisible(void) {
    static const struct {
        const char *policy;
        double param;
        ms_snap_mode mode;
    } runs[] = {{"unguarded", 0, MS_SNAP_INPLACE},
                {"stale_read", 0, MS_SNAP_ASIDE},
                {"unsafe", 0, MS_SNAP_REOPEN},
                {"block", 5.0, MS_SNAP_INPLACE}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        memo_off = 0;
        run_result a = run(runs[i].policy, runs[i].param, runs[i].mode, 3);
        memo_off = 1;
        run_result b = run(runs[i].policy, runs[i].param, runs[i].mode, 3);
        memo_off = 0;
        CHECK(a.digest == b.digest);
        CHECK(a.logical == b.logical && a.logical > 0);
        for (int k = 0; k < MS_OUT_COUNT; k++) CHECK_EQ_I64(a.outcomes[k], b.outcomes[k]);
        CHECK_EQ_I64(a.crashes, b.crashes);
    }
}

int main(void) {
    RUN(test_policies_show_their_signature);
    RUN(test_read_memo_invisible);
    RUN(test_block_gates_reads);
    RUN(test_determinism);
    return ms_test_end();
}

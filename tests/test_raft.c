/* Raft over the net model: elections, replication, crash/restart,
 * partitions, compaction and streamed snapshots, leader transfer, the
 * safety checker, randomized chaos, determinism. */
#include "ms_test.h"
#include "ms_test_fsm.h"

#include <stdio.h>

#define MSEC 1000000LL
#define SEC 1000000000LL

static ms_raft_config config(int n, uint64_t seed) {
    ms_raft_config cfg;
    ms_raft_config_default(&cfg, n);
    cfg.seed = seed;
    return cfg;
}

static int count_leaders(const tcluster *c) {
    int k = 0;
    for (int i = 0; i < c->n; i++) k += ms_raft_role_of(c->g, i) == MS_RAFT_LEADER;
    return k;
}

/* All up nodes applied the same index with the same state; returns that index. */
static int64_t converged(const tcluster *c) {
    int64_t idx = -1;
    uint64_t st = 0;
    for (int i = 0; i < c->n; i++) {
        if (!ms_raft_is_up(c->g, i)) continue;
        uint64_t d = tfsm_digest(c->f[i].state, c->f[i].count);
        if (idx < 0) {
            idx = (int64_t)c->f[i].applied;
            st = d;
        } else if ((uint64_t)idx != c->f[i].applied || st != d) {
            return -1;
        }
        if (ms_raft_applied_index(c->g, i) != c->f[i].applied) return -1;
    }
    return idx;
}

static int64_t time_to_leader(tcluster *c, int64_t limit) {
    while (ms_sched_now(c->s) < limit) {
        if (ms_raft_find_leader(c->g) >= 0) return ms_sched_now(c->s);
        tc_run_to(c, ms_sched_now(c->s) + MSEC);
    }
    return -1;
}

static void test_election(void) {
    for (uint64_t seed = 1; seed <= 20; seed++) {
        ms_raft_config cfg = config(3, seed);
        tcluster *c = tc_new(&cfg);
        int64_t t = time_to_leader(c, 5 * SEC);
        /* One election timeout (1-2 s) plus a vote round trip. */
        CHECK(t >= 1 * SEC && t <= 2 * SEC + 20 * MSEC);
        tc_run_to(c, 10 * SEC);
        CHECK_EQ_I64(count_leaders(c), 1);
        int l = ms_raft_find_leader(c->g);
        for (int i = 0; i < 3; i++) {
            CHECK_EQ_I64(ms_raft_leader(c->g, i), l);
            CHECK_EQ_I64(ms_raft_term(c->g, i), ms_raft_term(c->g, l));
        }
        CHECK_EQ_I64(ms_check_violations(c->chk), 0);
        tc_free(c);
    }
}

static void test_replication(void) {
    ms_raft_config cfg = config(3, 7);
    tcluster *c = tc_new(&cfg);
    tc_run_to(c, 3 * SEC);
    int l = ms_raft_find_leader(c->g);
    CHECK(l >= 0);
    uint64_t first = 0, last = 0;
    for (int i = 0; i < 200; i++) {
        last = tc_propose(c, (uint64_t)i);
        CHECK(last > 0);
        if (!first) first = last;
        tc_run_to(c, ms_sched_now(c->s) + 5 * MSEC);
    }
    CHECK_EQ_I64(last - first, 199);
    int hint = -2;
    unsigned char p[1] = {1};
    CHECK_EQ_I64(ms_raft_propose(c->g, (l + 1) % 3, p, 1, NULL, &hint), MS_RAFT_ENOTLEADER);
    CHECK_EQ_I64(hint, l);
    CHECK_EQ_I64(ms_raft_propose(c->g, l, p, 0, NULL, NULL), MS_RAFT_EINVAL);
    tc_run_to(c, ms_sched_now(c->s) + 1 * SEC);
    CHECK_EQ_I64(converged(c), (int64_t)last);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_I64(ms_raft_commit_index(c->g, i), last);
        CHECK_EQ_I64(c->f[i].count, 200);
    }
    ms_raft_entry e;
    CHECK_EQ_I64(ms_raft_entry_at(c->g, l, last, &e), 0);
    CHECK_EQ_I64(e.len, 8);
    CHECK_EQ_I64(tfsm_get64(e.data), 199);
    CHECK_EQ_I64(ms_raft_entry_at(c->g, l, last + 1, &e), MS_RAFT_ESTATE);
    ms_check_stats cs = ms_check_get_stats(c->chk);
    CHECK_EQ_I64(cs.committed, last);
    CHECK_EQ_I64(ms_check_violations(c->chk), 0);
    tc_free(c);
}

static void test_leader_crash(void) {
    ms_raft_config cfg = config(3, 3);
    tcluster *c = tc_new(&cfg);
    tc_run_to(c, 3 * SEC);
    int old = ms_raft_find_leader(c->g);
    for (int i = 0; i < 50; i++) tc_propose(c, (uint64_t)i);
    tc_run_to(c, 4 * SEC);
    CHECK_EQ_I64(ms_raft_crash(c->g, old), 0);
    CHECK_EQ_I64(ms_raft_crash(c->g, old), MS_RAFT_EDOWN);
    CHECK_EQ_I64(ms_raft_role_of(c->g, old), MS_RAFT_DOWN);
    int64_t t = time_to_leader(c, 10 * SEC);
    /* Followers notice within an election timeout (check-quorum lease ends
     * with it), so a new leader is up within election_max + a round trip. */
    CHECK(t > 4 * SEC && t <= 4 * SEC + 2 * SEC + 20 * MSEC);
    int nl = ms_raft_find_leader(c->g);
    CHECK(nl >= 0 && nl != old);
    for (int i = 0; i < 50; i++) tc_propose(c, (uint64_t)(100 + i));
    tc_run_to(c, ms_sched_now(c->s) + SEC);
    CHECK_EQ_I64(ms_raft_restart(c->g, old), 0);
    CHECK_EQ_I64(ms_raft_restart(c->g, old), MS_RAFT_ESTATE);
    tc_run_to(c, ms_sched_now(c->s) + 3 * SEC);
    CHECK_EQ_I64(ms_raft_role_of(c->g, old), MS_RAFT_FOLLOWER);
    CHECK_EQ_I64(ms_raft_leader(c->g, old), nl);
    CHECK(converged(c) > 100);
    CHECK_EQ_I64(c->f[old].count, 100);
    CHECK_EQ_I64(ms_check_violations(c->chk), 0);
    tc_free(c);
}

static void test_partition(void) {
    ms_raft_config cfg = config(5, 11);
    tcluster *c = tc_new(&cfg);
    tc_run_to(c, 3 * SEC);
    int old = ms_raft_find_leader(c->g);
    for (int i = 0; i < 20; i++) tc_propose(c, (uint64_t)i);
    tc_run_to(c, 4 * SEC);
    int minority[2] = {old, (old + 1) % 5}, majority[3];
    for (int k = 0; k < 3; k++) majority[k] = (old + 2 + k) % 5;
    ms_net_partition(c->net, minority, 2, majority, 3);
    uint64_t commit0 = ms_raft_commit_index(c->g, old);
    uint64_t lost = tc_propose(c, 999); /* on the old leader: can never commit */
    CHECK(lost > commit0);
    uint64_t lost_term = ms_raft_term(c->g, old);
    tc_run_to(c, 8 * SEC);
    CHECK_EQ_I64(ms_raft_commit_index(c->g, old), commit0);
    CHECK(ms_raft_role_of(c->g, old) != MS_RAFT_LEADER); /* check-quorum stepped it down */
    int nl = ms_raft_find_leader(c->g);
    CHECK(nl == majority[0] || nl == majority[1] || nl == majority[2]);
    for (int i = 0; i < 30; i++) CHECK(tc_propose(c, (uint64_t)(100 + i)) > 0);
    tc_run_to(c, 9 * SEC);
    CHECK(ms_raft_commit_index(c->g, nl) >= lost + 29);
    CHECK_EQ_I64(ms_raft_commit_index(c->g, old), commit0);
    ms_net_heal(c->net);
    tc_run_to(c, 13 * SEC);
    CHECK_EQ_I64(count_leaders(c), 1);
    CHECK_EQ_I64(ms_raft_leader(c->g, old), ms_raft_find_leader(c->g));
    ms_raft_entry e;
    CHECK_EQ_I64(ms_raft_entry_at(c->g, old, lost, &e), 0);
    CHECK(e.term > lost_term); /* the uncommitted entry was replaced */
    CHECK(converged(c) >= (int64_t)lost + 29);
    CHECK_EQ_I64(c->f[old].count, 50);
    CHECK_EQ_I64(ms_check_violations(c->chk), 0);
    tc_free(c);
}

/* A follower misses more than `retain` entries and gets a snapshot. */
static void test_snapshot_install(void) {
    ms_raft_config cfg = config(3, 5);
    cfg.retain = 50;
    tcluster *c = tc_new(&cfg);
    for (int i = 0; i < 3; i++) c->f[i].chunk_ns = 20 * MSEC;
    tc_run_to(c, 3 * SEC);
    int l = ms_raft_find_leader(c->g), fo = (l + 1) % 3;
    ms_raft_crash(c->g, fo);
    for (int i = 0; i < 500; i++) {
        tc_propose(c, (uint64_t)i);
        tc_run_to(c, ms_sched_now(c->s) + MSEC);
    }
    tc_run_to(c, ms_sched_now(c->s) + 100 * MSEC);
    CHECK(ms_raft_first_index(c->g, l) > ms_raft_last_index(c->g, fo) + 1);
    CHECK_EQ_I64(ms_raft_last_index(c->g, l) - ms_raft_first_index(c->g, l) + 1, 50);
    uint64_t applied_before = ms_raft_applied_index(c->g, fo);
    ms_raft_restart(c->g, fo);
    /* Watch the install: chunk by chunk, with apply blocked. */
    int saw_install = 0;
    uint64_t max_bytes = 0;
    for (int k = 0; k < 300; k++) {
        tc_run_to(c, ms_sched_now(c->s) + 5 * MSEC);
        ms_raft_status st;
        ms_raft_status_of(c->g, fo, &st);
        if (st.installing) {
            saw_install = 1;
            CHECK_EQ_I64(st.applied, applied_before);
            CHECK_EQ_I64(st.install_total, 4 * 16384);
            if (st.install_bytes > max_bytes) max_bytes = st.install_bytes;
            ms_raft_status ls;
            ms_raft_status_of(c->g, l, &ls);
            CHECK_EQ_I64(ls.streams, 1);
        }
    }
    CHECK(saw_install);
    CHECK_EQ_I64(max_bytes, 3 * 16384);
    ms_raft_stats fs, ls;
    ms_raft_stats_of(c->g, fo, &fs);
    ms_raft_stats_of(c->g, l, &ls);
    CHECK_EQ_I64(fs.snaps_installed, 1);
    CHECK_EQ_I64(ls.snaps_sent, 1);
    CHECK_EQ_I64(ls.snap_chunks_sent, 5); /* 4 chunks and the end marker */
    CHECK_EQ_I64(c->f[fo].installs_ok, 1);
    /* Caught up after the snapshot, to the leader's state. */
    for (int i = 0; i < 20; i++) tc_propose(c, (uint64_t)(1000 + i));
    tc_run_to(c, ms_sched_now(c->s) + 2 * SEC);
    CHECK(converged(c) > 500);
    CHECK_EQ_I64(c->f[fo].count, 520);
    CHECK(ms_raft_first_index(c->g, fo) > 400);
    CHECK_EQ_I64(ms_check_violations(c->chk), 0);
    tc_free(c);
}

/* While a follower installs from one leader, a new leader's snapshot is
 * refused; the stalled install times out and the new leader's succeeds. */
static void test_snapshot_refused(void) {
    ms_raft_config cfg = config(3, 21);
    cfg.retain = 50;
    tcluster *c = tc_new(&cfg);
    for (int i = 0; i < 3; i++) c->f[i].chunk_ns = 1500 * MSEC; /* 4 chunks: 6 s */
    tc_run_to(c, 3 * SEC);
    int a = ms_raft_find_leader(c->g), fo = (a + 1) % 3;
    ms_raft_crash(c->g, fo);
    for (int i = 0; i < 300; i++) tc_propose(c, (uint64_t)i);
    tc_run_to(c, ms_sched_now(c->s) + 200 * MSEC);
    ms_raft_restart(c->g, fo);
    tc_run_to(c, ms_sched_now(c->s) + 1 * SEC);
    ms_raft_status st;
    ms_raft_status_of(c->g, fo, &st);
    CHECK(st.installing);
    ms_raft_crash(c->g, a); /* the stream's leader dies mid-install */
    int64_t t = time_to_leader(c, ms_sched_now(c->s) + 5 * SEC);
    CHECK(t > 0);
    int b = ms_raft_find_leader(c->g);
    CHECK(b >= 0 && b != a && b != fo);
    for (int i = 0; i < 100; i++) tc_propose(c, (uint64_t)(1000 + i));
    tc_run_to(c, ms_sched_now(c->s) + 4 * SEC);
    ms_raft_stats fs, bs;
    ms_raft_stats_of(c->g, fo, &fs);
    ms_raft_stats_of(c->g, b, &bs);
    CHECK(fs.snaps_refused >= 1);
    CHECK(bs.snaps_aborted >= 1);
    /* Stalled stream: abandoned after snap_timeout, then b's snapshot lands. */
    tc_run_to(c, ms_sched_now(c->s) + 30 * SEC);
    ms_raft_stats_of(c->g, fo, &fs);
    CHECK_EQ_I64(fs.installs_failed, 1);
    CHECK_EQ_I64(fs.snaps_installed, 1);
    ms_raft_restart(c->g, a); /* also behind b's log: another 6 s snapshot */
    tc_run_to(c, ms_sched_now(c->s) + 10 * SEC);
    CHECK(converged(c) > 400);
    CHECK_EQ_I64(c->f[fo].count, 400);
    CHECK_EQ_I64(ms_check_violations(c->chk), 0);
    tc_free(c);
}

static void test_transfer(void) {
    ms_raft_config cfg = config(3, 13);
    tcluster *c = tc_new(&cfg);
    tc_run_to(c, 3 * SEC);
    int l = ms_raft_find_leader(c->g), target = (l + 2) % 3;
    for (int i = 0; i < 10; i++) tc_propose(c, (uint64_t)i);
    CHECK_EQ_I64(ms_raft_transfer_leader(c->g, l, target), 0);
    unsigned char p[1] = {1};
    CHECK_EQ_I64(ms_raft_propose(c->g, l, p, 1, NULL, NULL), MS_RAFT_ETRANSFER);
    CHECK_EQ_I64(ms_raft_transfer_leader(c->g, target, l), MS_RAFT_ENOTLEADER);
    tc_run_to(c, ms_sched_now(c->s) + 50 * MSEC); /* far less than an election timeout */
    CHECK_EQ_I64(ms_raft_find_leader(c->g), target);
    CHECK_EQ_I64(count_leaders(c), 1);
    tc_run_to(c, ms_sched_now(c->s) + SEC);
    CHECK_EQ_I64(converged(c) > 10, 1);
    CHECK_EQ_I64(ms_check_violations(c->chk), 0);
    tc_free(c);
}

/* --- randomized chaos ------------------------------------------------------ */

enum { EV_PROPOSE = 0x54430001, EV_FAULT = 0x54430002 };

typedef struct chaos {
    tcluster *c;
    ms_rng work, faults;
    uint64_t seq;
    int64_t end; /* proposals and faults stop here */
} chaos;

typedef struct chaos_result {
    uint64_t violations, digest, events, committed;
    uint64_t campaigns, installs, refused, failed;
    int64_t converged;
    ms_check_violation first;
} chaos_result;

static void on_propose(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)a, (void)b;
    chaos *x = ctx;
    if (ms_sched_now(s) >= x->end) return;
    int node = (int)ms_rng_below(&x->work, (uint64_t)x->c->n), hint = -1;
    unsigned char p[8];
    tfsm_put64(p, ++x->seq);
    if (ms_raft_propose(x->c->g, node, p, sizeof p, NULL, &hint) == MS_RAFT_ENOTLEADER && hint >= 0)
        ms_raft_propose(x->c->g, hint, p, sizeof p, NULL, NULL);
    int64_t gap = (int64_t)ms_rng_exponential(&x->work, 10e6);
    ms_sched_after(s, gap, EV_PROPOSE, on_propose, x, x->seq + 1, 0);
}

static int pick_node(chaos *x, int up) {
    int n = x->c->n, start = (int)ms_rng_below(&x->faults, (uint64_t)n);
    for (int k = 0; k < n; k++) {
        int i = (start + k) % n;
        if (ms_raft_is_up(x->c->g, i) == up) return i;
    }
    return -1;
}

static void fault(chaos *x, int action) {
    ms_raft *g = x->c->g;
    int n = x->c->n, l = ms_raft_find_leader(g), i;
    switch (action) {
    case 0:
    case 1:
        if ((i = pick_node(x, 1)) >= 0) ms_raft_crash(g, i);
        break;
    case 2:
    case 3:
        if ((i = pick_node(x, 0)) >= 0) ms_raft_restart(g, i);
        break;
    case 4: { /* split into two random groups */
        int ga[TC_MAX], gb[TC_MAX], na = 0, nb = 0;
        uint64_t mask = ms_rng_next(&x->faults);
        for (int k = 0; k < n; k++) {
            if (mask >> k & 1)
                ga[na++] = k;
            else
                gb[nb++] = k;
        }
        ms_net_partition(x->c->net, ga, (size_t)na, gb, (size_t)nb);
        break;
    }
    case 5:
        ms_net_heal(x->c->net);
        break;
    case 6:
        ms_net_block(x->c->net, (int)ms_rng_below(&x->faults, (uint64_t)n),
                     (int)ms_rng_below(&x->faults, (uint64_t)n));
        break;
    case 7:
        if (l >= 0) ms_raft_force_compact(g, l, ms_raft_applied_index(g, l));
        break;
    case 8:
        if (l >= 0) ms_raft_transfer_leader(g, l, (int)ms_rng_below(&x->faults, (uint64_t)n));
        break;
    }
}

static void on_fault(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)b;
    chaos *x = ctx;
    if (ms_sched_now(s) >= x->end) return;
    fault(x, (int)a);
    int64_t gap = (int64_t)ms_rng_uniform_range(&x->faults, 200e6, 2e9);
    ms_sched_after(s, gap, EV_FAULT, on_fault, x, ms_rng_below(&x->faults, 9), 0);
}

/* Faults and a steady load for `secs` virtual seconds, then heal, restart
 * everything and settle for 60 s (a stalled install from an old leader
 * blocks newer streams until its watchdog, so convergence can take about
 * 2 x snap_timeout plus elections). The seed also varies the shape: 3 or 5
 * nodes, pre-vote, check-quorum, synchronous or paced applies and chunks. */
static chaos_result chaos_run(uint64_t seed, int64_t secs, int unsafe) {
    ms_raft_config cfg = config(seed % 2 ? 3 : 5, seed);
    cfg.retain = 50;
    cfg.prevote = (int)(seed / 2 % 2);
    cfg.check_quorum = seed / 4 % 2 == 0;
    cfg.unsafe_commit_without_majority = unsafe;
    tcluster *c = tc_new(&cfg);
    ms_net_set_latency(c->net, ms_dist_lognormal(0.5e6, 5e6));
    ms_net_set_loss(c->net, 0.01);
    for (int i = 0; i < c->n; i++) {
        c->f[i].apply_ns = seed % 3 == 0 ? 100000 : 0;
        c->f[i].chunk_ns = seed % 5 == 0 ? 50 * MSEC : 0;
    }
    chaos x = {.c = c, .end = secs * SEC};
    ms_rng_init(&x.work, seed, "workload");
    ms_rng_init(&x.faults, seed, "faults");
    ms_sched_at(c->s, 0, EV_PROPOSE, on_propose, &x, 0, 0);
    ms_sched_at(c->s, 2 * SEC, EV_FAULT, on_fault, &x, ms_rng_below(&x.faults, 9), 0);
    tc_run_to(c, x.end);
    ms_net_heal(c->net);
    for (int i = 0; i < c->n; i++)
        if (!ms_raft_is_up(c->g, i)) ms_raft_restart(c->g, i);
    tc_run_to(c, x.end + 60 * SEC);
    chaos_result r = {.violations = ms_check_violations(c->chk),
                      .digest = ms_sched_digest(c->s),
                      .events = ms_sched_events(c->s),
                      .committed = ms_check_get_stats(c->chk).committed,
                      .converged = converged(c)};
    if (r.violations) r.first = *ms_check_first(c->chk);
    for (int i = 0; i < c->n; i++) {
        ms_raft_stats st;
        ms_raft_stats_of(c->g, i, &st);
        r.campaigns += st.campaigns;
        r.installs += st.snaps_installed;
        r.refused += st.snaps_refused;
        r.failed += st.installs_failed;
    }
    tc_free(c);
    return r;
}

static void test_chaos(void) {
    uint64_t events = 0, committed = 0, campaigns = 0, installs = 0, refused = 0, failed = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        chaos_result r = chaos_run(seed, 60, 0);
        CHECK_EQ_I64(r.violations, 0);
        CHECK(r.converged >= 0 && (uint64_t)r.converged >= r.committed);
        if (r.violations || r.converged < 0 || (uint64_t)r.converged < r.committed)
            fprintf(stderr, "seed %llu: %llu violations (%s), converged %lld, committed %llu\n",
                    (unsigned long long)seed, (unsigned long long)r.violations, r.first.what,
                    (long long)r.converged, (unsigned long long)r.committed);
        events += r.events;
        committed += r.committed;
        campaigns += r.campaigns;
        installs += r.installs;
        refused += r.refused;
        failed += r.failed;
    }
    printf("chaos: 200 seeds, %llu events, %llu entries committed, %llu campaigns, %llu snapshots "
           "installed, %llu refused, %llu installs failed\n",
           (unsigned long long)events, (unsigned long long)committed, (unsigned long long)campaigns,
           (unsigned long long)installs, (unsigned long long)refused, (unsigned long long)failed);
}

static void test_unsafe_commit_caught(void) {
    int caught = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        chaos_result r = chaos_run(seed, 20, 1);
        caught += r.violations > 0;
        if (caught == 1 && r.violations) printf("unsafe, seed 1: %s\n", r.first.what);
    }
    printf("unsafe commit: caught in %d of 20 seeds\n", caught);
    CHECK(caught > 0);
}

static void test_determinism(void) {
    chaos_result a = chaos_run(5, 20, 0), b = chaos_run(5, 20, 0), d = chaos_run(6, 20, 0);
    CHECK(a.digest == b.digest);
    CHECK_EQ_I64(a.events, b.events);
    CHECK(a.digest != d.digest);
}

int main(void) {
    RUN(test_election);
    RUN(test_replication);
    RUN(test_leader_crash);
    RUN(test_partition);
    RUN(test_snapshot_install);
    RUN(test_snapshot_refused);
    RUN(test_transfer);
    RUN(test_chaos);
    RUN(test_unsafe_commit_caught);
    RUN(test_determinism);
    return ms_test_end();
}

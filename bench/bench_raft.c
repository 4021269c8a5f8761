/* Raft throughput: a 3-node group (test FSM) taking 1000 proposals/s for
 * 300 s of virtual time, with one forced snapshot install per virtual
 * minute (a follower goes down for 5 s, the leader compacts its log to its
 * applied index, the follower comes back and needs a snapshot). Prints
 * simulated events/s and simulated seconds per wall second. */
#include "../tests/ms_test_fsm.h"

#include <stdio.h>
#include <time.h>

#define SEC 1000000000LL

enum { EV_LOAD = 0x42520001, EV_SNAPFAULT = 0x42520002 };

typedef struct bench {
    tcluster *c;
    uint64_t seq, ok;
    int victim;
} bench;

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void on_load(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)a, (void)b;
    bench *x = ctx;
    x->ok += tc_propose(x->c, ++x->seq) > 0;
    ms_sched_after(s, 1000000, EV_LOAD, on_load, x, x->seq + 1, 0);
}

/* a = 0: take a follower down; a = 1: compact the leader and bring it back. */
static void on_snapfault(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)b;
    bench *x = ctx;
    ms_raft *g = x->c->g;
    int l = ms_raft_find_leader(g);
    if (a == 0) {
        x->victim = l < 0 ? 0 : (l + 1) % x->c->n;
        ms_raft_crash(g, x->victim);
        ms_sched_after(s, 5 * SEC, EV_SNAPFAULT, on_snapfault, x, 1, 0);
    } else {
        if (l >= 0) ms_raft_force_compact(g, l, ms_raft_applied_index(g, l));
        ms_raft_restart(g, x->victim);
        ms_sched_after(s, 55 * SEC, EV_SNAPFAULT, on_snapfault, x, 0, 0);
    }
}

int main(void) {
    ms_raft_config cfg;
    ms_raft_config_default(&cfg, 3);
    cfg.seed = 42;
    tcluster *c = tc_new(&cfg);
    for (int i = 0; i < 3; i++) {
        c->f[i].chunk_size = 65536;
        c->f[i].chunks = 64; /* 4 MiB snapshots */
    }
    bench x = {c, 0, 0, -1};
    ms_sched_at(c->s, 3 * SEC, EV_LOAD, on_load, &x, 0, 0);
    ms_sched_at(c->s, 30 * SEC, EV_SNAPFAULT, on_snapfault, &x, 0, 0);
    double t0 = wall();
    tc_run_to(c, 303 * SEC);
    double dt = wall() - t0;
    uint64_t events = ms_sched_events(c->s);
    uint64_t installs = 0, chunks = 0;
    for (int i = 0; i < 3; i++) {
        ms_raft_stats st;
        ms_raft_stats_of(c->g, i, &st);
        installs += st.snaps_installed;
        chunks += st.snap_chunks_sent;
    }
    ms_net_stats ns = ms_net_get_stats(c->net);
    printf("raft 3 nodes, 1000 proposals/s, 300 s virtual, 1 snapshot install/min:\n");
    printf("  %.2f M events/s, %.1f simulated s per wall s (%llu events, %.3f s wall)\n",
           (double)events / dt / 1e6, 303.0 / dt, (unsigned long long)events, dt);
    printf("  %llu proposals accepted, %llu committed, %llu messages, %llu snapshots installed "
           "(%llu chunks), %llu safety violations\n",
           (unsigned long long)x.ok, (unsigned long long)ms_raft_commit_index(c->g, 0),
           (unsigned long long)ns.sent, (unsigned long long)installs, (unsigned long long)chunks,
           (unsigned long long)ms_check_violations(c->chk));
    tc_free(c);
    return 0;
}

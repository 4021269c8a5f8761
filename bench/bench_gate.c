/* The OS gate's cost and wake-up latency on a 1M-key store (ms_stress):
 * reads/s with the gate (policy block / stale_read) against the `none`
 * switch of the same binary, with no apply running and with applies back
 * to back; the wake-up latency of blocked readers, from the end of an
 * apply to the reader out of the gate (release: the wake-up
 * latency, the same span the gate-only figure measures) and to its read
 * served (end to end); and, as the floor the machine sets, a bare
 * condition-variable ping-pong between two threads. The wake-up runs are
 * made twice: plain, and with the waiters pre-woken before the apply's
 * last chunks (ms_gate_os_soon: they poll for the end instead of sleeping
 * through it) and the readers pinned to CPUs of their own. First, the
 * floor the machine itself sets: how often a thread spinning on each CPU is
 * taken off it (cpu_probe). Prints, asserts nothing. Targets: the gate costs <= 3% of read
 * throughput when no apply runs; wake-up p99 <= 200 us.
 *
 * Usage: bench_gate [keys] (default 1000000). */
#define _GNU_SOURCE /* sched_setaffinity, for the CPU probe */
#include "ms_stress.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

/* Short gate/none pairs, alternately ordered, so that both halves of a
 * pair share the machine's state of the moment; the cost is the median of
 * the per-pair ratios. */
#define PAIRS 7
#define PAIR_SECONDS 0.5
/* And in one run: the same readers on the same store alternate phases
 * with and without the gate check. */
#define AB_RUNS 5
#define AB_SECONDS 2.0
#define AB_PHASE_NS INT64_C(20000000)

/* Runs made while this is set pre-wake the waiters and pin the readers
 * (ms_stress_config prewake and pin). */
static int tuned;

static int run_ab(ms_stress_policy p, ms_snap_mode m, unsigned readers, uint64_t keys,
                  int64_t apply_every, double seconds, int64_t ab_phase, ms_stress_result *r) {
    ms_stress_config c;
    ms_stress_defaults(&c);
    c.policy = p;
    c.mode = m;
    c.readers = readers;
    c.keys = keys;
    c.apply_every_ns = apply_every;
    c.duration_ns = (int64_t)(seconds * 1e9);
    c.timeout_ns = INT64_C(10000000000);
    c.ab_phase_ns = ab_phase;
    c.prewake = c.pin = tuned;
    char err[320];
    if (ms_stress_run(&c, r, err, sizeof err) != 0) {
        fprintf(stderr, "bench_gate: %s\n", err);
        exit(1);
    }
    return 0;
}

static int run(ms_stress_policy p, ms_snap_mode m, unsigned readers, uint64_t keys,
               int64_t apply_every, double seconds, ms_stress_result *r) {
    return run_ab(p, m, readers, keys, apply_every, seconds, 0, r);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n) (n odd; v is sorted in place). */
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* One run without applies: reads per wall second and per reader CPU
 * second (the second leaves out the CPU time other processes took). */
static void idle_run(ms_stress_policy p, unsigned readers, uint64_t keys, double *wall,
                     double *cpu) {
    ms_stress_result r;
    run(p, MS_SNAP_INPLACE, readers, keys, 0, PAIR_SECONDS, &r);
    *wall = r.reads_per_s;
    *cpu = r.reader_cpu_s > 0 ? (double)r.reads / r.reader_cpu_s : 0;
    ms_stress_result_free(&r);
}

/* cost[i] = 1 - g[i] / n[i] in percent, i < k (odd); print them, their
 * median, quartiles and range, and the medians of g and n. Sorts g, n
 * and cost. */
static void print_costs(const char *what, double *g, double *n, double *cost, int k) {
    printf("  %-13s each:", what);
    for (int i = 0; i < k; i++) printf(" %+.1f%%", cost[i]);
    double c = median(cost, k);
    printf("\n  %-13s median %+.1f%%, quartiles %+.1f%% .. %+.1f%%, range %+.1f%% .. %+.1f%%; "
           "medians gate %.0f none %.0f\n",
           "", c, cost[k / 4], cost[k - 1 - k / 4], cost[0], cost[k - 1], median(g, k),
           median(n, k));
}

/* No apply: block (the fast path's one atomic load) against none, PAIRS
 * pairs; the cost of pair i is 1 - gate_i / none_i. */
static void idle_cost(unsigned readers, uint64_t keys) {
    double gw[PAIRS], nw[PAIRS], gc[PAIRS], nc[PAIRS], cw[PAIRS], cc[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        int gate_first = i % 2 == 0;
        if (gate_first) idle_run(MS_STRESS_BLOCK, readers, keys, &gw[i], &gc[i]);
        idle_run(MS_STRESS_NONE, readers, keys, &nw[i], &nc[i]);
        if (!gate_first) idle_run(MS_STRESS_BLOCK, readers, keys, &gw[i], &gc[i]);
        cw[i] = (1.0 - gw[i] / nw[i]) * 100.0;
        cc[i] = (1.0 - gc[i] / nc[i]) * 100.0;
    }
    printf("no apply,    %u reader%s, gate (block) vs none, %d pairs of %.1f s:\n", readers,
           readers > 1 ? "s" : " ", PAIRS, PAIR_SECONDS);
    print_costs("reads/s", gw, nw, cw, PAIRS);
    print_costs("reads/CPU-s", gc, nc, cc, PAIRS);
}

/* No apply, gate and no gate in alternate phases of one run, AB_RUNS
 * runs; the cost of a run is 1 - gated / ungated. */
static void ab_cost(unsigned readers, uint64_t keys) {
    double gw[AB_RUNS], nw[AB_RUNS], gc[AB_RUNS], nc[AB_RUNS], cw[AB_RUNS], cc[AB_RUNS];
    for (int i = 0; i < AB_RUNS; i++) {
        ms_stress_result r;
        run_ab(MS_STRESS_BLOCK, MS_SNAP_INPLACE, readers, keys, 0, AB_SECONDS, AB_PHASE_NS, &r);
        /* the two kinds of phase share the wall time equally */
        gw[i] = (double)r.ab_reads[0] / (r.seconds / 2),
        nw[i] = (double)r.ab_reads[1] / (r.seconds / 2);
        gc[i] = (double)r.ab_reads[0] / r.ab_cpu_s[0],
        nc[i] = (double)r.ab_reads[1] / r.ab_cpu_s[1];
        cw[i] = (1.0 - gw[i] / nw[i]) * 100.0;
        cc[i] = (1.0 - gc[i] / nc[i]) * 100.0;
        ms_stress_result_free(&r);
    }
    printf(
        "no apply,    %u reader%s, gate vs none in alternate %.0f ms phases, %d runs of %.0f s:\n",
        readers, readers > 1 ? "s" : " ", (double)AB_PHASE_NS / 1e6, AB_RUNS, AB_SECONDS);
    print_costs("reads/s", gw, nw, cw, AB_RUNS);
    print_costs("reads/CPU-s", gc, nc, cc, AB_RUNS);
}

/* Applies back to back (aside): stale_read (the flag is set, the previous
 * version served), block (readers wait), none. */
static void busy(unsigned readers, uint64_t keys) {
    static const ms_stress_policy ps[] = {MS_STRESS_STALE_READ, MS_STRESS_BLOCK, MS_STRESS_NONE};
    printf("applying,    %u reader%s:", readers, readers > 1 ? "s" : " ");
    for (int i = 0; i < 3; i++) {
        ms_stress_result r;
        run(ps[i], MS_SNAP_ASIDE, readers, keys, 1, 3.0, &r);
        printf(" %s %.0f served/s (%llu applies)%s", ms_stress_policy_name(ps[i]), r.served_per_s,
               (unsigned long long)r.applies, i < 2 ? "," : "\n");
        ms_stress_result_free(&r);
    }
}

static void print_lat(const char *name, const ms_hist *h) {
    printf(" %s p50 %.1f p99 %.1f max %.1f us (%lld);", name,
           (double)ms_hist_percentile(h, 50) / 1e3, (double)ms_hist_percentile(h, 99) / 1e3,
           (double)ms_hist_max(h) / 1e3, (long long)ms_hist_count(h));
}

/* Blocked readers released by the end of an apply. */
static void wakeup(unsigned readers, uint64_t keys, int64_t every, double seconds) {
    ms_stress_result r;
    run(MS_STRESS_BLOCK, MS_SNAP_INPLACE, readers, keys, every, seconds, &r);
    printf("wake-up,     %u reader%s, %llu keys, %llu applies (p50 %.0f ms)%s:\n", readers,
           readers > 1 ? "s" : " ", (unsigned long long)r.keys, (unsigned long long)r.applies,
           (double)ms_hist_percentile(r.apply, 50) / 1e6,
           tuned ? ", waiters pre-woken, readers pinned" : "");
    printf("  release   ");
    print_lat("first out", r.release_first), print_lat("per waiter", r.release);
    printf("\n  end to end");
    print_lat("first read", r.first), print_lat("per waiter", r.wake);
    printf("\n");
    ms_stress_result_free(&r);
}

/* The fast path alone: ns per ms_gate_os_applying (one atomic load). */
static void fast_path_cost(void) {
    enum { N = 100000000 };
    ms_gate_os *g = ms_gate_os_new();
    int64_t t0 = ms_gate_os_now();
    unsigned sum = 0;
    for (int i = 0; i < N; i++) sum += (unsigned)ms_gate_os_applying(g);
    double ns = (double)(ms_gate_os_now() - t0) / N;
    printf("fast path: %.2f ns per flag check (%u set)\n", ns, sum);
    ms_gate_os_free(g);
}

typedef struct waker {
    ms_gate_os *g;
    ms_hist *h;
    int rounds;
} waker;

static void waker_main(void *arg) {
    waker *w = arg;
    for (int i = 0; i < w->rounds; i++) {
        int64_t end = 0;
        while (ms_gate_os_wait(w->g, -1, &end) != MS_GATE_OS_WOKEN) {
        }
        ms_hist_record(w->h, ms_gate_os_now() - end);
    }
}

/* The gate alone: n threads wait, the apply ends, each records end ->
 * running again; no store, no other work competing. */
static void gate_wakeup(unsigned n) {
    enum { ROUNDS_W = 2000 };
    ms_gate_os *g = ms_gate_os_new();
    waker w[2];
    uv_thread_t th[2];
    for (unsigned i = 0; i < n; i++) {
        w[i] = (waker){.g = g, .h = ms_hist_new(), .rounds = ROUNDS_W};
        uv_thread_create(&th[i], waker_main, &w[i]);
    }
    for (int r = 0; r < ROUNDS_W; r++) {
        ms_gate_os_begin(g);
        /* every waiter has started this round's wait (waiting alone could
         * still count the last round's, not yet out) */
        while (ms_gate_os_stats_get(g).waits < (uint64_t)(r + 1) * n) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
        ms_gate_os_end(g);
    }
    for (unsigned i = 0; i < n; i++) uv_thread_join(&th[i]);
    for (unsigned i = 1; i < n; i++) ms_hist_merge(w[0].h, w[i].h);
    printf("gate only,   %u waiter%s, %d applies: wake-up p50 %.1f us p99 %.1f us max %.1f us\n", n,
           n > 1 ? "s" : " ", ROUNDS_W, (double)ms_hist_percentile(w[0].h, 50) / 1e3,
           (double)ms_hist_percentile(w[0].h, 99) / 1e3, (double)ms_hist_max(w[0].h) / 1e3);
    for (unsigned i = 0; i < n; i++) ms_hist_free(w[i].h);
    ms_gate_os_free(g);
}

typedef struct pingpong {
    uv_mutex_t mu;
    uv_cond_t cv;
    int64_t sent; /* 0: nothing in flight; else when it was signalled */
    int rounds;
    ms_hist *h;
} pingpong;

static void pong_main(void *arg) {
    pingpong *pp = arg;
    uv_mutex_lock(&pp->mu);
    for (int i = 0; i < pp->rounds; i++) {
        while (pp->sent == 0) uv_cond_wait(&pp->cv, &pp->mu);
        ms_hist_record(pp->h, ms_gate_os_now() - pp->sent);
        pp->sent = 0;
        uv_cond_signal(&pp->cv);
    }
    uv_mutex_unlock(&pp->mu);
}

/* The floor under any wake-up on this machine: one thread signals a
 * condition variable another sleeps on, with a pause between rounds so
 * that the sleeper's CPU goes idle (on a VM, a halted vCPU woken by an
 * IPI); time from the signal to the sleeper running. */
static void condvar_pingpong(void) {
    enum { ROUNDS_P = 2000 };
    pingpong pp;
    memset(&pp, 0, sizeof pp);
    pp.rounds = ROUNDS_P;
    pp.h = ms_hist_new();
    uv_mutex_init(&pp.mu);
    uv_cond_init(&pp.cv);
    uv_thread_t th;
    uv_thread_create(&th, pong_main, &pp);
    for (int i = 0; i < ROUNDS_P; i++) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
        uv_mutex_lock(&pp.mu);
        pp.sent = ms_gate_os_now();
        uv_cond_signal(&pp.cv);
        while (pp.sent != 0) uv_cond_wait(&pp.cv, &pp.mu);
        uv_mutex_unlock(&pp.mu);
    }
    uv_thread_join(&th);
    printf("condvar ping-pong (no gate), %d rounds: signal -> running p50 %.1f us p99 %.1f us "
           "max %.1f us\n",
           ROUNDS_P, (double)ms_hist_percentile(pp.h, 50) / 1e3,
           (double)ms_hist_percentile(pp.h, 99) / 1e3, (double)ms_hist_max(pp.h) / 1e3);
    uv_cond_destroy(&pp.cv);
    uv_mutex_destroy(&pp.mu);
    ms_hist_free(pp.h);
}

/* --- the machine's floor: how often a running thread loses its CPU ------ */

#define PROBE_SECONDS 10.0
#define PROBE_GAP_NS 10000   /* a clock read this long after the last: off the CPU */
#define PROBE_LATE_NS 200000 /* the wake-up target */
#define PROBE_MAX_CPUS 64

typedef struct probe {
    int cpu;
    int64_t lost, late, n_late, n_1ms, max; /* ns, ns past PROBE_LATE_NS, counts, ns */
} probe;

/* Spin on the clock on one CPU and account every gap between two reads. */
static void probe_main(void *arg) {
    probe *p = arg;
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(p->cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
#endif
    int64_t prev = ms_gate_os_now(), end = prev + (int64_t)(PROBE_SECONDS * 1e9);
    while (prev < end) {
        int64_t t = ms_gate_os_now(), g = t - prev;
        prev = t;
        if (g < PROBE_GAP_NS) continue;
        p->lost += g;
        if (g > p->max) p->max = g;
        if (g > PROBE_LATE_NS) p->late += g - PROBE_LATE_NS, p->n_late++;
        if (g >= 1000000) p->n_1ms++;
    }
}

/* One thread per CPU, every CPU busy (as in a wake-up with readers, the
 * applier and the writer all running): the share of time a running thread
 * is off its CPU (the hypervisor, interrupts, the kernel's own threads),
 * how often for more than 200 us, and the chance that a given instant is
 * followed by more than 200 us off the CPU: the rate at which a wake-up on
 * this machine misses the target whatever the gate does. */
static void cpu_probe(void) {
    probe p[PROBE_MAX_CPUS];
    uv_thread_t th[PROBE_MAX_CPUS];
    int n = 0;
#ifdef __linux__
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
        for (int cpu = 0; cpu < CPU_SETSIZE && n < PROBE_MAX_CPUS; cpu++)
            if (CPU_ISSET(cpu, &allowed)) p[n++] = (probe){.cpu = cpu};
#endif
    if (n == 0) {
        printf("cpu probe: needs Linux CPU affinity; skipped\n");
        return;
    }
    for (int i = 0; i < n; i++) uv_thread_create(&th[i], probe_main, &p[i]);
    for (int i = 0; i < n; i++) uv_thread_join(&th[i]);
    printf("cpu probe,   %d CPUs all busy, %.0f s: a spinning thread's gaps >= %d us\n", n,
           PROBE_SECONDS, PROBE_GAP_NS / 1000);
    for (int i = 0; i < n; i++)
        printf("  cpu %d: off-CPU %.2f%% of the time; gaps > 200 us %.1f/s, >= 1 ms %.1f/s, "
               "max %.2f ms; an instant followed by > 200 us off-CPU: %.3f%%\n",
               p[i].cpu, 100.0 * (double)p[i].lost / (PROBE_SECONDS * 1e9),
               (double)p[i].n_late / PROBE_SECONDS, (double)p[i].n_1ms / PROBE_SECONDS,
               (double)p[i].max / 1e6, 100.0 * (double)p[i].late / (PROBE_SECONDS * 1e9));
}

int main(int argc, char **argv) {
    cpu_probe();
    fast_path_cost();
    condvar_pingpong();
    for (unsigned n = 1; n <= 2; n++) gate_wakeup(n);
    uint64_t keys = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    for (unsigned readers = 1; readers <= 2; readers++) idle_cost(readers, keys);
    for (unsigned readers = 1; readers <= 2; readers++) ab_cost(readers, keys);
    for (unsigned readers = 1; readers <= 2; readers++) busy(readers, keys);
    for (tuned = 0; tuned <= 1; tuned++) {
        for (unsigned readers = 1; readers <= 2; readers++)
            wakeup(readers, keys, INT64_C(300000000), 10.0);
        wakeup(2, keys / 10, INT64_C(50000000), 3.0);
    }
    tuned = 0;
    return 0;
}

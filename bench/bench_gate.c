/* The OS gate's cost and wake-up latency on a 1M-key store (ms_stress):
 * reads/s with the gate (policy block / stale_read) against the `none`
 * switch of the same binary, with no apply running and with applies back
 * to back; the wake-up latency of blocked readers (end of an apply -> the
 * read served). Prints, asserts nothing. Targets: the gate costs <= 3% of
 * read throughput when no apply runs; wake-up p99 <= 200 us.
 *
 * Usage: bench_gate [keys] (default 1000000). */
#include "ms_stress.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#define ROUNDS 3 /* gate and none alternate, to share the machine's noise */

static int run(ms_stress_policy p, ms_snap_mode m, unsigned readers, uint64_t keys,
               int64_t apply_every, double seconds, ms_stress_result *r) {
    ms_stress_config c;
    ms_stress_defaults(&c);
    c.policy = p;
    c.mode = m;
    c.readers = readers;
    c.keys = keys;
    c.apply_every_ns = apply_every;
    c.duration_ns = (int64_t)(seconds * 1e9);
    c.timeout_ns = INT64_C(10000000000);
    char err[320];
    if (ms_stress_run(&c, r, err, sizeof err) != 0) {
        fprintf(stderr, "bench_gate: %s\n", err);
        exit(1);
    }
    return 0;
}

static double median3(double a, double b, double c) {
    if (a > b) {
        double t = a;
        a = b, b = t;
    }
    return c < a ? a : c > b ? b : c;
}

/* No apply: block (the fast path's one atomic load) against none. */
static void idle_cost(unsigned readers, uint64_t keys) {
    double g[ROUNDS], n[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) {
        ms_stress_result r;
        run(MS_STRESS_BLOCK, MS_SNAP_INPLACE, readers, keys, 0, 1.5, &r);
        g[i] = r.reads_per_s;
        ms_stress_result_free(&r);
        run(MS_STRESS_NONE, MS_SNAP_INPLACE, readers, keys, 0, 1.5, &r);
        n[i] = r.reads_per_s;
        ms_stress_result_free(&r);
    }
    double gm = median3(g[0], g[1], g[2]), nm = median3(n[0], n[1], n[2]);
    printf("no apply,    %u reader%s: gate (block) %9.0f reads/s, none %9.0f reads/s "
           "(medians of %d), gate cost %+.1f%%\n",
           readers, readers > 1 ? "s" : " ", gm, nm, ROUNDS, (nm - gm) / nm * 100.0);
    printf("             rounds gate %.0f %.0f %.0f / none %.0f %.0f %.0f\n", g[0], g[1], g[2],
           n[0], n[1], n[2]);
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

/* Blocked readers released by the end of an apply. */
static void wakeup(unsigned readers, uint64_t keys, int64_t every, double seconds) {
    ms_stress_result r;
    run(MS_STRESS_BLOCK, MS_SNAP_INPLACE, readers, keys, every, seconds, &r);
    printf("wake-up,     %u reader%s, %llu keys, %llu applies (p50 %.0f ms): per waiter p50 "
           "%.1f us p99 %.1f us max %.1f us (%lld); first read p50 %.1f us p99 %.1f us max %.1f "
           "us (%lld)\n",
           readers, readers > 1 ? "s" : " ", (unsigned long long)r.keys,
           (unsigned long long)r.applies, (double)ms_hist_percentile(r.apply, 50) / 1e6,
           (double)ms_hist_percentile(r.wake, 50) / 1e3,
           (double)ms_hist_percentile(r.wake, 99) / 1e3, (double)ms_hist_max(r.wake) / 1e3,
           (long long)ms_hist_count(r.wake), (double)ms_hist_percentile(r.first, 50) / 1e3,
           (double)ms_hist_percentile(r.first, 99) / 1e3, (double)ms_hist_max(r.first) / 1e3,
           (long long)ms_hist_count(r.first));
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

int main(int argc, char **argv) {
    fast_path_cost();
    for (unsigned n = 1; n <= 2; n++) gate_wakeup(n);
    uint64_t keys = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    for (unsigned readers = 1; readers <= 2; readers++) idle_cost(readers, keys);
    for (unsigned readers = 1; readers <= 2; readers++) busy(readers, keys);
    for (unsigned readers = 1; readers <= 2; readers++)
        wakeup(readers, keys, INT64_C(300000000), 4.0);
    wakeup(2, keys / 10, INT64_C(50000000), 3.0);
    return 0;
}

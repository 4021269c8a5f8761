/* Histogram and PRNG throughput: ms_hist_record over precomputed lognormal
 * latencies (so the draw cost is not measured), percentile and merge cost,
 * and draws/s of the common distributions. Prints figures only. */
#include "ms_hist.h"
#include "ms_rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define VALUES (1 << 20)

static double wall(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bench_record(const int64_t *v, int rounds) {
    ms_hist *h = ms_hist_new();
    double t0 = wall();
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < VALUES; i++) ms_hist_record(h, v[i]);
    double dt = wall() - t0;
    double n = (double)rounds * VALUES;
    printf("hist record:      %7.1f M records/s  (%.0f records, %.3f s, p99 %lld ns)\n",
           n / dt / 1e6, n, dt, (long long)ms_hist_percentile(h, 99));

    ms_hist *other = ms_hist_new();
    int64_t acc = 0;
    t0 = wall();
    for (int i = 0; i < 1000; i++) acc += ms_hist_percentile(h, 50 + i * 0.0499);
    dt = wall() - t0;
    printf("hist percentile:  %7.1f us/call     (checksum %lld)\n", dt / 1000 * 1e6,
           (long long)(acc & 0xffff));
    t0 = wall();
    for (int i = 0; i < 1000; i++) ms_hist_merge(other, h);
    dt = wall() - t0;
    printf("hist merge:       %7.1f us/call     (%zu bytes per histogram)\n", dt / 1000 * 1e6,
           ms_hist_memory(h));
    ms_hist_free(other);
    ms_hist_free(h);
}

typedef double (*draw_fn)(ms_rng *r);

static double d_uniform(ms_rng *r) {
    return ms_rng_uniform(r);
}
static double d_exponential(ms_rng *r) {
    return ms_rng_exponential(r, 1e-3);
}
static double d_lognormal(ms_rng *r) {
    return ms_rng_lognormal(r, 2e-4, 2e-3);
}
static double d_pareto(ms_rng *r) {
    return ms_rng_pareto(r, 1e-4, 1.5);
}

static void bench_draw(const char *name, draw_fn fn, long n) {
    ms_rng r;
    ms_rng_init(&r, 1, "bench");
    double sum = 0, t0 = wall();
    for (long i = 0; i < n; i++) sum += fn(&r);
    double dt = wall() - t0;
    printf("rng %-12s  %7.1f M draws/s    (mean %.6g)\n", name, (double)n / dt / 1e6, sum / n);
}

int main(void) {
    int64_t *v = malloc(VALUES * sizeof *v);
    if (!v) return 1;
    ms_rng r;
    ms_rng_init(&r, 1, "values");
    for (size_t i = 0; i < VALUES; i++) v[i] = (int64_t)ms_rng_lognormal(&r, 2e5, 2e7);
    bench_record(v, 64);
    free(v);
    bench_draw("uniform:", d_uniform, 100000000);
    bench_draw("exponential:", d_exponential, 30000000);
    bench_draw("lognormal:", d_lognormal, 30000000);
    bench_draw("pareto:", d_pareto, 30000000);
    return 0;
}

/* ms_rng: reproducibility, stream independence, the xoshiro256** reference
 * outputs and distribution sanity over 1e6 draws (generous bounds). */
#include "ms_rng.h"
#include "ms_test.h"

#include <math.h>
#include <stdlib.h>

#define N 1000000

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_known_answer(void) {
    ms_rng r = {{1, 2, 3, 4}, 0};
    CHECK(ms_rng_next(&r) == UINT64_C(11520));
    CHECK(ms_rng_next(&r) == UINT64_C(0));
    CHECK(ms_rng_next(&r) == UINT64_C(1509978240));
    CHECK(ms_rng_next(&r) == UINT64_C(1215971899390074240));
}

static void test_same_stream_same_sequence(void) {
    ms_rng a, b;
    ms_rng_init(&a, 42, "workload");
    ms_rng_init(&b, 42, "workload");
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= ms_rng_next(&a) == ms_rng_next(&b);
    CHECK(same);
    CHECK(a.seed == 42);
    ms_rng_init(&a, 1, "workload"); /* golden: pins the stream derivation */
    CHECK(ms_rng_next(&a) == UINT64_C(8576145385767355086));
    ms_rng_init(&a, 7, NULL);
    ms_rng_init(&b, 7, "");
    CHECK(ms_rng_next(&a) == ms_rng_next(&b));
}

/* Streams that differ by seed or by name share none of their first outputs. */
static void test_different_streams_differ(void) {
    static const struct {
        uint64_t seed;
        const char *name;
    } s[] = {{1, "workload"}, {2, "workload"}, {1, "policy"},
             {1, "workloae"}, {0, "workload"}, {UINT64_MAX, "net"}};
    enum { K = sizeof s / sizeof s[0] };
    uint64_t first[K][8];
    for (int k = 0; k < K; k++) {
        ms_rng r;
        ms_rng_init(&r, s[k].seed, s[k].name);
        CHECK((r.s[0] | r.s[1] | r.s[2] | r.s[3]) != 0);
        for (int i = 0; i < 8; i++) first[k][i] = ms_rng_next(&r);
    }
    int collisions = 0;
    for (int a = 0; a < K; a++)
        for (int b = a + 1; b < K; b++)
            for (int i = 0; i < 8; i++) collisions += first[a][i] == first[b][i];
    CHECK_EQ_I64(collisions, 0);
}

static void test_independence(void) {
    ms_rng a1, a2, b;
    ms_rng_init(&a1, 9, "workload");
    ms_rng_init(&a2, 9, "workload");
    ms_rng_init(&b, 9, "policy");
    int same = 1;
    for (int i = 0; i < 10000; i++) {
        for (int j = 0; j < i % 5; j++) (void)ms_rng_exponential(&b, 1.0);
        same &= ms_rng_uniform(&a1) == ms_rng_uniform(&a2);
    }
    CHECK(same);
}

static void test_uniform(void) {
    ms_rng r;
    ms_rng_init(&r, 1, "uniform");
    double sum = 0, lo = 1, hi = 0, rsum = 0;
    int in_range = 1;
    for (int i = 0; i < N; i++) {
        double u = ms_rng_uniform(&r);
        sum += u;
        if (u < lo) lo = u;
        if (u > hi) hi = u;
        double v = ms_rng_uniform_range(&r, -3.0, 5.0);
        in_range &= v >= -3.0 && v < 5.0;
        rsum += v;
    }
    CHECK(lo >= 0 && lo < 1e-4 && hi < 1 && hi > 1 - 1e-4);
    CHECK(fabs(sum / N - 0.5) < 0.002);
    CHECK(in_range);
    CHECK(fabs(rsum / N - 1.0) < 0.02);
}

static void test_below(void) {
    ms_rng r;
    ms_rng_init(&r, 3, "below");
    int64_t hits[7] = {0};
    int ok = 1;
    for (int i = 0; i < N; i++) {
        uint64_t x = ms_rng_below(&r, 7);
        ok &= x < 7;
        if (x < 7) hits[x]++;
    }
    CHECK(ok);
    for (int k = 0; k < 7; k++) CHECK(fabs(hits[k] / (double)N - 1.0 / 7) < 0.003);
    CHECK(ms_rng_below(&r, 1) == 0);
    CHECK(ms_rng_below(&r, 0) == 0);
    uint64_t big = (UINT64_C(1) << 63) + 1; /* rejection rate near 1/2 */
    ok = 1;
    for (int i = 0; i < 1000; i++) ok &= ms_rng_below(&r, big) < big;
    CHECK(ok);
}

static void test_exponential_normal(void) {
    ms_rng r;
    ms_rng_init(&r, 4, "exp");
    double esum = 0, nsum = 0, nsq = 0;
    int positive = 1;
    for (int i = 0; i < N; i++) {
        double e = ms_rng_exponential(&r, 0.25);
        positive &= e >= 0 && isfinite(e);
        esum += e;
        double z = ms_rng_normal(&r, 10.0, 2.0);
        nsum += z;
        nsq += (z - 10.0) * (z - 10.0);
    }
    CHECK(positive);
    CHECK(fabs(esum / N / 0.25 - 1) < 0.01);
    CHECK(fabs(nsum / N - 10.0) < 0.01);
    CHECK(fabs(sqrt(nsq / N) - 2.0) < 0.01);
}

/* The ziggurat samplers against their exact CDFs: Kolmogorov-Smirnov
 * (sqrt(N) D below 1.95, alpha 0.001), a chi-square over 200 equiprobable
 * bins (199 df: mean 199, sd 20; bound at 5 sd), the tail beyond the base
 * layer's edge R (drawn by the tail method) at its exact rate within 5
 * Poisson sd, and "1 output" for nearly every draw. */
static double normal_cdf(double x) {
    return 0.5 * erfc(-x / sqrt(2.0));
}
static double exp_cdf(double x) {
    return x <= 0 ? 0 : -expm1(-x);
}

static void check_shape(double *v, double (*cdf)(double), double tail_at, double tail_p) {
    int64_t bins[200] = {0}, tail = 0;
    for (int i = 0; i < N; i++) {
        int b = (int)(cdf(v[i]) * 200);
        bins[b < 0 ? 0 : b > 199 ? 199 : b]++;
        tail += fabs(v[i]) > tail_at;
    }
    double chi = 0, e = N / 200.0;
    for (int b = 0; b < 200; b++) chi += (bins[b] - e) * (bins[b] - e) / e;
    CHECK(chi < 199 + 5 * 20);
    qsort(v, N, sizeof *v, cmp_double);
    double d = 0;
    for (int i = 0; i < N; i++) {
        double f = cdf(v[i]), lo = f - (double)i / N, hi = (double)(i + 1) / N - f;
        if (lo > d) d = lo;
        if (hi > d) d = hi;
    }
    CHECK(sqrt((double)N) * d < 1.95);
    double want = tail_p * N;
    CHECK(fabs((double)tail - want) < 5 * sqrt(want));
}

/* Fraction of draws that took exactly one output. */
static double one_output(double (*draw)(ms_rng *), ms_rng *r, double *v) {
    int64_t one = 0;
    for (int i = 0; i < N; i++) {
        ms_rng ahead = *r;
        ms_rng_next(&ahead);
        v[i] = draw(r);
        one += memcmp(ahead.s, r->s, sizeof ahead.s) == 0;
    }
    return (double)one / N;
}

static double draw_normal(ms_rng *r) {
    return ms_rng_normal(r, 0, 1);
}
static double draw_exp(ms_rng *r) {
    return ms_rng_exponential(r, 1);
}

static void test_ziggurat_shape(void) {
    double *v = malloc(N * sizeof *v);
    if (!v) return;
    ms_rng r;
    ms_rng_init(&r, 11, "ziggurat");
    double one = one_output(draw_normal, &r, v);
    CHECK(one > 0.98); /* 98.5% expected */
    double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    for (int i = 0; i < N; i++) {
        m1 += v[i];
        m2 += v[i] * v[i];
        m3 += v[i] * v[i] * v[i];
        m4 += v[i] * v[i] * v[i] * v[i];
    }
    CHECK(fabs(m1 / N) < 0.005);     /* sd of the mean: 0.001 */
    CHECK(fabs(m2 / N - 1) < 0.007); /* sd: 0.0014 */
    CHECK(fabs(m3 / N) < 0.02);      /* skewness, sd 0.0039 */
    CHECK(fabs(m4 / N - 3) < 0.05);  /* kurtosis, sd 0.0098 */
    check_shape(v, normal_cdf, 3.6541528853610088, erfc(3.6541528853610088 / sqrt(2.0)));
    ms_rng_init(&r, 12, "ziggurat");
    one = one_output(draw_exp, &r, v);
    CHECK(one > 0.97); /* 97.8% expected */
    m1 = m2 = 0;
    for (int i = 0; i < N; i++) {
        m1 += v[i];
        m2 += v[i] * v[i];
    }
    CHECK(fabs(m1 / N - 1) < 0.005); /* sd 0.001 */
    CHECK(fabs(m2 / N - 2) < 0.025); /* E[x^2] = 2, sd 0.0045 */
    check_shape(v, exp_cdf, 7.69711747013104972, exp(-7.69711747013104972));
    free(v);
}

static void test_lognormal(void) {
    ms_rng r;
    ms_rng_init(&r, 5, "lognormal");
    double *v = malloc(N * sizeof *v);
    if (!v) return;
    for (int i = 0; i < N; i++) v[i] = ms_rng_lognormal(&r, 200e-6, 2e-3);
    qsort(v, N, sizeof *v, cmp_double);
    CHECK(fabs(v[N / 2] / 200e-6 - 1) < 0.02);
    CHECK(fabs(v[(int)(0.99 * N)] / 2e-3 - 1) < 0.03);
    CHECK(v[0] > 0);
    free(v);
    CHECK(ms_rng_lognormal(&r, 0, 1) == 0);
    CHECK(fabs(ms_rng_lognormal(&r, 3, 3) - 3) < 1e-12); /* sigma 0: always the median */
}

static void test_pareto(void) {
    ms_rng r;
    ms_rng_init(&r, 6, "pareto");
    double sum = 0, lo = INFINITY;
    int64_t above = 0;
    for (int i = 0; i < N; i++) {
        double x = ms_rng_pareto(&r, 2.0, 3.0);
        sum += x;
        if (x < lo) lo = x;
        above += x > 4.0;
    }
    CHECK(lo >= 2.0 && lo < 2.001);
    CHECK(fabs(sum / N / 3.0 - 1) < 0.02);             /* mean = shape*scale/(shape-1) */
    CHECK(fabs(above / (double)N / 0.125 - 1) < 0.02); /* P(X > 2 scale) = 2^-shape */
}

static void test_weighted(void) {
    ms_rng r;
    ms_rng_init(&r, 7, "weighted");
    const double w[] = {0.5, 0, 3.0, -1.0, 1.5, NAN};
    int64_t hits[6] = {0};
    int ok = 1;
    for (int i = 0; i < N; i++) {
        size_t k = ms_rng_weighted(&r, w, 6);
        ok &= k < 6;
        if (k < 6) hits[k]++;
    }
    CHECK(ok);
    CHECK(hits[1] == 0 && hits[3] == 0 && hits[5] == 0);
    CHECK(fabs(hits[0] / (double)N - 0.1) < 0.003);
    CHECK(fabs(hits[2] / (double)N - 0.6) < 0.003);
    CHECK(fabs(hits[4] / (double)N - 0.3) < 0.003);
    const double none[] = {0, -2};
    ms_rng before = r;
    CHECK(ms_rng_weighted(&r, none, 2) == 2);
    CHECK(ms_rng_weighted(&r, w, 0) == 0);
    CHECK(memcmp(&before, &r, sizeof r) == 0); /* no draw when nothing can be chosen */
    const double one[] = {0, 0, 2};
    CHECK(ms_rng_weighted(&r, one, 3) == 2);
}

int main(void) {
    RUN(test_known_answer);
    RUN(test_same_stream_same_sequence);
    RUN(test_different_streams_differ);
    RUN(test_independence);
    RUN(test_uniform);
    RUN(test_below);
    RUN(test_exponential_normal);
    RUN(test_ziggurat_shape);
    RUN(test_lognormal);
    RUN(test_pareto);
    RUN(test_weighted);
    return ms_test_end();
}

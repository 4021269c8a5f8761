/* ms_hist: percentiles within 0.1%, exact min/max/mean, merge, bucket
 * export, range ends, overflow and the empty histogram. */
#include "ms_hist.h"
#include "ms_rng.h"
#include "ms_test.h"

#include <math.h>
#include <stdlib.h>

#define N 1000000
#define HOUR INT64_C(3600000000000)

static double rel_err(int64_t got, int64_t want) {
    return want == 0 ? (double)llabs(got) : fabs((double)(got - want) / (double)want);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The r-th smallest value for percentile p, with the histogram's rank rule. */
static int64_t ref_percentile(const int64_t *sorted, int64_t n, double p) {
    int64_t rank = (int64_t)(p / 100.0 * (double)n + 0.5);
    if (rank < 1) rank = 1;
    return sorted[rank - 1];
}

static void test_uniform_1_to_1e6(void) {
    ms_hist *h = ms_hist_new();
    int ok = 1;
    for (int64_t v = 1; v <= N; v++) ok &= ms_hist_record(h, v) == 0;
    CHECK(ok);
    CHECK_EQ_I64(ms_hist_count(h), N);
    CHECK_EQ_I64(ms_hist_min(h), 1);
    CHECK_EQ_I64(ms_hist_max(h), N);
    CHECK(ms_hist_mean(h) == 500000.5);
    CHECK(rel_err(ms_hist_percentile(h, 50), 500000) <= 0.001);
    CHECK(rel_err(ms_hist_percentile(h, 99), 990000) <= 0.001);
    CHECK(rel_err(ms_hist_percentile(h, 99.9), 999000) <= 0.001);
    CHECK(ms_hist_percentile(h, 50) >= 500000); /* highest equivalent value */
    CHECK_EQ_I64(ms_hist_percentile(h, 100), N);
    CHECK_EQ_I64(ms_hist_percentile(h, 0), 1);
    CHECK_EQ_I64(ms_hist_percentile(h, 250), N);
    CHECK_EQ_I64(ms_hist_percentile(h, -1), 1);
    CHECK_EQ_I64(ms_hist_overflow(h), 0);
    ms_hist_free(h);
}

/* Every percentile of a heavy-tailed sample is within 0.1% of the exact one. */
static void test_relative_error(void) {
    ms_hist *h = ms_hist_new();
    int64_t *v = malloc(N * sizeof *v);
    ms_rng r;
    ms_rng_init(&r, 11, "hist");
    for (int i = 0; i < N; i++) {
        v[i] = (int64_t)ms_rng_lognormal(&r, 200e3, 50e6); /* 200us median, 50ms p99 */
        ms_hist_record(h, v[i]);
    }
    qsort(v, N, sizeof *v, cmp_i64);
    double worst = 0;
    for (double p = 0.5; p < 100; p += 0.5) {
        double e = rel_err(ms_hist_percentile(h, p), ref_percentile(v, N, p));
        if (e > worst) worst = e;
    }
    const double tail[] = {99.9, 99.99, 99.999, 99.9999};
    for (int i = 0; i < 4; i++) {
        double e = rel_err(ms_hist_percentile(h, tail[i]), ref_percentile(v, N, tail[i]));
        if (e > worst) worst = e;
    }
    CHECK(worst <= 0.001);
    CHECK_EQ_I64(ms_hist_min(h), v[0]);
    CHECK_EQ_I64(ms_hist_max(h), v[N - 1]);
    free(v);
    ms_hist_free(h);
}

static void test_small_values_exact(void) {
    ms_hist *h = ms_hist_new();
    for (int64_t v = 0; v < 2048; v++) ms_hist_record(h, v);
    ms_hist_bucket b[2100];
    CHECK_EQ_I64(ms_hist_buckets(h, b, 2100), 2048);
    int exact = 1;
    for (int i = 0; i < 2048; i++) exact &= b[i].lo == i && b[i].hi == i && b[i].count == 1;
    CHECK(exact);
    ms_hist_free(h);
}

static void test_merge_equals_single(void) {
    ms_hist *a = ms_hist_new(), *b = ms_hist_new(), *all = ms_hist_new();
    ms_rng r;
    ms_rng_init(&r, 12, "merge");
    for (int i = 0; i < 100000; i++) {
        int64_t v = (int64_t)ms_rng_exponential(&r, 1e6);
        ms_hist_record(i % 3 ? a : b, v);
        ms_hist_record(all, v);
    }
    ms_hist_merge(a, b);
    CHECK_EQ_I64(ms_hist_count(a), ms_hist_count(all));
    CHECK_EQ_I64(ms_hist_min(a), ms_hist_min(all));
    CHECK_EQ_I64(ms_hist_max(a), ms_hist_max(all));
    CHECK(ms_hist_mean(a) == ms_hist_mean(all));
    int same = 1;
    for (double p = 0; p <= 100; p += 0.1)
        same &= ms_hist_percentile(a, p) == ms_hist_percentile(all, p);
    CHECK(same);
    size_t n = ms_hist_buckets(all, NULL, 0);
    ms_hist_bucket *ba = malloc(n * sizeof *ba), *bb = malloc(n * sizeof *bb);
    CHECK(ms_hist_buckets(a, ba, n) == n);
    ms_hist_buckets(all, bb, n);
    CHECK(memcmp(ba, bb, n * sizeof *ba) == 0);
    ms_hist_merge(a, a); /* self-merge doubles */
    CHECK_EQ_I64(ms_hist_count(a), 2 * ms_hist_count(all));
    CHECK(ms_hist_mean(a) == ms_hist_mean(all));
    free(ba);
    free(bb);
    ms_hist_free(a);
    ms_hist_free(b);
    ms_hist_free(all);
}

static void test_buckets_ordered_and_sum(void) {
    ms_hist *h = ms_hist_new();
    ms_rng r;
    ms_rng_init(&r, 13, "buckets");
    for (int i = 0; i < 200000; i++) ms_hist_record(h, (int64_t)ms_rng_pareto(&r, 1e3, 1.2));
    size_t n = ms_hist_buckets(h, NULL, 0);
    CHECK(n > 100);
    ms_hist_bucket *b = malloc(n * sizeof *b);
    CHECK(ms_hist_buckets(h, b, n) == n);
    int64_t sum = 0;
    int ordered = 1;
    for (size_t i = 0; i < n; i++) {
        sum += b[i].count;
        ordered &= b[i].lo <= b[i].hi && b[i].count > 0;
        if (i) ordered &= b[i].lo > b[i - 1].hi;
        /* a bucket is at most 1/1024 of its lowest value wide */
        ordered &= (double)(b[i].hi - b[i].lo) <= b[i].lo / 1024.0;
    }
    CHECK(ordered);
    CHECK_EQ_I64(sum, ms_hist_count(h));
    CHECK(ms_hist_buckets(h, b, 3) == n); /* short array: still reports the total */
    free(b);
    ms_hist_free(h);
}

static void test_range_ends_and_overflow(void) {
    ms_hist *h = ms_hist_new();
    ms_hist_record(h, 1);
    ms_hist_record(h, HOUR);
    CHECK_EQ_I64(ms_hist_percentile(h, 50), 1);
    CHECK_EQ_I64(ms_hist_percentile(h, 100), HOUR);
    CHECK(rel_err(ms_hist_percentile(h, 99), HOUR) <= 0.001);
    CHECK_EQ_I64(ms_hist_overflow(h), 0);
    ms_hist_record(h, MS_HIST_HIGHEST);
    CHECK_EQ_I64(ms_hist_overflow(h), 0);
    ms_hist_record_n(h, INT64_MAX, 2);
    CHECK_EQ_I64(ms_hist_overflow(h), 2);
    CHECK_EQ_I64(ms_hist_count(h), 5);
    CHECK_EQ_I64(ms_hist_max(h), INT64_MAX);
    CHECK_EQ_I64(ms_hist_percentile(h, 70), MS_HIST_HIGHEST);           /* clamped into the top */
    double want = (1.0 + HOUR + MS_HIST_HIGHEST + 2.0 * INT64_MAX) / 5; /* 128-bit sum */
    CHECK(fabs(ms_hist_mean(h) / want - 1) < 1e-12);
    CHECK(ms_hist_record(h, -1) == -1);
    CHECK(ms_hist_record_n(h, 5, -1) == -1);
    CHECK(ms_hist_record_n(h, 5, 0) == 0);
    CHECK_EQ_I64(ms_hist_count(h), 5);
    CHECK(ms_hist_memory(h) >= 33792 * sizeof(int64_t));
    ms_hist_free(h);
}

static void test_empty_and_reset(void) {
    ms_hist *h = ms_hist_new();
    CHECK_EQ_I64(ms_hist_count(h), 0);
    CHECK_EQ_I64(ms_hist_percentile(h, 50), 0);
    CHECK_EQ_I64(ms_hist_min(h), 0);
    CHECK_EQ_I64(ms_hist_max(h), 0);
    CHECK(ms_hist_mean(h) == 0);
    CHECK(ms_hist_buckets(h, NULL, 0) == 0);
    ms_hist_record_n(h, 1000, 10);
    CHECK_EQ_I64(ms_hist_percentile(h, 1), 1000);
    CHECK(ms_hist_mean(h) == 1000);
    ms_hist_reset(h);
    CHECK_EQ_I64(ms_hist_count(h), 0);
    CHECK_EQ_I64(ms_hist_max(h), 0);
    CHECK(ms_hist_buckets(h, NULL, 0) == 0);
    ms_hist_record(h, 7);
    CHECK_EQ_I64(ms_hist_min(h), 7);
    ms_hist *e = ms_hist_new();
    ms_hist_merge(h, e); /* merging an empty one changes nothing */
    CHECK_EQ_I64(ms_hist_min(h), 7);
    CHECK_EQ_I64(ms_hist_count(h), 1);
    ms_hist_free(e);
    ms_hist_free(h);
    ms_hist_free(NULL);
}

int main(void) {
    RUN(test_uniform_1_to_1e6);
    RUN(test_relative_error);
    RUN(test_small_values_exact);
    RUN(test_merge_equals_single);
    RUN(test_buckets_ordered_and_sum);
    RUN(test_range_ends_and_overflow);
    RUN(test_empty_and_reset);
    return ms_test_end();
}

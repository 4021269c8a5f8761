/* HdrHistogram-style log-linear histogram, fixed configuration:
 * lowest discernible value 1 ns, 3 significant digits (2048 sub-buckets,
 * 1024 per half), 32 buckets so that 2048 << 31 = 2^42 > 1 hour. The counts
 * index follows HdrHistogram: bucket b holds sub-buckets 1024..2047 (bucket
 * 0 also 0..1023), each 2^b wide. */
#include "ms_hist.h"

#include <stdlib.h>
#include <string.h>

#define SUB_BITS 11                 /* 2048 sub-buckets: 3 significant digits */
#define HALF_BITS (SUB_BITS - 1)    /* 1024 */
#define HALF_COUNT (1 << HALF_BITS) /* sub-buckets added by each bucket */
#define SUB_MASK ((1 << SUB_BITS) - 1)
#define BUCKETS 32 /* 2048 << 31 = 2^42 */
#define COUNTS ((BUCKETS + 1) * HALF_COUNT)

struct ms_hist {
    int64_t total;
    int64_t overflow;
    int64_t min, max;
    uint64_t sum_hi, sum_lo; /* exact sum of recorded values, 128 bits */
    int64_t counts[COUNTS];
};

/* Number of significant bits of x > 0. */
static int bit_length(uint64_t x) {
#if defined(__GNUC__)
    return 64 - __builtin_clzll(x);
#else
    int n = 0;
    while (x) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* Counts index of v in [0, MS_HIST_HIGHEST]. */
static size_t index_of(int64_t v) {
    int b = bit_length((uint64_t)v | SUB_MASK) - SUB_BITS;
    int64_t sub = v >> b;
    return ((size_t)(b + 1) << HALF_BITS) + (size_t)(sub - HALF_COUNT);
}

/* Lowest value in the bucket at counts index i; *width gets its width. */
static int64_t lowest_at(size_t i, int64_t *width) {
    int b = (int)(i >> HALF_BITS) - 1;
    int64_t sub = (int64_t)(i & (HALF_COUNT - 1)) + HALF_COUNT;
    if (b < 0) {
        sub -= HALF_COUNT;
        b = 0;
    }
    *width = (int64_t)1 << b;
    return sub << b;
}

static int64_t highest_at(size_t i) {
    int64_t width;
    int64_t lo = lowest_at(i, &width);
    return lo + width - 1;
}

/* Add a * b to the 128-bit sum (schoolbook 32-bit limbs: no __int128 in ISO C). */
static void sum_add(ms_hist *h, uint64_t a, uint64_t b) {
    uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
    uint64_t lo = (mid << 32) | (p00 & 0xffffffffu);
    uint64_t hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    h->sum_lo += lo;
    h->sum_hi += hi + (h->sum_lo < lo);
}

ms_hist *ms_hist_new(void) {
    ms_hist *h = malloc(sizeof *h);
    if (h) ms_hist_reset(h);
    return h;
}

void ms_hist_free(ms_hist *h) {
    free(h);
}

void ms_hist_reset(ms_hist *h) {
    memset(h, 0, sizeof *h);
    h->min = INT64_MAX;
}

/* The common case, one in-range value: the sum needs an add and a carry,
 * not the 128-bit product. */
int ms_hist_record(ms_hist *h, int64_t v) {
    if (v < 0 || v > MS_HIST_HIGHEST) return ms_hist_record_n(h, v, 1);
    h->counts[index_of(v)]++;
    h->total++;
    if (v < h->min) h->min = v;
    if (v > h->max) h->max = v;
    uint64_t lo = h->sum_lo + (uint64_t)v;
    h->sum_hi += lo < h->sum_lo;
    h->sum_lo = lo;
    return 0;
}

int ms_hist_record_n(ms_hist *h, int64_t v, int64_t count) {
    if (v < 0 || count < 0) return -1;
    if (count == 0) return 0;
    if (v > MS_HIST_HIGHEST) {
        h->overflow += count;
        h->counts[COUNTS - 1] += count;
    } else {
        h->counts[index_of(v)] += count;
    }
    h->total += count;
    if (v < h->min) h->min = v;
    if (v > h->max) h->max = v;
    sum_add(h, (uint64_t)v, (uint64_t)count);
    return 0;
}

void ms_hist_merge(ms_hist *dst, const ms_hist *src) {
    if (src->total == 0) return;
    for (size_t i = 0; i < COUNTS; i++) dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->overflow += src->overflow;
    if (src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
    uint64_t lo = src->sum_lo, hi = src->sum_hi; /* read first: dst may be src */
    dst->sum_lo += lo;
    dst->sum_hi += hi + (dst->sum_lo < lo);
}

int64_t ms_hist_count(const ms_hist *h) {
    return h->total;
}

int64_t ms_hist_overflow(const ms_hist *h) {
    return h->overflow;
}

int64_t ms_hist_min(const ms_hist *h) {
    return h->total ? h->min : 0;
}

int64_t ms_hist_max(const ms_hist *h) {
    return h->total ? h->max : 0;
}

double ms_hist_mean(const ms_hist *h) {
    if (h->total == 0) return 0;
    long double sum = (long double)h->sum_hi * 18446744073709551616.0L + (long double)h->sum_lo;
    return (double)(sum / (long double)h->total);
}

int64_t ms_hist_percentile(const ms_hist *h, double p) {
    if (h->total == 0) return 0;
    if (!(p > 0)) return h->min;
    if (p >= 100) return h->max;
    int64_t rank = (int64_t)(p / 100.0 * (double)h->total + 0.5);
    if (rank < 1) rank = 1;
    int64_t seen = 0;
    for (size_t i = 0; i < COUNTS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t v = highest_at(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

size_t ms_hist_buckets(const ms_hist *h, ms_hist_bucket *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < COUNTS; i++) {
        if (h->counts[i] == 0) continue;
        if (n < cap) {
            int64_t width;
            out[n].lo = lowest_at(i, &width);
            out[n].hi = out[n].lo + width - 1;
            out[n].count = h->counts[i];
        }
        n++;
    }
    return n;
}

size_t ms_hist_memory(const ms_hist *h) {
    (void)h;
    return sizeof(ms_hist);
}

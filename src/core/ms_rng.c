/* xoshiro256** (Blackman & Vigna, 2018) with FNV-1a/splitmix64 stream
 * derivation, and the distributions the model draws from. */
#include "ms_rng.h"

#include "ms_rng_zig.h"

#include <math.h>

/* Standard normal quantile at 0.99: the lognormal's p99 is median * e^(z99 sigma). */
#define Z99 2.3263478740408408
#define LAYER_MASK (MS_ZIG_LAYERS - 1)

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

/* splitmix64: advance *x and return the mixed output. */
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325u;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3u;
    }
    return h;
}

void ms_rng_init(ms_rng *r, uint64_t seed, const char *stream) {
    /* Mix the seed first so that nearby seeds and nearby names cannot cancel. */
    uint64_t x = seed;
    uint64_t sm = splitmix64(&x) ^ fnv1a64(stream ? stream : "");
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&sm);
    /* splitmix64 is a bijection of distinct counters, so at most one word is
     * zero; the guard only documents the invariant. */
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
    r->seed = seed;
}

uint64_t ms_rng_next(ms_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double ms_rng_uniform(ms_rng *r) {
    return (double)(ms_rng_next(r) >> 11) * 0x1.0p-53;
}

double ms_rng_uniform_range(ms_rng *r, double lo, double hi) {
    return lo + (hi - lo) * ms_rng_uniform(r);
}

uint64_t ms_rng_below(ms_rng *r, uint64_t n) {
    if (n == 0) return 0;
    /* Reject the lowest (2^64 mod n) outputs so every residue is equally likely. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = ms_rng_next(r);
        if (x >= threshold) return x % n;
    }
}

/* Uniform in (0, 1]: safe to take the log of. */
static double open_uniform(ms_rng *r) {
    return 1.0 - ms_rng_uniform(r);
}

/* The ziggurat (Marsaglia & Tsang 2000; tables in ms_rng_zig.c). One output
 * picks a layer (its low 8 bits) and a point across it (its top 53 bits);
 * the point lies inside the density's rectangle core nearly always
 * (98.5% of draws for the normal, 97.8% for the exponential): no libm
 * call. Otherwise the wedge test draws a second uniform and evaluates the
 * density, and the base layer's tail is sampled by the tail method. */

/* Unit exponential: the tail beyond R is R plus a unit exponential. */
static double std_exponential(ms_rng *r) {
    const double *x = ms__zig_exp_x, *f = ms__zig_exp_f;
    for (;;) {
        uint64_t bits = ms_rng_next(r);
        unsigned i = (unsigned)(bits & LAYER_MASK);
        double u = (double)(bits >> 11) * 0x1.0p-53;
        double v = u * x[i];
        if (v < x[i + 1]) return v;
        if (i == 0) return MS_ZIG_EXP_R - log(open_uniform(r));
        if (f[i + 1] + (f[i] - f[i + 1]) * ms_rng_uniform(r) < exp(-v)) return v;
    }
}

/* Marsaglia's tail method for |z| > R: x = -ln(u1) / R, y = -ln(u2),
 * accept when 2y > x^2 and return R + x (with the layer draw's sign). */
static double normal_tail(ms_rng *r, int negative) {
    double x, y;
    do {
        x = -log(open_uniform(r)) / MS_ZIG_NORM_R;
        y = -log(open_uniform(r));
    } while (2.0 * y < x * x);
    return negative ? -(MS_ZIG_NORM_R + x) : MS_ZIG_NORM_R + x;
}

/* Standard normal: the top 53 bits give a signed point in [-1, 1). */
static double std_normal(ms_rng *r) {
    const double *x = ms__zig_norm_x, *f = ms__zig_norm_f;
    for (;;) {
        uint64_t bits = ms_rng_next(r);
        unsigned i = (unsigned)(bits & LAYER_MASK);
        double u = (double)(bits >> 11) * 0x1.0p-52 - 1.0;
        double v = u * x[i];
        if (fabs(v) < x[i + 1]) return v;
        if (i == 0) return normal_tail(r, u < 0);
        if (f[i + 1] + (f[i] - f[i + 1]) * ms_rng_uniform(r) < exp(-0.5 * v * v)) return v;
    }
}

double ms_rng_exponential(ms_rng *r, double mean) {
    return mean * std_exponential(r);
}

double ms_rng_normal(ms_rng *r, double mean, double sd) {
    return mean + sd * std_normal(r);
}

double ms_rng_lognormal_sigma(double median, double p99) {
    return (log(p99) - log(median)) / Z99;
}

double ms_rng_lognormal(ms_rng *r, double median, double p99) {
    if (!(median > 0)) return 0;
    return exp(ms_rng_normal(r, log(median), ms_rng_lognormal_sigma(median, p99)));
}

double ms_rng_pareto(ms_rng *r, double scale, double shape) {
    return scale / pow(open_uniform(r), 1.0 / shape);
}

size_t ms_rng_weighted(ms_rng *r, const double *weights, size_t n) {
    double total = 0;
    size_t last = n;
    for (size_t i = 0; i < n; i++) {
        if (weights[i] > 0) {
            total += weights[i];
            last = i;
        }
    }
    if (last == n) return n;
    double x = ms_rng_uniform(r) * total;
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(weights[i] > 0)) continue;
        acc += weights[i];
        if (x < acc) return i;
    }
    return last; /* rounding left x just above the running sum */
}

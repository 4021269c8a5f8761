/* xoshiro256** (Blackman & Vigna, 2018) with FNV-1a/splitmix64 stream
 * derivation, and the distributions the model draws from. */
#include "ms_rng.h"

#include <math.h>

/* Standard normal quantile at 0.99: the lognormal's p99 is median * e^(z99 sigma). */
#define Z99 2.3263478740408408
#define TWO_PI 6.283185307179586

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

double ms_rng_exponential(ms_rng *r, double mean) {
    return -mean * log(open_uniform(r));
}

double ms_rng_normal(ms_rng *r, double mean, double sd) {
    double u1 = open_uniform(r);
    double u2 = ms_rng_uniform(r);
    return mean + sd * sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2);
}

double ms_rng_lognormal(ms_rng *r, double median, double p99) {
    if (!(median > 0)) return 0;
    double mu = log(median);
    double sigma = (log(p99) - mu) / Z99;
    return exp(ms_rng_normal(r, mu, sigma));
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

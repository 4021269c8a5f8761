/* Named, independent PRNG streams: xoshiro256** seeded from (seed, name).
 *
 * A stream is a plain value (its own struct): drawing from one never changes
 * another, and every draw is a pure function of the stream state, so a
 * sequence is bit-exact across runs and builds on one platform. The
 * distributions use only libm (log, exp, pow) and constant tables.
 *
 * Each draw below documents how many ms_rng_next outputs it consumes (the
 * ziggurat samplers: usually 1, occasionally more), so a caller can reason
 * about stream positions. */
#ifndef MS_RNG_H
#define MS_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ms_rng {
    uint64_t s[4]; /* xoshiro256** state, never all zero */
    uint64_t seed; /* the seed it was derived from (for reports) */
} ms_rng;

/* Derive the stream (seed, stream): FNV-1a 64 of the name mixed with the
 * seed, expanded by splitmix64 into the 4 state words. NULL means "". */
void ms_rng_init(ms_rng *r, uint64_t seed, const char *stream);

/* Next raw 64-bit output of xoshiro256** (1 output). */
uint64_t ms_rng_next(ms_rng *r);

/* Uniform double in [0, 1) from the top 53 bits (1 output). */
double ms_rng_uniform(ms_rng *r);

/* Uniform double in [lo, hi) (lo + (hi - lo) * u; 1 output). */
double ms_rng_uniform_range(ms_rng *r, double lo, double hi);

/* Unbiased integer in [0, n) by rejection (1 output, rarely more). n == 0
 * returns 0 without drawing. */
uint64_t ms_rng_below(ms_rng *r, uint64_t n);

/* Exponential with the given mean, by the 256-layer ziggurat: 1 output in
 * 97.8% of draws, more otherwise (no hidden state: a draw depends only on
 * the stream). */
double ms_rng_exponential(ms_rng *r, double mean);

/* Normal(mean, sd) by the 256-layer ziggurat: 1 output in 98.5% of draws,
 * more otherwise; no hidden state (no cached spare). */
double ms_rng_normal(ms_rng *r, double mean, double sd);

/* Lognormal given its median and 99th percentile: mu = ln median,
 * sigma = (ln p99 - ln median) / z99 (one normal draw). Requires
 * 0 < median <= p99; returns 0 when median <= 0. */
double ms_rng_lognormal(ms_rng *r, double median, double p99);

/* The sigma of the lognormal with that median and p99, (ln p99 - ln
 * median) / z99: ms_rng_lognormal draws exp(normal(ln median, sigma)). */
double ms_rng_lognormal_sigma(double median, double p99);

/* Pareto (type I) with minimum `scale` and tail index `shape` > 0
 * (scale / (1-u)^(1/shape); 1 output). */
double ms_rng_pareto(ms_rng *r, double scale, double shape);

/* Weighted choice: index i with probability w[i] / sum(w). Weights need not
 * sum to 1; weights <= 0 or NaN are never chosen. Returns n when no weight
 * is positive (without drawing); otherwise 1 output. */
size_t ms_rng_weighted(ms_rng *r, const double *weights, size_t n);

#endif

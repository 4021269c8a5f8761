/* A small value distribution (latencies, service times), sampled from a
 * caller's ms_rng stream. Values are in the caller's unit (the model uses
 * nanoseconds). A distribution is a plain value: copy it freely.
 *
 * Draw costs, so callers can reason about stream positions: constant 0
 * outputs, uniform 1, exponential and lognormal those of ms_rng_exponential
 * and ms_rng_normal (1, occasionally more). */
#ifndef MS_DIST_H
#define MS_DIST_H

#include "ms_rng.h"

#include <stdint.h>

typedef enum ms_dist_kind {
    MS_DIST_CONST = 0, /* p1 */
    MS_DIST_UNIFORM,   /* [p1, p2) */
    MS_DIST_EXP,       /* mean p1 */
    MS_DIST_LOGNORMAL  /* median p1, 99th percentile p2 */
} ms_dist_kind;

/* Build one with a constructor (not a literal): a lognormal keeps its
 * normal parameters, derived once so that a draw costs no logarithm. */
typedef struct ms_dist {
    ms_dist_kind kind;
    double p1, p2;
    double mu, sigma; /* lognormal: ln median and (ln p99 - ln median) / z99 */
} ms_dist;

/* The kind named `name` ("constant", "uniform", "exponential",
 * "lognormal": the names of lua/mastersim/faults.lua), or -1. */
int ms_dist_kind_from_name(const char *name);

/* Constructors. Parameters are not validated here: see ms_dist_valid.
 * ms_dist_make takes the kind as a value (kinds outside the enum are
 * invalid). */
ms_dist ms_dist_make(ms_dist_kind kind, double p1, double p2);
ms_dist ms_dist_const(double v);
ms_dist ms_dist_uniform(double lo, double hi);
ms_dist ms_dist_exponential(double mean);
ms_dist ms_dist_lognormal(double median, double p99);

/* 1 when the parameters make sense: finite, >= 0, lo <= hi,
 * 0 < median <= p99, and a lognormal's derived parameters match (it came
 * from a constructor); else 0. */
int ms_dist_valid(const ms_dist *d);

/* One draw (see the header comment for how many rng outputs it takes). */
double ms_dist_sample(const ms_dist *d, ms_rng *r);

/* One draw rounded to an integer, clamped to [0, INT64_MAX / 4] so a sum of
 * a few samples cannot overflow a virtual time. */
int64_t ms_dist_sample_i64(const ms_dist *d, ms_rng *r);

/* The distribution's mean (lognormal: median * exp(sigma^2 / 2)). */
double ms_dist_mean(const ms_dist *d);

#endif

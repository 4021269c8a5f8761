/* Distributions over ms_rng: thin wrappers that fix the parameterisation. */
#include "ms_dist.h"

#include <math.h>
#include <string.h>

int ms_dist_kind_from_name(const char *name) {
    static const char *const names[] = {"constant", "uniform", "exponential", "lognormal"};
    for (int k = 0; k < (int)(sizeof names / sizeof *names); k++)
        if (strcmp(name, names[k]) == 0) return k;
    return -1;
}

ms_dist ms_dist_make(ms_dist_kind kind, double p1, double p2) {
    ms_dist d = {kind, p1, p2, 0, 0};
    if (kind == MS_DIST_LOGNORMAL && p1 > 0) {
        d.mu = log(p1);
        d.sigma = ms_rng_lognormal_sigma(p1, p2);
    }
    return d;
}

ms_dist ms_dist_const(double v) {
    return ms_dist_make(MS_DIST_CONST, v, v);
}

ms_dist ms_dist_uniform(double lo, double hi) {
    return ms_dist_make(MS_DIST_UNIFORM, lo, hi);
}

ms_dist ms_dist_exponential(double mean) {
    return ms_dist_make(MS_DIST_EXP, mean, 0);
}

ms_dist ms_dist_lognormal(double median, double p99) {
    return ms_dist_make(MS_DIST_LOGNORMAL, median, p99);
}

int ms_dist_valid(const ms_dist *d) {
    if (!isfinite(d->p1) || d->p1 < 0) return 0;
    switch (d->kind) {
    case MS_DIST_CONST:
    case MS_DIST_EXP:
        return 1;
    case MS_DIST_UNIFORM:
        return isfinite(d->p2) && d->p2 >= d->p1;
    case MS_DIST_LOGNORMAL:
        return isfinite(d->p2) && d->p1 > 0 && d->p2 >= d->p1 && d->mu == log(d->p1) &&
               d->sigma == ms_rng_lognormal_sigma(d->p1, d->p2);
    }
    return 0;
}

double ms_dist_sample(const ms_dist *d, ms_rng *r) {
    switch (d->kind) {
    case MS_DIST_CONST:
        return d->p1;
    case MS_DIST_UNIFORM:
        return ms_rng_uniform_range(r, d->p1, d->p2);
    case MS_DIST_EXP:
        return ms_rng_exponential(r, d->p1);
    case MS_DIST_LOGNORMAL:
        return exp(ms_rng_normal(r, d->mu, d->sigma)); /* as ms_rng_lognormal(r, p1, p2) */
    }
    return 0;
}

int64_t ms_dist_sample_i64(const ms_dist *d, ms_rng *r) {
    double v = ms_dist_sample(d, r);
    const double cap = (double)(INT64_MAX / 4);
    if (!(v > 0)) return 0; /* also NaN */
    if (v >= cap) return INT64_MAX / 4;
    return (int64_t)llround(v);
}

double ms_dist_mean(const ms_dist *d) {
    switch (d->kind) {
    case MS_DIST_CONST:
    case MS_DIST_EXP:
        return d->p1;
    case MS_DIST_UNIFORM:
        return (d->p1 + d->p2) / 2;
    case MS_DIST_LOGNORMAL: {
        if (d->p1 <= 0) return 0;
        double sigma = ms_rng_lognormal_sigma(d->p1, d->p2);
        return d->p1 * exp(sigma * sigma / 2);
    }
    }
    return 0;
}

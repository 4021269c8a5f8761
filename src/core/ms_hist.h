/* Log-linear latency histogram in the HdrHistogram layout: 3 significant
 * digits over 0 .. MS_HIST_HIGHEST ns (about 73 minutes).
 *
 * Values 0..2047 have their own bucket; above that each power-of-two range
 * is split into 1024 equal sub-buckets, so a bucket is never wider than
 * 1/1024 of its lowest value and any reported percentile is within 0.1% of
 * the true one. Memory is one fixed block allocated by ms_hist_new; nothing
 * allocates while recording. Every histogram has the same layout, so any
 * two can be merged. */
#ifndef MS_HIST_H
#define MS_HIST_H

#include <stddef.h>
#include <stdint.h>

/* Highest value with its own bucket: 2^42 - 1 ns (~73.3 min > 1 hour).
 * Larger values are counted in the top bucket and in ms_hist_overflow. */
#define MS_HIST_HIGHEST INT64_C(4398046511103)

typedef struct ms_hist ms_hist;

/* One non-empty bucket: values lo..hi (both inclusive) were seen count times. */
typedef struct ms_hist_bucket {
    int64_t lo;
    int64_t hi;
    int64_t count;
} ms_hist_bucket;

/* Allocate an empty histogram (one block); NULL when out of memory. */
ms_hist *ms_hist_new(void);

/* Release h; NULL is a no-op. */
void ms_hist_free(ms_hist *h);

/* Record value v (ns) once. Returns 0, or -1 (nothing recorded) when v < 0.
 * v > MS_HIST_HIGHEST is recorded in the top bucket and counted as overflow;
 * min, max and mean still see its true value. */
int ms_hist_record(ms_hist *h, int64_t v);

/* Record v count times (count == 0 is a no-op). Returns -1, recording
 * nothing, when v < 0 or count < 0. */
int ms_hist_record_n(ms_hist *h, int64_t v, int64_t count);

/* Add every count of src into dst (src unchanged; dst == src doubles it). */
void ms_hist_merge(ms_hist *dst, const ms_hist *src);

/* Forget every value; the memory stays allocated. */
void ms_hist_reset(ms_hist *h);

/* Number of values recorded. */
int64_t ms_hist_count(const ms_hist *h);

/* Values recorded above MS_HIST_HIGHEST. */
int64_t ms_hist_overflow(const ms_hist *h);

/* Exact smallest / largest value recorded; 0 when empty. */
int64_t ms_hist_min(const ms_hist *h);
int64_t ms_hist_max(const ms_hist *h);

/* Exact mean (the sum is kept in 128 bits); 0 when empty. */
double ms_hist_mean(const ms_hist *h);

/* Value at percentile p (clamped to [0, 100]; NaN counts as 0). Rank
 * r = max(1, round(p/100 * count)); the result is the highest value
 * equivalent to the bucket holding the r-th smallest value, capped at the
 * exact max. p <= 0 gives the exact min, p >= 100 the exact max; an empty
 * histogram gives 0. */
int64_t ms_hist_percentile(const ms_hist *h, double p);

/* Write up to cap non-empty buckets, in increasing order, to out. Returns
 * the number of non-empty buckets (which may exceed cap: call with cap 0 to
 * size the array). */
size_t ms_hist_buckets(const ms_hist *h, ms_hist_bucket *out, size_t cap);

/* Bytes held by h (struct and counts). */
size_t ms_hist_memory(const ms_hist *h);

#endif

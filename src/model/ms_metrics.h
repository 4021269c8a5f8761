/* What a run measures: outcomes per logical read and per op, latency
 * histograms (all reads, reads that overlapped an apply, the rest), gate
 * waits, staleness, attempts and retries, per-master load, monotonic-read
 * regressions, a timeline, apply intervals, phases and faults. Filled by
 * the cluster model; read by the binding that builds the result. */
#ifndef MS_METRICS_H
#define MS_METRICS_H

#include "ms_hist.h"
#include "ms_ops.h"
#include "ms_policy.h"

#include <stddef.h>
#include <stdint.h>

typedef enum ms_outcome {
    MS_OUT_FRESH = 0,
    MS_OUT_STALE,
    MS_OUT_TORN,
    MS_OUT_CRASH,
    MS_OUT_FAILED,
    MS_OUT_TIMEOUT,
    MS_OUT_COUNT
} ms_outcome;

const char *ms_outcome_name(ms_outcome o);

#define MS_MAX_CODES 32
#define MS_TL_BINS 160 /* timeline latency bins: log scale, 1 us .. ~1 h */

typedef struct ms_timeline_bucket {
    uint64_t arrivals;
    uint64_t outcomes[MS_OUT_COUNT];
    uint32_t lat[MS_TL_BINS]; /* coarse latency histogram, for the bucket's p99 */
} ms_timeline_bucket;

typedef struct ms_interval {
    int node;
    int64_t start, finish; /* finish < 0 while open */
    int kind;              /* apply intervals: the snapshot mode; phases: ms_phase */
} ms_interval;

typedef struct ms_fault_rec {
    int64_t t;
    char action[24];
    int node; /* -1 when not about one node */
} ms_fault_rec;

typedef struct ms_interval_list {
    ms_interval *v;
    size_t n, cap;
} ms_interval_list;

typedef struct ms_metrics {
    uint64_t logical, attempts, retries, redirects;
    uint64_t outcomes[MS_OUT_COUNT];         /* final outcome of each logical read */
    uint64_t attempt_outcomes[MS_OUT_COUNT]; /* outcome of each attempt the client saw */
    uint64_t read_crashes;                   /* nodes crashed by a read of a closed store */
    uint64_t op_logical[MS_OP_COUNT];
    uint64_t op_outcomes[MS_OP_COUNT][MS_OUT_COUNT];
    char code_name[MS_MAX_CODES][24];
    uint64_t code_count[MS_MAX_CODES];
    int ncodes;
    /* lat_all is not recorded per read: it is lat_apply + lat_other, built
     * on demand by ms_metrics_lat_all (read it only through that) */
    ms_hist *lat_all, *lat_apply, *lat_other, *wait, *stale_index, *stale_time;
    uint64_t monotonic_regressions;
    uint64_t load[16]; /* attempts served per master */
    uint64_t policy_calls;
    uint64_t writes_proposed, writes_committed, writes_failed;
    uint64_t arrivals_digest;
    int64_t bucket;
    ms_timeline_bucket *tl;
    size_t ntl;
    ms_interval_list applies, phases;
    ms_fault_rec *faults;
    size_t nfaults, capfaults;
    /* reads served from the live store of a node whose phase was
     * `applying` (a safe policy keeps this 0; stale reads of the previous
     * version do not count) */
    uint64_t served_while_applying;
    int64_t wait_max; /* longest single gate wait of an attempt, ns */
} ms_metrics;

int ms_metrics_init(ms_metrics *m, int64_t bucket, int64_t duration);
void ms_metrics_free(ms_metrics *m);
/* Bytes held by the histograms and the timeline. */
size_t ms_metrics_memory(const ms_metrics *m);

/* A logical read arrived (timeline, arrival digest). */
void ms_metrics_arrival(ms_metrics *m, int64_t t, uint64_t client, int op, uint64_t a, uint64_t b);

/* A logical read ended: outcome, latency (ns), the timeline bucket of its
 * arrival, whether it overlapped an apply, its failure code (or NULL). */
void ms_metrics_done(ms_metrics *m, int op, ms_outcome o, int64_t arrived, int64_t latency,
                     int overlapped, const char *code);

/* Open and close intervals (applies, phases); record a fault. */
/* The latency of every logical read: lat_apply and lat_other merged into
 * m->lat_all (a cache the metrics own, rebuilt on each call; exactly what
 * recording every read into it would have given). */
const ms_hist *ms_metrics_lat_all(const ms_metrics *m);

size_t ms_metrics_open(ms_interval_list *l, int node, int64_t start, int kind);
void ms_metrics_close(ms_interval_list *l, size_t i, int64_t finish);
void ms_metrics_fault(ms_metrics *m, int64_t t, const char *action, int node);

/* p99 (ns) of a timeline bucket's coarse histogram; 0 when empty. */
int64_t ms_metrics_bucket_p99(const ms_timeline_bucket *b);

#endif

/* Metrics of a run. The timeline keeps a coarse log-scale histogram per
 * bucket (160 bins from 1 us, 10% wide) so a long run's per-second p99
 * costs 640 bytes a bucket rather than a full HdrHistogram each. */
#include "ms_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ms_digest.h"

static const char *const outcome_names[MS_OUT_COUNT] = {"fresh", "stale",  "torn",
                                                        "crash", "failed", "timeout"};

const char *ms_outcome_name(ms_outcome o) {
    return o >= 0 && o < MS_OUT_COUNT ? outcome_names[o] : "unknown";
}

int ms_metrics_init(ms_metrics *m, int64_t bucket, int64_t duration) {
    memset(m, 0, sizeof *m);
    m->bucket = bucket > 0 ? bucket : 1000000000;
    m->ntl = (size_t)(duration / m->bucket) + 1;
    m->tl = calloc(m->ntl, sizeof *m->tl);
    m->lat_all = ms_hist_new();
    m->lat_apply = ms_hist_new();
    m->lat_other = ms_hist_new();
    m->wait = ms_hist_new();
    m->stale_index = ms_hist_new();
    m->stale_time = ms_hist_new();
    m->arrivals_digest = MS_DIGEST_INIT;
    if (!m->tl || !m->lat_all || !m->lat_apply || !m->lat_other || !m->wait || !m->stale_index ||
        !m->stale_time) {
        ms_metrics_free(m);
        return -1;
    }
    return 0;
}

void ms_metrics_free(ms_metrics *m) {
    ms_hist_free(m->lat_all);
    ms_hist_free(m->lat_apply);
    ms_hist_free(m->lat_other);
    ms_hist_free(m->wait);
    ms_hist_free(m->stale_index);
    ms_hist_free(m->stale_time);
    free(m->tl);
    free(m->applies.v);
    free(m->phases.v);
    free(m->faults);
    memset(m, 0, sizeof *m);
}

size_t ms_metrics_memory(const ms_metrics *m) {
    const ms_hist *h[] = {m->lat_all, m->lat_apply,   m->lat_other,
                          m->wait,    m->stale_index, m->stale_time};
    size_t n = m->ntl * sizeof *m->tl;
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) n += h[i] ? ms_hist_memory(h[i]) : 0;
    return n;
}

static ms_timeline_bucket *bucket_at(ms_metrics *m, int64_t t) {
    if (t < 0) t = 0;
    size_t i = (size_t)(t / m->bucket);
    return i < m->ntl ? &m->tl[i] : &m->tl[m->ntl - 1];
}

void ms_metrics_arrival(ms_metrics *m, int64_t t, uint64_t client, int op, uint64_t a, uint64_t b) {
    bucket_at(m, t)->arrivals++;
    uint64_t h = ms_digest_fold(m->arrivals_digest, (uint64_t)t);
    h = ms_digest_fold(h, client);
    h = ms_digest_fold(h, (uint64_t)op);
    h = ms_digest_fold(h, a);
    m->arrivals_digest = ms_digest_fold(h, b);
}

static int lat_bin(int64_t ns) {
    if (ns < 1000) return 0;
    int b = (int)(log((double)ns / 1000.0) / log(1.1)) + 1;
    return b >= MS_TL_BINS ? MS_TL_BINS - 1 : b;
}

int64_t ms_metrics_bucket_p99(const ms_timeline_bucket *b) {
    uint64_t total = 0;
    for (int i = 0; i < MS_TL_BINS; i++) total += b->lat[i];
    if (total == 0) return 0;
    uint64_t rank = (uint64_t)ceil(0.99 * (double)total), seen = 0;
    for (int i = 0; i < MS_TL_BINS; i++) {
        seen += b->lat[i];
        if (seen >= rank) return i == 0 ? 1000 : (int64_t)(1000.0 * pow(1.1, i));
    }
    return 0;
}

static int code_slot(ms_metrics *m, const char *code) {
    for (int i = 0; i < m->ncodes; i++)
        if (strcmp(m->code_name[i], code) == 0) return i;
    if (m->ncodes == MS_MAX_CODES) return MS_MAX_CODES - 1; /* the last slot collects the rest */
    int i = m->ncodes++;
    strncpy(m->code_name[i], code, sizeof m->code_name[i] - 1);
    return i;
}

void ms_metrics_done(ms_metrics *m, int op, ms_outcome o, int64_t arrived, int64_t latency,
                     int overlapped, const char *code) {
    m->logical++;
    m->outcomes[o]++;
    if (op >= 0 && op < MS_OP_COUNT) {
        m->op_logical[op]++;
        m->op_outcomes[op][o]++;
    }
    if (code) m->code_count[code_slot(m, code)]++;
    if (latency < 0) latency = 0;
    ms_hist_record(overlapped ? m->lat_apply : m->lat_other, latency);
    ms_timeline_bucket *b = bucket_at(m, arrived);
    b->outcomes[o]++;
    b->lat[lat_bin(latency)]++;
}

const ms_hist *ms_metrics_lat_all(const ms_metrics *m) {
    ms_hist_reset(m->lat_all);
    ms_hist_merge(m->lat_all, m->lat_apply);
    ms_hist_merge(m->lat_all, m->lat_other);
    return m->lat_all;
}

size_t ms_metrics_open(ms_interval_list *l, int node, int64_t start, int kind) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        ms_interval *v = realloc(l->v, cap * sizeof *v);
        if (!v) return SIZE_MAX;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = (ms_interval){node, start, -1, kind};
    return l->n++;
}

void ms_metrics_close(ms_interval_list *l, size_t i, int64_t finish) {
    if (i < l->n) l->v[i].finish = finish;
}

void ms_metrics_fault(ms_metrics *m, int64_t t, const char *action, int node) {
    if (m->nfaults == m->capfaults) {
        size_t cap = m->capfaults ? m->capfaults * 2 : 16;
        ms_fault_rec *v = realloc(m->faults, cap * sizeof *v);
        if (!v) return;
        m->faults = v;
        m->capfaults = cap;
    }
    ms_fault_rec *f = &m->faults[m->nfaults++];
    f->t = t;
    f->node = node;
    strncpy(f->action, action, sizeof f->action - 1);
    f->action[sizeof f->action - 1] = '\0';
}

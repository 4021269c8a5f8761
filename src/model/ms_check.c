/* The checker keeps dense tables indexed by term and by log index (both
 * grow by one at a time in raft), so every report is O(1). */
#include "ms_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Terms and indices above this are not tracked (a guard against a corrupt
 * report turning into a huge allocation). */
#define TRACK_MAX (UINT64_C(1) << 32)

typedef struct rec {
    uint64_t term; /* 0 = not recorded */
    uint64_t hash;
} rec;

typedef struct table {
    void *v;
    size_t len; /* slots */
} table;

struct ms_check {
    ms_sched *sched;
    table leaders; /* int per term: node + 1, 0 = none */
    table commits; /* rec per index */
    table states;  /* rec per index (term = 1 marks set, hash = digest) */
    uint64_t count;
    ms_check_violation first;
    ms_check_stats stats;
};

ms_check *ms_check_new(ms_sched *s) {
    ms_check *c = calloc(1, sizeof *c);
    if (c) c->sched = s;
    return c;
}

void ms_check_free(ms_check *c) {
    if (!c) return;
    free(c->leaders.v);
    free(c->commits.v);
    free(c->states.v);
    free(c);
}

/* Make slot i of a table of `size`-byte zeroed items exist; NULL on failure. */
static void *slot(table *t, uint64_t i, size_t size) {
    if (i >= TRACK_MAX) return NULL;
    if (i >= t->len) {
        size_t len = t->len ? t->len : 1024;
        while (len <= i) len *= 2;
        unsigned char *v = realloc(t->v, len * size);
        if (!v) return NULL;
        for (size_t k = t->len * size; k < len * size; k++) v[k] = 0;
        t->v = v;
        t->len = len;
    }
    return (unsigned char *)t->v + i * size;
}

static void vfail(ms_check *c, int node, const char *fmt, va_list ap) {
    if (c->count++ == 0) {
        c->first.time = c->sched ? ms_sched_now(c->sched) : 0;
        c->first.node = node;
        vsnprintf(c->first.what, sizeof c->first.what, fmt, ap);
    }
}

void ms_check_fail(ms_check *c, int node, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(c, node, fmt, ap);
    va_end(ap);
}

void ms_check_leader(ms_check *c, int node, uint64_t term) {
    c->stats.leaders++;
    int *who = slot(&c->leaders, term, sizeof(int));
    if (!who) return;
    if (*who && *who != node + 1)
        ms_check_fail(c, node, "two leaders in term %llu: nodes %d and %d",
                      (unsigned long long)term, *who - 1, node);
    else
        *who = node + 1;
}

void ms_check_commit(ms_check *c, int node, uint64_t index, uint64_t term, uint64_t hash) {
    c->stats.commits++;
    rec *r = slot(&c->commits, index, sizeof(rec));
    if (!r) return;
    if (!r->term) {
        r->term = term;
        r->hash = hash;
        if (index > c->stats.committed) c->stats.committed = index;
    } else if (r->term != term || r->hash != hash) {
        ms_check_fail(c, node,
                      "index %llu committed as term %llu hash %016llx, was term %llu hash %016llx",
                      (unsigned long long)index, (unsigned long long)term, (unsigned long long)hash,
                      (unsigned long long)r->term, (unsigned long long)r->hash);
    }
}

void ms_check_leader_log(ms_check *c, int node, uint64_t term, uint64_t first,
                         ms_check_lookup_fn lookup, void *ctx) {
    const rec *v = c->commits.v;
    for (uint64_t i = first ? first : 1; i <= c->stats.committed; i++) {
        if (!v[i].term) continue;
        uint64_t t = 0, h = 0;
        int rc = lookup(ctx, i, &t, &h);
        if (rc == 0) continue;
        if (rc < 0) {
            ms_check_fail(c, node, "leader of term %llu lacks committed index %llu",
                          (unsigned long long)term, (unsigned long long)i);
            return;
        }
        if (t != v[i].term || h != v[i].hash) {
            ms_check_fail(c, node,
                          "leader of term %llu holds index %llu as term %llu, committed %llu",
                          (unsigned long long)term, (unsigned long long)i, (unsigned long long)t,
                          (unsigned long long)v[i].term);
            return;
        }
    }
}

void ms_check_apply(ms_check *c, int node, uint64_t index, uint64_t term, uint64_t hash) {
    c->stats.applies++;
    const rec *r = slot(&c->commits, index, sizeof(rec));
    if (!r) return;
    if (!r->term)
        ms_check_fail(c, node, "applied index %llu that was never committed",
                      (unsigned long long)index);
    else if (r->term != term || r->hash != hash)
        ms_check_fail(c, node, "applied index %llu as term %llu, committed as term %llu",
                      (unsigned long long)index, (unsigned long long)term,
                      (unsigned long long)r->term);
}

void ms_check_state(ms_check *c, int node, uint64_t index, uint64_t digest) {
    c->stats.states++;
    rec *r = slot(&c->states, index, sizeof(rec));
    if (!r) return;
    if (!r->term) {
        r->term = 1;
        r->hash = digest;
    } else if (r->hash != digest) {
        ms_check_fail(c, node, "state at index %llu is %016llx, another node had %016llx",
                      (unsigned long long)index, (unsigned long long)digest,
                      (unsigned long long)r->hash);
    }
}

uint64_t ms_check_violations(const ms_check *c) {
    return c->count;
}

const ms_check_violation *ms_check_first(const ms_check *c) {
    return c->count ? &c->first : NULL;
}

ms_check_stats ms_check_get_stats(const ms_check *c) {
    return c->stats;
}

/* The raft log: a vector of (term, payload) with a moving start, so
 * compaction is O(entries dropped) and appends are amortised O(1). */
#include "ms_digest.h"
#include "ms_raft_impl.h"

#include <stdlib.h>
#include <string.h>

rblob *ms__rblob_new(const void *data, size_t len) {
    rblob *b = malloc(sizeof *b + len);
    if (!b) return NULL;
    b->refs = 1;
    b->len = len;
    if (len) memcpy(b->data, data, len);
    b->hash = ms_digest_bytes(MS_DIGEST_INIT, b->data, len);
    return b;
}

void ms__rblob_unref(rblob *b) {
    if (b && --b->refs == 0) free(b);
}

void ms__rlog_free(rlog *l) {
    for (size_t i = 0; i < l->len; i++) ms__rblob_unref(l->v[l->off + i].b);
    free(l->v);
    memset(l, 0, sizeof *l);
}

const rent *ms__rlog_at(const rlog *l, uint64_t i) {
    if (i <= l->snap_index || i > ms__rlog_last(l)) return NULL;
    return &l->v[l->off + (size_t)(i - l->snap_index - 1)];
}

int ms__rlog_term(const rlog *l, uint64_t i, uint64_t *term) {
    if (i == l->snap_index) {
        *term = l->snap_term;
        return 0;
    }
    const rent *e = ms__rlog_at(l, i);
    if (!e) return -1;
    *term = e->term;
    return 0;
}

uint64_t ms__rlog_last_term(const rlog *l) {
    return l->len ? l->v[l->off + l->len - 1].term : l->snap_term;
}

int ms__rlog_append(rlog *l, uint64_t term, rblob *b) {
    if (l->off + l->len == l->cap) {
        if (l->off > l->cap / 2) {
            /* Most of the vector is compacted space: slide down. */
            memmove(l->v, l->v + l->off, l->len * sizeof *l->v);
            l->off = 0;
        } else {
            size_t cap = l->cap ? l->cap * 2 : 64;
            rent *v = realloc(l->v, cap * sizeof *v);
            if (!v) return -1;
            l->v = v;
            l->cap = cap;
        }
    }
    l->v[l->off + l->len].term = term;
    l->v[l->off + l->len].b = ms__rblob_ref(b);
    l->len++;
    return 0;
}

void ms__rlog_truncate(rlog *l, uint64_t i) {
    if (i <= l->snap_index) i = l->snap_index + 1;
    while (ms__rlog_last(l) >= i && l->len) {
        l->len--;
        ms__rblob_unref(l->v[l->off + l->len].b);
    }
}

void ms__rlog_compact(rlog *l, uint64_t i) {
    if (i <= l->snap_index) return;
    if (i > ms__rlog_last(l)) i = ms__rlog_last(l);
    while (l->snap_index < i) {
        rent *e = &l->v[l->off];
        l->snap_term = e->term;
        l->snap_index++;
        ms__rblob_unref(e->b);
        l->off++;
        l->len--;
    }
    if (l->len == 0) l->off = 0;
}

void ms__rlog_reset(rlog *l, uint64_t index, uint64_t term) {
    ms__rlog_truncate(l, 0);
    l->off = 0;
    l->snap_index = index;
    l->snap_term = term;
}

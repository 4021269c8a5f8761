/* Internal to ms_store*.c: the tree's node and entry layout and the
 * searches shared by the writer (ms_store.c) and the readers
 * (ms_store_view.c). Not for other modules. */
#ifndef MS_STORE_IMPL_H
#define MS_STORE_IMPL_H

#include "ms_store.h"

#include <string.h>

#define FAN MS_STORE_FANOUT

/* One key/value pair, immutable once built, shared by every leaf copy and
 * separator that points at it. data holds the key then the value. */
typedef struct ms__entry {
    uint32_t refs;
    uint32_t klen;
    uint32_t vlen;
    unsigned char data[];
} ms__entry;

/* Common head of both node kinds. refs counts parents, stores and versions
 * pointing here; a node with refs > 1 is never written. */
struct ms_store_node {
    uint32_t refs;
    uint16_t n;    /* entries (leaf) or children (inner) */
    uint16_t leaf; /* 1 = ms__leaf, 0 = ms__inner */
};

typedef struct ms__leaf {
    struct ms_store_node h;
    ms__entry *e[FAN]; /* ascending keys */
} ms__leaf;

/* sep[i] (i >= 1) is a lower bound of every key under c[i] and above every
 * key under c[i-1]; sep[0] is unused (NULL). */
typedef struct ms__inner {
    struct ms_store_node h;
    struct ms_store_node *c[FAN];
    ms__entry *sep[FAN];
} ms__inner;

#define AS_LEAF(nd) ((ms__leaf *)(nd))
#define AS_INNER(nd) ((ms__inner *)(nd))
#define AS_CLEAF(nd) ((const ms__leaf *)(nd))
#define AS_CINNER(nd) ((const ms__inner *)(nd))

/* memcmp order, shorter first on a common prefix: <0, 0, >0 for k vs e. */
static inline int ms__key_cmp(const void *k, size_t klen, const ms__entry *e) {
    size_t m = klen < e->klen ? klen : e->klen;
    int c = m ? memcmp(k, e->data, m) : 0;
    if (c) return c;
    return (klen > e->klen) - (klen < e->klen);
}

/* Index of the child of nd whose range holds k. */
static inline int ms__inner_child(const struct ms_store_node *nd, const void *k, size_t klen) {
    const ms__inner *in = AS_CINNER(nd);
    int lo = 1, hi = nd->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (ms__key_cmp(k, klen, in->sep[mid]) >= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

/* First index of leaf nd whose key is >= k; *found = that key equals k. */
static inline int ms__leaf_lower(const struct ms_store_node *nd, const void *k, size_t klen,
                                 int *found) {
    const ms__leaf *lf = AS_CLEAF(nd);
    int lo = 0, hi = nd->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (ms__key_cmp(k, klen, lf->e[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < nd->n && ms__key_cmp(k, klen, lf->e[lo]) == 0;
    return lo;
}

#endif

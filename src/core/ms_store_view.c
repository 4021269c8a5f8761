/* Read side of the store: point lookups, ordered iteration, content digests
 * and the hash they use. Everything here works on an ms_view, so a live
 * store and a version share one implementation. */
#include "ms_store_impl.h"

#define HASH_MUL UINT64_C(0x9fb21c651e98df25)

static inline uint64_t load_le64(const unsigned char *p) {
    uint64_t w;
    memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* xor, odd multiply, xorshift: each a bijection of h for a fixed w, and a
 * bijection of w for a fixed h. */
static inline uint64_t hash_step(uint64_t h, uint64_t w) {
    h ^= w;
    h *= HASH_MUL;
    return h ^ (h >> 32);
}

uint64_t ms_store_hash(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    h = hash_step(h, (uint64_t)n);
    for (; n >= 8; n -= 8, b += 8) h = hash_step(h, load_le64(b));
    if (n > 0) {
        uint64_t w = 0;
        for (size_t i = 0; i < n; i++) w |= (uint64_t)b[i] << (8 * i);
        h = hash_step(h, w);
    }
    return h;
}

uint64_t ms_store_digest_entry(uint64_t h, const void *k, size_t klen, const void *v, size_t vlen) {
    return ms_store_hash(ms_store_hash(h, k, klen), v, vlen);
}

/* The entry of key k in v, or NULL. */
static const ms__entry *find(const ms_view *v, const void *k, size_t klen) {
    const struct ms_store_node *nd = v->root;
    if (nd == NULL) return NULL;
    while (!nd->leaf) nd = AS_CINNER(nd)->c[ms__inner_child(nd, k, klen)];
    int found;
    int pos = ms__leaf_lower(nd, k, klen, &found);
    return found ? AS_CLEAF(nd)->e[pos] : NULL;
}

const void *ms_view_get(const ms_view *v, const void *k, size_t klen, size_t *vlen) {
    const ms__entry *e = find(v, k, klen);
    if (e == NULL) return NULL;
    if (vlen) *vlen = e->vlen;
    return e->data + e->klen;
}

uint64_t ms_view_stamp(const ms_view *v) {
    return v->root ? v->root->stamp : 0;
}

const void *ms_view_get_stamped(const ms_view *v, const void *k, size_t klen, size_t *vlen,
                                uint64_t *stamp) {
    const ms__entry *e = find(v, k, klen);
    if (e == NULL) return NULL;
    *vlen = e->vlen;
    *stamp = ms__entry_stamp(e);
    return e->data + e->klen;
}

/* Move it from its leaf to the first slot of the next leaf: 0, or -1 when
 * the leaf was the last. */
static int next_leaf(ms_iter *it) {
    int t = it->depth - 1;
    while (t > 0 && it->pos[t - 1] + 1 >= it->node[t - 1]->n) t--;
    if (t == 0) return -1;
    it->pos[t - 1]++;
    for (; t < it->depth; t++) {
        it->node[t] = AS_CINNER(it->node[t - 1])->c[it->pos[t - 1]];
        it->pos[t] = 0;
    }
    return 0;
}

/* Whether the last key of leaf nd carries prefix p: from the node's own
 * prefix when it covers p (no entry read), else from that key. */
static int last_has_pfx(const struct ms_store_node *nd, const unsigned char *p, size_t pl) {
    if (nd->n == 0) return 1; /* nothing here ends the range */
    if (nd->skip >= pl && pl <= MS__PFX) return ms__bytes_eq(nd->pfx, p, pl);
    const ms__entry *e = AS_CLEAF(nd)->e[nd->n - 1];
    return e->klen >= pl && ms__bytes_eq(e->data, p, pl);
}

/* The first key past the keys carrying prefix: prefix with its last
 * non-0xff byte raised (bytes after it dropped) into hi; its length, 0 when
 * there is none (an all-0xff prefix, or one too long for hi). */
static size_t past_prefix(const void *prefix, size_t len, unsigned char *hi, size_t cap) {
    size_t hl = len < cap ? len : 0;
    memcpy(hi, prefix, hl);
    while (hl > 0 && hi[hl - 1] == 0xff) hl--;
    if (hl > 0) hi[hl - 1]++;
    return hl;
}

/* One step of range_top: the child of nd holding the whole range [prefix,
 * hi) when there is one and it is not a leaf, else NULL (the range spans
 * children, or they are leaves: stop above them, their parent is in
 * cache); the children *i..*j of nd hold the range (-1 for a leaf nd). */
static const struct ms_store_node *range_step(const struct ms_store_node *nd, const void *prefix,
                                              size_t len, const unsigned char *hi, size_t hl,
                                              int *i, int *j) {
    *i = *j = -1;
    if (nd->leaf) return NULL;
    *i = ms__inner_child(nd, prefix, len);
    *j = ms__inner_child(nd, hi, hl);
    if (*i != *j) return NULL;
    const struct ms_store_node *c = AS_CINNER(nd)->c[*i];
    return c->leaf ? NULL : c;
}

/* Descend from v's root while one child holds the whole range [prefix, hi)
 * and is not a leaf; the node reached, with the children *i..*j holding
 * the range (i = j = -1 when the root is a leaf). */
static const struct ms_store_node *range_top(const ms_view *v, const void *prefix, size_t len,
                                             const unsigned char *hi, size_t hl, int *i, int *j) {
    const struct ms_store_node *nd = v->root, *c;
    while ((c = range_step(nd, prefix, len, hi, hl, i, j)) != NULL) nd = c;
    return nd;
}

uint64_t ms_view_prefix_cover(const ms_view *v, const void *prefix, size_t len) {
    if (v->root == NULL) return 0;
    unsigned char hi[MS__PFX + 8];
    size_t hl = past_prefix(prefix, len, hi, sizeof hi);
    if (hl == 0) return v->root->stamp;
    int i, j;
    return range_top(v, prefix, len, hi, hl, &i, &j)->stamp;
}

/* Whether the descent reaching nd at depth d may stop on h's answer (nd is
 * the node h passed there); else record nd there. */
static int hint_stops(ms_hint *h, int d, const struct ms_store_node *nd) {
    if (d < h->depth && h->path[d] == nd->stamp) return 1;
    if (d < MS_HINT_DEPTH) h->path[d] = nd->stamp;
    return 0;
}

/* A descent that ended at depth d (the root's is 0) has recorded its path:
 * the part of it the hint keeps. Levels past the last recorded keep what
 * they held (the subtree they lie in is unchanged when they are reached). */
static void hint_done(ms_hint *h, int d) {
    h->depth = d + 1 < MS_HINT_DEPTH ? d + 1 : MS_HINT_DEPTH;
}

uint64_t ms_view_prefix_cover_hinted(const ms_view *v, const void *prefix, size_t len, ms_hint *h) {
    if (v->root == NULL) return 0;
    unsigned char hi[MS__PFX + 8];
    size_t hl = past_prefix(prefix, len, hi, sizeof hi);
    if (hl == 0) return v->root->stamp;
    const struct ms_store_node *nd = v->root, *c;
    int d = 0, i, j;
    for (;; d++, nd = c) {
        if (hint_stops(h, d, nd)) return h->stamp;
        if ((c = range_step(nd, prefix, len, hi, hl, &i, &j)) == NULL) break;
    }
    hint_done(h, d);
    return h->stamp = nd->stamp;
}

const void *ms_view_get_hinted(const ms_view *v, const void *k, size_t klen, size_t *vlen,
                               uint64_t *stamp, ms_hint *h) {
    const struct ms_store_node *nd = v->root;
    if (nd == NULL) return NULL;
    for (int d = 0; !hint_stops(h, d, nd); d++) {
        if (!nd->leaf) {
            nd = AS_CINNER(nd)->c[ms__inner_child(nd, k, klen)];
            continue;
        }
        /* A leaf written since (its stamp moved) mostly still holds the
         * entry in the same slot: that slot's entry having the stamp found
         * last time makes it the same entry, without the search. */
        const ms__entry *e = NULL;
        if (h->value != NULL && h->pos < nd->n &&
            ms__entry_stamp(AS_CLEAF(nd)->e[h->pos]) == h->stamp)
            e = AS_CLEAF(nd)->e[h->pos];
        if (e == NULL) {
            int found, pos = ms__leaf_lower(nd, k, klen, &found);
            e = found ? AS_CLEAF(nd)->e[pos] : NULL;
            h->pos = pos;
        }
        h->value = e ? e->data + e->klen : NULL;
        h->vlen = e ? e->vlen : 0;
        h->stamp = e ? ms__entry_stamp(e) : 0;
        hint_done(h, d);
        break;
    }
    if (h->value == NULL) return NULL;
    *vlen = h->vlen;
    *stamp = h->stamp;
    return h->value;
}

int ms_view_prefix_stamps(const ms_view *v, const void *prefix, size_t len, uint64_t *out,
                          int max) {
    /* When the children holding the range are leaves, their parent (in
     * cache) lists them: no leaf is searched, only their headers read. */
    unsigned char hi[MS__PFX + 8];
    size_t hl = v->root ? past_prefix(prefix, len, hi, sizeof hi) : 0;
    if (hl > 0) {
        int i, j;
        const struct ms_store_node *nd = range_top(v, prefix, len, hi, hl, &i, &j);
        if (i >= 0 && AS_CINNER(nd)->c[i]->leaf) {
            if (j - i + 1 > max) return -1;
            for (int k = i; k <= j; k++) out[k - i] = AS_CINNER(nd)->c[k]->stamp;
            return j - i + 1;
        }
    }
    ms_iter it;
    ms_iter_seek(&it, v, prefix, len);
    int n = 0;
    while (it.depth > 0) {
        const struct ms_store_node *nd = it.node[it.depth - 1];
        if (n == max) return -1;
        out[n++] = nd->stamp;
        /* the range goes on past this leaf only if its last key is in it
         * (or the seek stood past its end) */
        if (it.pos[it.depth - 1] < nd->n && !last_has_pfx(nd, prefix, len)) break;
        if (next_leaf(&it) != 0) break;
    }
    return n;
}

/* Digest a subtree in key order (depth bounded by the tree height). */
static uint64_t digest_node(const struct ms_store_node *nd, uint64_t h) {
    if (nd->leaf) {
        const ms__leaf *lf = AS_CLEAF(nd);
        for (int i = 0; i < nd->n; i++) {
            const ms__entry *e = lf->e[i];
            h = ms_store_digest_entry(h, e->data, e->klen, e->data + e->klen, e->vlen);
        }
        return h;
    }
    for (int i = 0; i < nd->n; i++) h = digest_node(AS_CINNER(nd)->c[i], h);
    return h;
}

uint64_t ms_view_digest(const ms_view *v) {
    return v->root ? digest_node(v->root, MS_STORE_DIGEST_INIT) : MS_STORE_DIGEST_INIT;
}

void ms_iter_seek(ms_iter *it, const ms_view *v, const void *start, size_t len) {
    it->depth = 0;
    it->started = 0;
    it->pfx = NULL;
    it->pfx_len = 0;
    const struct ms_store_node *nd = v->root;
    if (nd == NULL) return;
    while (!nd->leaf && it->depth < MS_STORE_MAX_DEPTH - 1) {
        int i = ms__inner_child(nd, start, len);
        it->node[it->depth] = nd;
        it->pos[it->depth++] = (uint16_t)i;
        nd = AS_CINNER(nd)->c[i];
    }
    int found;
    it->node[it->depth] = nd;
    it->pos[it->depth++] = (uint16_t)ms__leaf_lower(nd, start, len, &found);
}

void ms_iter_prefix(ms_iter *it, const ms_view *v, const void *prefix, size_t len) {
    ms_iter_seek(it, v, prefix, len);
    it->pfx = prefix;
    it->pfx_len = len;
}

#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 10
#endif

/* Step to the next entry, or NULL (and depth 0) when done: the next slot of
 * the current leaf when it has one, else up and down to the next leaf. */
static inline const ms__entry *iter_step(ms_iter *it) {
    if (it->depth == 0) return NULL;
    int t = it->depth - 1, fresh = !it->started;
    const struct ms_store_node *nd = it->node[t];
    if (it->started) it->pos[t]++;
    it->started = 1;
    if (!(nd->leaf && it->pos[t] < nd->n)) {
        for (;;) {
            t = it->depth - 1;
            nd = it->node[t];
            if (it->pos[t] < nd->n) {
                if (nd->leaf) break;
                if (it->depth == MS_STORE_MAX_DEPTH) { /* unreachable: height bound */
                    it->depth = 0;
                    return NULL;
                }
                it->node[it->depth] = AS_CINNER(nd)->c[it->pos[t]];
                it->pos[it->depth++] = 0;
                continue;
            }
            if (--it->depth == 0) return NULL;
            it->pos[it->depth - 1]++;
        }
        fresh = 1;
    }
    const ms__leaf *lf = AS_CLEAF(nd);
    int pos = it->pos[t], n = nd->n;
    /* Entries are separate allocations: fetch ahead (header, key and the
     * start of the value) so a scan overlaps its cache misses; on entering
     * a leaf, the whole first stretch at once. */
    for (int i = fresh ? pos + 1 : pos + PREFETCH_AHEAD; i <= pos + PREFETCH_AHEAD && i < n; i++) {
        const unsigned char *ahead = (const unsigned char *)lf->e[i];
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + 64);
    }
    const ms__entry *e = lf->e[pos];
    if (it->pfx && (e->klen < it->pfx_len || !ms__bytes_eq(e->data, it->pfx, it->pfx_len))) {
        it->depth = 0;
        return NULL;
    }
    return e;
}

int ms_iter_next(ms_iter *it) {
    return iter_step(it) != NULL;
}

/* Whether every key of leaf nd from slot a to slot b (a <= b) carries the
 * iterator's prefix: from the node's own prefix when it covers it, else
 * from key b (keys between two that carry a prefix carry it too; key a
 * does, having been checked). */
static inline int span_has_pfx(const ms_iter *it, const struct ms_store_node *nd, int b) {
    size_t pl = it->pfx_len;
    if (nd->skip >= pl && pl <= MS__PFX) return ms__bytes_eq(nd->pfx, it->pfx, pl);
    const ms__entry *e = AS_CLEAF(nd)->e[b];
    return e->klen >= pl && ms__bytes_eq(e->data, it->pfx, pl);
}

static inline void kv_set(ms_kv *kv, const ms__entry *e) {
    kv->k = e->data;
    kv->klen = e->klen;
    kv->v = e->data + e->klen;
    kv->vlen = e->vlen;
}

size_t ms_iter_next_batch(ms_iter *it, ms_kv *out, size_t max) {
    if (max == 0) return 0;
    const ms__entry *e = iter_step(it);
    if (e == NULL) return 0;
    kv_set(&out[0], e);
    int t = it->depth - 1, pos = it->pos[t];
    const struct ms_store_node *nd = it->node[t];
    const ms__leaf *lf = AS_CLEAF(nd);
    int end = nd->n - 1; /* last slot of the batch */
    if ((size_t)(end - pos) > max - 1) end = pos + (int)(max - 1);
    if (end > pos && it->pfx && !span_has_pfx(it, nd, end)) { /* the prefix ends inside */
        size_t n = 1;
        for (int i = pos + 1; i <= end; i++) {
            e = lf->e[i];
            if (e->klen < it->pfx_len || !ms__bytes_eq(e->data, it->pfx, it->pfx_len)) {
                it->pos[t] = (uint16_t)(i - 1); /* the next step finds the end again */
                return n;
            }
            kv_set(&out[n++], e);
        }
        it->pos[t] = (uint16_t)end;
        return n;
    }
    for (int i = pos + 1; i <= end; i++) {
        if (i + PREFETCH_AHEAD < nd->n) {
            const unsigned char *ahead = (const unsigned char *)lf->e[i + PREFETCH_AHEAD];
            __builtin_prefetch(ahead);
            __builtin_prefetch(ahead + 64);
        }
        kv_set(&out[i - pos], lf->e[i]);
    }
    it->pos[t] = (uint16_t)end;
    return (size_t)(end - pos) + 1;
}

static const ms__entry *iter_entry(const ms_iter *it) {
    return AS_CLEAF(it->node[it->depth - 1])->e[it->pos[it->depth - 1]];
}

const void *ms_iter_key(const ms_iter *it, size_t *len) {
    const ms__entry *e = iter_entry(it);
    *len = e->klen;
    return e->data;
}

const void *ms_iter_value(const ms_iter *it, size_t *len) {
    const ms__entry *e = iter_entry(it);
    *len = e->vlen;
    return e->data + e->klen;
}

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

const void *ms_view_get(const ms_view *v, const void *k, size_t klen, size_t *vlen) {
    const struct ms_store_node *nd = v->root;
    if (nd == NULL) return NULL;
    while (!nd->leaf) nd = AS_CINNER(nd)->c[ms__inner_child(nd, k, klen)];
    int found;
    int pos = ms__leaf_lower(nd, k, klen, &found);
    if (!found) return NULL;
    const ms__entry *e = AS_CLEAF(nd)->e[pos];
    if (vlen) *vlen = e->vlen;
    return e->data + e->klen;
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

int ms_iter_next(ms_iter *it) {
    if (it->depth == 0) return 0;
    if (it->started) it->pos[it->depth - 1]++;
    it->started = 1;
    for (;;) {
        int t = it->depth - 1;
        const struct ms_store_node *nd = it->node[t];
        if (it->pos[t] < nd->n) {
            if (nd->leaf) break;
            if (it->depth == MS_STORE_MAX_DEPTH) { /* unreachable: height bound */
                it->depth = 0;
                return 0;
            }
            it->node[it->depth] = AS_CINNER(nd)->c[it->pos[t]];
            it->pos[it->depth++] = 0;
            continue;
        }
        if (--it->depth == 0) return 0;
        it->pos[it->depth - 1]++;
    }
    if (it->pfx) {
        const ms__entry *e = AS_CLEAF(it->node[it->depth - 1])->e[it->pos[it->depth - 1]];
        if (e->klen < it->pfx_len || memcmp(e->data, it->pfx, it->pfx_len) != 0) {
            it->depth = 0;
            return 0;
        }
    }
    return 1;
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

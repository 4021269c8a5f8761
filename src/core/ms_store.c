/* Write side of the store: the copy-on-write B+tree, versions and exact
 * memory accounting.
 *
 * A write first walks down read-only, recording its path, then counts the
 * nodes it will need (copies of shared path nodes, split halves, siblings
 * to rebalance with) and allocates them all before touching anything, so an
 * allocation failure leaves the tree exactly as it was. */
#include "ms_store_impl.h"

#include <stdatomic.h>
#include <stdlib.h>

#define MIN_FILL (FAN / 4) /* a non-root node below this is rebalanced */
#define POOL_MAX (2 * MS_STORE_MAX_DEPTH + 2)

typedef struct ms_store_node node;

struct ms_store {
    node *root;
    uint64_t count;
    uint64_t applied;
    ms_store_state state;
    ms_store_mem *mem;
};

struct ms_version {
    uint32_t refs;
    node *root;
    uint64_t count;
    uint64_t applied;
    ms_store_mem *mem;
};

/* Nodes allocated ahead of a write, in family m. */
typedef struct pool {
    node *leaf[POOL_MAX];
    node *inner[POOL_MAX];
    int nleaf, ninner;
    ms_store_mem *m;
} pool;

/* A write's root-to-leaf path: node[l] and the slot taken in it. */
typedef struct path {
    node *node[MS_STORE_MAX_DEPTH];
    int pos[MS_STORE_MAX_DEPTH];
    int leaf; /* index of the leaf level */
    int found;
} path;

/* --- stamps ------------------------------------------------------------------ */

static atomic_uint_fast64_t stamp_counter;

uint64_t ms__stamp_next(void) {
    return (uint64_t)atomic_fetch_add_explicit(&stamp_counter, 1, memory_order_relaxed) + 1;
}

/* nd is about to be written (or was just made): it holds something new. */
static void touch(node *nd) {
    nd->stamp = ms__stamp_next();
}

/* --- accounting ----------------------------------------------------------- */

static void count(ms_store_mem *m, int64_t bytes, int64_t blocks) {
    m->bytes_in_use += bytes;
    m->blocks += blocks;
    if (m->bytes_in_use > m->peak) m->peak = m->bytes_in_use;
}

static void *mem_alloc(ms_store_mem *m, size_t n) {
    void *p = malloc(n);
    if (p && m) count(m, (int64_t)n, 1);
    return p;
}

static void mem_free(ms_store_mem *m, void *p, size_t n) {
    if (p == NULL) return;
    if (m) {
        m->bytes_in_use -= (int64_t)n;
        m->blocks--;
    }
    free(p);
}

/* Whether blocks allocated in family m are shareable (base blocks). */
static uint8_t base_of(const ms_store_mem *m) {
    return m && m->shareable;
}

/* The family that allocated a block, seen from family m: base blocks are
 * m's base's (or m's own when m is the base). */
static ms_store_mem *owner(ms_store_mem *m, int base) {
    return base && m && m->base ? m->base : m;
}

/* Family m takes (d = 1) or drops (d = -1) a reference to a block: when it
 * is a base block, m counts the base in full while it holds any. */
static void base_ref(ms_store_mem *m, int base, int d) {
    if (!base || m == NULL || m->base == NULL) return;
    if (m->base_refs == 0) {
        m->base_bytes = m->base->bytes_in_use;
        m->base_blocks = m->base->blocks;
        count(m, m->base_bytes, m->base_blocks);
    }
    m->base_refs += d;
    if (m->base_refs == 0) count(m, -m->base_bytes, -m->base_blocks);
}

/* Family m takes one more reference to e / nd (held as for entry_release);
 * the releases below drop them. node_hold takes NULL (an empty tree). */
static void entry_hold(ms_store_mem *m, ms__entry *e) {
    e->refs++;
    base_ref(m, e->base, 1);
}

static void node_hold(ms_store_mem *m, node *nd) {
    if (nd == NULL) return;
    nd->refs++;
    base_ref(m, nd->base, 1);
}

static size_t node_size(int leaf) {
    return leaf ? sizeof(ms__leaf) : sizeof(ms__inner);
}

static size_t entry_size(const ms__entry *e) {
    return sizeof *e + (size_t)e->klen + e->vlen;
}

/* Drop one reference to e, held by family m's store, version or own node
 * when `held` (else by a base node). */
static void entry_free(ms_store_mem *m, ms__entry *e) {
    size_t n = entry_size(e);
    if (m) {
        m->bytes_in_use -= (int64_t)n;
        m->blocks--;
    }
    ms__arena_free(m, e, n);
}

static void entry_release(ms_store_mem *m, ms__entry *e, int held) {
    if (e == NULL) return;
    if (held) base_ref(m, e->base, -1);
    if (--e->refs == 0) entry_free(owner(m, e->base), e);
}

/* Drop one reference to nd (held as for entry_release); the last one frees
 * the subtree it alone held. */
static void node_release(ms_store_mem *m, node *nd, int held) {
    if (nd == NULL) return;
    if (held) base_ref(m, nd->base, -1);
    if (--nd->refs > 0) return;
    int mine = !nd->base; /* nd's own references are the family's */
    if (nd->leaf) {
        for (int i = 0; i < nd->n; i++) entry_release(m, AS_LEAF(nd)->e[i], mine);
    } else {
        ms__inner *in = AS_INNER(nd);
        for (int i = 0; i < nd->n; i++) node_release(m, in->c[i], mine);
        for (int i = 1; i < nd->n; i++) entry_release(m, in->sep[i], mine);
    }
    mem_free(owner(m, nd->base), nd, node_size(nd->leaf));
}

/* --- node pool ---------------------------------------------------------------- */

static void pool_drain(ms_store_mem *m, pool *p) {
    while (p->nleaf > 0) mem_free(m, p->leaf[--p->nleaf], sizeof(ms__leaf));
    while (p->ninner > 0) mem_free(m, p->inner[--p->ninner], sizeof(ms__inner));
}

/* Allocate nleaf leaves and ninner inner nodes; -1 (nothing held) on failure. */
static int pool_fill(ms_store_mem *m, pool *p, int nleaf, int ninner) {
    p->nleaf = p->ninner = 0;
    p->m = m;
    while (p->nleaf < nleaf) {
        node *nd = mem_alloc(m, sizeof(ms__leaf));
        if (nd == NULL) goto fail;
        p->leaf[p->nleaf++] = nd;
    }
    while (p->ninner < ninner) {
        node *nd = mem_alloc(m, sizeof(ms__inner));
        if (nd == NULL) goto fail;
        p->inner[p->ninner++] = nd;
    }
    return 0;
fail:
    pool_drain(m, p);
    return -1;
}

static node *pool_take(pool *p, int leaf) {
    node *nd = leaf ? p->leaf[--p->nleaf] : p->inner[--p->ninner];
    nd->refs = 1;
    nd->n = 0;
    nd->leaf = (uint8_t)leaf;
    nd->base = base_of(p->m);
    nd->skip = 0;
    touch(nd);
    return nd;
}

/* --- key words (ms_store_impl.h) ------------------------------------------------ */

/* Key i of nd: a leaf's entry or an inner node's separator (i >= 1). */
static ms__entry *node_key(node *nd, int i) {
    return nd->leaf ? AS_LEAF(nd)->e[i] : AS_INNER(nd)->sep[i];
}

static uint64_t *node_kw(node *nd) {
    return nd->leaf ? AS_LEAF(nd)->kw : AS_INNER(nd)->kw;
}

/* Recompute nd's skip (the common prefix of its first and last key, which
 * in a sorted node every key between shares) and every key word. */
static void node_fix(node *nd) {
    int f = nd->leaf ? 0 : 1, n = nd->n;
    if (n - f <= 0) {
        nd->skip = 0;
        return;
    }
    const ms__entry *a = node_key(nd, f), *b = node_key(nd, n - 1);
    size_t skip = ms__lcp(a->data, a->klen, b->data, b->klen);
    uint64_t *kw = node_kw(nd);
    nd->skip = (uint32_t)skip;
    memcpy(nd->pfx, a->data, skip < MS__PFX ? skip : MS__PFX);
    for (int i = f; i < n; i++) {
        const ms__entry *e = node_key(nd, i);
        kw[i] = ms__word(e->data, e->klen, skip);
    }
}

/* Slot i of nd holds a new key (the slots around it moved with their
 * words): word it, shortening skip (and rewording all) when the new key
 * does not share it. Every key shares skip bytes with every other, so one
 * neighbour decides. */
static void node_added(node *nd, int i) {
    int f = nd->leaf ? 0 : 1, n = nd->n;
    const ms__entry *e = node_key(nd, i);
    if (n - f == 1) {
        nd->skip = e->klen;
        memcpy(nd->pfx, e->data, e->klen < MS__PFX ? e->klen : MS__PFX);
        node_kw(nd)[i] = 0;
        return;
    }
    const ms__entry *o = node_key(nd, i > f ? i - 1 : i + 1);
    if (ms__lcp(e->data, e->klen, o->data, o->klen) < nd->skip) {
        node_fix(nd);
        return;
    }
    node_kw(nd)[i] = ms__word(e->data, e->klen, nd->skip);
}

/* Make *slot (held by the family: a store's root or a slot of one of its
 * own nodes) writable: when shared, replace it by a private copy (from the
 * pool) that holds its own references to the children and entries. Either
 * way it is stamped anew: the write follows. A base node always counts as
 * shared (its base version holds it), so it is never written. */
static void own(pool *p, node **slot) {
    node *src = *slot;
    if (src->refs == 1) {
        touch(src);
        return;
    }
    node *dst = pool_take(p, src->leaf);
    uint8_t base = dst->base;
    memcpy(dst, src, node_size(src->leaf));
    dst->refs = 1;
    dst->base = base;
    touch(dst); /* the memcpy brought src's stamp */
    if (src->leaf) {
        for (int i = 0; i < src->n; i++) entry_hold(p->m, AS_LEAF(dst)->e[i]);
    } else {
        for (int i = 0; i < src->n; i++) node_hold(p->m, AS_INNER(dst)->c[i]);
        for (int i = 1; i < src->n; i++) entry_hold(p->m, AS_INNER(dst)->sep[i]);
    }
    src->refs--; /* still > 0: it was shared */
    base_ref(p->m, src->base, -1);
    *slot = dst;
}

/* --- paths ------------------------------------------------------------------- */

/* Walk from root to the leaf for k, read-only. -1 when the tree is too deep. */
static int path_find(node *root, const void *k, size_t klen, path *pa) {
    node *nd = root;
    int d = 0;
    while (!nd->leaf) {
        if (d >= MS_STORE_MAX_DEPTH - 2) return -1;
        int i = ms__inner_child(nd, k, klen);
        pa->node[d] = nd;
        pa->pos[d++] = i;
        nd = AS_INNER(nd)->c[i];
    }
    pa->node[d] = nd;
    pa->pos[d] = ms__leaf_lower(nd, k, klen, &pa->found);
    pa->leaf = d;
    return 0;
}

/* First level whose node is shared (so it and all below need copies), or
 * leaf + 1 when none is. */
static int path_shared_from(const path *pa) {
    for (int l = 0; l <= pa->leaf; l++)
        if (pa->node[l]->refs > 1) return l;
    return pa->leaf + 1;
}

/* Copy the shared part of the path; afterwards every path node is private,
 * linked from its (private) parent and stamped anew (own). */
static void path_own(ms_store *s, path *pa, pool *p) {
    node **slot = &s->root;
    for (int l = 0; l <= pa->leaf; l++) {
        own(p, slot);
        pa->node[l] = *slot;
        if (l < pa->leaf) slot = &AS_INNER(*slot)->c[pa->pos[l]];
    }
}

/* --- insertion ----------------------------------------------------------------- */

/* Split point for FAN + 1 items with the new one at pos: an append keeps the
 * left node full, so ascending loads fill nodes completely. */
static int split_point(int pos) {
    return pos == FAN ? FAN : (FAN + 1) / 2;
}

/* Insert e at pos of leaf lf; when full, split into a pool leaf returned in
 * *right with its first key as separator *rsep (one reference taken). */
static void leaf_insert(ms__leaf *lf, int pos, ms__entry *e, pool *p, node **right,
                        ms__entry **rsep) {
    int n = lf->h.n;
    if (n < FAN) {
        memmove(&lf->e[pos + 1], &lf->e[pos], (size_t)(n - pos) * sizeof lf->e[0]);
        memmove(&lf->kw[pos + 1], &lf->kw[pos], (size_t)(n - pos) * sizeof lf->kw[0]);
        lf->e[pos] = e;
        lf->h.n++;
        node_added(&lf->h, pos);
        return;
    }
    ms__entry *tmp[FAN + 1];
    memcpy(tmp, lf->e, (size_t)pos * sizeof tmp[0]);
    tmp[pos] = e;
    memcpy(&tmp[pos + 1], &lf->e[pos], (size_t)(n - pos) * sizeof tmp[0]);
    int k = split_point(pos);
    ms__leaf *r = AS_LEAF(pool_take(p, 1));
    memcpy(lf->e, tmp, (size_t)k * sizeof tmp[0]);
    memcpy(r->e, &tmp[k], (size_t)(FAN + 1 - k) * sizeof tmp[0]);
    lf->h.n = (uint16_t)k;
    r->h.n = (uint16_t)(FAN + 1 - k);
    node_fix(&lf->h);
    node_fix(&r->h);
    entry_hold(p->m, r->e[0]); /* the separator's reference, held by an own node */
    *rsep = r->e[0];
    *right = &r->h;
}

/* Insert child c with separator sep at pos of in; split as leaf_insert. The
 * right half's first separator moves up as *rsep (ownership moves). */
static void inner_insert(ms__inner *in, int pos, node *c, ms__entry *sep, pool *p, node **right,
                         ms__entry **rsep) {
    int n = in->h.n;
    if (n < FAN) {
        memmove(&in->c[pos + 1], &in->c[pos], (size_t)(n - pos) * sizeof in->c[0]);
        memmove(&in->sep[pos + 1], &in->sep[pos], (size_t)(n - pos) * sizeof in->sep[0]);
        memmove(&in->kw[pos + 1], &in->kw[pos], (size_t)(n - pos) * sizeof in->kw[0]);
        in->c[pos] = c;
        in->sep[pos] = sep;
        in->h.n++;
        node_added(&in->h, pos);
        return;
    }
    node *tc[FAN + 1];
    ms__entry *ts[FAN + 1];
    memcpy(tc, in->c, (size_t)pos * sizeof tc[0]);
    memcpy(ts, in->sep, (size_t)pos * sizeof ts[0]);
    tc[pos] = c;
    ts[pos] = sep;
    memcpy(&tc[pos + 1], &in->c[pos], (size_t)(n - pos) * sizeof tc[0]);
    memcpy(&ts[pos + 1], &in->sep[pos], (size_t)(n - pos) * sizeof ts[0]);
    int k = split_point(pos);
    ms__inner *r = AS_INNER(pool_take(p, 0));
    memcpy(in->c, tc, (size_t)k * sizeof tc[0]);
    memcpy(in->sep, ts, (size_t)k * sizeof ts[0]);
    memcpy(r->c, &tc[k], (size_t)(FAN + 1 - k) * sizeof tc[0]);
    memcpy(r->sep, &ts[k], (size_t)(FAN + 1 - k) * sizeof ts[0]);
    in->h.n = (uint16_t)k;
    r->h.n = (uint16_t)(FAN + 1 - k);
    *rsep = r->sep[0];
    r->sep[0] = NULL;
    node_fix(&in->h);
    node_fix(&r->h);
    *right = &r->h;
}

static ms__entry *entry_new(ms_store_mem *m, const void *k, size_t klen, const void *v,
                            size_t vlen) {
    size_t n = sizeof(ms__entry) + klen + vlen;
    ms__entry *e = ms__arena_alloc(m, n);
    if (e == NULL) return NULL;
    if (m) count(m, (int64_t)n, 1);
    uint64_t stamp = ms__stamp_next();
    e->stamp_lo = (uint32_t)stamp;
    e->stamp_hi = (uint16_t)(stamp >> 32);
    e->refs = 1;
    e->base = base_of(m);
    e->klen = (uint16_t)klen;
    e->vlen = (uint32_t)vlen;
    if (klen) memcpy(e->data, k, klen);
    if (vlen) memcpy(e->data + klen, v, vlen);
    return e;
}

/* Put into an empty tree: one new leaf. */
static int put_first(ms_store *s, ms__entry *e) {
    ms__leaf *lf = mem_alloc(s->mem, sizeof *lf);
    if (lf == NULL) return -1;
    lf->h.refs = 1;
    lf->h.n = 1;
    lf->h.leaf = 1;
    lf->h.base = base_of(s->mem);
    touch(&lf->h);
    lf->e[0] = e;
    node_fix(&lf->h);
    s->root = &lf->h;
    s->count = 1;
    return 0;
}

/* Add the split halves of a full path back: insert right siblings upward,
 * growing a new root when the old one split. */
static void path_insert(ms_store *s, path *pa, ms__entry *e, pool *p) {
    node *right = NULL;
    ms__entry *rsep = NULL;
    leaf_insert(AS_LEAF(pa->node[pa->leaf]), pa->pos[pa->leaf], e, p, &right, &rsep);
    for (int l = pa->leaf - 1; l >= 0 && right; l--) {
        node *c = right;
        right = NULL;
        inner_insert(AS_INNER(pa->node[l]), pa->pos[l] + 1, c, rsep, p, &right, &rsep);
    }
    if (right) {
        ms__inner *r = AS_INNER(pool_take(p, 0));
        r->h.n = 2;
        r->c[0] = s->root;
        r->c[1] = right;
        r->sep[0] = NULL;
        r->sep[1] = rsep;
        node_fix(&r->h);
        s->root = &r->h;
    }
}

int ms_store_put(ms_store *s, const void *k, size_t klen, const void *v, size_t vlen) {
    if (klen > MS_STORE_KEY_MAX || vlen > UINT32_MAX) return -1;
    ms__entry *e = entry_new(s->mem, k, klen, v, vlen);
    if (e == NULL) return -1;
    if (s->root == NULL) {
        if (put_first(s, e) == 0) return 0;
        entry_free(s->mem, e);
        return -1;
    }
    path pa;
    pool p;
    int from = path_find(s->root, k, klen, &pa) == 0 ? path_shared_from(&pa) : -1;
    int nleaf = from >= 0 && from <= pa.leaf,
        ninner = from >= 0 && from < pa.leaf ? pa.leaf - from : 0;
    if (from >= 0 && !pa.found && pa.node[pa.leaf]->n == FAN) {
        nleaf++;
        int l = pa.leaf - 1;
        while (l >= 0 && pa.node[l]->n == FAN) l--;
        ninner += pa.leaf - 1 - l + (l < 0);
    }
    if (from < 0 || pool_fill(s->mem, &p, nleaf, ninner) != 0) {
        entry_free(s->mem, e);
        return -1;
    }
    path_own(s, &pa, &p);
    if (pa.found) {
        ms__leaf *lf = AS_LEAF(pa.node[pa.leaf]);
        entry_release(s->mem, lf->e[pa.pos[pa.leaf]], 1);
        lf->e[pa.pos[pa.leaf]] = e;
    } else {
        path_insert(s, &pa, e, &p);
        s->count++;
    }
    pool_drain(s->mem, &p); /* empty unless the counts above over-asked */
    return 0;
}

/* --- deletion ------------------------------------------------------------------- */

/* Child i of in fell below MIN_FILL: merge it with a neighbour when both fit
 * in one node, else share their items evenly. Both are made private first. */
static void rebalance(ms_store *s, ms__inner *in, int i, pool *p) {
    int l = i > 0 ? i - 1 : i, r = l + 1;
    own(p, &in->c[l]);
    own(p, &in->c[r]);
    node *a = in->c[l], *b = in->c[r];
    int total = a->n + b->n, k = total <= FAN ? total : total / 2;
    if (a->leaf) {
        ms__entry *t[2 * FAN];
        memcpy(t, AS_LEAF(a)->e, (size_t)a->n * sizeof t[0]);
        memcpy(&t[a->n], AS_LEAF(b)->e, (size_t)b->n * sizeof t[0]);
        memcpy(AS_LEAF(a)->e, t, (size_t)k * sizeof t[0]);
        memcpy(AS_LEAF(b)->e, &t[k], (size_t)(total - k) * sizeof t[0]);
        entry_release(s->mem, in->sep[r], 1);
        in->sep[r] = k < total ? t[k] : NULL;
        if (k < total) entry_hold(s->mem, t[k]);
    } else {
        node *tc[2 * FAN];
        ms__entry *ts[2 * FAN];
        memcpy(tc, AS_INNER(a)->c, (size_t)a->n * sizeof tc[0]);
        memcpy(ts, AS_INNER(a)->sep, (size_t)a->n * sizeof ts[0]);
        memcpy(&tc[a->n], AS_INNER(b)->c, (size_t)b->n * sizeof tc[0]);
        memcpy(&ts[a->n], AS_INNER(b)->sep, (size_t)b->n * sizeof ts[0]);
        ts[a->n] = in->sep[r]; /* the parent's separator comes down between them */
        memcpy(AS_INNER(a)->c, tc, (size_t)k * sizeof tc[0]);
        memcpy(AS_INNER(a)->sep, ts, (size_t)k * sizeof ts[0]);
        memcpy(AS_INNER(b)->c, &tc[k], (size_t)(total - k) * sizeof tc[0]);
        memcpy(AS_INNER(b)->sep, &ts[k], (size_t)(total - k) * sizeof ts[0]);
        in->sep[r] = k < total ? ts[k] : NULL; /* and the new boundary goes up */
        AS_INNER(b)->sep[0] = NULL;
    }
    a->n = (uint16_t)k;
    b->n = (uint16_t)(total - k);
    node_fix(a);
    if (k < total) {
        node_fix(b);
        node_added(&in->h, r); /* a new boundary key at r */
        return;
    }
    mem_free(s->mem, b, node_size(b->leaf)); /* merged: b is private and empty */
    int n = in->h.n;
    memmove(&in->c[r], &in->c[r + 1], (size_t)(n - r - 1) * sizeof in->c[0]);
    memmove(&in->sep[r], &in->sep[r + 1], (size_t)(n - r - 1) * sizeof in->sep[0]);
    memmove(&in->kw[r], &in->kw[r + 1], (size_t)(n - r - 1) * sizeof in->kw[0]);
    in->h.n--; /* skip stays a common prefix of the separators left */
}

/* Replace a root with a single child by that child, and an empty leaf root
 * by nothing. */
static void root_shrink(ms_store *s) {
    while (s->root && !s->root->leaf && s->root->n == 1) {
        node *old = s->root;
        s->root = AS_INNER(old)->c[0];
        node_hold(s->mem, s->root);
        node_release(s->mem, old, 1);
    }
    if (s->root && s->root->leaf && s->root->n == 0) {
        node_release(s->mem, s->root, 1);
        s->root = NULL;
    }
}

int ms_store_del(ms_store *s, const void *k, size_t klen) {
    if (s->root == NULL) return 0;
    path pa;
    if (path_find(s->root, k, klen, &pa) != 0) return -1;
    if (!pa.found) return 0;
    int from = path_shared_from(&pa);
    /* Worst case: copies of the shared path, plus one sibling per level. */
    int nleaf = (from <= pa.leaf) + (pa.leaf > 0);
    int ninner = (from < pa.leaf ? pa.leaf - from : 0) + (pa.leaf > 1 ? pa.leaf - 1 : 0);
    pool p;
    if (pool_fill(s->mem, &p, nleaf, ninner) != 0) return -1;
    path_own(s, &pa, &p);
    ms__leaf *lf = AS_LEAF(pa.node[pa.leaf]);
    int pos = pa.pos[pa.leaf];
    entry_release(s->mem, lf->e[pos], 1);
    memmove(&lf->e[pos], &lf->e[pos + 1], (size_t)(lf->h.n - pos - 1) * sizeof lf->e[0]);
    memmove(&lf->kw[pos], &lf->kw[pos + 1], (size_t)(lf->h.n - pos - 1) * sizeof lf->kw[0]);
    lf->h.n--; /* skip stays a common prefix of the keys left */
    for (int l = pa.leaf - 1; l >= 0; l--) {
        ms__inner *in = AS_INNER(pa.node[l]);
        if (in->c[pa.pos[l]]->n < MIN_FILL && in->h.n >= 2) rebalance(s, in, pa.pos[l], &p);
    }
    root_shrink(s);
    pool_drain(s->mem, &p);
    s->count--;
    return 1;
}

/* --- stores ----------------------------------------------------------------------- */

ms_store *ms_store_new(ms_store_mem *mem) {
    ms_store *s = mem_alloc(mem, sizeof *s);
    if (s == NULL) return NULL;
    s->root = NULL;
    s->count = 0;
    s->applied = 0;
    s->state = MS_STORE_OPEN;
    s->mem = mem;
    return s;
}

void ms_store_free(ms_store *s) {
    if (s == NULL) return;
    node_release(s->mem, s->root, 1);
    mem_free(s->mem, s, sizeof *s);
}

const void *ms_store_get(const ms_store *s, const void *k, size_t klen, size_t *vlen) {
    ms_view v = ms_store_view(s);
    return ms_view_get(&v, k, klen, vlen);
}

uint64_t ms_store_count(const ms_store *s) {
    return s->count;
}

void ms_store_clear(ms_store *s) {
    node_release(s->mem, s->root, 1);
    s->root = NULL;
    s->count = 0;
    s->applied = 0;
}

void ms_store_set_applied(ms_store *s, uint64_t index) {
    s->applied = index;
}

uint64_t ms_store_applied(const ms_store *s) {
    return s->applied;
}

void ms_store_set_state(ms_store *s, ms_store_state st) {
    s->state = st;
}

ms_store_state ms_store_state_of(const ms_store *s) {
    return s->state;
}

ms_store_mem *ms_store_mem_of(const ms_store *s) {
    return s->mem;
}

ms_view ms_store_view(const ms_store *s) {
    ms_view v = {s->root, s->count, s->applied, s->state};
    return v;
}

uint64_t ms_store_digest(const ms_store *s) {
    ms_view v = ms_store_view(s);
    return ms_view_digest(&v);
}

void ms_store_swap(ms_store *s, ms_store *src) {
    node_release(s->mem, s->root, 1);
    s->root = src->root;
    s->count = src->count;
    s->applied = src->applied;
    s->state = src->state;
    src->root = NULL;
    src->count = 0;
    src->applied = 0;
}

/* --- versions --------------------------------------------------------------------- */

ms_version *ms_store_snapshot(ms_store *s) {
    ms_version *v = mem_alloc(s->mem, sizeof *v);
    if (v == NULL) return NULL;
    v->refs = 1;
    v->root = s->root;
    node_hold(s->mem, v->root);
    v->count = s->count;
    v->applied = s->applied;
    v->mem = s->mem;
    return v;
}

void ms_version_retain(ms_version *v) {
    v->refs++;
}

void ms_version_release(ms_version *v) {
    if (v == NULL || --v->refs > 0) return;
    node_release(v->mem, v->root, 1);
    mem_free(v->mem, v, sizeof *v);
}

ms_view ms_version_view(const ms_version *v) {
    ms_view w = {v->root, v->count, v->applied, MS_STORE_OPEN};
    return w;
}

const void *ms_version_get(const ms_version *v, const void *k, size_t klen, size_t *vlen) {
    ms_view w = ms_version_view(v);
    return ms_view_get(&w, k, klen, vlen);
}

uint64_t ms_version_count(const ms_version *v) {
    return v->count;
}

uint64_t ms_version_applied(const ms_version *v) {
    return v->applied;
}

uint64_t ms_version_digest(const ms_version *v) {
    ms_view w = ms_version_view(v);
    return ms_view_digest(&w);
}

/* A store of family mem holding v's tree (one more reference to its root). */
static ms_store *store_of(const ms_version *v, ms_store_mem *mem) {
    ms_store *s = ms_store_new(mem);
    if (s == NULL) return NULL;
    s->root = v->root;
    node_hold(mem, s->root);
    s->count = v->count;
    s->applied = v->applied;
    return s;
}

ms_store *ms_store_from_version(const ms_version *v) {
    return store_of(v, v->mem);
}

ms_store *ms_store_from_base(const ms_version *v, ms_store_mem *mem) {
    ms_store_mem *b = v->mem;
    if (b == NULL || mem == NULL || mem == b || !b->shareable || b->base || mem->shareable ||
        (mem->base && mem->base != b))
        return NULL;
    mem->base = b;
    return store_of(v, mem);
}

/* Internal to ms_store*.c: the tree's node and entry layout and the
 * searches shared by the writer (ms_store.c) and the readers
 * (ms_store_view.c). Not for other modules. */
#ifndef MS_STORE_IMPL_H
#define MS_STORE_IMPL_H

#include "ms_store.h"

#include <string.h>

#define FAN MS_STORE_FANOUT

/* One key/value pair, immutable once built, shared by every leaf copy and
 * separator that points at it. data holds the key then the value. Its
 * stamp (ms__entry_stamp: 48 bits, from ms__stamp_next) is unique in the
 * process, so equal stamps mean the same entry, never a later one at a
 * reused address. 16 bytes of head: an entry is its data plus 16 bytes,
 * rounded up to 4 (entries come from the family's arena, ms__arena_alloc). */
typedef struct ms__entry {
    uint32_t stamp_lo;
    uint16_t stamp_hi;
    uint16_t klen;
    unsigned refs : 31;
    unsigned base : 1; /* allocated by a shareable family (ms_store_mem) */
    uint32_t vlen;
    unsigned char data[];
} ms__entry;

static inline uint64_t ms__entry_stamp(const ms__entry *e) {
    return (uint64_t)e->stamp_hi << 32 | e->stamp_lo;
}

/* Entry memory (ms_store_arena.c): n bytes in family m's arena (plain malloc
 * when m is NULL, for blocks too large for a size class, and under
 * AddressSanitizer, so that it still sees every entry). A family's arena is
 * handed back to the system when its last entry is freed. */
void *ms__arena_alloc(ms_store_mem *m, size_t n);
void ms__arena_free(ms_store_mem *m, void *p, size_t n);

/* Common head of both node kinds. refs counts parents, stores and versions
 * pointing here; a node with refs > 1 is never written.
 *
 * Key words: every key of a node (a leaf's entries, an inner node's
 * separators sep[1..n-1]) starts with the same skip bytes, and kw[i] holds
 * the next 8 bytes of key i (bytes skip..skip+7, big-endian, zero past the
 * key's end). A search compares one key in full to learn whether the key
 * sought shares those skip bytes, then compares words, which live in the
 * node, and reaches an entry only when the words tie; so a descent touches
 * about one entry per level instead of one per probe. skip need only be a
 * common prefix length (not the longest): a delete leaves it as it is. */
#define MS__PFX 28 /* prefix bytes a node keeps in itself */

struct ms_store_node {
    /* unique in the process, renewed whenever the node is created or
     * written, so a node whose stamp has not moved holds what it held */
    uint64_t stamp;
    uint32_t refs;
    uint16_t n;    /* entries (leaf) or children (inner) */
    uint8_t leaf;  /* 1 = ms__leaf, 0 = ms__inner */
    uint8_t base;  /* allocated by a shareable family (ms_store_mem) */
    uint32_t skip; /* bytes every key of the node starts with (see above) */
    /* those bytes when skip <= MS__PFX, so the search needs no entry to
     * place a key against the node's prefix */
    unsigned char pfx[MS__PFX];
};

typedef struct ms__leaf {
    struct ms_store_node h;
    ms__entry *e[FAN]; /* ascending keys */
    uint64_t kw[FAN];  /* key words of e[] */
} ms__leaf;

/* sep[i] (i >= 1) is a lower bound of every key under c[i] and above every
 * key under c[i-1]; sep[0] is unused (NULL), and so is kw[0]. */
typedef struct ms__inner {
    struct ms_store_node h;
    struct ms_store_node *c[FAN];
    ms__entry *sep[FAN];
    uint64_t kw[FAN]; /* key words of sep[] */
} ms__inner;

/* A stamp never handed out before (any thread). */
uint64_t ms__stamp_next(void);

#define AS_LEAF(nd) ((ms__leaf *)(nd))
#define AS_INNER(nd) ((ms__inner *)(nd))
#define AS_CLEAF(nd) ((const ms__leaf *)(nd))
#define AS_CINNER(nd) ((const ms__inner *)(nd))

/* A native-order 8-byte load turned into its big-endian value, so integer
 * order is byte (memcmp) order. */
static inline uint64_t ms__load_be64(const unsigned char *p) {
    uint64_t w;
    memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* memcmp's sign for n bytes, inline (keys are short; a libc call per probe
 * costs more than the compare). */
static inline int ms__bytes_cmp(const unsigned char *a, const unsigned char *b, size_t n) {
    for (; n >= 8; n -= 8, a += 8, b += 8) {
        uint64_t x = ms__load_be64(a), y = ms__load_be64(b);
        if (x != y) return x < y ? -1 : 1;
    }
    for (; n > 0; n--, a++, b++)
        if (*a != *b) return *a < *b ? -1 : 1;
    return 0;
}

/* a and b hold the same n bytes. Keys are short: past 8 bytes the tail is
 * one overlapping 8-byte load, not a byte loop. */
static inline int ms__bytes_eq(const unsigned char *a, const unsigned char *b, size_t n) {
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i]) return 0;
        return 1;
    }
    for (size_t i = 0; i + 8 < n; i += 8)
        if (ms__load_be64(a + i) != ms__load_be64(b + i)) return 0;
    return ms__load_be64(a + n - 8) == ms__load_be64(b + n - 8);
}

/* Length of the common prefix of a and b. */
static inline size_t ms__lcp(const unsigned char *a, size_t al, const unsigned char *b, size_t bl) {
    size_t m = al < bl ? al : bl, i = 0;
    for (; i + 8 <= m; i += 8) {
        uint64_t x = ms__load_be64(a + i) ^ ms__load_be64(b + i);
        if (x) return i + (size_t)(__builtin_clzll(x) / 8);
    }
    while (i < m && a[i] == b[i]) i++;
    return i;
}

/* The key word of k at off (<= klen): bytes off..off+7, big-endian, zero
 * past the end. A word strictly below another means the key is strictly
 * below (memcmp order, shorter first) among keys sharing off bytes; equal
 * words decide nothing. */
static inline uint64_t ms__word(const unsigned char *k, size_t klen, size_t off) {
    size_t m = klen - off;
    if (m >= 8) return ms__load_be64(k + off);
    uint64_t w = 0;
    for (size_t i = 0; i < m; i++) w |= (uint64_t)k[off + i] << (56 - 8 * i);
    return w;
}

/* memcmp order, shorter first on a common prefix, of k vs e, given that
 * their first off bytes are equal: <0, 0, >0. */
static inline int ms__key_cmp_from(const void *k, size_t klen, const ms__entry *e, size_t off) {
    size_t m = klen < e->klen ? klen : e->klen;
    int c = ms__bytes_cmp((const unsigned char *)k + off, e->data + off, m - off);
    if (c) return c;
    return (klen > e->klen) - (klen < e->klen);
}

/* memcmp order, shorter first on a common prefix: <0, 0, >0 for k vs e. */
static inline int ms__key_cmp(const void *k, size_t klen, const ms__entry *e) {
    return ms__key_cmp_from(k, klen, e, 0);
}

/* ms__key_cmp, also setting *shares when k starts with e's first skip
 * bytes (skip <= e->klen). */
static inline int ms__key_cmp_skip(const void *k, size_t klen, const ms__entry *e, size_t skip,
                                   int *shares) {
    int c = klen >= skip ? ms__bytes_cmp(k, e->data, skip) : 1;
    *shares = c == 0;
    if (c == 0) return ms__key_cmp_from(k, klen, e, skip);
    return ms__key_cmp(k, klen, e);
}

/* Place k against nd's prefix from the node alone: 0 when k starts with
 * it, else <0 / >0 when k sorts before / after every key of nd. 2 when the
 * node does not keep its prefix (skip > MS__PFX). */
static inline int ms__pfx_cmp(const struct ms_store_node *nd, const unsigned char *k, size_t klen) {
    size_t skip = nd->skip;
    if (skip > MS__PFX) return 2;
    size_t m = klen < skip ? klen : skip;
    int c = ms__bytes_cmp(k, nd->pfx, m);
    if (c) return c;
    return klen < skip ? -1 : 0; /* a proper prefix of the node's prefix sorts first */
}

/* Index of the child of nd whose range holds k. */
static inline int ms__inner_child(const struct ms_store_node *nd, const void *k, size_t klen) {
    const ms__inner *in = AS_CINNER(nd);
    int n = nd->n;
    if (n <= 1) return 0;
    int lo = 1, hi = n, mid, shares, c = ms__pfx_cmp(nd, k, klen);
    if (c == 2) { /* place k with one separator in full */
        mid = (lo + hi) / 2;
        c = ms__key_cmp_skip(k, klen, in->sep[mid], nd->skip, &shares);
        if (!shares) return c > 0 ? n - 1 : 0; /* k is past or before every separator */
        if (c >= 0)
            lo = mid + 1;
        else
            hi = mid;
    } else if (c != 0) {
        return c > 0 ? n - 1 : 0;
    }
    uint64_t w = ms__word(k, klen, nd->skip);
    while (lo < hi) {
        mid = (lo + hi) / 2;
        uint64_t m = in->kw[mid];
        c = w > m ? 1 : w < m ? -1 : ms__key_cmp_from(k, klen, in->sep[mid], nd->skip);
        if (c >= 0)
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
    int n = nd->n, lo = 0, hi = n, mid, shares;
    *found = 0;
    if (n == 0) return 0;
    int c = ms__pfx_cmp(nd, k, klen);
    if (c == 2) { /* place k with one key in full */
        mid = n / 2;
        c = ms__key_cmp_skip(k, klen, lf->e[mid], nd->skip, &shares);
        if (!shares) return c > 0 ? n : 0; /* k is past or before every key */
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c > 0)
            lo = mid + 1;
        else
            hi = mid;
    } else if (c != 0) {
        return c > 0 ? n : 0;
    }
    uint64_t w = ms__word(k, klen, nd->skip);
    while (lo < hi) {
        mid = (lo + hi) / 2;
        uint64_t m = lf->kw[mid];
        c = w > m ? 1 : w < m ? -1 : ms__key_cmp_from(k, klen, lf->e[mid], nd->skip);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

#endif

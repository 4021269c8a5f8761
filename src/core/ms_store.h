/* The metadata store: an ordered map of byte-string keys to byte-string
 * values with O(1) point-in-time versions.
 *
 * The map is a copy-on-write B+tree with reference-counted nodes (fanout
 * MS_STORE_FANOUT). Taking a version increments the root's count; a write to
 * the live store copies only the nodes on its path that are shared (count >
 * 1), so a version stays readable and unchanged while the store moves on,
 * and its nodes are freed when the last holder releases them. Each entry is
 * one allocation holding its lengths, key and value; leaves and separators
 * point at entries, which are reference-counted too.
 *
 * Every allocation of the family (stores, versions, nodes, entries) is
 * counted exactly (requested bytes) in a caller-owned ms_store_mem that all
 * stores and versions derived from one another share; it returns to 0 when
 * the last of them is freed. The caller keeps the ms_store_mem alive until
 * then.
 *
 * Reads go through a view (ms_view): a small value naming a root, the
 * entry count, the applied raft index and the store state. A version's view
 * is valid while the version is held; a live store's view is valid until
 * the next write to that store. Nothing here is thread-safe: one thread per
 * family. */
#ifndef MS_STORE_H
#define MS_STORE_H

#include <stddef.h>
#include <stdint.h>

#define MS_STORE_FANOUT 64
#define MS_STORE_KEY_MAX 65535 /* longest key a store takes */
/* Deepest tree an iterator can walk: with at least FANOUT/4 children per
 * non-root node, 24 levels is far more than 2^64 entries need. */
#define MS_STORE_MAX_DEPTH 24
/* Starting value of an order-sensitive content digest (ms_store_digest_entry). */
#define MS_STORE_DIGEST_INIT UINT64_C(0x6d732d73746f7265)

typedef struct ms_store ms_store;
typedef struct ms_version ms_version;
struct ms_store_node; /* opaque tree node */

/* Exact memory accounting shared by a family of stores and versions.
 *
 * A family may start from a version of another, its base (an image several
 * families share copy-on-write: ms_store_from_base). The base's blocks stay
 * the base's: they are never written, and a block is freed into the family
 * that allocated it. A derived family counts the base in full (bytes and
 * blocks, as they were when it first referred to it) for as long as any of
 * its stores, versions or own nodes refers to any block of the base, and
 * its own allocations on top: what it would hold if it had built the image
 * itself, plus the copies its writes make of the shared nodes on their path
 * (at most one root-to-leaf path per write, once). Zero-initialise; set
 * `shareable` before the first allocation of a family that will be a base. */
typedef struct ms_store_mem {
    int64_t bytes_in_use; /* requested bytes currently counted (see above) */
    int64_t peak;         /* highest bytes_in_use seen */
    int64_t blocks;       /* allocations currently counted */
    int shareable;        /* this family's blocks may be shared by derived families */
    /* a derived family: its base, the references into the base that it
     * holds, and what it counted of the base when those became non-zero */
    struct ms_store_mem *base;
    int64_t base_refs, base_bytes, base_blocks;
    struct ms__arena *arena; /* where the family's entries live (internal) */
} ms_store_mem;

/* What a reader of the live store gets (set by the snapshot importer). */
typedef enum ms_store_state {
    MS_STORE_OPEN = 0, /* readable */
    MS_STORE_CLOSED,   /* closed for a reopen-style apply: a read crashes */
    MS_STORE_BROKEN    /* an apply was aborted half-way: contents unusable */
} ms_store_state;

/* A read-only view of a store or version (see the header comment). */
typedef struct ms_view {
    const struct ms_store_node *root;
    uint64_t count;
    uint64_t applied;
    ms_store_state state;
} ms_view;

/* An ordered cursor over a view: no allocation, bounded stack. */
typedef struct ms_iter {
    const struct ms_store_node *node[MS_STORE_MAX_DEPTH];
    uint16_t pos[MS_STORE_MAX_DEPTH];
    int depth;                /* entries used in node/pos; 0 = exhausted */
    int started;              /* 0 until the first ms_iter_next */
    const unsigned char *pfx; /* prefix that every yielded key must carry */
    size_t pfx_len;
} ms_iter;

/* --- stores ------------------------------------------------------------- */

/* New empty store counting its memory in mem (NULL: not counted). NULL when
 * out of memory. */
ms_store *ms_store_new(ms_store_mem *mem);

/* Free s; versions taken from it stay valid. NULL is a no-op. */
void ms_store_free(ms_store *s);

/* Insert or replace key k. Returns 0, or -1 when out of memory (the store
 * is unchanged), when the key is longer than MS_STORE_KEY_MAX or the value
 * longer than UINT32_MAX. */
int ms_store_put(ms_store *s, const void *k, size_t klen, const void *v, size_t vlen);

/* Remove key k. Returns 1 when it was present, 0 when absent, -1 when out
 * of memory (the store is unchanged). */
int ms_store_del(ms_store *s, const void *k, size_t klen);

/* Value of k and its length, or NULL when absent. The pointer is valid until
 * the next write to s. */
const void *ms_store_get(const ms_store *s, const void *k, size_t klen, size_t *vlen);

/* Number of keys. */
uint64_t ms_store_count(const ms_store *s);

/* Drop every key (O(1) when a version shares the tree, else O(n) frees). */
void ms_store_clear(ms_store *s);

/* The raft index the contents reflect (0 after new/clear). */
void ms_store_set_applied(ms_store *s, uint64_t index);
uint64_t ms_store_applied(const ms_store *s);

/* The state a reader of s sees; new stores are MS_STORE_OPEN. */
void ms_store_set_state(ms_store *s, ms_store_state st);
ms_store_state ms_store_state_of(const ms_store *s);

/* The accounting s counts into (may be NULL). */
ms_store_mem *ms_store_mem_of(const ms_store *s);

/* A view of s's current contents. */
ms_view ms_store_view(const ms_store *s);

/* Content digest of s (ms_view_digest). */
uint64_t ms_store_digest(const ms_store *s);

/* Replace s's contents, applied index and state with those of src in O(1)
 * (src is emptied, keeps its accounting). Both must share one ms_store_mem.
 * This is the one-pointer swap of an aside apply. */
void ms_store_swap(ms_store *s, ms_store *src);

/* --- versions ----------------------------------------------------------- */

/* Pin s's current contents and applied index in O(1) (one reference to the
 * root). The version holds one reference; NULL when out of memory. */
ms_version *ms_store_snapshot(ms_store *s);

/* Take / drop a reference; the last release frees what only it kept alive.
 * Release of NULL is a no-op. */
void ms_version_retain(ms_version *v);
void ms_version_release(ms_version *v);

/* Read the pinned contents: as the ms_store_ functions. */
const void *ms_version_get(const ms_version *v, const void *k, size_t klen, size_t *vlen);
uint64_t ms_version_count(const ms_version *v);
uint64_t ms_version_applied(const ms_version *v);
uint64_t ms_version_digest(const ms_version *v);
ms_view ms_version_view(const ms_version *v);

/* A new live store with v's contents and applied index in O(1); writes to
 * it copy shared nodes, so v is unaffected. NULL when out of memory. */
ms_store *ms_store_from_version(const ms_version *v);

/* The same in another family, mem, whose base becomes v's family: v's
 * family must be `shareable` and have no base itself, and mem no other
 * base. v's family must not change (no write, no free of a block) while
 * mem refers into it: keep a version of it pinned and write only to copies.
 * NULL when out of memory or when those do not hold. */
ms_store *ms_store_from_base(const ms_version *v, ms_store_mem *mem);

/* --- views and iterators -------------------------------------------------- */

/* Value of k in view v and its length, or NULL when absent. */
const void *ms_view_get(const ms_view *v, const void *k, size_t klen, size_t *vlen);

/* Content stamps. Every entry and every tree node carries a stamp that is
 * unique in the process: an entry's is taken when it is made (entries are
 * immutable), a node's whenever it is made or written. So a key whose entry
 * has the stamp it had, or a subtree or key range whose nodes have the
 * stamps they had, holds exactly what it held, in any view of any store:
 * the test a cache of read results needs (ms_ops_memo). */

/* The stamp of v's root: every write to a tree renews its root's stamp, so
 * two views with the same non-zero stamp hold the same contents (0: empty). */
uint64_t ms_view_stamp(const ms_view *v);

/* ms_view_get, also giving the entry's stamp. */
const void *ms_view_get_stamped(const ms_view *v, const void *k, size_t klen, size_t *vlen,
                                uint64_t *stamp);

/* The stamps, in key order, of leaves that hold every key carrying prefix
 * (and maybe a neighbour or two; the leaf where the keys would start when
 * there are none): how many, or -1 when there are more than max. */
int ms_view_prefix_stamps(const ms_view *v, const void *prefix, size_t len, uint64_t *out, int max);

/* The stamp of a node whose subtree holds every key carrying prefix (the
 * lowest inner node above the leaves that hold them, found without reading
 * a leaf); 0 for an empty view. It moves whenever anything in that subtree
 * is written, so it is a cheaper but coarser test than the leaf stamps. A
 * prefix of 36 bytes or more gets the root's stamp. */
uint64_t ms_view_prefix_cover(const ms_view *v, const void *prefix, size_t len);

/* A remembered descent, for the hinted lookups below: the stamps of the
 * nodes it went through, root first, and what it found. A node met again
 * at the same depth with the stamp recorded there is the same node holding
 * the same keys (stamps are never reused), so the answer found under it
 * stands and the descent stops there: a read of an unchanged subtree costs
 * the levels above it, not a leaf search. Zero-initialise one per key (or
 * prefix) and never pass it for another; any view of any store may use it. */
#define MS_HINT_DEPTH 6
typedef struct ms_hint {
    uint64_t path[MS_HINT_DEPTH];
    /* what was found, kept here so that a stop reads no entry:
     * ms_view_get_hinted: the value (NULL for none), its length and the
     * entry's stamp; ms_view_prefix_cover_hinted: the cover in stamp */
    const void *value;
    uint64_t stamp;
    uint32_t vlen;
    int16_t depth; /* levels recorded in path; 0: none yet */
    int16_t pos;   /* ms_view_get_hinted: the entry's slot in its leaf */
} ms_hint;

/* ms_view_get_stamped through h (same results). */
const void *ms_view_get_hinted(const ms_view *v, const void *k, size_t klen, size_t *vlen,
                               uint64_t *stamp, ms_hint *h);

/* ms_view_prefix_cover through h (same result). */
uint64_t ms_view_prefix_cover_hinted(const ms_view *v, const void *prefix, size_t len, ms_hint *h);

/* Order-sensitive digest of every (key, value) pair in key order: the fold
 * of ms_store_digest_entry from MS_STORE_DIGEST_INIT. Equal contents give
 * equal digests, whatever the tree shape. */
uint64_t ms_view_digest(const ms_view *v);

/* Fold one entry into a content digest. */
uint64_t ms_store_digest_entry(uint64_t h, const void *k, size_t klen, const void *v, size_t vlen);

/* Fast 64-bit hash of n bytes continuing from h. Every step is a bijection of
 * the state, so any change confined to one 8-byte word changes the result.
 * Not cryptographic. */
uint64_t ms_store_hash(uint64_t h, const void *p, size_t n);

/* Position it before the first key >= start in v. */
void ms_iter_seek(ms_iter *it, const ms_view *v, const void *start, size_t len);

/* Position it before the first key carrying prefix; iteration stops at the
 * first key without it. The caller keeps prefix alive while iterating. */
void ms_iter_prefix(ms_iter *it, const ms_view *v, const void *prefix, size_t len);

/* Advance to the next entry: 1 when positioned on one, 0 when done. */
int ms_iter_next(ms_iter *it);

/* A key and value as ms_iter_key / ms_iter_value give them. */
typedef struct ms_kv {
    const void *k, *v;
    size_t klen, vlen;
} ms_kv;

/* Up to max ms_iter_next steps at once, for scans: stores each entry
 * stepped onto in out and returns how many (0 when done). A batch ends at
 * the end of a tree leaf, so it may be shorter than max with more to come;
 * afterwards the iterator stands on the last entry stored, as if
 * ms_iter_next had stepped there, and the two mix freely. */
size_t ms_iter_next_batch(ms_iter *it, ms_kv *out, size_t max);

/* Key / value of the current entry (after ms_iter_next returned 1). */
const void *ms_iter_key(const ms_iter *it, size_t *len);
const void *ms_iter_value(const ms_iter *it, size_t *len);

#endif

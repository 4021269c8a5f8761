/* Master read routes over a view, with the integrity rules of ms_ops.h.
 * Lookups the checker makes only to decide a verdict (counting vol or node
 * keys) are not charged to the result's entries and bytes. */
#include "ms_ops.h"

#include "ms_layout.h"

#include <stdlib.h>
#include <string.h>

static const char *const op_names[MS_OP_COUNT] = {
    "get_vol",  "get_partitions", "get_meta_partitions", "get_dp",
    "get_node", "get_cluster",    "list_vols",
};

static ms_read_result verdict(ms_read_result r, ms_read_verdict v, const char *why) {
    r.verdict = v;
    r.why = why;
    return r;
}

/* Rules 1 and 2: a COMPLETE result carrying the applied index, or a final
 * verdict. */
static ms_read_result start(const ms_view *v) {
    ms_read_result r = {MS_READ_COMPLETE, NULL, 0, 0, 0};
    if (v->state == MS_STORE_CLOSED) return verdict(r, MS_READ_CRASH, "store closed by an apply");
    if (v->state == MS_STORE_BROKEN)
        return verdict(r, MS_READ_UNUSABLE, "store broken by an aborted apply");
    size_t n;
    const void *p = ms_view_get(v, MS_LAYOUT_KEY_APPLIED, strlen(MS_LAYOUT_KEY_APPLIED), &n);
    if (p == NULL || ms_layout_u64_decode(p, n, &r.applied) != 0)
        return verdict(r, MS_READ_TORN, "applied key missing");
    return r;
}

static int final(const ms_read_result *r) {
    return r->verdict != MS_READ_COMPLETE;
}

/* Point read charged to r; NULL when absent. */
static const void *get(const ms_view *v, ms_read_result *r, const char *k, size_t kl, size_t *vl) {
    const void *p = ms_view_get(v, k, kl, vl);
    if (p) {
        r->entries++;
        r->bytes += kl + *vl;
    }
    return p;
}

static void charge(ms_read_result *r, const ms_iter *it) {
    size_t kl, vl;
    ms_iter_key(it, &kl);
    ms_iter_value(it, &vl);
    r->entries++;
    r->bytes += kl + vl;
}

/* Keys under prefix (not charged). */
static uint64_t count_prefix(const ms_view *v, const char *pfx) {
    ms_iter it;
    uint64_t n = 0;
    ms_iter_prefix(&it, v, pfx, strlen(pfx));
    while (ms_iter_next(&it)) n++;
    return n;
}

/* The cluster record (the first `#c#` key): 0, or -1 with *r set TORN. */
static int cluster_load(const ms_view *v, ms_read_result *r, ms_layout_cluster *c, int charged) {
    ms_iter it;
    size_t vl;
    ms_iter_prefix(&it, v, MS_LAYOUT_PREFIX_CLUSTER, strlen(MS_LAYOUT_PREFIX_CLUSTER));
    if (!ms_iter_next(&it)) {
        *r = verdict(*r, MS_READ_TORN, "cluster record missing");
        return -1;
    }
    if (charged) charge(r, &it);
    const void *p = ms_iter_value(&it, &vl);
    if (ms_layout_cluster_decode(p, vl, c) != 0) {
        *r = verdict(*r, MS_READ_TORN, "malformed cluster record");
        return -1;
    }
    return 0;
}

/* Rule 4 for a vol that is absent. */
static ms_read_result vol_absent(const ms_view *v, ms_read_result r) {
    ms_layout_cluster c;
    if (cluster_load(v, &r, &c, 0) != 0) return r;
    if (count_prefix(v, MS_LAYOUT_PREFIX_VOL) == c.vols)
        return verdict(r, MS_READ_NOT_FOUND, "no such vol");
    return verdict(r, MS_READ_TORN, "vol record missing");
}

/* Load vol's record into *out: 1, or 0 with a final verdict in *r. */
static int vol_load(const ms_view *v, uint64_t vol, ms_read_result *r, ms_layout_vol *out) {
    char key[MS_LAYOUT_KEY_MAX];
    size_t kl = ms_layout_key_vol(key, vol), vl;
    const void *p = kl ? get(v, r, key, kl, &vl) : NULL;
    if (p == NULL) {
        *r = vol_absent(v, *r);
        return 0;
    }
    if (ms_layout_vol_decode(p, vl, out) != 0) {
        *r = verdict(*r, MS_READ_TORN, "malformed vol record");
        return 0;
    }
    return 1;
}

ms_read_result ms_ops_get_vol(const ms_view *v, uint64_t vol) {
    ms_read_result r = start(v);
    ms_layout_vol rec;
    if (!final(&r)) vol_load(v, vol, &r, &rec);
    return r;
}

/* Rule 5: the partition keys under the vol's prefix against its list, in
 * one ordered walk beside the list. Keys come in decimal-string order of
 * their ids (ms_layout.h), which interleaves the list's runs of ids with the
 * same number of digits: each record's id is compared with the head of its
 * run (ms_layout_ids_runs), so the walk is still one pass. A list that is
 * not strictly ascending (never written so) is torn. A record counts as
 * decoding when ms_layout_part_check accepts it, which is exactly when
 * ms_layout_part_decode would, so rule 3 gives the verdict a full decode
 * would; the id compared is the record's own id field. r holds what reading
 * the vol record gave. */
static ms_read_result parts_scan(const ms_view *v, ms_read_result r, const ms_layout_vol *rec,
                                 const char *pfx, size_t pl, int meta) {
    ms_layout_ids_runs want;
    if (ms_layout_ids_runs_begin(&want, meta ? &rec->mps : &rec->dps) != 0)
        return verdict(r, MS_READ_TORN, "partition list out of order");
    ms_iter it;
    ms_iter_prefix(&it, v, pfx, pl);
    ms_kv kv[64];
    size_t got;
    while ((got = ms_iter_next_batch(&it, kv, sizeof kv / sizeof kv[0])) > 0) {
        for (size_t j = 0; j < got; j++) {
            uint64_t id;
            r.entries++;
            r.bytes += kv[j].klen + kv[j].vlen;
            if (ms_layout_part_check(kv[j].v, kv[j].vlen, &id, NULL) != 0)
                return verdict(r, MS_READ_TORN, "malformed partition record");
            unsigned d = ms_layout_id_digits(id);
            if (want.has[d] && want.head[d] < id)
                return verdict(r, MS_READ_TORN, "listed partition missing");
            if (!want.has[d] || want.head[d] != id)
                return verdict(r, MS_READ_TORN, "partition not listed by its vol");
            ms_layout_ids_runs_next(&want, d);
        }
    }
    if (ms_layout_ids_runs_any(&want)) return verdict(r, MS_READ_TORN, "listed partition missing");
    return r;
}

static size_t parts_prefix(char *pfx, uint64_t vol, int meta) {
    return meta ? ms_layout_key_mp_prefix(pfx, vol) : ms_layout_key_dp_prefix(pfx, vol);
}

static ms_read_result parts(const ms_view *v, uint64_t vol, int meta) {
    ms_read_result r = start(v);
    ms_layout_vol rec;
    if (final(&r) || !vol_load(v, vol, &r, &rec)) return r;
    char pfx[MS_LAYOUT_KEY_MAX];
    return parts_scan(v, r, &rec, pfx, parts_prefix(pfx, vol, meta), meta);
}

ms_read_result ms_ops_get_partitions(const ms_view *v, uint64_t vol) {
    return parts(v, vol, 0);
}

ms_read_result ms_ops_get_meta_partitions(const ms_view *v, uint64_t vol) {
    return parts(v, vol, 1);
}

static int ids_contain(const ms_layout_ids *ids, uint64_t id) {
    ms_layout_ids_cur c;
    uint64_t x;
    ms_layout_ids_begin(&c, ids);
    while (ms_layout_ids_next(&c, &x))
        if (x == id) return 1;
    return 0;
}

ms_read_result ms_ops_get_dp(const ms_view *v, uint64_t vol, uint64_t dp) {
    ms_read_result r = start(v);
    ms_layout_vol rec;
    if (final(&r) || !vol_load(v, vol, &r, &rec)) return r;
    char key[MS_LAYOUT_KEY_MAX];
    size_t kl = ms_layout_key_dp(key, vol, dp), vl;
    const void *p = kl ? get(v, &r, key, kl, &vl) : NULL;
    uint64_t pvol;
    if (p == NULL)
        return ids_contain(&rec.dps, dp) ? verdict(r, MS_READ_TORN, "listed partition missing")
                                         : verdict(r, MS_READ_NOT_FOUND, "no such partition");
    if (ms_layout_part_check(p, vl, NULL, &pvol) != 0 || pvol != vol)
        return verdict(r, MS_READ_TORN, "malformed partition record");
    return r;
}

/* The first key under prefix, charged and decoded as a node: 1 found, 0
 * absent, -1 malformed. */
static int node_find(const ms_view *v, ms_read_result *r, const char *pfx, size_t pl) {
    ms_iter it;
    size_t vl;
    ms_layout_node n;
    ms_iter_prefix(&it, v, pfx, pl);
    if (!ms_iter_next(&it)) return 0;
    charge(r, &it);
    const void *p = ms_iter_value(&it, &vl);
    return ms_layout_node_decode(p, vl, &n) == 0 ? 1 : -1;
}

ms_read_result ms_ops_get_node(const ms_view *v, uint64_t id) {
    ms_read_result r = start(v);
    if (final(&r)) return r;
    char pfx[MS_LAYOUT_KEY_MAX];
    int found = 0;
    for (int meta = 0; meta < 2 && found == 0; meta++) {
        size_t pl = meta ? ms_layout_key_mn(pfx, id, NULL) : ms_layout_key_dn(pfx, id, NULL);
        if (pl) found = node_find(v, &r, pfx, pl);
    }
    if (found < 0) return verdict(r, MS_READ_TORN, "malformed node record");
    if (found) return r;
    ms_layout_cluster c;
    if (cluster_load(v, &r, &c, 0) != 0) return r;
    if (count_prefix(v, "#dn#") == c.data_nodes && count_prefix(v, "#mn#") == c.meta_nodes)
        return verdict(r, MS_READ_NOT_FOUND, "no such node");
    return verdict(r, MS_READ_TORN, "node record missing");
}

ms_read_result ms_ops_get_cluster(const ms_view *v) {
    ms_read_result r = start(v);
    ms_layout_cluster c;
    if (final(&r) || cluster_load(v, &r, &c, 1) != 0) return r;
    static const char *const alloc[] = {MS_LAYOUT_KEY_MAX_DP, MS_LAYOUT_KEY_MAX_MP,
                                        MS_LAYOUT_KEY_MAX_COMMON};
    for (int i = 0; i < 3; i++) {
        size_t vl;
        uint64_t x;
        const void *p = get(v, &r, alloc[i], strlen(alloc[i]), &vl);
        if (p == NULL || ms_layout_u64_decode(p, vl, &x) != 0)
            return verdict(r, MS_READ_TORN, "id allocator missing");
    }
    return r;
}

ms_read_result ms_ops_list_vols(const ms_view *v) {
    ms_read_result r = start(v);
    ms_layout_cluster c;
    if (final(&r) || cluster_load(v, &r, &c, 1) != 0) return r;
    ms_iter it;
    uint64_t n = 0;
    ms_iter_prefix(&it, v, MS_LAYOUT_PREFIX_VOL, strlen(MS_LAYOUT_PREFIX_VOL));
    while (ms_iter_next(&it)) {
        size_t vl;
        ms_layout_vol rec;
        const void *p = ms_iter_value(&it, &vl);
        charge(&r, &it);
        if (ms_layout_vol_decode(p, vl, &rec) != 0)
            return verdict(r, MS_READ_TORN, "malformed vol record");
        n++;
    }
    if (n != c.vols) return verdict(r, MS_READ_TORN, "vol list shorter than the cluster record");
    return r;
}

ms_read_result ms_ops_run(const ms_view *v, ms_read_op op, uint64_t a, uint64_t b) {
    switch (op) {
    case MS_OP_GET_VOL:
        return ms_ops_get_vol(v, a);
    case MS_OP_GET_PARTITIONS:
        return ms_ops_get_partitions(v, a);
    case MS_OP_GET_META_PARTITIONS:
        return ms_ops_get_meta_partitions(v, a);
    case MS_OP_GET_DP:
        return ms_ops_get_dp(v, a, b);
    case MS_OP_GET_NODE:
        return ms_ops_get_node(v, a);
    case MS_OP_GET_CLUSTER:
        return ms_ops_get_cluster(v);
    case MS_OP_LIST_VOLS:
        return ms_ops_list_vols(v);
    default:
        break;
    }
    ms_read_result r = {MS_READ_UNUSABLE, "unknown op", 0, 0, 0};
    return r;
}

/* --- the memo ------------------------------------------------------------- */

/* Slots are packed (a memo is resident in full once a run has read 4096
 * vols: 3 masters x 4096 x (256 + 96) bytes, 4.3 MB). */
#define MEMO_SLOTS 4096 /* direct-mapped by (vol, meta) */
#define MEMO_LEAVES 16  /* longest leaf run remembered */

/* What parts() found for one (vol, meta) past rules 1-2, and the stamps it
 * depends on: the vol record's entry and the leaves of the partition range. */
typedef struct memo_slot {
    uint64_t vol, vol_stamp;
    uint64_t cover;   /* ms_view_prefix_cover when the leaves were last checked */
    ms_hint cover_at; /* the descent to the cover */
    uint64_t leaf[MEMO_LEAVES];
    const char *why;
    uint64_t entries, bytes;
    int8_t meta, nleaves; /* nleaves 0: nothing remembered */
    uint8_t verdict;      /* an ms_read_verdict */
} memo_slot;

/* One vol's record: the descent to it, and whether the entry whose stamp
 * is `decoded` decodes (get_vol; 0: not known). */
typedef struct vol_slot {
    uint64_t vol;
    uint64_t decoded;
    ms_hint at;
    uint8_t used, decodes;
} vol_slot;

/* A whole result for the tree whose root had stamp root (0: none). */
typedef struct root_slot {
    uint64_t root;
    ms_read_result r;
} root_slot;

struct ms_ops_memo {
    memo_slot slot[MEMO_SLOTS];
    vol_slot vols[MEMO_SLOTS];
    root_slot head;    /* rules 1-2 (the applied key) */
    root_slot cluster; /* get_cluster */
    ms_ops_memo_stats st;
};

ms_ops_memo *ms_ops_memo_new(void) {
    return calloc(1, sizeof(ms_ops_memo));
}

void ms_ops_memo_free(ms_ops_memo *m) {
    free(m);
}

ms_ops_memo_stats ms_ops_memo_stats_get(const ms_ops_memo *m) {
    return m->st;
}

/* read(v) through sl: read once per tree (the root's stamp tells), the
 * store state looked at every time. */
static ms_read_result per_tree(root_slot *sl, const ms_view *v,
                               ms_read_result (*read)(const ms_view *)) {
    uint64_t root = ms_view_stamp(v);
    if (v->state != MS_STORE_OPEN || root == 0) return read(v);
    if (sl->root != root) *sl = (root_slot){root, read(v)};
    return sl->r;
}

/* start() through the memo: every read reads the applied key, and a
 * master's tree changes once per entry applied. */
static ms_read_result start_memo(ms_ops_memo *m, const ms_view *v) {
    return per_tree(&m->head, v, start);
}

/* vol's record in v, not charged, found through its slot's hint: its value
 * (NULL when absent), value length, the bytes charging it would add (key +
 * value) and the stamp of its entry; *slp the vol's slot. */
static const void *vol_stamped(ms_ops_memo *m, const ms_view *v, uint64_t vol, vol_slot **slp,
                               size_t *vl, size_t *bytes, uint64_t *stamp) {
    vol_slot *sl = *slp = &m->vols[vol % MEMO_SLOTS];
    if (!sl->used || sl->vol != vol) *sl = (vol_slot){.vol = vol, .used = 1};
    char key[MS_LAYOUT_KEY_MAX];
    size_t kl = ms_layout_key_vol(key, vol);
    const void *p = kl ? ms_view_get_hinted(v, key, kl, vl, stamp, &sl->at) : NULL;
    if (p) *bytes = kl + *vl;
    return p;
}

/* parts() through the memo: rules 1-2 and the vol record are read every
 * time; the scan of the range is skipped when the vol record's entry and
 * the range's leaves carry the stamps they had when the slot was filled (so
 * hold the same bytes: ms_store.h), and its outcome reused. */
static ms_read_result parts_memo(ms_ops_memo *m, const ms_view *v, uint64_t vol, int meta) {
    ms_read_result r = start_memo(m, v);
    if (final(&r)) return r;
    char pfx[MS_LAYOUT_KEY_MAX];
    size_t vl, vb;
    uint64_t vs;
    vol_slot *vsl;
    const void *p = vol_stamped(m, v, vol, &vsl, &vl, &vb, &vs);
    if (p == NULL) return parts(v, vol, meta); /* rule 4: not remembered */
    size_t pl = parts_prefix(pfx, vol, meta);
    memo_slot *sl = &m->slot[(vol * 2 + (uint64_t)meta) % MEMO_SLOTS];
    if (sl->vol != vol || sl->meta != meta) *sl = (memo_slot){.vol = vol, .meta = meta};
    int mine = sl->nleaves > 0 && sl->vol_stamp == vs;
    /* first the subtree around the range (no leaf read), then its leaves */
    uint64_t cover = ms_view_prefix_cover_hinted(v, pfx, pl, &sl->cover_at), leaf[MEMO_LEAVES];
    int nl = mine && cover == sl->cover ? sl->nleaves
                                        : ms_view_prefix_stamps(v, pfx, pl, leaf, MEMO_LEAVES);
    if (mine && (cover == sl->cover ||
                 (nl == sl->nleaves && memcmp(sl->leaf, leaf, (size_t)nl * sizeof leaf[0]) == 0))) {
        m->st.hits++;
        m->st.covered += cover == sl->cover;
        sl->cover = cover; /* the range is as remembered inside this subtree */
        r.verdict = sl->verdict;
        r.why = sl->why;
        r.entries = sl->entries;
        r.bytes = sl->bytes;
        return r;
    }
    m->st.misses++;
    r.entries++;
    r.bytes += vb;
    ms_layout_vol rec;
    if (ms_layout_vol_decode(p, vl, &rec) != 0)
        r = verdict(r, MS_READ_TORN, "malformed vol record");
    else
        r = parts_scan(v, r, &rec, pfx, pl, meta);
    sl->nleaves = nl > 0 ? nl : 0; /* -1 (too many leaves): not remembered */
    if (nl > 0) {
        sl->vol_stamp = vs;
        sl->cover = cover;
        sl->verdict = r.verdict;
        sl->why = r.why;
        sl->entries = r.entries;
        sl->bytes = r.bytes;
        memcpy(sl->leaf, leaf, (size_t)nl * sizeof leaf[0]);
    }
    return r;
}

/* ms_ops_get_vol through the memo: the record is found every time, and
 * decoded only when its entry is not the one last seen for the vol. */
static ms_read_result vol_memo(ms_ops_memo *m, const ms_view *v, uint64_t vol) {
    ms_read_result r = start_memo(m, v);
    if (final(&r)) return r;
    size_t vl, vb;
    uint64_t vs;
    vol_slot *sl;
    const void *p = vol_stamped(m, v, vol, &sl, &vl, &vb, &vs);
    if (p == NULL) return ms_ops_get_vol(v, vol); /* rule 4: not remembered */
    r.entries++;
    r.bytes += vb;
    if (sl->decoded == vs) {
        m->st.vol_hits++;
    } else {
        m->st.vol_misses++;
        ms_layout_vol rec;
        sl->decoded = vs;
        sl->decodes = ms_layout_vol_decode(p, vl, &rec) == 0;
    }
    return sl->decodes ? r : verdict(r, MS_READ_TORN, "malformed vol record");
}

ms_read_result ms_ops_run_memo(ms_ops_memo *m, const ms_view *v, ms_read_op op, uint64_t a,
                               uint64_t b) {
    if (m && op == MS_OP_GET_VOL) return vol_memo(m, v, a);
    if (m && op == MS_OP_GET_CLUSTER) return per_tree(&m->cluster, v, ms_ops_get_cluster);
    if (m && (op == MS_OP_GET_PARTITIONS || op == MS_OP_GET_META_PARTITIONS))
        return parts_memo(m, v, a, op == MS_OP_GET_META_PARTITIONS);
    return ms_ops_run(v, op, a, b);
}

const char *ms_ops_op_name(ms_read_op op) {
    return (unsigned)op < MS_OP_COUNT ? op_names[op] : NULL;
}

int ms_ops_op_parse(const char *name, ms_read_op *op) {
    for (int i = 0; i < MS_OP_COUNT; i++) {
        if (strcmp(name, op_names[i]) == 0) {
            *op = (ms_read_op)i;
            return 0;
        }
    }
    return -1;
}

const char *ms_ops_verdict_name(ms_read_verdict v) {
    static const char *const names[] = {"complete", "not_found", "torn", "crash", "unusable"};
    return (unsigned)v < sizeof names / sizeof names[0] ? names[v] : "unknown";
}

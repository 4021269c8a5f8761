/* Cluster image generator: assign partitions to vols, group them per vol,
 * then write every record in key order within its kind (ascending runs keep
 * the store's leaves full). Key order is the decimal-string order of the ids
 * (ms_layout.h): vols 1, 10, 100, 2, ...; a vol's partitions likewise. The
 * seed's draws are made in that order too. */
#include "ms_gen.h"

#include "ms_drive.h"
#include "ms_layout.h"
#include "ms_rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIB (UINT64_C(1) << 30)
#define MP_RANGE (UINT64_C(1) << 24) /* inodes per meta partition */
#define MAX_REPLICAS 16

/* Partitions of one kind grouped by vol: ids of vol v are
 * ids[off[v-1] .. off[v]), ascending. */
typedef struct group {
    uint64_t *off; /* V + 1 offsets */
    uint64_t *ids;
} group;

typedef struct gen {
    ms_store *s;
    ms_rng rng;
    ms_gen_stats st;
    uint64_t V, D, M, DN, MN, U;
    uint32_t R;
    uint64_t max_rss;
    group dp, mp;
    uint64_t *load; /* replicas hosted, per node (data nodes then meta nodes) */
    unsigned char *buf;
    size_t cap;
    char *err;
    size_t errlen;
} gen;

static int fail(gen *g, const char *what) {
    snprintf(g->err, g->errlen, "ms_gen: %s", what);
    return -1;
}

static int put(gen *g, const char *k, size_t kl, const void *v, size_t vl) {
    if (kl == 0) return fail(g, "an id does not fit the key layout");
    if (g->max_rss && (g->st.keys & 0xffff) == 0xffff) {
        uint64_t rss = ms_drive_rss();
        if (rss > g->max_rss) {
            snprintf(g->err, g->errlen,
                     "ms_gen: memory budget of %llu bytes exceeded (resident %llu bytes "
                     "after %llu keys)",
                     (unsigned long long)g->max_rss, (unsigned long long)rss,
                     (unsigned long long)g->st.keys);
            return -1;
        }
    }
    if (ms_store_put(g->s, k, kl, v, vl) != 0) return fail(g, "out of memory");
    g->st.keys++;
    g->st.key_bytes += kl;
    g->st.value_bytes += vl;
    return 0;
}

/* Make the scratch buffer hold n bytes; -1 when out of memory. */
static int reserve(gen *g, size_t n) {
    if (n <= g->cap) return 0;
    size_t cap = g->cap ? g->cap : 256;
    while (cap < n) cap *= 2;
    unsigned char *b = realloc(g->buf, cap);
    if (b == NULL) return fail(g, "out of memory");
    g->buf = b;
    g->cap = cap;
    return 0;
}

/* Assign n partitions to vols (the first V one each, the rest drawn) and
 * group them per vol. */
static int group_build(gen *g, group *gr, uint64_t n) {
    uint64_t *vol = malloc(n * sizeof *vol);
    gr->off = calloc(g->V + 1, sizeof *gr->off);
    gr->ids = malloc(n * sizeof *gr->ids);
    if (vol == NULL || gr->off == NULL || gr->ids == NULL) {
        free(vol);
        return fail(g, "out of memory");
    }
    for (uint64_t i = 0; i < n; i++) {
        vol[i] = i < g->V ? i + 1 : 1 + ms_rng_below(&g->rng, g->V);
        gr->off[vol[i]]++;
    }
    for (uint64_t v = 1; v <= g->V; v++) gr->off[v] += gr->off[v - 1];
    /* off[v-1] is vol v's start: use it as a cursor (ids come out ascending),
     * which leaves off[v-1] at vol v's end, then shift back */
    for (uint64_t i = 0; i < n; i++) gr->ids[gr->off[vol[i] - 1]++] = i + 1;
    memmove(gr->off + 1, gr->off, g->V * sizeof *gr->off);
    gr->off[0] = 0;
    free(vol);
    return 0;
}

static void group_free(group *gr) {
    free(gr->off);
    free(gr->ids);
}

/* Draw R distinct nodes among count nodes starting at first (node ids). */
static void pick_hosts(gen *g, uint64_t first, uint64_t count, uint64_t *hosts) {
    for (uint32_t i = 0; i < g->R; i++) {
        uint64_t h;
        int dup;
        do {
            h = ms_rng_below(&g->rng, count);
            dup = 0;
            for (uint32_t j = 0; j < i; j++) dup |= hosts[j] == first + h;
        } while (dup);
        hosts[i] = first + h;
        g->load[first + h - (g->V + 1)]++;
    }
}

/* The id after x among 1..n in decimal-string order (1, 10, 11, ..., 2, 20,
 * ...); 0 after the last. n <= MS_LAYOUT_ID_MAX. */
static uint64_t key_next(uint64_t x, uint64_t n) {
    if (x * 10 <= n) return x * 10;
    while (x && (x % 10 == 9 || x + 1 > n)) x /= 10;
    return x ? x + 1 : 0;
}

static int by_key(const void *a, const void *b) {
    return ms_layout_id_cmp(*(const uint64_t *)a, *(const uint64_t *)b);
}

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The index of id, which is there, in the ascending ids[0..n). */
static uint64_t index_of(const uint64_t *ids, uint64_t n, uint64_t id) {
    return (uint64_t)((const uint64_t *)bsearch(&id, ids, n, sizeof *ids, by_value) - ids);
}

/* All partitions of one kind in key order: vols in key order, each vol's
 * ids in key order (a copy in order; an mp's inode range still follows its
 * rank among the vol's ids). */
static int write_parts(gen *g, const group *gr, int kind) {
    uint64_t hosts[MAX_REPLICAS];
    char key[MS_LAYOUT_KEY_MAX];
    int dp = kind == MS_REC_DP;
    uint64_t most = 0;
    for (uint64_t v = 1; v <= g->V; v++)
        if (gr->off[v] - gr->off[v - 1] > most) most = gr->off[v] - gr->off[v - 1];
    uint64_t *order = malloc(most * sizeof *order);
    if (order == NULL) return fail(g, "out of memory");
    int rc = 0;
    for (uint64_t v = 1; v != 0 && rc == 0; v = key_next(v, g->V)) {
        const uint64_t *ids = gr->ids + gr->off[v - 1];
        uint64_t n = gr->off[v] - gr->off[v - 1];
        memcpy(order, ids, n * sizeof *order);
        qsort(order, n, sizeof *order, by_key);
        for (uint64_t i = 0; i < n && rc == 0; i++) {
            uint64_t id = order[i];
            uint64_t j = dp ? 0 : index_of(ids, n, id);
            ms_layout_part p = {(uint8_t)kind, 0, id, v, 0, 0, ms_layout_ids_array(g->R, hosts)};
            if (!dp) {
                p.start = j * MP_RANGE + 1;
                p.end = j + 1 == n ? UINT64_MAX : (j + 1) * MP_RANGE;
            }
            pick_hosts(g, dp ? g->V + 1 : g->V + g->DN + 1, dp ? g->DN : g->MN, hosts);
            size_t len = ms_layout_part_encode(&p, g->buf, g->cap);
            size_t kl = dp ? ms_layout_key_dp(key, v, id) : ms_layout_key_mp(key, v, id);
            rc = put(g, key, kl, g->buf, len);
        }
    }
    free(order);
    return rc;
}

static int write_vols(gen *g) {
    char key[MS_LAYOUT_KEY_MAX], name[32], owner[32];
    for (uint64_t v = 1; v != 0; v = key_next(v, g->V)) {
        uint64_t nmp = g->mp.off[v] - g->mp.off[v - 1], ndp = g->dp.off[v] - g->dp.off[v - 1];
        snprintf(name, sizeof name, "vol%06llu", (unsigned long long)v);
        snprintf(owner, sizeof owner, "user%06llu",
                 (unsigned long long)(g->U ? (v - 1) % g->U : 0));
        ms_layout_vol r = {v,
                           (1 + ms_rng_below(&g->rng, 1024)) * GIB,
                           0,
                           {name, (uint16_t)strlen(name)},
                           {owner, (uint16_t)(g->U ? strlen(owner) : 0)},
                           ms_layout_ids_array((uint32_t)nmp, g->mp.ids + g->mp.off[v - 1]),
                           ms_layout_ids_array((uint32_t)ndp, g->dp.ids + g->dp.off[v - 1])};
        size_t n = ms_layout_vol_encode(&r, NULL, 0);
        if (reserve(g, n) != 0) return -1;
        ms_layout_vol_encode(&r, g->buf, g->cap);
        if (put(g, key, ms_layout_key_vol(key, v), g->buf, n) != 0) return -1;
    }
    return 0;
}

/* Data nodes, then meta nodes, each kind in key order. */
static int write_nodes(gen *g) {
    char key[MS_LAYOUT_KEY_MAX], addr[32];
    uint64_t *order = malloc((g->DN + g->MN) * sizeof *order);
    if (order == NULL) return fail(g, "out of memory");
    for (uint64_t i = 0; i < g->DN + g->MN; i++) order[i] = g->V + 1 + i;
    qsort(order, g->DN, sizeof *order, by_key);
    qsort(order + g->DN, g->MN, sizeof *order, by_key);
    int rc = 0;
    for (uint64_t k = 0; k < g->DN + g->MN && rc == 0; k++) {
        uint64_t id = order[k], i = id - (g->V + 1);
        int meta = i >= g->DN;
        snprintf(addr, sizeof addr, "10.%u.%u.%u:%u", (unsigned)(i >> 16) & 255,
                 (unsigned)(i >> 8) & 255, (unsigned)i & 255, meta ? 17210u : 17310u);
        uint64_t total = (4 + ms_rng_below(&g->rng, 13)) * 1024 * GIB;
        uint64_t used = g->load[i] * (meta ? 2 : 40) * GIB;
        ms_layout_node r = {meta ? MS_REC_METANODE : MS_REC_DATANODE,
                            id,
                            (uint32_t)(1 + i % 3),
                            total,
                            used < total ? used : total,
                            {addr, (uint16_t)strlen(addr)}};
        size_t n = ms_layout_node_encode(&r, g->buf, g->cap);
        size_t kl = meta ? ms_layout_key_mn(key, id, addr) : ms_layout_key_dn(key, id, addr);
        rc = put(g, key, kl, g->buf, n);
    }
    free(order);
    return rc;
}

static int write_users(gen *g) {
    char key[MS_LAYOUT_KEY_MAX], uid[32];
    uint64_t per = g->U ? (g->V + g->U - 1) / g->U : 0;
    uint64_t *vols = malloc((per + 1) * sizeof *vols);
    if (vols == NULL) return fail(g, "out of memory");
    int rc = 0;
    for (uint64_t u = 0; u < g->U && rc == 0; u++) {
        uint32_t n = 0;
        for (uint64_t v = u + 1; v <= g->V; v += g->U) vols[n++] = v;
        snprintf(uid, sizeof uid, "user%06llu", (unsigned long long)u);
        ms_layout_user r = {
            u == 0 ? 1 : 2, {uid, (uint16_t)strlen(uid)}, ms_layout_ids_array(n, vols)};
        size_t len = ms_layout_user_encode(&r, NULL, 0);
        rc = reserve(g, len);
        if (rc == 0) {
            ms_layout_user_encode(&r, g->buf, g->cap);
            rc = put(g, key, ms_layout_key_user(key, uid), g->buf, len);
        }
    }
    free(vols);
    return rc;
}

static int write_cluster(gen *g, const char *name, uint64_t applied) {
    char key[MS_LAYOUT_KEY_MAX];
    unsigned char u[8];
    uint64_t common = g->V + g->DN + g->MN;
    ms_layout_cluster c = {
        {name, (uint16_t)strlen(name)}, g->V, g->D, g->M, g->DN, g->MN, g->U, g->D, g->M, common};
    size_t n = ms_layout_cluster_encode(&c, g->buf, g->cap);
    if (put(g, key, ms_layout_key_cluster(key, name), g->buf, n) != 0) return -1;
    const char *names[] = {MS_LAYOUT_KEY_MAX_DP, MS_LAYOUT_KEY_MAX_MP, MS_LAYOUT_KEY_MAX_COMMON,
                           MS_LAYOUT_KEY_APPLIED};
    const uint64_t vals[] = {g->D, g->M, common, applied};
    for (int i = 0; i < 4; i++) {
        ms_layout_u64_encode(u, vals[i]);
        if (put(g, names[i], strlen(names[i]), u, 8) != 0) return -1;
    }
    ms_store_set_applied(g->s, applied);
    return 0;
}

/* Resolve defaults into g; -1 with a message naming the field. */
static int check_desc(gen *g, const ms_gen_desc *d, const char *name) {
    g->V = d->volumes;
    g->D = d->data_partitions;
    g->M = d->meta_partitions;
    g->DN = d->data_nodes && d->meta_nodes ? d->data_nodes : d->nodes - d->nodes / 2;
    g->MN = d->data_nodes && d->meta_nodes ? d->meta_nodes : d->nodes / 2;
    g->U = d->users;
    g->R = d->replicas ? d->replicas : 3;
    g->max_rss = d->max_rss;
    if (ms_store_count(g->s) != 0) return fail(g, "the store is not empty");
    if (g->V < 1) return fail(g, "volumes must be >= 1");
    if (g->D < g->V) return fail(g, "data_partitions must be >= volumes");
    if (g->M < g->V) return fail(g, "meta_partitions must be >= volumes");
    if (g->R > MAX_REPLICAS) return fail(g, "replicas must be <= 16");
    if (g->DN < g->R || g->MN < g->R)
        return fail(g, "nodes: need at least `replicas` data nodes and meta nodes");
    if (g->D > MS_LAYOUT_ID_MAX || g->M > MS_LAYOUT_ID_MAX ||
        g->V + g->DN + g->MN > MS_LAYOUT_ID_MAX)
        return fail(g, "too many ids for the key layout");
    if (g->V > UINT32_MAX / 2 || g->U > UINT32_MAX / 2)
        return fail(g, "volumes or users too large");
    if (strlen(name) > MS_LAYOUT_NAME_MAX) return fail(g, "cluster name too long");
    return 0;
}

int ms_gen_build(ms_store *s, const ms_gen_desc *d, uint64_t seed, ms_gen_stats *st, char *err,
                 size_t errlen) {
    char dummy[1];
    gen g = {.s = s, .err = err ? err : dummy, .errlen = err ? errlen : sizeof dummy};
    const char *name = d->cluster ? d->cluster : "mastersim";
    if (check_desc(&g, d, name) != 0) return -1;
    ms_rng_init(&g.rng, seed, "gen");
    int rc = -1;
    g.load = calloc(g.DN + g.MN, sizeof *g.load);
    if (g.load == NULL || reserve(&g, 1024) != 0) {
        fail(&g, "out of memory");
        goto out;
    }
    if (group_build(&g, &g.dp, g.D) != 0 || group_build(&g, &g.mp, g.M) != 0) goto out;
    if (write_parts(&g, &g.dp, MS_REC_DP) != 0 || write_parts(&g, &g.mp, MS_REC_MP) != 0 ||
        write_vols(&g) != 0 || write_nodes(&g) != 0 || write_users(&g) != 0 ||
        write_cluster(&g, name, d->applied ? d->applied : 1) != 0)
        goto out;
    rc = 0;
    if (st) *st = g.st;
out:
    group_free(&g.dp);
    group_free(&g.mp);
    free(g.load);
    free(g.buf);
    return rc;
}

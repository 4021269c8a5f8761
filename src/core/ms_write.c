/* Writes applied to a store. Records decoded from the store point into it
 * and die at the next write, so each function copies what it needs first. */
#include "ms_write.h"

#include "ms_layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

size_t ms_write_encode(const ms_write *w, unsigned char *buf) {
    unsigned char *p = buf;
    *p++ = w->op;
    put_u64(p, w->vol), p += 8;
    put_u64(p, w->node), p += 8;
    put_u64(p, w->used), p += 8;
    for (int i = 0; i < MS_WRITE_HOSTS; i++) put_u64(p, w->dp_hosts[i]), p += 8;
    for (int i = 0; i < MS_WRITE_HOSTS; i++) put_u64(p, w->mp_hosts[i]), p += 8;
    return (size_t)(p - buf);
}

int ms_write_decode(const void *data, size_t n, ms_write *w) {
    const unsigned char *p = data;
    if (n != MS_WRITE_BYTES || p[0] < MS_W_CREATE_VOL || p[0] > MS_W_DELETE_VOL) return -1;
    w->op = *p++;
    w->vol = get_u64(p), p += 8;
    w->node = get_u64(p), p += 8;
    w->used = get_u64(p), p += 8;
    for (int i = 0; i < MS_WRITE_HOSTS; i++) w->dp_hosts[i] = get_u64(p), p += 8;
    for (int i = 0; i < MS_WRITE_HOSTS; i++) w->mp_hosts[i] = get_u64(p), p += 8;
    return 0;
}

static const char *const names[] = {NULL, "create_vol", "create_dp", "heartbeat", "delete_vol"};

const char *ms_write_op_name(int op) {
    return op >= 1 && op <= 4 ? names[op] : NULL;
}

int ms_write_op_parse(const char *name, ms_write_op *op) {
    for (int i = 1; i <= 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            *op = (ms_write_op)i;
            return 0;
        }
    }
    return -1;
}

/* The working state of one apply: the cluster record (copied) and a
 * scratch buffer for encoding records. */
typedef struct {
    ms_store *s;
    ms_layout_cluster c;
    char cname[MS_LAYOUT_NAME_MAX + 1];
    unsigned char *buf;
    size_t cap;
    char *err;
    size_t errlen;
} apply_ctx;

static int fail(apply_ctx *a, const char *msg) {
    snprintf(a->err, a->errlen, "%s", msg);
    return -1;
}

static unsigned char *scratch(apply_ctx *a, size_t need) {
    if (need <= a->cap) return a->buf;
    unsigned char *n = realloc(a->buf, need);
    if (!n) return NULL;
    a->buf = n;
    a->cap = need;
    return n;
}

static int load_cluster(apply_ctx *a) {
    ms_view v = ms_store_view(a->s);
    ms_iter it;
    ms_iter_prefix(&it, &v, MS_LAYOUT_PREFIX_CLUSTER, strlen(MS_LAYOUT_PREFIX_CLUSTER));
    if (!ms_iter_next(&it)) return fail(a, "the store has no cluster record");
    size_t n;
    const void *p = ms_iter_value(&it, &n);
    if (ms_layout_cluster_decode(p, n, &a->c) != 0) return fail(a, "corrupt cluster record");
    memcpy(a->cname, a->c.name.p, a->c.name.len);
    a->cname[a->c.name.len] = '\0';
    a->c.name.p = a->cname;
    return 0;
}

static int put_u64_key(apply_ctx *a, const char *key, uint64_t v) {
    unsigned char b[8];
    ms_layout_u64_encode(b, v);
    return ms_store_put(a->s, key, strlen(key), b, 8);
}

static int save_cluster(apply_ctx *a) {
    char key[MS_LAYOUT_KEY_MAX];
    unsigned char *b = scratch(a, 512);
    if (!b) return fail(a, "out of memory");
    size_t n = ms_layout_cluster_encode(&a->c, b, a->cap);
    if (ms_store_put(a->s, key, ms_layout_key_cluster(key, a->cname), b, n) != 0 ||
        put_u64_key(a, MS_LAYOUT_KEY_MAX_DP, a->c.max_dp_id) != 0 ||
        put_u64_key(a, MS_LAYOUT_KEY_MAX_MP, a->c.max_mp_id) != 0 ||
        put_u64_key(a, MS_LAYOUT_KEY_MAX_COMMON, a->c.max_common_id) != 0)
        return fail(a, "out of memory");
    return 0;
}

static int put_part(apply_ctx *a, uint8_t kind, uint64_t id, uint64_t vol, const uint64_t *hosts) {
    char key[MS_LAYOUT_KEY_MAX];
    ms_layout_part r = {kind, 0, id, vol, 0, 0, ms_layout_ids_array(MS_WRITE_HOSTS, hosts)};
    if (kind == MS_REC_MP) r.end = UINT64_C(1) << 40;
    unsigned char *b = scratch(a, 256);
    if (!b) return fail(a, "out of memory");
    size_t n = ms_layout_part_encode(&r, b, a->cap);
    size_t kl = kind == MS_REC_DP ? ms_layout_key_dp(key, vol, id) : ms_layout_key_mp(key, vol, id);
    return ms_store_put(a->s, key, kl, b, n) == 0 ? 0 : fail(a, "out of memory");
}

/* Encode vol record r (ids given as arrays) and store it. */
static int put_vol(apply_ctx *a, const ms_layout_vol *r) {
    char key[MS_LAYOUT_KEY_MAX];
    size_t n = ms_layout_vol_encode(r, NULL, 0);
    unsigned char *b = scratch(a, n);
    if (!b) return fail(a, "out of memory");
    ms_layout_vol_encode(r, b, a->cap);
    return ms_store_put(a->s, key, ms_layout_key_vol(key, r->id), b, n) == 0
               ? 0
               : fail(a, "out of memory");
}

static int create_vol(apply_ctx *a, const ms_write *w) {
    uint64_t vol = ++a->c.max_common_id, dp = ++a->c.max_dp_id, mp = ++a->c.max_mp_id;
    char name[32];
    snprintf(name, sizeof name, "vol%06llu", (unsigned long long)vol);
    ms_layout_vol r = {vol,
                       UINT64_C(1) << 40,
                       0,
                       {name, (uint16_t)strlen(name)},
                       {"", 0},
                       ms_layout_ids_array(1, &mp),
                       ms_layout_ids_array(1, &dp)};
    if (put_part(a, MS_REC_DP, dp, vol, w->dp_hosts) != 0 ||
        put_part(a, MS_REC_MP, mp, vol, w->mp_hosts) != 0 || put_vol(a, &r) != 0)
        return -1;
    a->c.vols++, a->c.dps++, a->c.mps++;
    return save_cluster(a) == 0 ? 1 : -1;
}

/* Vol `id`'s record in the store, decoded into *r (pointing into the
 * store: valid until the next write): 1, 0 when absent, -1 corrupt. */
static int find_vol(apply_ctx *a, uint64_t id, ms_layout_vol *r) {
    char key[MS_LAYOUT_KEY_MAX];
    size_t n;
    const void *p = ms_store_get(a->s, key, ms_layout_key_vol(key, id), &n);
    if (!p) return 0;
    return ms_layout_vol_decode(p, n, r) == 0 ? 1 : fail(a, "corrupt vol record");
}

/* The vol record gets the new dp appended to its encoded list as it is
 * (its decoded form points into the store: written before anything else). */
static int create_dp(apply_ctx *a, const ms_write *w) {
    ms_layout_vol r;
    int found = find_vol(a, w->vol, &r);
    if (found <= 0) return found;
    uint64_t dp = ++a->c.max_dp_id;
    char key[MS_LAYOUT_KEY_MAX];
    size_t n = ms_layout_vol_encode_add_dp(&r, dp, NULL, 0);
    unsigned char *b = scratch(a, n);
    if (!b) return fail(a, "out of memory");
    ms_layout_vol_encode_add_dp(&r, dp, b, a->cap);
    if (ms_store_put(a->s, key, ms_layout_key_vol(key, w->vol), b, n) != 0)
        return fail(a, "out of memory");
    if (put_part(a, MS_REC_DP, dp, w->vol, w->dp_hosts) != 0) return -1;
    a->c.dps++;
    return save_cluster(a) == 0 ? 1 : -1;
}

static int delete_vol(apply_ctx *a, const ms_write *w) {
    ms_layout_vol r;
    int found = find_vol(a, w->vol, &r);
    if (found <= 0) return found;
    /* the lists point into the store, which the deletes change: copy them */
    uint32_t nmp = r.mps.n, ndp = r.dps.n;
    uint64_t *ids = malloc(sizeof *ids * ((size_t)nmp + ndp + 1)); /* + 1: never 0 */
    if (!ids) return fail(a, "out of memory");
    if (ms_layout_ids_copy(&r.mps, ids) != 0 || ms_layout_ids_copy(&r.dps, ids + nmp) != 0) {
        free(ids);
        return fail(a, "corrupt vol record");
    }
    char key[MS_LAYOUT_KEY_MAX];
    for (uint32_t i = 0; i < nmp; i++)
        ms_store_del(a->s, key, ms_layout_key_mp(key, w->vol, ids[i]));
    for (uint32_t i = 0; i < ndp; i++)
        ms_store_del(a->s, key, ms_layout_key_dp(key, w->vol, ids[nmp + i]));
    ms_store_del(a->s, key, ms_layout_key_vol(key, w->vol));
    a->c.vols--, a->c.mps -= nmp, a->c.dps -= ndp;
    free(ids);
    return save_cluster(a) == 0 ? 1 : -1;
}

/* The node record under prefix "#dn#<id>#" or "#mn#<id>#", rewritten with
 * the new used bytes. */
static int heartbeat(apply_ctx *a, const ms_write *w) {
    char pfx[MS_LAYOUT_KEY_MAX];
    for (int k = 0; k < 2; k++) {
        size_t pl =
            k == 0 ? ms_layout_key_dn(pfx, w->node, NULL) : ms_layout_key_mn(pfx, w->node, NULL);
        ms_view v = ms_store_view(a->s);
        ms_iter it;
        ms_iter_prefix(&it, &v, pfx, pl);
        if (!ms_iter_next(&it)) continue;
        size_t kl, vl;
        const void *kp = ms_iter_key(&it, &kl);
        const void *vp = ms_iter_value(&it, &vl);
        ms_layout_node r;
        if (ms_layout_node_decode(vp, vl, &r) != 0) return fail(a, "corrupt node record");
        char key[MS_LAYOUT_KEY_MAX], addr[MS_LAYOUT_NAME_MAX + 1];
        if (kl >= sizeof key || r.addr.len > MS_LAYOUT_NAME_MAX) return fail(a, "bad node record");
        memcpy(key, kp, kl);
        memcpy(addr, r.addr.p, r.addr.len);
        r.addr.p = addr;
        r.used = w->used < r.total ? w->used : r.total;
        unsigned char *b = scratch(a, 256);
        if (!b) return fail(a, "out of memory");
        size_t n = ms_layout_node_encode(&r, b, a->cap);
        return ms_store_put(a->s, key, kl, b, n) == 0 ? 1 : fail(a, "out of memory");
    }
    return 0;
}

int ms_write_mark_applied(ms_store *s, uint64_t index) {
    unsigned char b[8];
    ms_layout_u64_encode(b, index);
    if (ms_store_put(s, MS_LAYOUT_KEY_APPLIED, strlen(MS_LAYOUT_KEY_APPLIED), b, 8) != 0) return -1;
    ms_store_set_applied(s, index);
    return 0;
}

int ms_write_apply(ms_store *s, const ms_write *w, uint64_t index, char *err, size_t errlen) {
    apply_ctx a = {.s = s, .err = err, .errlen = errlen};
    int rc = load_cluster(&a);
    if (rc == 0) {
        switch (w->op) {
        case MS_W_CREATE_VOL:
            rc = create_vol(&a, w);
            break;
        case MS_W_CREATE_DP:
            rc = create_dp(&a, w);
            break;
        case MS_W_HEARTBEAT:
            rc = heartbeat(&a, w);
            break;
        case MS_W_DELETE_VOL:
            rc = delete_vol(&a, w);
            break;
        default:
            rc = fail(&a, "unknown write op");
        }
    }
    free(a.buf);
    if (rc < 0) return -1;
    if (ms_write_mark_applied(s, index) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return rc;
}

/* CubeFS key layout and record codecs: a bounded writer that counts what
 * it would write, and a bounded reader that latches the first overrun. */
#include "ms_layout.h"

#include <string.h>

#define FORMAT MS_LAYOUT_FORMAT

/* --- keys --------------------------------------------------------------- */

/* Append 10 zero-padded digits of id (< 10^10) at buf[n]; new length.
 * Two digits a step: every read builds a key or two. */
static size_t put_id(char *buf, size_t n, uint64_t id) {
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    for (int i = 8; i >= 0; i -= 2) {
        memcpy(buf + n + (size_t)i, pairs + 2 * (id % 100), 2);
        id /= 100;
    }
    return n + 10;
}

static size_t put_str(char *buf, size_t n, const char *s) {
    size_t len = strlen(s);
    memcpy(buf + n, s, len);
    return n + len;
}

/* prefix, then ids (count 1 or 2), each followed by '#' except a lone last
 * one unless trail. */
static size_t key_ids(char *buf, const char *prefix, uint64_t a, const uint64_t *b, int trail) {
    if (a > MS_LAYOUT_ID_MAX || (b && *b > MS_LAYOUT_ID_MAX)) return 0;
    size_t n = put_id(buf, put_str(buf, 0, prefix), a);
    if (b || trail) buf[n++] = '#';
    if (b) n = put_id(buf, n, *b);
    buf[n] = '\0';
    return n;
}

static size_t key_name(char *buf, const char *prefix, const char *name) {
    if (name == NULL || strlen(name) > MS_LAYOUT_NAME_MAX) return 0;
    size_t n = put_str(buf, put_str(buf, 0, prefix), name);
    buf[n] = '\0';
    return n;
}

static size_t key_node(char *buf, const char *prefix, uint64_t id, const char *addr) {
    if (addr && strlen(addr) > MS_LAYOUT_NAME_MAX) return 0;
    size_t n = key_ids(buf, prefix, id, NULL, 1);
    if (n == 0 || addr == NULL) return n;
    n = put_str(buf, n, addr);
    buf[n] = '\0';
    return n;
}

size_t ms_layout_key_vol(char *buf, uint64_t vol) {
    return key_ids(buf, "#vol#", vol, NULL, 0);
}

size_t ms_layout_key_dp(char *buf, uint64_t vol, uint64_t dp) {
    return key_ids(buf, "#dp#", vol, &dp, 0);
}

size_t ms_layout_key_mp(char *buf, uint64_t vol, uint64_t mp) {
    return key_ids(buf, "#mp#", vol, &mp, 0);
}

size_t ms_layout_key_dp_prefix(char *buf, uint64_t vol) {
    return key_ids(buf, "#dp#", vol, NULL, 1);
}

size_t ms_layout_key_mp_prefix(char *buf, uint64_t vol) {
    return key_ids(buf, "#mp#", vol, NULL, 1);
}

size_t ms_layout_key_dn(char *buf, uint64_t id, const char *addr) {
    return key_node(buf, "#dn#", id, addr);
}

size_t ms_layout_key_mn(char *buf, uint64_t id, const char *addr) {
    return key_node(buf, "#mn#", id, addr);
}

size_t ms_layout_key_user(char *buf, const char *uid) {
    return key_name(buf, MS_LAYOUT_PREFIX_USER, uid);
}

size_t ms_layout_key_cluster(char *buf, const char *name) {
    return key_name(buf, MS_LAYOUT_PREFIX_CLUSTER, name);
}

int ms_layout_parse_vol_key(const void *key, size_t len, uint64_t *vol) {
    const char *k = key;
    if (len != 15 || memcmp(k, "#vol#", 5) != 0) return -1;
    uint64_t v = 0;
    for (size_t i = 5; i < 15; i++) {
        if (k[i] < '0' || k[i] > '9') return -1;
        v = v * 10 + (uint64_t)(k[i] - '0');
    }
    *vol = v;
    return 0;
}

/* --- bounded writer / reader --------------------------------------------- */

typedef struct wr {
    unsigned char *p;
    size_t cap, n; /* n counts every byte, written or not */
} wr;

static void w_bytes(wr *w, const void *src, size_t len) {
    if (w->n + len <= w->cap && len) memcpy(w->p + w->n, src, len);
    w->n += len;
}

static void w_uint(wr *w, uint64_t v, int width) {
    unsigned char b[8];
    for (int i = 0; i < width; i++) b[i] = (unsigned char)(v >> (8 * i));
    w_bytes(w, b, (size_t)width);
}

static void w_str(wr *w, ms_layout_str s) {
    w_uint(w, s.len, 2);
    w_bytes(w, s.p, s.len);
}

static void w_ids(wr *w, const ms_layout_ids *ids) {
    w_uint(w, ids->n, 4);
    if (ids->v == NULL) {
        w_bytes(w, ids->raw, (size_t)ids->n * 8);
        return;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* the wire order is the host's: one copy (a vol lists thousands) */
    w_bytes(w, ids->v, (size_t)ids->n * 8);
#else
    for (uint32_t i = 0; i < ids->n; i++) w_uint(w, ids->v[i], 8);
#endif
}

static void w_head(wr *w, void *buf, size_t cap, int kind) {
    w->p = buf;
    w->cap = buf ? cap : 0;
    w->n = 0;
    w_uint(w, (uint64_t)kind, 1);
    w_uint(w, FORMAT, 1);
}

typedef struct rd {
    const unsigned char *p;
    size_t n, off;
    int bad; /* set by the first read past the end */
} rd;

static const unsigned char *r_take(rd *r, size_t len) {
    if (r->bad || len > r->n - r->off) {
        r->bad = 1;
        return NULL;
    }
    const unsigned char *at = r->p + r->off;
    r->off += len;
    return at;
}

static uint64_t r_uint(rd *r, int width) {
    const unsigned char *b = r_take(r, (size_t)width);
    uint64_t v = 0;
    if (b)
        for (int i = width - 1; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

static ms_layout_str r_str(rd *r) {
    ms_layout_str s;
    s.len = (uint16_t)r_uint(r, 2);
    s.p = (const char *)r_take(r, s.len);
    return s;
}

static ms_layout_ids r_ids(rd *r) {
    ms_layout_ids ids = {0, NULL, NULL};
    uint64_t n = r_uint(r, 4);
    if (n > (r->n - r->off) / 8) { /* checked before multiplying */
        r->bad = 1;
        return ids;
    }
    ids.n = (uint32_t)n;
    ids.raw = r_take(r, (size_t)n * 8);
    return ids;
}

/* Start reading a record of one of two kinds; the kind read is returned. */
static int r_head(rd *r, const void *p, size_t n, int kind_a, int kind_b) {
    r->p = p;
    r->n = p ? n : 0;
    r->off = 0;
    r->bad = 0;
    int kind = (int)r_uint(r, 1);
    if (r_uint(r, 1) != FORMAT || (kind != kind_a && kind != kind_b)) r->bad = 1;
    return kind;
}

/* 0 when the whole input was read without overrun, else -1. */
static int r_done(const rd *r) {
    return r->bad || r->off != r->n ? -1 : 0;
}

/* --- values --------------------------------------------------------------- */

void ms_layout_u64_encode(unsigned char buf[8], uint64_t v) {
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(v >> (8 * i));
}

int ms_layout_u64_decode(const void *p, size_t n, uint64_t *v) {
    if (p == NULL || n != 8) return -1;
    rd r = {p, n, 0, 0};
    *v = r_uint(&r, 8);
    return 0;
}

uint64_t ms_layout_ids_at(const ms_layout_ids *ids, uint32_t i) {
    if (ids->v) return ids->v[i];
    const unsigned char *b = ids->raw + (size_t)i * 8;
    uint64_t v = 0;
    for (int j = 7; j >= 0; j--) v = (v << 8) | b[j];
    return v;
}

size_t ms_layout_vol_encode(const ms_layout_vol *r, void *buf, size_t cap) {
    wr w;
    w_head(&w, buf, cap, MS_REC_VOL);
    w_uint(&w, r->id, 8);
    w_uint(&w, r->capacity, 8);
    w_uint(&w, r->status, 1);
    w_str(&w, r->name);
    w_str(&w, r->owner);
    w_ids(&w, &r->mps);
    w_ids(&w, &r->dps);
    return w.n;
}

int ms_layout_vol_decode(const void *p, size_t n, ms_layout_vol *r) {
    rd d;
    r_head(&d, p, n, MS_REC_VOL, MS_REC_VOL);
    r->id = r_uint(&d, 8);
    r->capacity = r_uint(&d, 8);
    r->status = (uint8_t)r_uint(&d, 1);
    r->name = r_str(&d);
    r->owner = r_str(&d);
    r->mps = r_ids(&d);
    r->dps = r_ids(&d);
    return r_done(&d);
}

size_t ms_layout_part_encode(const ms_layout_part *r, void *buf, size_t cap) {
    wr w;
    w_head(&w, buf, cap, r->kind == MS_REC_MP ? MS_REC_MP : MS_REC_DP);
    w_uint(&w, r->status, 1);
    w_uint(&w, r->id, 8);
    w_uint(&w, r->vol, 8);
    w_uint(&w, r->start, 8);
    w_uint(&w, r->end, 8);
    w_ids(&w, &r->hosts);
    return w.n;
}

int ms_layout_part_decode(const void *p, size_t n, ms_layout_part *r) {
    rd d;
    r->kind = (uint8_t)r_head(&d, p, n, MS_REC_DP, MS_REC_MP);
    r->status = (uint8_t)r_uint(&d, 1);
    r->id = r_uint(&d, 8);
    r->vol = r_uint(&d, 8);
    r->start = r_uint(&d, 8);
    r->end = r_uint(&d, 8);
    r->hosts = r_ids(&d);
    return r_done(&d);
}

size_t ms_layout_node_encode(const ms_layout_node *r, void *buf, size_t cap) {
    wr w;
    w_head(&w, buf, cap, r->kind == MS_REC_METANODE ? MS_REC_METANODE : MS_REC_DATANODE);
    w_uint(&w, r->id, 8);
    w_uint(&w, r->zone, 4);
    w_uint(&w, r->total, 8);
    w_uint(&w, r->used, 8);
    w_str(&w, r->addr);
    return w.n;
}

int ms_layout_node_decode(const void *p, size_t n, ms_layout_node *r) {
    rd d;
    r->kind = (uint8_t)r_head(&d, p, n, MS_REC_DATANODE, MS_REC_METANODE);
    r->id = r_uint(&d, 8);
    r->zone = (uint32_t)r_uint(&d, 4);
    r->total = r_uint(&d, 8);
    r->used = r_uint(&d, 8);
    r->addr = r_str(&d);
    return r_done(&d);
}

size_t ms_layout_user_encode(const ms_layout_user *r, void *buf, size_t cap) {
    wr w;
    w_head(&w, buf, cap, MS_REC_USER);
    w_uint(&w, r->type, 1);
    w_str(&w, r->uid);
    w_ids(&w, &r->vols);
    return w.n;
}

int ms_layout_user_decode(const void *p, size_t n, ms_layout_user *r) {
    rd d;
    r_head(&d, p, n, MS_REC_USER, MS_REC_USER);
    r->type = (uint8_t)r_uint(&d, 1);
    r->uid = r_str(&d);
    r->vols = r_ids(&d);
    return r_done(&d);
}

size_t ms_layout_cluster_encode(const ms_layout_cluster *r, void *buf, size_t cap) {
    wr w;
    w_head(&w, buf, cap, MS_REC_CLUSTER);
    w_str(&w, r->name);
    const uint64_t f[] = {r->vols,  r->dps,       r->mps,       r->data_nodes,   r->meta_nodes,
                          r->users, r->max_dp_id, r->max_mp_id, r->max_common_id};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) w_uint(&w, f[i], 8);
    return w.n;
}

int ms_layout_cluster_decode(const void *p, size_t n, ms_layout_cluster *r) {
    rd d;
    r_head(&d, p, n, MS_REC_CLUSTER, MS_REC_CLUSTER);
    r->name = r_str(&d);
    uint64_t *f[] = {&r->vols,  &r->dps,       &r->mps,       &r->data_nodes,   &r->meta_nodes,
                     &r->users, &r->max_dp_id, &r->max_mp_id, &r->max_common_id};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) *f[i] = r_uint(&d, 8);
    return r_done(&d);
}

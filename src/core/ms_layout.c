/* CubeFS key layout and record codecs: a bounded writer that counts what
 * it would write, and a bounded reader that latches the first overrun. */
#include "ms_layout.h"

#include <string.h>

#define FORMAT MS_LAYOUT_FORMAT

/* --- keys --------------------------------------------------------------- */

const uint64_t ms_layout_pow10[20] = {1ULL,
                                      10ULL,
                                      100ULL,
                                      1000ULL,
                                      10000ULL,
                                      100000ULL,
                                      1000000ULL,
                                      10000000ULL,
                                      100000000ULL,
                                      1000000000ULL,
                                      10000000000ULL,
                                      100000000000ULL,
                                      1000000000000ULL,
                                      10000000000000ULL,
                                      100000000000000ULL,
                                      1000000000000000ULL,
                                      10000000000000000ULL,
                                      100000000000000000ULL,
                                      1000000000000000000ULL,
                                      10000000000000000000ULL};

int ms_layout_id_cmp(uint64_t a, uint64_t b) {
    unsigned la = ms_layout_id_digits(a), lb = ms_layout_id_digits(b);
    /* compare the shorter with as many leading digits of the longer; on a
     * tie the shorter (a prefix of the other) comes first */
    uint64_t x = la > lb ? a / ms_layout_pow10[la - lb] : a,
             y = lb > la ? b / ms_layout_pow10[lb - la] : b;
    if (x != y) return x < y ? -1 : 1;
    return la < lb ? -1 : la > lb;
}

/* Append id in decimal, no padding (CubeFS's strconv.FormatUint(id, 10)) at
 * buf[n]; new length. Two digits a step: every read builds a key or two. */
static size_t put_id(char *buf, size_t n, uint64_t id) {
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    size_t len = ms_layout_id_digits(id), i = n + len;
    while (id >= 10) {
        i -= 2;
        memcpy(buf + i, pairs + 2 * (id % 100), 2);
        id /= 100;
    }
    if (i > n) buf[n] = (char)('0' + id);
    return n + len;
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
    size_t pl = strlen(MS_LAYOUT_PREFIX_VOL);
    /* 1-10 digits, no leading zero: the form ms_layout_key_vol writes */
    if (len <= pl || len > pl + MS_LAYOUT_ID_DIGITS || memcmp(k, MS_LAYOUT_PREFIX_VOL, pl) != 0)
        return -1;
    if (k[pl] == '0' && len > pl + 1) return -1;
    uint64_t v = 0;
    for (size_t i = pl; i < len; i++) {
        if (k[i] < '0' || k[i] > '9') return -1;
        v = v * 10 + (uint64_t)(k[i] - '0');
    }
    if (v > MS_LAYOUT_ID_MAX) return -1;
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

static void w_u8(wr *w, uint64_t v) {
    unsigned char b = (unsigned char)v;
    w_bytes(w, &b, 1);
}

/* Unsigned LEB128, shortest form: 7 bits a byte, low first. */
static void w_var(wr *w, uint64_t v) {
    unsigned char b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (unsigned char)v;
    w_bytes(w, b, n);
}

static uint64_t zigzag(uint64_t d) {
    return (d << 1) ^ (0 - (d >> 63));
}

static uint64_t unzigzag(uint64_t z) {
    return (z >> 1) ^ (0 - (z & 1));
}

static void w_str(wr *w, ms_layout_str s) {
    w_var(w, s.len);
    w_bytes(w, s.p, s.len);
}

/* The ids of a list: the first id, then zig-zag deltas; a decoded list is
 * copied as it is (the decoder accepted only the encoding this writes). */
static void w_ids_body(wr *w, const ms_layout_ids *ids) {
    if (ids->v == NULL) {
        w_bytes(w, ids->enc, ids->enc_len);
        return;
    }
    uint64_t prev = 0;
    for (uint32_t i = 0; i < ids->n; i++) {
        w_var(w, i == 0 ? ids->v[0] : zigzag(ids->v[i] - prev));
        prev = ids->v[i];
    }
}

static void w_ids(wr *w, const ms_layout_ids *ids) {
    w_var(w, ids->n);
    w_ids_body(w, ids);
}

static void w_head(wr *w, void *buf, size_t cap, int kind) {
    w->p = buf;
    w->cap = buf ? cap : 0;
    w->n = 0;
    w_u8(w, (uint64_t)MS_LAYOUT_HEAD(kind));
}

/* One varint from [*pp, end): 0 and *v, advancing *pp; -1 when it runs
 * past end, is not in its shortest form, or exceeds 64 bits. One- and
 * two-byte varints (most ids and deltas) take the short paths. */
static inline int var_get(const unsigned char **pp, const unsigned char *end, uint64_t *v) {
    const unsigned char *p = *pp;
    if (p < end && *p < 0x80) {
        *v = *p;
        *pp = p + 1;
        return 0;
    }
    if (end - p >= 2 && p[1] < 0x80) {
        if (p[1] == 0) return -1; /* a longer form than needed */
        *v = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
        *pp = p + 2;
        return 0;
    }
    uint64_t x = 0;
    for (unsigned shift = 0; p < end && shift < 64; shift += 7) {
        unsigned char b = *p++;
        if (shift == 63 && b > 1) return -1; /* past 64 bits */
        x |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            if (b == 0 && shift > 0) return -1;
            *v = x;
            *pp = p;
            return 0;
        }
    }
    return -1;
}

/* Step over n varints in [*pp, end) with var_get's checks, without
 * decoding them: 0, or -1 when they are not n well-formed varints. */
static int vars_skip(const unsigned char **pp, const unsigned char *end, uint64_t n) {
    const unsigned char *p = *pp;
    unsigned run = 0; /* continuation bytes of the varint being read */
    while (n > 0) {
        if (p == end) return -1;
        unsigned char b = *p++;
        if (b >= 0x80) {
            if (++run == 10) return -1; /* an 11th byte would be past 64 bits */
            continue;
        }
        if (run > 0 && (b == 0 || (run == 9 && b > 1))) return -1;
        run = 0;
        n--;
    }
    *pp = p;
    return 0;
}

typedef struct rd {
    const unsigned char *p;
    size_t n, off;
    int bad; /* set by the first read past the end or malformed field */
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

static uint64_t r_u8(rd *r) {
    const unsigned char *b = r_take(r, 1);
    return b ? *b : 0;
}

static uint64_t r_var(rd *r) {
    uint64_t v = 0;
    if (r->bad) return 0;
    const unsigned char *p = r->p + r->off;
    if (var_get(&p, r->p + r->n, &v) != 0) {
        r->bad = 1;
        return 0;
    }
    r->off = (size_t)(p - r->p);
    return v;
}

/* A varint that must fit in max. */
static uint64_t r_var_max(rd *r, uint64_t max) {
    uint64_t v = r_var(r);
    if (v > max) r->bad = 1;
    return v > max ? 0 : v;
}

static ms_layout_str r_str(rd *r) {
    ms_layout_str s;
    s.len = (uint16_t)r_var_max(r, UINT16_MAX);
    s.p = (const char *)r_take(r, s.len);
    return s;
}

/* An id list: every varint decoded and checked here (so a cursor over it
 * needs no checks of its own to stay in bounds), the last id kept. */
static ms_layout_ids r_ids(rd *r) {
    ms_layout_ids ids = {0, NULL, NULL, 0, 0};
    uint64_t n = r_var_max(r, UINT32_MAX);
    if (r->bad || n > r->n - r->off) { /* each id takes a byte at least */
        r->bad = 1;
        return ids;
    }
    const unsigned char *start = r->p + r->off, *p = start, *end = r->p + r->n;
    uint64_t x, last = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (var_get(&p, end, &x) != 0) {
            r->bad = 1;
            return ids;
        }
        last = i == 0 ? x : last + unzigzag(x);
    }
    ids.n = (uint32_t)n;
    ids.enc = start;
    ids.enc_len = (size_t)(p - start);
    ids.last = last;
    r->off += ids.enc_len;
    return ids;
}

/* Start reading a record of one of two kinds; the kind read is returned. */
static int r_head(rd *r, const void *p, size_t n, int kind_a, int kind_b) {
    r->p = p;
    r->n = p ? n : 0;
    r->off = 0;
    r->bad = 0;
    int head = (int)r_u8(r), kind = head & 15;
    if (head >> 4 != FORMAT || (kind != kind_a && kind != kind_b)) r->bad = 1;
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
    const unsigned char *b = p;
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) x = (x << 8) | b[i];
    *v = x;
    return 0;
}

void ms_layout_ids_begin(ms_layout_ids_cur *c, const ms_layout_ids *ids) {
    c->v = ids->v;
    c->p = ids->enc;
    c->end = ids->enc ? ids->enc + ids->enc_len : NULL;
    c->prev = 0;
    c->i = 0;
    c->n = ids->n;
}

int ms_layout_ids_next(ms_layout_ids_cur *c, uint64_t *id) {
    if (c->i >= c->n) return 0;
    if (c->v) {
        *id = c->v[c->i++];
        return 1;
    }
    uint64_t x;
    if (c->p == NULL || var_get(&c->p, c->end, &x) != 0) {
        c->i = c->n; /* bytes no decoder accepted: stop here */
        return 0;
    }
    c->prev = c->i++ == 0 ? x : c->prev + unzigzag(x);
    *id = c->prev;
    return 1;
}

int ms_layout_ids_copy(const ms_layout_ids *ids, uint64_t *out) {
    ms_layout_ids_cur c;
    uint32_t i = 0;
    ms_layout_ids_begin(&c, ids);
    while (ms_layout_ids_next(&c, &out[i])) i++;
    return i == ids->n ? 0 : -1;
}

int ms_layout_ids_runs_begin(ms_layout_ids_runs *r, const ms_layout_ids *ids) {
    ms_layout_ids_cur c;
    uint64_t x, prev = 0, lim = 0; /* lim: the first id past run d (0: none) */
    uint32_t i = 0;
    unsigned d = 0;
    memset(r->has, 0, sizeof r->has);
    ms_layout_ids_begin(&c, ids);
    for (; ms_layout_ids_next(&c, &x); prev = x, i++) {
        if (i > 0 && x <= prev) return -1;
        if (i == 0 || (lim && x >= lim)) { /* ascending: each digit count starts one run */
            d = ms_layout_id_digits(x);
            lim = d < 20 ? ms_layout_pow10[d] : 0;
            r->cur[d] = c;
            r->head[d] = x;
            r->has[d] = 1;
        }
    }
    return i == ids->n ? 0 : -1;
}

/* The run ends where the list's next id has more digits (or the list ends). */
void ms_layout_ids_runs_next(ms_layout_ids_runs *r, unsigned d) {
    r->has[d] = ms_layout_ids_next(&r->cur[d], &r->head[d]) && ms_layout_id_digits(r->head[d]) == d;
}

int ms_layout_ids_runs_any(const ms_layout_ids_runs *r) {
    for (unsigned d = 1; d < MS_LAYOUT_ID_RUNS; d++)
        if (r->has[d]) return 1;
    return 0;
}

/* A vol record up to its dps list. */
static void w_vol_front(wr *w, const ms_layout_vol *r, void *buf, size_t cap) {
    w_head(w, buf, cap, MS_REC_VOL);
    w_var(w, r->id);
    w_var(w, r->capacity);
    w_u8(w, r->status);
    w_str(w, r->name);
    w_str(w, r->owner);
    w_ids(w, &r->mps);
}

size_t ms_layout_vol_encode(const ms_layout_vol *r, void *buf, size_t cap) {
    wr w;
    w_vol_front(&w, r, buf, cap);
    w_ids(&w, &r->dps);
    return w.n;
}

int ms_layout_vol_decode(const void *p, size_t n, ms_layout_vol *r) {
    rd d;
    r_head(&d, p, n, MS_REC_VOL, MS_REC_VOL);
    r->id = r_var(&d);
    r->capacity = r_var(&d);
    r->status = (uint8_t)r_u8(&d);
    r->name = r_str(&d);
    r->owner = r_str(&d);
    r->mps = r_ids(&d);
    r->dps = r_ids(&d);
    return r_done(&d);
}

size_t ms_layout_vol_encode_add_dp(const ms_layout_vol *r, uint64_t dp, void *buf, size_t cap) {
    uint64_t last = r->dps.n == 0 ? 0 : r->dps.v ? r->dps.v[r->dps.n - 1] : r->dps.last;
    wr w;
    w_vol_front(&w, r, buf, cap);
    w_var(&w, (uint64_t)r->dps.n + 1); /* the ids as they are, then the new one */
    w_ids_body(&w, &r->dps);
    w_var(&w, r->dps.n == 0 ? dp : zigzag(dp - last));
    return w.n;
}

size_t ms_layout_part_encode(const ms_layout_part *r, void *buf, size_t cap) {
    wr w;
    w_head(&w, buf, cap, r->kind == MS_REC_MP ? MS_REC_MP : MS_REC_DP);
    w_u8(&w, r->status);
    w_var(&w, r->id);
    w_var(&w, r->vol);
    w_var(&w, r->start);
    w_var(&w, r->end);
    w_ids(&w, &r->hosts);
    return w.n;
}

int ms_layout_part_decode(const void *p, size_t n, ms_layout_part *r) {
    rd d;
    r->kind = (uint8_t)r_head(&d, p, n, MS_REC_DP, MS_REC_MP);
    r->status = (uint8_t)r_u8(&d);
    r->id = r_var(&d);
    r->vol = r_var(&d);
    r->start = r_var(&d);
    r->end = r_var(&d);
    r->hosts = r_ids(&d);
    return r_done(&d);
}

/* ms_layout_part_decode's checks in one pass, without the record struct:
 * a partition scan runs it once per key. */
int ms_layout_part_check(const void *p, size_t n, uint64_t *id, uint64_t *vol) {
    const unsigned char *b = p, *end = b + (p ? n : 0), *q = b + 2;
    if (p == NULL || n < 7 ||
        (b[0] != MS_LAYOUT_HEAD(MS_REC_DP) && b[0] != MS_LAYOUT_HEAD(MS_REC_MP)))
        return -1;
    uint64_t f[5]; /* id, vol, start, end, host count */
    for (int i = 0; i < 5; i++)
        if (var_get(&q, end, &f[i]) != 0) return -1;
    if (f[4] > UINT32_MAX || f[4] > (uint64_t)(end - q) || vars_skip(&q, end, f[4]) != 0 ||
        q != end)
        return -1;
    if (id) *id = f[0];
    if (vol) *vol = f[1];
    return 0;
}

size_t ms_layout_node_encode(const ms_layout_node *r, void *buf, size_t cap) {
    wr w;
    w_head(&w, buf, cap, r->kind == MS_REC_METANODE ? MS_REC_METANODE : MS_REC_DATANODE);
    w_var(&w, r->id);
    w_var(&w, r->zone);
    w_var(&w, r->total);
    w_var(&w, r->used);
    w_str(&w, r->addr);
    return w.n;
}

int ms_layout_node_decode(const void *p, size_t n, ms_layout_node *r) {
    rd d;
    r->kind = (uint8_t)r_head(&d, p, n, MS_REC_DATANODE, MS_REC_METANODE);
    r->id = r_var(&d);
    r->zone = (uint32_t)r_var_max(&d, UINT32_MAX);
    r->total = r_var(&d);
    r->used = r_var(&d);
    r->addr = r_str(&d);
    return r_done(&d);
}

size_t ms_layout_user_encode(const ms_layout_user *r, void *buf, size_t cap) {
    wr w;
    w_head(&w, buf, cap, MS_REC_USER);
    w_u8(&w, r->type);
    w_str(&w, r->uid);
    w_ids(&w, &r->vols);
    return w.n;
}

int ms_layout_user_decode(const void *p, size_t n, ms_layout_user *r) {
    rd d;
    r_head(&d, p, n, MS_REC_USER, MS_REC_USER);
    r->type = (uint8_t)r_u8(&d);
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
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) w_var(&w, f[i]);
    return w.n;
}

int ms_layout_cluster_decode(const void *p, size_t n, ms_layout_cluster *r) {
    rd d;
    r_head(&d, p, n, MS_REC_CLUSTER, MS_REC_CLUSTER);
    r->name = r_str(&d);
    uint64_t *f[] = {&r->vols,  &r->dps,       &r->mps,       &r->data_nodes,   &r->meta_nodes,
                     &r->users, &r->max_dp_id, &r->max_mp_id, &r->max_common_id};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) *f[i] = r_var(&d);
    return r_done(&d);
}

/* --- the format-1 size of a record ---------------------------------------- */

static int key_has(const void *key, size_t kl, const char *prefix) {
    size_t n = strlen(prefix);
    return kl >= n && memcmp(key, prefix, n) == 0;
}

size_t ms_layout_v1_size(const void *key, size_t klen, const void *val, size_t vlen) {
    /* format 1: kind and format bytes, fixed 8-byte integers (zone 4),
     * u16 string lengths, u32 list counts and 8 bytes an id */
    union {
        ms_layout_vol vol;
        ms_layout_part part;
        ms_layout_node node;
        ms_layout_user user;
        ms_layout_cluster cl;
    } r;
    if (key_has(key, klen, MS_LAYOUT_PREFIX_VOL) && ms_layout_vol_decode(val, vlen, &r.vol) == 0)
        return 31 + (size_t)r.vol.name.len + r.vol.owner.len +
               8 * ((size_t)r.vol.mps.n + r.vol.dps.n);
    if ((key_has(key, klen, "#dp#") || key_has(key, klen, "#mp#")) &&
        ms_layout_part_decode(val, vlen, &r.part) == 0)
        return 39 + 8 * (size_t)r.part.hosts.n;
    if ((key_has(key, klen, "#dn#") || key_has(key, klen, "#mn#")) &&
        ms_layout_node_decode(val, vlen, &r.node) == 0)
        return 32 + (size_t)r.node.addr.len;
    if (key_has(key, klen, MS_LAYOUT_PREFIX_USER) && ms_layout_user_decode(val, vlen, &r.user) == 0)
        return 9 + (size_t)r.user.uid.len + 8 * (size_t)r.user.vols.n;
    if (key_has(key, klen, MS_LAYOUT_PREFIX_CLUSTER) &&
        ms_layout_cluster_decode(val, vlen, &r.cl) == 0)
        return 76 + (size_t)r.cl.name.len;
    return vlen;
}

/* Keys are the CubeFS master's own (master/metadata_fsm_op.go: ids as
 * strconv.FormatUint(id, 10), no padding), so byte order is decimal-string
 * order: the key builders byte for byte, ms_layout_id_cmp against strcmp, a
 * vol's partition prefix with vols 1, 10 and 100 all present, the image's
 * key order, and the ordered walk of a vol's partitions (ms_ops) across
 * ids of different lengths. */
#include "ms_gen.h"
#include "ms_layout.h"
#include "ms_ops.h"
#include "ms_rng.h"
#include "ms_store.h"
#include "ms_test.h"
#include "ms_test_image.h"

#include <stdio.h>
#include <stdlib.h>

static void test_cubefs_form(void) {
    static const uint64_t ids[] = {1, 10, 123456, MS_LAYOUT_ID_MAX};
    static const char *const dec[] = {"1", "10", "123456", "9999999999"};
    char k[MS_LAYOUT_KEY_MAX], want[MS_LAYOUT_KEY_MAX];
    for (int i = 0; i < 4; i++) {
        uint64_t id = ids[i], other = ids[3 - i];
        const char *d = dec[i], *o = dec[3 - i];
        snprintf(want, sizeof want, "#vol#%s", d);
        CHECK_EQ_I64(ms_layout_key_vol(k, id), strlen(want));
        CHECK_STR(k, want);
        snprintf(want, sizeof want, "#dp#%s#%s", d, o);
        CHECK_EQ_I64(ms_layout_key_dp(k, id, other), strlen(want));
        CHECK_STR(k, want);
        snprintf(want, sizeof want, "#mp#%s#%s", o, d);
        CHECK_EQ_I64(ms_layout_key_mp(k, other, id), strlen(want));
        CHECK_STR(k, want);
        snprintf(want, sizeof want, "#dp#%s#", d);
        CHECK_EQ_I64(ms_layout_key_dp_prefix(k, id), strlen(want));
        CHECK_STR(k, want);
        snprintf(want, sizeof want, "#mp#%s#", d);
        CHECK_EQ_I64(ms_layout_key_mp_prefix(k, id), strlen(want));
        CHECK_STR(k, want);
        snprintf(want, sizeof want, "#dn#%s#10.0.0.1:17310", d);
        CHECK_EQ_I64(ms_layout_key_dn(k, id, "10.0.0.1:17310"), strlen(want));
        CHECK_STR(k, want);
        snprintf(want, sizeof want, "#mn#%s#", d);
        CHECK_EQ_I64(ms_layout_key_mn(k, id, NULL), strlen(want));
        CHECK_STR(k, want);
        uint64_t back = 0;
        snprintf(want, sizeof want, "#vol#%s", d);
        CHECK(ms_layout_parse_vol_key(want, strlen(want), &back) == 0 && back == id);
        CHECK_EQ_I64(ms_layout_id_digits(id), strlen(d));
    }
    CHECK_EQ_I64(ms_layout_key_vol(k, 0), 6);
    CHECK_STR(k, "#vol#0");
    CHECK_EQ_I64(ms_layout_id_digits(UINT64_MAX), 20);
}

/* ms_layout_id_cmp is strcmp of the decimal strings; ms_layout_id_digits
 * is their length. */
static void test_id_cmp(void) {
    static const uint64_t edge[] = {0,
                                    1,
                                    2,
                                    9,
                                    10,
                                    11,
                                    19,
                                    99,
                                    100,
                                    101,
                                    999999,
                                    1000000,
                                    123456,
                                    12345,
                                    1234567,
                                    MS_LAYOUT_ID_MAX,
                                    UINT64_MAX,
                                    UINT64_MAX - 1,
                                    UINT64_C(10000000000000000000)};
    size_t ne = sizeof edge / sizeof edge[0];
    ms_rng rng;
    ms_rng_init(&rng, 5, "test");
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t a, b;
        if (i < (int)(ne * ne)) {
            a = edge[i / ne];
            b = edge[i % ne];
        } else { /* ids of mixed lengths, often sharing leading digits */
            a = ms_rng_below(&rng, UINT64_C(1) << (1 + ms_rng_below(&rng, 40)));
            b = i % 2 ? a / 10 : a * 10 + ms_rng_below(&rng, 10);
            if (i % 3 == 0) b = ms_rng_below(&rng, 100000);
        }
        char sa[24], sb[24];
        snprintf(sa, sizeof sa, "%llu", (unsigned long long)a);
        snprintf(sb, sizeof sb, "%llu", (unsigned long long)b);
        int want = strcmp(sa, sb), got = ms_layout_id_cmp(a, b);
        bad += (want < 0) != (got < 0) || (want > 0) != (got > 0);
        bad += ms_layout_id_digits(a) != strlen(sa) || ms_layout_id_digits(b) != strlen(sb);
    }
    for (int i = 0; i < 20; i++) { /* either side of every power of ten */
        uint64_t p = ms_layout_pow10[i];
        bad += ms_layout_id_digits(p) != (unsigned)i + 1 ||
               ms_layout_id_digits(p - 1) != (i ? (unsigned)i : 1);
    }
    CHECK_EQ_I64(bad, 0);
}

static const ms_gen_desc wide = {.volumes = 120,
                                 .data_partitions = 1200,
                                 .meta_partitions = 240,
                                 .nodes = 40,
                                 .users = 3,
                                 .applied = 5,
                                 .cluster = "keys"};

static ms_store *build(ms_store_mem *mem, uint64_t seed) {
    return ms_test_image(mem, &wide, seed);
}

static int by_id(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The dp prefix of vols 1, 10, 100 (and 11, 12, 120) holds exactly the dps
 * its vol record lists: "#dp#1#" is not a prefix of "#dp#10#..." because of
 * the '#'. Every vol's get_partitions is complete. */
static void test_prefix_exact(void) {
    ms_store_mem mem = {0};
    ms_store *s = build(&mem, 3);
    ms_view v = ms_store_view(s);
    static const uint64_t vols[] = {1, 10, 100, 11, 12, 120};
    char k[MS_LAYOUT_KEY_MAX];
    uint64_t got[1200], want[1200];
    for (size_t i = 0; i < sizeof vols / sizeof vols[0]; i++) {
        ms_iter it;
        size_t n = 0, vl;
        ms_iter_prefix(&it, &v, k, ms_layout_key_dp_prefix(k, vols[i]));
        while (ms_iter_next(&it) && n < 1200) {
            ms_layout_part p;
            const void *val = ms_iter_value(&it, &vl);
            CHECK(ms_layout_part_decode(val, vl, &p) == 0 && p.vol == vols[i]);
            got[n++] = p.id;
        }
        const void *rec = ms_view_get(&v, k, ms_layout_key_vol(k, vols[i]), &vl);
        ms_layout_vol r;
        CHECK(rec && ms_layout_vol_decode(rec, vl, &r) == 0);
        if (!rec) continue;
        CHECK_EQ_I64(n, r.dps.n);
        CHECK(n == r.dps.n && ms_layout_ids_copy(&r.dps, want) == 0);
        qsort(got, n, sizeof got[0], by_id);
        CHECK(n == r.dps.n && memcmp(got, want, n * sizeof got[0]) == 0);
    }
    int bad = 0;
    for (uint64_t vol = 1; vol <= wide.volumes; vol++) {
        bad += ms_ops_get_partitions(&v, vol).verdict != MS_READ_COMPLETE;
        bad += ms_ops_get_meta_partitions(&v, vol).verdict != MS_READ_COMPLETE;
    }
    CHECK_EQ_I64(bad, 0);
    ms_store_free(s);
}

/* The image in key order: the vols a `#vol#` scan meets are 1, 10, 100,
 * 101, ..., 109, 11, 110, ... (decimal strings), and within every kind the
 * ids follow ms_layout_id_cmp. The generator inserts in that order (sorted
 * appends fill the leaves): it takes at most 5% more bytes than a copy made
 * by inserting its keys in global key order (the kinds are written one
 * after another, not in key order: 2% at this size; in numeric id order,
 * as before keys were unpadded, it took 26% more). */
static void test_image_order(void) {
    ms_store_mem mem = {0}, cmem = {0};
    ms_store *s = build(&mem, 4), *copy = ms_store_new(&cmem);
    ms_view v = ms_store_view(s);
    ms_iter it;
    uint64_t seen[120], n = 0;
    ms_iter_prefix(&it, &v, "#vol#", 5);
    while (ms_iter_next(&it) && n < 120) {
        size_t kl;
        const void *key = ms_iter_key(&it, &kl);
        CHECK(ms_layout_parse_vol_key(key, kl, &seen[n]) == 0);
        n++;
    }
    CHECK_EQ_I64(n, 120);
    CHECK(seen[0] == 1 && seen[1] == 10 && seen[2] == 100 && seen[3] == 101 && seen[12] == 11 &&
          seen[13] == 110 && seen[23] == 12 && seen[24] == 120 && seen[25] == 13 &&
          seen[119] == 99);
    int bad = 0;
    for (uint64_t i = 1; i < n; i++) bad += ms_layout_id_cmp(seen[i - 1], seen[i]) >= 0;
    /* dp keys: (vol, id) in decimal-string order, as the stream sends them */
    uint64_t pv = 0, pid = 0, ndp = 0;
    ms_iter_prefix(&it, &v, "#dp#", 4);
    while (ms_iter_next(&it)) {
        size_t vl;
        ms_layout_part p;
        const void *val = ms_iter_value(&it, &vl);
        bad += ms_layout_part_decode(val, vl, &p) != 0;
        int c = ndp ? ms_layout_id_cmp(pv, p.vol) : -1;
        bad += c > 0 || (c == 0 && ms_layout_id_cmp(pid, p.id) >= 0);
        pv = p.vol, pid = p.id, ndp++;
    }
    CHECK_EQ_I64(ndp, 1200);
    CHECK_EQ_I64(bad, 0);
    ms_iter_prefix(&it, &v, "", 0);
    while (ms_iter_next(&it)) {
        size_t kl, vl;
        const void *key = ms_iter_key(&it, &kl), *val = ms_iter_value(&it, &vl);
        CHECK(ms_store_put(copy, key, kl, val, vl) == 0);
    }
    CHECK(ms_store_count(copy) == ms_store_count(s));
    CHECK(ms_store_digest(copy) == ms_store_digest(s));
    CHECK(mem.bytes_in_use * 100 <= cmem.bytes_in_use * 105);
    if (mem.bytes_in_use * 100 > cmem.bytes_in_use * 105)
        fprintf(stderr, "image %lld bytes, key-order copy %lld\n", (long long)mem.bytes_in_use,
                (long long)cmem.bytes_in_use);
    ms_store_free(copy);
    ms_store_free(s);
}

/* A vol whose dps are 9, 10, 11 and 100: its keys come as 10, 100, 11, 9.
 * The walk beside the list finds each missing or extra one, and a list out
 * of order is torn. */
static void test_walk_runs(void) {
    ms_store_mem mem = {0};
    ms_store *s = ms_store_new(&mem);
    unsigned char buf[128], u[8];
    char k[MS_LAYOUT_KEY_MAX];
    uint64_t hosts[] = {1, 2, 3}, dps[] = {9, 10, 11, 100}, mps[] = {1}, swapped[] = {10, 9};
    for (int i = 0; i < 4; i++) {
        ms_layout_part p = {MS_REC_DP, 0, dps[i], 7, 0, 0, ms_layout_ids_array(3, hosts)};
        size_t n = ms_layout_part_encode(&p, buf, sizeof buf);
        CHECK(ms_store_put(s, k, ms_layout_key_dp(k, 7, dps[i]), buf, n) == 0);
    }
    ms_layout_vol r = {
        7, 1, 0, {"v", 1}, {"", 0}, ms_layout_ids_array(1, mps), ms_layout_ids_array(4, dps)};
    size_t n = ms_layout_vol_encode(&r, buf, sizeof buf);
    CHECK(ms_store_put(s, k, ms_layout_key_vol(k, 7), buf, n) == 0);
    ms_layout_u64_encode(u, 1);
    CHECK(ms_store_put(s, MS_LAYOUT_KEY_APPLIED, strlen(MS_LAYOUT_KEY_APPLIED), u, 8) == 0);
    ms_view v = ms_store_view(s);
    ms_read_result res = ms_ops_get_partitions(&v, 7);
    CHECK(res.verdict == MS_READ_COMPLETE && res.entries == 5);
    /* each dp missing in turn */
    for (int i = 0; i < 4; i++) {
        size_t kl = ms_layout_key_dp(k, 7, dps[i]), vl;
        const void *val = ms_view_get(&v, k, kl, &vl);
        memcpy(buf, val, vl);
        ms_store_del(s, k, kl);
        v = ms_store_view(s);
        res = ms_ops_get_partitions(&v, 7);
        CHECK(res.verdict == MS_READ_TORN && strcmp(res.why, "listed partition missing") == 0);
        CHECK(ms_store_put(s, k, kl, buf, vl) == 0);
    }
    /* an extra dp of each length */
    static const uint64_t extra[] = {8, 12, 101, 5};
    for (int i = 0; i < 4; i++) {
        ms_layout_part p = {MS_REC_DP, 0, extra[i], 7, 0, 0, ms_layout_ids_array(3, hosts)};
        size_t pn = ms_layout_part_encode(&p, buf, sizeof buf);
        size_t kl = ms_layout_key_dp(k, 7, extra[i]);
        CHECK(ms_store_put(s, k, kl, buf, pn) == 0);
        v = ms_store_view(s);
        res = ms_ops_get_partitions(&v, 7);
        CHECK(res.verdict == MS_READ_TORN &&
              strcmp(res.why, "partition not listed by its vol") == 0);
        ms_store_del(s, k, kl);
    }
    v = ms_store_view(s);
    CHECK(ms_ops_get_partitions(&v, 7).verdict == MS_READ_COMPLETE);
    r.dps = ms_layout_ids_array(2, swapped);
    n = ms_layout_vol_encode(&r, buf, sizeof buf);
    CHECK(ms_store_put(s, k, ms_layout_key_vol(k, 7), buf, n) == 0);
    v = ms_store_view(s);
    res = ms_ops_get_partitions(&v, 7);
    CHECK(res.verdict == MS_READ_TORN && strcmp(res.why, "partition list out of order") == 0);
    ms_store_free(s);
}

int main(void) {
    RUN(test_cubefs_form);
    RUN(test_id_cmp);
    RUN(test_prefix_exact);
    RUN(test_image_order);
    RUN(test_walk_runs);
    return ms_test_end();
}

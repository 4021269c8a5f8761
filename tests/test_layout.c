/* ms_layout, ms_gen and ms_ops: key formats and order, record round trips
 * and bounds-checked decoding, generator determinism and consistency (every
 * read of a complete image is COMPLETE), and each torn rule. */
#include "ms_gen.h"
#include "ms_layout.h"
#include "ms_ops.h"
#include "ms_store.h"
#include "ms_test.h"
#include "ms_test_image.h"

#include <stdlib.h>

static void test_keys(void) {
    char k[MS_LAYOUT_KEY_MAX];
    CHECK_EQ_I64(ms_layout_key_vol(k, 42), 7);
    CHECK_STR(k, "#vol#42");
    ms_layout_key_dp(k, 7, 123);
    CHECK_STR(k, "#dp#7#123");
    ms_layout_key_mp(k, 7, 1);
    CHECK_STR(k, "#mp#7#1");
    ms_layout_key_dp_prefix(k, 7);
    CHECK_STR(k, "#dp#7#");
    ms_layout_key_dn(k, 5, "10.0.0.1:17310");
    CHECK_STR(k, "#dn#5#10.0.0.1:17310");
    ms_layout_key_mn(k, 5, NULL);
    CHECK_STR(k, "#mn#5#");
    ms_layout_key_user(k, "alice");
    CHECK_STR(k, "#user#alice");
    ms_layout_key_cluster(k, "c1");
    CHECK_STR(k, "#c#c1");
    CHECK_EQ_I64(ms_layout_key_vol(k, MS_LAYOUT_ID_MAX + 1), 0);
    CHECK_EQ_I64(ms_layout_key_dp(k, 1, MS_LAYOUT_ID_MAX + 1), 0);
    char a[MS_LAYOUT_KEY_MAX], b[MS_LAYOUT_KEY_MAX];
    ms_layout_key_dp(a, 9, 999);
    ms_layout_key_dp(b, 10, 1);
    CHECK(strcmp(a, b) > 0); /* decimal-string order: "10" < "9" */
    CHECK(strcmp("#vol#", MS_LAYOUT_KEY_APPLIED) < 0);
    uint64_t vol = 0;
    CHECK(ms_layout_parse_vol_key("#vol#42", 7, &vol) == 0 && vol == 42);
    CHECK(ms_layout_parse_vol_key("#vol#9999999999", 15, &vol) == 0 && vol == MS_LAYOUT_ID_MAX);
    CHECK(ms_layout_parse_vol_key("#vol#x2", 7, &vol) == -1);
    CHECK(ms_layout_parse_vol_key("#vol#042", 8, &vol) == -1); /* not a key CubeFS writes */
    CHECK(ms_layout_parse_vol_key("#vol#0", 6, &vol) == 0 && vol == 0);
    CHECK(ms_layout_parse_vol_key("#vol#", 5, &vol) == -1);
    CHECK(ms_layout_parse_vol_key("#vol#10000000000", 16, &vol) == -1);
    CHECK(ms_layout_parse_vol_key("#dp#42", 6, &vol) == -1);
}

/* Every strict prefix and one byte more must fail to decode. */
#define CHECK_BOUNDS(decode, buf, n, out)                                                          \
    do {                                                                                           \
        int bad_ = 0;                                                                              \
        for (size_t i_ = 0; i_ < (n); i_++) bad_ += decode(buf, i_, out) != -1;                    \
        bad_ += decode(buf, (n) + 1, out) != -1;                                                   \
        CHECK_EQ_I64(bad_, 0);                                                                     \
    } while (0)

static void test_records(void) {
    unsigned char buf[512];
    uint64_t mps[] = {1, 2}, dps[] = {3, 4, 5};
    ms_layout_vol v = {9,
                       1 << 30,
                       1,
                       {"vol9", 4},
                       {"bob", 3},
                       ms_layout_ids_array(2, mps),
                       ms_layout_ids_array(3, dps)};
    size_t n = ms_layout_vol_encode(&v, buf, sizeof buf);
    CHECK(n < sizeof buf);
    CHECK_EQ_I64(ms_layout_vol_encode(&v, NULL, 0), n);
    ms_layout_vol dv;
    CHECK(ms_layout_vol_decode(buf, n, &dv) == 0);
    CHECK(dv.id == 9 && dv.capacity == 1 << 30 && dv.status == 1 && dv.mps.n == 2 && dv.dps.n == 3);
    CHECK(dv.name.len == 4 && memcmp(dv.name.p, "vol9", 4) == 0);
    uint64_t got[3];
    CHECK(ms_layout_ids_copy(&dv.dps, got) == 0 && got[2] == 5);
    CHECK(ms_layout_ids_copy(&dv.mps, got) == 0 && got[0] == 1);
    CHECK_BOUNDS(ms_layout_vol_decode, buf, n, &dv);
    unsigned char again[512]; /* re-encoding from decoded ids is byte-identical */
    CHECK(ms_layout_vol_encode(&dv, again, sizeof again) == n && memcmp(again, buf, n) == 0);
    buf[0] = MS_LAYOUT_HEAD(MS_REC_DP); /* wrong kind */
    CHECK(ms_layout_vol_decode(buf, n, &dv) == -1);

    uint64_t hosts[] = {11, 12, 13};
    ms_layout_part p = {MS_REC_MP, 2, 77, 9, 1, 1000, ms_layout_ids_array(3, hosts)}, dp;
    n = ms_layout_part_encode(&p, buf, sizeof buf);
    CHECK(ms_layout_part_decode(buf, n, &dp) == 0);
    CHECK(dp.kind == MS_REC_MP && dp.id == 77 && dp.vol == 9 && dp.end == 1000 &&
          ms_layout_ids_copy(&dp.hosts, got) == 0 && got[1] == 12);
    CHECK_EQ_I64(n, 11); /* head, status, id, vol, start, end (2), count, 3 hosts */
    CHECK_BOUNDS(ms_layout_part_decode, buf, n, &dp);
    buf[7] = 0x7f; /* the host count (at 2+1+1+1+2 = 7): 127 ids, more than */
    CHECK(ms_layout_part_decode(buf, n, &dp) == -1); /* the bytes left */
    CHECK(ms_layout_part_check(buf, n, NULL, NULL) == -1);

    ms_layout_node nd = {MS_REC_DATANODE, 5, 2, 100, 40, {"10.0.0.1:17310", 14}}, dn;
    n = ms_layout_node_encode(&nd, buf, sizeof buf);
    CHECK(ms_layout_node_decode(buf, n, &dn) == 0 && dn.id == 5 && dn.zone == 2 && dn.used == 40);
    CHECK_BOUNDS(ms_layout_node_decode, buf, n, &dn);

    ms_layout_user u = {1, {"alice", 5}, ms_layout_ids_array(2, mps)}, du;
    n = ms_layout_user_encode(&u, buf, sizeof buf);
    CHECK(ms_layout_user_decode(buf, n, &du) == 0 && du.vols.n == 2 && du.uid.len == 5);
    CHECK_BOUNDS(ms_layout_user_decode, buf, n, &du);

    ms_layout_cluster c = {{"c1", 2}, 1, 2, 3, 4, 5, 6, 7, 8, 9}, dc;
    n = ms_layout_cluster_encode(&c, buf, sizeof buf);
    CHECK(ms_layout_cluster_decode(buf, n, &dc) == 0 && dc.vols == 1 && dc.max_common_id == 9);
    CHECK_BOUNDS(ms_layout_cluster_decode, buf, n, &dc);
    CHECK(ms_layout_cluster_encode(&c, buf, 3) == n); /* too small: size reported */

    uint64_t x = 0;
    ms_layout_u64_encode(buf, 0x0102030405060708u);
    CHECK(buf[0] == 8 && ms_layout_u64_decode(buf, 8, &x) == 0 && x == 0x0102030405060708u);
    CHECK(ms_layout_u64_decode(buf, 7, &x) == -1);
    CHECK(ms_layout_vol_decode(NULL, 0, &dv) == -1);
}

static const ms_gen_desc small = {.volumes = 20,
                                  .data_partitions = 500,
                                  .meta_partitions = 60,
                                  .nodes = 30,
                                  .users = 4,
                                  .applied = 1000,
                                  .cluster = "test"};

static void test_gen_deterministic(void) {
    ms_store_mem mem = {0};
    ms_store *a = ms_test_image(&mem, &small, 1), *b = ms_test_image(&mem, &small, 1),
             *c = ms_test_image(&mem, &small, 2);
    CHECK(ms_store_digest(a) == ms_store_digest(b));
    CHECK(ms_store_digest(a) != ms_store_digest(c));
    CHECK_EQ_I64(ms_store_count(a), 20 + 500 + 60 + 30 + 4 + 1 + 4);
    CHECK_EQ_I64(ms_store_applied(a), 1000);
    ms_gen_stats st;
    char err[128];
    ms_store *d = ms_store_new(&mem);
    CHECK(ms_gen_build(d, &small, 1, &st, err, sizeof err) == 0);
    CHECK_EQ_I64(st.keys, ms_store_count(d));
    CHECK(ms_gen_build(d, &small, 1, &st, err, sizeof err) == -1);
    CHECK_STR(err, "ms_gen: the store is not empty");
    ms_store_clear(d);
    ms_gen_desc bad = small;
    bad.data_partitions = 3;
    CHECK(ms_gen_build(d, &bad, 1, NULL, err, sizeof err) == -1);
    CHECK_STR(err, "ms_gen: data_partitions must be >= volumes");
    bad = small;
    bad.nodes = 5;
    CHECK(ms_gen_build(d, &bad, 1, NULL, err, sizeof err) == -1);
    CHECK_STR(err, "ms_gen: nodes: need at least `replicas` data nodes and meta nodes");
    bad = small;
    bad.volumes = 0;
    CHECK(ms_gen_build(d, &bad, 1, NULL, err, sizeof err) == -1);
    CHECK_STR(err, "ms_gen: volumes must be >= 1");
    ms_store_free(a);
    ms_store_free(b);
    ms_store_free(c);
    ms_store_free(d);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

/* Every vol has >= 1 dp and mp, every read of the image is COMPLETE, and
 * absent objects are NOT_FOUND. */
static void test_gen_consistent(void) {
    ms_store_mem mem = {0};
    ms_store *s = ms_test_image(&mem, &small, 7);
    ms_view v = ms_store_view(s);
    int bad = 0;
    uint64_t dps = 0;
    for (uint64_t vol = 1; vol <= 20; vol++) {
        ms_read_result r = ms_ops_get_partitions(&v, vol);
        bad += r.verdict != MS_READ_COMPLETE || r.entries < 2 || r.applied != 1000;
        dps += r.entries - 1;
        r = ms_ops_get_meta_partitions(&v, vol);
        bad += r.verdict != MS_READ_COMPLETE || r.entries < 2;
        bad += ms_ops_get_vol(&v, vol).verdict != MS_READ_COMPLETE;
    }
    CHECK_EQ_I64(dps, 500);
    CHECK_EQ_I64(bad, 0);
    ms_iter it; /* get_dp of every dp through its own key */
    ms_iter_prefix(&it, &v, "#dp#", 4);
    int ndp = 0;
    while (ms_iter_next(&it)) {
        size_t vl;
        ms_layout_part p;
        const void *val = ms_iter_value(&it, &vl);
        uint64_t h[3] = {0, 0, 0};
        bad += ms_layout_part_decode(val, vl, &p) != 0 ||
               ms_ops_get_dp(&v, p.vol, p.id).verdict != MS_READ_COMPLETE || p.hosts.n != 3 ||
               ms_layout_ids_copy(&p.hosts, h) != 0 || h[0] == h[1] || vl > 24;
        ndp++;
    }
    CHECK_EQ_I64(ndp, 500);
    for (uint64_t id = 21; id <= 50; id++)
        bad += ms_ops_get_node(&v, id).verdict != MS_READ_COMPLETE;
    CHECK_EQ_I64(bad, 0);
    ms_read_result r = ms_ops_list_vols(&v);
    CHECK(r.verdict == MS_READ_COMPLETE && r.entries == 21);
    CHECK(ms_ops_get_cluster(&v).verdict == MS_READ_COMPLETE);
    CHECK(ms_ops_get_vol(&v, 21).verdict == MS_READ_NOT_FOUND);
    CHECK(ms_ops_get_partitions(&v, 99).verdict == MS_READ_NOT_FOUND);
    CHECK(ms_ops_get_dp(&v, 1, 100000).verdict == MS_READ_NOT_FOUND);
    CHECK(ms_ops_get_node(&v, 51).verdict == MS_READ_NOT_FOUND);
    CHECK(ms_ops_get_node(&v, 3).verdict == MS_READ_NOT_FOUND);
    CHECK(ms_ops_run(&v, MS_OP_LIST_VOLS, 0, 0).verdict == MS_READ_COMPLETE);
    ms_read_op op;
    CHECK(ms_ops_op_parse("get_meta_partitions", &op) == 0 && op == MS_OP_GET_META_PARTITIONS);
    CHECK(ms_ops_op_parse("nope", &op) == -1);
    CHECK_STR(ms_ops_op_name(MS_OP_GET_DP), "get_dp");
    CHECK_STR(ms_ops_verdict_name(MS_READ_TORN), "torn");
    ms_store_free(s);
}

#define CHECK_VERDICT(res, v, text)                                                                \
    do {                                                                                           \
        ms_read_result r_ = (res);                                                                 \
        CHECK(r_.verdict == (v));                                                                  \
        CHECK_STR(r_.why, text);                                                                   \
    } while (0)

static void test_torn_rules(void) {
    ms_store_mem mem = {0};
    ms_store *s = ms_test_image(&mem, &small, 7);
    ms_version *full = ms_store_snapshot(s);
    char k[MS_LAYOUT_KEY_MAX];
    ms_view v = ms_store_view(s);
    /* remove vol 3's first dp: its list is now partial */
    ms_iter it;
    size_t pl = ms_layout_key_dp_prefix(k, 3), kl;
    ms_iter_prefix(&it, &v, k, pl);
    CHECK(ms_iter_next(&it));
    char dpkey[MS_LAYOUT_KEY_MAX];
    const void *key = ms_iter_key(&it, &kl);
    memcpy(dpkey, key, kl);
    dpkey[kl] = '\0';
    uint64_t dp = strtoull(dpkey + pl, NULL, 10);
    ms_store_del(s, dpkey, kl);
    v = ms_store_view(s);
    CHECK_VERDICT(ms_ops_get_partitions(&v, 3), MS_READ_TORN, "listed partition missing");
    CHECK_VERDICT(ms_ops_get_dp(&v, 3, dp), MS_READ_TORN, "listed partition missing");
    CHECK(ms_ops_get_partitions(&v, 4).verdict == MS_READ_COMPLETE);
    /* an unlisted partition key */
    ms_store_put(s, dpkey, kl, "x", 1);
    v = ms_store_view(s);
    CHECK_VERDICT(ms_ops_get_partitions(&v, 3), MS_READ_TORN, "malformed partition record");
    unsigned char rec[128];
    uint64_t hosts[] = {21, 22, 23};
    ms_layout_part p = {MS_REC_DP, 0, 999999, 3, 0, 0, ms_layout_ids_array(3, hosts)};
    size_t n = ms_layout_part_encode(&p, rec, sizeof rec);
    ms_store_del(s, dpkey, kl);
    ms_store_put(s, k, ms_layout_key_dp(k, 3, 999999), rec, n);
    v = ms_store_view(s);
    CHECK_VERDICT(ms_ops_get_partitions(&v, 3), MS_READ_TORN, "listed partition missing");
    /* a missing vol record while the cluster counts it */
    ms_store_del(s, k, ms_layout_key_vol(k, 5));
    v = ms_store_view(s);
    CHECK_VERDICT(ms_ops_get_vol(&v, 5), MS_READ_TORN, "vol record missing");
    CHECK_VERDICT(ms_ops_get_meta_partitions(&v, 5), MS_READ_TORN, "vol record missing");
    CHECK_VERDICT(ms_ops_list_vols(&v), MS_READ_TORN, "vol list shorter than the cluster record");
    CHECK_VERDICT(ms_ops_get_vol(&v, 77), MS_READ_TORN, "vol record missing");
    /* a missing node */
    ms_store_del(s, k, ms_layout_key_dn(k, 21, "10.0.0.0:17310"));
    v = ms_store_view(s);
    CHECK_VERDICT(ms_ops_get_node(&v, 21), MS_READ_TORN, "node record missing");
    /* allocators and the cluster record */
    ms_store_del(s, MS_LAYOUT_KEY_MAX_MP, strlen(MS_LAYOUT_KEY_MAX_MP));
    v = ms_store_view(s);
    CHECK_VERDICT(ms_ops_get_cluster(&v), MS_READ_TORN, "id allocator missing");
    ms_store_del(s, k, ms_layout_key_cluster(k, "test"));
    v = ms_store_view(s);
    CHECK_VERDICT(ms_ops_get_cluster(&v), MS_READ_TORN, "cluster record missing");
    CHECK_VERDICT(ms_ops_list_vols(&v), MS_READ_TORN, "cluster record missing");
    /* no applied key: everything is torn */
    ms_store_del(s, MS_LAYOUT_KEY_APPLIED, strlen(MS_LAYOUT_KEY_APPLIED));
    v = ms_store_view(s);
    CHECK_VERDICT(ms_ops_get_vol(&v, 1), MS_READ_TORN, "applied key missing");
    ms_store_clear(s);
    v = ms_store_view(s);
    CHECK_VERDICT(ms_ops_list_vols(&v), MS_READ_TORN, "applied key missing");
    /* store states */
    ms_store_set_state(s, MS_STORE_CLOSED);
    v = ms_store_view(s);
    CHECK_VERDICT(ms_ops_get_cluster(&v), MS_READ_CRASH, "store closed by an apply");
    ms_store_set_state(s, MS_STORE_BROKEN);
    v = ms_store_view(s);
    CHECK_VERDICT(ms_ops_get_cluster(&v), MS_READ_UNUSABLE, "store broken by an aborted apply");
    /* the version taken first saw none of it */
    ms_view fv = ms_version_view(full);
    CHECK(ms_ops_list_vols(&fv).verdict == MS_READ_COMPLETE);
    CHECK(ms_ops_get_partitions(&fv, 3).verdict == MS_READ_COMPLETE);
    ms_version_release(full);
    ms_store_free(s);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

int main(void) {
    RUN(test_keys);
    RUN(test_records);
    RUN(test_gen_deterministic);
    RUN(test_gen_consistent);
    RUN(test_torn_rules);
    return ms_test_end();
}

/* Writes keep the image consistent: after any mix of writes every read op
 * is COMPLETE (or NOT_FOUND for what was deleted), and replicas that apply
 * the same entries hold the same contents. */
#include "ms_gen.h"
#include "ms_ops.h"
#include "ms_rng.h"
#include "ms_write.h"
#include "ms_test.h"
#include "ms_test_image.h"

static ms_store *image(ms_store_mem *mem) {
    ms_gen_desc d = {
        .volumes = 20, .data_partitions = 60, .meta_partitions = 40, .nodes = 12, .users = 3};
    return ms_test_image(mem, &d, 7);
}

static void check_consistent(ms_store *s, uint64_t max_vol) {
    ms_view v = ms_store_view(s);
    CHECK_EQ_I64(ms_ops_list_vols(&v).verdict, MS_READ_COMPLETE);
    CHECK_EQ_I64(ms_ops_get_cluster(&v).verdict, MS_READ_COMPLETE);
    for (uint64_t vol = 1; vol <= max_vol; vol++) {
        ms_read_verdict a = ms_ops_get_vol(&v, vol).verdict;
        CHECK(a == MS_READ_COMPLETE || a == MS_READ_NOT_FOUND);
        ms_read_verdict b = ms_ops_get_partitions(&v, vol).verdict;
        CHECK(b == a);
        CHECK(ms_ops_get_meta_partitions(&v, vol).verdict == a);
    }
}

static void test_each_op(void) {
    ms_store_mem mem = {0};
    ms_store *s = image(&mem);
    char err[128];
    ms_write w = {.op = MS_W_CREATE_VOL, .dp_hosts = {21, 22, 23}, .mp_hosts = {27, 28, 29}};
    CHECK_EQ_I64(ms_write_apply(s, &w, 2, err, sizeof err), 1);
    ms_view v = ms_store_view(s);
    CHECK_EQ_I64(ms_ops_get_vol(&v, 33).verdict, MS_READ_COMPLETE); /* 20 vols + 12 nodes + 1 */
    CHECK_EQ_I64(ms_ops_get_partitions(&v, 33).entries, 2);         /* the vol + its dp */
    w = (ms_write){.op = MS_W_CREATE_DP, .vol = 33, .dp_hosts = {21, 22, 24}};
    CHECK_EQ_I64(ms_write_apply(s, &w, 3, err, sizeof err), 1);
    v = ms_store_view(s);
    CHECK_EQ_I64(ms_ops_get_partitions(&v, 33).entries, 3);
    CHECK_EQ_I64(ms_ops_get_dp(&v, 33, 62).verdict, MS_READ_COMPLETE);
    w = (ms_write){.op = MS_W_HEARTBEAT, .node = 21, .used = 12345};
    CHECK_EQ_I64(ms_write_apply(s, &w, 4, err, sizeof err), 1);
    w = (ms_write){.op = MS_W_DELETE_VOL, .vol = 5};
    CHECK_EQ_I64(ms_write_apply(s, &w, 5, err, sizeof err), 1);
    v = ms_store_view(s);
    CHECK_EQ_I64(ms_ops_get_vol(&v, 5).verdict, MS_READ_NOT_FOUND);
    CHECK_EQ_I64(ms_write_apply(s, &w, 6, err, sizeof err), 0); /* already gone: no-op */
    w = (ms_write){.op = MS_W_CREATE_DP, .vol = 5, .dp_hosts = {21, 22, 23}};
    CHECK_EQ_I64(ms_write_apply(s, &w, 7, err, sizeof err), 0);
    CHECK_EQ_I64(ms_store_applied(s), 7);
    check_consistent(s, 40);
    ms_store_free(s);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

static void test_random_writes_replicas_agree(void) {
    ms_store_mem mem = {0};
    ms_store *a = image(&mem), *b = image(&mem);
    ms_rng r;
    ms_rng_init(&r, 3, "writes");
    char err[128];
    unsigned char buf[MS_WRITE_BYTES];
    for (uint64_t i = 2; i < 2000; i++) {
        ms_write w = {.op = (uint8_t)(1 + ms_rng_below(&r, 4)),
                      .vol = 1 + ms_rng_below(&r, 40),
                      .node = 21 + ms_rng_below(&r, 12),
                      .used = ms_rng_below(&r, 1u << 30)};
        for (int k = 0; k < MS_WRITE_HOSTS; k++) {
            w.dp_hosts[k] = 21 + ms_rng_below(&r, 6);
            w.mp_hosts[k] = 27 + ms_rng_below(&r, 6);
        }
        ms_write d;
        CHECK_EQ_I64(ms_write_decode(buf, ms_write_encode(&w, buf), &d), 0);
        CHECK(ms_write_apply(a, &w, i, err, sizeof err) >= 0);
        CHECK(ms_write_apply(b, &d, i, err, sizeof err) >= 0);
    }
    CHECK(ms_store_digest(a) == ms_store_digest(b));
    check_consistent(a, 600);
    CHECK_EQ_I64(ms_write_decode(buf, MS_WRITE_BYTES - 1, &(ms_write){0}), -1);
    ms_store_free(a);
    ms_store_free(b);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

int main(void) {
    RUN(test_each_op);
    RUN(test_random_writes_replicas_agree);
    return ms_test_end();
}

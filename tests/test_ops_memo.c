/* The read memo gives exactly what a full read gives. A store is pushed
 * through writes, raw damage to partition records (keys deleted, unlisted
 * keys added, records overwritten with garbage, vol records replaced) and
 * pinned versions that force copy-on-write, and after every change reads
 * through one memo are compared, field by field, with reads that scan. */
#include "ms_gen.h"
#include "ms_layout.h"
#include "ms_ops.h"
#include "ms_rng.h"
#include "ms_write.h"
#include "ms_test.h"

#define VOLS 24

static void same(ms_read_result a, ms_read_result b) {
    CHECK_EQ_I64(a.verdict, b.verdict);
    CHECK(a.why == b.why); /* static text: the same rule fired */
    CHECK_EQ_I64(a.entries, b.entries);
    CHECK_EQ_I64(a.bytes, b.bytes);
    CHECK_EQ_I64(a.applied, b.applied);
}

/* Every vol (and one past the last) both ways, in view v. */
static void compare_all(ms_ops_memo *m, const ms_view *v) {
    for (uint64_t vol = 1; vol <= VOLS + 13; vol++)
        for (int op = MS_OP_GET_VOL; op <= MS_OP_GET_DP; op++)
            same(ms_ops_run_memo(m, v, (ms_read_op)op, vol, vol * 3),
                 ms_ops_run(v, (ms_read_op)op, vol, vol * 3));
}

/* One raw change of a partition record or a vol record of vol. */
static void damage(ms_ops_memo *m, ms_store *s, ms_rng *r, uint64_t vol) {
    char key[MS_LAYOUT_KEY_MAX];
    unsigned char junk[16] = {0x42, 0x01, 0x02};
    size_t kl;
    switch (ms_rng_below(r, 6)) {
    case 0: /* a listed partition disappears (or nothing, when unlisted) */
        kl = ms_layout_key_dp(key, vol, 1 + ms_rng_below(r, 200));
        CHECK(ms_store_del(s, key, kl) >= 0);
        break;
    case 1: /* a key the vol does not list */
        kl = ms_layout_key_mp(key, vol, 100000 + ms_rng_below(r, 100));
        CHECK_EQ_I64(ms_store_put(s, key, kl, junk, sizeof junk), 0);
        break;
    case 2: /* a record that does not decode */
        kl = ms_layout_key_dp(key, vol, 1 + ms_rng_below(r, 200));
        CHECK_EQ_I64(ms_store_put(s, key, kl, junk, 1 + ms_rng_below(r, 15)), 0);
        break;
    case 4: { /* the applied key and an id allocator gone, read, put back */
        ms_view v = ms_store_view(s);
        for (int op = MS_OP_GET_VOL; op <= MS_OP_GET_CLUSTER; op++)
            same(ms_ops_run_memo(m, &v, (ms_read_op)op, vol, 1),
                 ms_ops_run(&v, (ms_read_op)op, vol, 1));
        static const char *const gone[] = {MS_LAYOUT_KEY_APPLIED, MS_LAYOUT_KEY_MAX_DP};
        size_t vl;
        unsigned char copy[2][8];
        for (int g = 0; g < 2; g++) {
            const void *p = ms_store_get(s, gone[g], strlen(gone[g]), &vl);
            CHECK(p != NULL && vl == 8);
            memcpy(copy[g], p, 8);
            CHECK_EQ_I64(ms_store_del(s, gone[g], strlen(gone[g])), 1);
            v = ms_store_view(s);
            for (int op = MS_OP_GET_VOL; op <= MS_OP_GET_CLUSTER; op++)
                same(ms_ops_run_memo(m, &v, (ms_read_op)op, vol, 1),
                     ms_ops_run(&v, (ms_read_op)op, vol, 1));
        }
        for (int g = 0; g < 2; g++)
            CHECK_EQ_I64(ms_store_put(s, gone[g], strlen(gone[g]), copy[g], 8), 0);
        break;
    }
    case 3: { /* a vol record that does not decode, read, then put back */
        kl = ms_layout_key_vol(key, vol);
        size_t vl;
        const void *p = ms_store_get(s, key, kl, &vl);
        if (p == NULL) break;
        unsigned char copy[65536];
        CHECK(vl <= sizeof copy);
        memcpy(copy, p, vl);
        CHECK_EQ_I64(ms_store_put(s, key, kl, junk, sizeof junk), 0);
        ms_view v = ms_store_view(s);
        for (int op = MS_OP_GET_VOL; op <= MS_OP_GET_META_PARTITIONS; op++)
            same(ms_ops_run_memo(m, &v, (ms_read_op)op, vol, 0),
                 ms_ops_run(&v, (ms_read_op)op, vol, 0));
        CHECK_EQ_I64(ms_store_put(s, key, kl, copy, vl), 0);
        break;
    }
    default: { /* the vol record rewritten with the same bytes: a new entry */
        kl = ms_layout_key_vol(key, vol);
        size_t vl;
        const void *p = ms_store_get(s, key, kl, &vl);
        if (p) {
            unsigned char copy[65536];
            CHECK(vl <= sizeof copy);
            memcpy(copy, p, vl);
            CHECK_EQ_I64(ms_store_put(s, key, kl, copy, vl), 0);
        }
    }
    }
}

static void test_memo_matches_scans(void) {
    ms_store_mem mem = {0};
    ms_store *s = ms_store_new(&mem);
    ms_gen_desc d = {
        .volumes = VOLS, .data_partitions = 3000, .meta_partitions = 400, .nodes = 12, .users = 3};
    char err[128];
    CHECK_EQ_I64(ms_gen_build(s, &d, 5, NULL, err, sizeof err), 0);
    ms_ops_memo *m = ms_ops_memo_new();
    CHECK(m != NULL);
    ms_rng r;
    ms_rng_init(&r, 11, "memo");
    ms_version *pinned[4] = {0};
    for (uint64_t i = 2; i < 1500; i++) {
        uint64_t vol = 1 + ms_rng_below(&r, VOLS + 2);
        if (ms_rng_below(&r, 3) == 0) {
            damage(m, s, &r, vol);
        } else {
            ms_write w = {.op = (uint8_t)(1 + ms_rng_below(&r, 4)),
                          .vol = vol,
                          .node = VOLS + 1 + ms_rng_below(&r, 12),
                          .used = ms_rng_below(&r, 1u << 30)};
            for (int k = 0; k < MS_WRITE_HOSTS; k++) {
                w.dp_hosts[k] = VOLS + 1 + ms_rng_below(&r, 6);
                w.mp_hosts[k] = VOLS + 7 + ms_rng_below(&r, 6);
            }
            if (w.op == MS_W_DELETE_VOL && ms_rng_below(&r, 4)) w.op = MS_W_CREATE_DP;
            CHECK(ms_write_apply(s, &w, i, err, sizeof err) >= 0);
        }
        /* versions taken and dropped now and then: later writes copy */
        int slot = (int)ms_rng_below(&r, 4);
        if (ms_rng_below(&r, 8) == 0) {
            ms_version_release(pinned[slot]);
            pinned[slot] = ms_store_snapshot(s);
        }
        ms_view v = ms_store_view(s);
        for (int k = 0; k < 6; k++) {
            uint64_t q = 1 + ms_rng_below(&r, VOLS + 2);
            for (int op = MS_OP_GET_VOL; op <= MS_OP_GET_META_PARTITIONS; op++)
                same(ms_ops_run_memo(m, &v, (ms_read_op)op, q, 0),
                     ms_ops_run(&v, (ms_read_op)op, q, 0));
            same(ms_ops_run_memo(m, &v, MS_OP_GET_CLUSTER, 0, 0),
                 ms_ops_run(&v, MS_OP_GET_CLUSTER, 0, 0));
        }
        if (i % 100 == 0) {
            compare_all(m, &v);
            for (int k = 0; k < 4; k++)
                if (pinned[k]) {
                    ms_view pv = ms_version_view(pinned[k]);
                    compare_all(m, &pv);
                }
        }
    }
    ms_ops_memo_stats st = ms_ops_memo_stats_get(m);
    printf("  memo: %llu hits (%llu by the subtree stamp), %llu misses\n",
           (unsigned long long)st.hits, (unsigned long long)st.covered,
           (unsigned long long)st.misses);
    /* every path was exercised */
    CHECK(st.hits > 1000 && st.misses > 1000);
    CHECK(st.covered > 100 && st.hits - st.covered > 100);
    CHECK(st.vol_hits > 100 && st.vol_misses > 100);
    for (int k = 0; k < 4; k++) ms_version_release(pinned[k]);
    ms_ops_memo_free(m);
    ms_store_free(s);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

/* Closed and broken stores are decided before the memo is consulted. */
static void test_memo_states(void) {
    ms_store *s = ms_store_new(NULL);
    ms_gen_desc d = {.volumes = 3, .data_partitions = 9, .meta_partitions = 3, .nodes = 6};
    char err[128];
    CHECK_EQ_I64(ms_gen_build(s, &d, 1, NULL, err, sizeof err), 0);
    ms_ops_memo *m = ms_ops_memo_new();
    ms_view v = ms_store_view(s);
    CHECK_EQ_I64(ms_ops_run_memo(m, &v, MS_OP_GET_PARTITIONS, 1, 0).verdict, MS_READ_COMPLETE);
    CHECK_EQ_I64(ms_ops_run_memo(m, &v, MS_OP_GET_PARTITIONS, 1, 0).verdict, MS_READ_COMPLETE);
    CHECK_EQ_I64(ms_ops_memo_stats_get(m).hits, 1);
    ms_store_set_state(s, MS_STORE_CLOSED);
    v = ms_store_view(s);
    CHECK_EQ_I64(ms_ops_run_memo(m, &v, MS_OP_GET_PARTITIONS, 1, 0).verdict, MS_READ_CRASH);
    ms_store_set_state(s, MS_STORE_BROKEN);
    v = ms_store_view(s);
    CHECK_EQ_I64(ms_ops_run_memo(m, &v, MS_OP_GET_PARTITIONS, 1, 0).verdict, MS_READ_UNUSABLE);
    ms_store_set_state(s, MS_STORE_OPEN);
    CHECK_EQ_I64(ms_store_del(s, MS_LAYOUT_KEY_APPLIED, strlen(MS_LAYOUT_KEY_APPLIED)), 1);
    v = ms_store_view(s);
    CHECK_EQ_I64(ms_ops_run_memo(m, &v, MS_OP_GET_PARTITIONS, 1, 0).verdict, MS_READ_TORN);
    ms_ops_memo_free(m);
    ms_store_free(s);
}

int main(void) {
    RUN(test_memo_matches_scans);
    RUN(test_memo_states);
    return ms_test_end();
}

/* ms_snapshot: export/import round trips in every mode, what a reader of the
 * live store sees between chunks in each mode, abort, and the rejection
 * (with its exact message) of every kind of damaged stream. */
#include "ms_gen.h"
#include "ms_layout.h"
#include "ms_ops.h"
#include "ms_snapshot.h"
#include "ms_test.h"
#include "ms_test_image.h"

#include <stdlib.h>

typedef struct stream {
    unsigned char *f[4096];
    size_t len[4096];
    int n;
} stream;

static const ms_gen_desc img = {.volumes = 20,
                                .data_partitions = 500,
                                .meta_partitions = 60,
                                .nodes = 30,
                                .users = 4,
                                .applied = 5000,
                                .cluster = "snap"};

static ms_store *image(ms_store_mem *mem, uint64_t seed, uint64_t applied) {
    ms_gen_desc d = img;
    d.applied = applied;
    return ms_test_image(mem, &d, seed);
}

/* Export v with small frames into st. */
static void export_all(ms_version *v, stream *st, uint32_t max_entries, uint32_t max_bytes) {
    ms_snap_opts o = {max_entries, max_bytes, 3, NULL};
    ms_snap_exp *e = ms_snap_export_begin(v, &o);
    const void *f;
    size_t len, total = 0;
    char err[200];
    st->n = 0;
    int rc;
    while ((rc = ms_snap_export_next(e, &f, &len, err, sizeof err)) == 1 && st->n < 4096) {
        st->f[st->n] = malloc(len);
        memcpy(st->f[st->n], f, len);
        st->len[st->n++] = len;
        total += len;
    }
    CHECK(rc == 0);
    CHECK_EQ_I64(ms_snap_export_bytes(e), total);
    CHECK_EQ_I64(ms_snap_export_frames(e), st->n);
    CHECK_EQ_I64(ms_snap_export_entries(e), ms_version_count(v));
    ms_snap_export_end(e);
}

static void stream_free(stream *st) {
    for (int i = 0; i < st->n; i++) free(st->f[i]);
    st->n = 0;
}

/* Feed frames [from, to) of st; the first error message goes to err. */
static int feed(ms_snap_imp *imp, const stream *st, int from, int to, char *err, size_t errlen) {
    for (int i = from; i < to; i++)
        if (ms_snap_import_chunk(imp, st->f[i], st->len[i], err, errlen) != 0) return -1;
    return 0;
}

static int all_reads(const ms_view *v, ms_read_verdict want) {
    int ok = ms_ops_list_vols(v).verdict == want && ms_ops_get_cluster(v).verdict == want;
    for (uint64_t vol = 1; vol <= img.volumes; vol++)
        ok &= ms_ops_get_partitions(v, vol).verdict == want &&
              ms_ops_get_meta_partitions(v, vol).verdict == want;
    return ok;
}

static void test_round_trip_every_mode(void) {
    ms_store_mem mem = {0};
    ms_store *src = image(&mem, 11, 5000);
    ms_version *v = ms_store_snapshot(src);
    stream st;
    export_all(v, &st, 50, 4096);
    CHECK(st.n > 10);
    for (int m = MS_SNAP_REOPEN; m <= MS_SNAP_ASIDE; m++) {
        ms_store *live = image(&mem, 12, 4000); /* different contents to replace */
        CHECK(ms_store_digest(live) != ms_version_digest(v));
        ms_snap_imp *imp = ms_snap_import_begin(live, (ms_snap_mode)m);
        char err[200] = "";
        CHECK(feed(imp, &st, 0, st.n, err, sizeof err) == 0);
        ms_snap_progress p = ms_snap_import_progress(imp);
        CHECK(p.done && p.entries == p.total && p.total == ms_version_count(v));
        CHECK(p.index == 5000 && p.term == 3 && p.frames == (uint64_t)st.n);
        CHECK(ms_snap_import_finish(imp, err, sizeof err) == 0);
        CHECK_STR(err, "");
        CHECK(ms_store_digest(live) == ms_version_digest(v));
        CHECK_EQ_I64(ms_store_count(live), ms_version_count(v));
        CHECK_EQ_I64(ms_store_applied(live), 5000);
        CHECK(ms_store_state_of(live) == MS_STORE_OPEN);
        ms_view lv = ms_store_view(live);
        CHECK(all_reads(&lv, MS_READ_COMPLETE));
        ms_store_free(live);
    }
    /* an empty store round-trips too (header, end) */
    ms_store *empty = ms_store_new(&mem);
    ms_version *ev = ms_store_snapshot(empty);
    stream es;
    export_all(ev, &es, 0, 0);
    CHECK_EQ_I64(es.n, 2);
    ms_store *live = image(&mem, 1, 1);
    ms_snap_imp *imp = ms_snap_import_begin(live, MS_SNAP_INPLACE);
    CHECK(feed(imp, &es, 0, es.n, NULL, 0) == 0 && ms_snap_import_finish(imp, NULL, 0) == 0);
    CHECK_EQ_I64(ms_store_count(live), 0);
    ms_store_free(live);
    ms_version_release(ev);
    ms_store_free(empty);
    stream_free(&es);
    stream_free(&st);
    ms_version_release(v);
    ms_store_free(src);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

/* What a reader of the live store sees half-way through each mode. */
static void test_visible_between_chunks(void) {
    ms_store_mem mem = {0};
    ms_store *src = image(&mem, 21, 9000);
    ms_version *v = ms_store_snapshot(src);
    stream st;
    export_all(v, &st, 40, 4096);
    int half = st.n / 2;
    for (int m = MS_SNAP_REOPEN; m <= MS_SNAP_ASIDE; m++) {
        ms_store *live = image(&mem, 22, 8000);
        uint64_t before = ms_store_digest(live);
        ms_version *old = ms_store_snapshot(live);
        ms_snap_imp *imp = ms_snap_import_begin(live, (ms_snap_mode)m);
        ms_view lv = ms_store_view(live);
        CHECK(all_reads(&lv, MS_READ_COMPLETE)); /* nothing happens before a chunk */
        CHECK(feed(imp, &st, 0, 1, NULL, 0) == 0);
        lv = ms_store_view(live);
        if (m == MS_SNAP_REOPEN) CHECK(all_reads(&lv, MS_READ_CRASH));
        if (m == MS_SNAP_INPLACE) CHECK(ms_store_digest(live) == before); /* header only */
        CHECK(feed(imp, &st, 1, half, NULL, 0) == 0);
        ms_snap_progress p = ms_snap_import_progress(imp);
        CHECK(p.entries > 0 && p.entries < p.total && !p.done);
        lv = ms_store_view(live);
        if (m == MS_SNAP_REOPEN) {
            CHECK(all_reads(&lv, MS_READ_CRASH));
        } else if (m == MS_SNAP_INPLACE) {
            CHECK_EQ_I64(ms_store_count(live), p.entries);
            CHECK(all_reads(&lv, MS_READ_TORN));
            CHECK(ms_ops_get_vol(&lv, 1).verdict == MS_READ_TORN);
        } else {
            CHECK(ms_store_digest(live) == before);
            CHECK(all_reads(&lv, MS_READ_COMPLETE));
            CHECK(ms_ops_get_vol(&lv, 1).applied == 8000);
        }
        ms_view ov = ms_version_view(old); /* a version taken before is intact */
        CHECK(ms_version_digest(old) == before && all_reads(&ov, MS_READ_COMPLETE));
        CHECK(feed(imp, &st, half, st.n, NULL, 0) == 0);
        if (m == MS_SNAP_INPLACE) { /* everything but `applied` is in */
            lv = ms_store_view(live);
            CHECK(ms_ops_get_cluster(&lv).verdict == MS_READ_TORN);
        }
        CHECK(ms_snap_import_finish(imp, NULL, 0) == 0);
        lv = ms_store_view(live);
        CHECK(all_reads(&lv, MS_READ_COMPLETE));
        CHECK(ms_ops_get_vol(&lv, 1).applied == 9000);
        CHECK(ms_version_digest(old) == before);
        ms_version_release(old);
        ms_store_free(live);
    }
    stream_free(&st);
    ms_version_release(v);
    ms_store_free(src);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

static void test_abort(void) {
    ms_store_mem mem = {0};
    ms_store *src = image(&mem, 31, 100);
    ms_version *v = ms_store_snapshot(src);
    stream st;
    export_all(v, &st, 40, 4096);
    for (int m = MS_SNAP_REOPEN; m <= MS_SNAP_ASIDE; m++) {
        ms_store *live = image(&mem, 32, 90);
        uint64_t before = ms_store_digest(live);
        ms_snap_imp *imp = ms_snap_import_begin(live, (ms_snap_mode)m);
        ms_snap_import_abort(imp); /* before any chunk: untouched */
        CHECK(ms_store_state_of(live) == MS_STORE_OPEN && ms_store_digest(live) == before);
        imp = ms_snap_import_begin(live, (ms_snap_mode)m);
        CHECK(feed(imp, &st, 0, 3, NULL, 0) == 0);
        char err[200];
        CHECK(ms_snap_import_finish(imp, err, sizeof err) == -1);
        CHECK_STR(err, "snapshot finish before the end frame (next frame 3)");
        ms_snap_import_abort(imp);
        ms_view lv = ms_store_view(live);
        if (m == MS_SNAP_ASIDE) {
            CHECK(ms_store_state_of(live) == MS_STORE_OPEN && ms_store_digest(live) == before);
            CHECK(all_reads(&lv, MS_READ_COMPLETE));
        } else {
            CHECK(ms_store_state_of(live) == MS_STORE_BROKEN);
            CHECK(all_reads(&lv, MS_READ_UNUSABLE));
        }
        ms_store_free(live);
    }
    stream_free(&st);
    ms_version_release(v);
    ms_store_free(src);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

/* Import st with frame i replaced by (f, len) (NULL: dropped); returns the
 * first error message in err, "" when everything was accepted. */
static void import_damaged(const stream *st, int i, const void *f, size_t len, int extra, char *err,
                           size_t errlen) {
    ms_store_mem mem = {0};
    ms_store *live = ms_store_new(&mem);
    ms_snap_imp *imp = ms_snap_import_begin(live, MS_SNAP_ASIDE);
    err[0] = '\0';
    int rc = 0;
    for (int j = 0; j < st->n && rc == 0; j++) {
        if (j == i && f == NULL) continue;
        rc = ms_snap_import_chunk(imp, j == i ? f : st->f[j], j == i ? len : st->len[j], err,
                                  errlen);
        if (rc == 0 && j == i && extra) /* deliver it twice */
            rc = ms_snap_import_chunk(imp, f, len, err, errlen);
    }
    int finished = rc == 0 && ms_snap_import_finish(imp, err, errlen) == 0;
    if (!finished) ms_snap_import_abort(imp);
    /* aside: a rejected stream leaves the (empty) live store as it was */
    CHECK(ms_store_state_of(live) == MS_STORE_OPEN && (finished || ms_store_count(live) == 0));
    ms_store_free(live);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

/* A copy of frame i with byte at flipped (and resealed when reseal). */
static unsigned char *damaged(const stream *st, int i, size_t at, int reseal) {
    unsigned char *f = malloc(st->len[i]);
    memcpy(f, st->f[i], st->len[i]);
    f[at] ^= 0x40;
    if (reseal) ms_snap_frame_seal(f, st->len[i]);
    return f;
}

#define EXPECT_DAMAGE(i, f, len, extra, msg)                                                       \
    do {                                                                                           \
        char err_[256];                                                                            \
        import_damaged(&st, i, f, len, extra, err_, sizeof err_);                                  \
        CHECK_STR(err_, msg);                                                                      \
    } while (0)

static void test_corruption_rejected(void) {
    ms_store_mem mem = {0};
    ms_store *src = image(&mem, 41, 77);
    ms_version *v = ms_store_snapshot(src);
    stream st;
    export_all(v, &st, 40, 4096);
    int last = st.n - 1;
    uint64_t off1 = st.len[0], off2 = st.len[0] + st.len[1];
    char msg[256];
    unsigned char *f;

    EXPECT_DAMAGE(-1, NULL, 0, 0, ""); /* undamaged */
    /* a flipped byte in each frame kind */
    f = damaged(&st, 0, 30, 0);
    {
        char err_[256];
        import_damaged(&st, 0, f, st.len[0], 0, err_, sizeof err_);
        CHECK(strncmp(err_, "snapshot frame 0 at byte 0: checksum mismatch: expected ", 56) == 0);
    }
    free(f);
    f = damaged(&st, 1, 100, 0);
    {
        char err_[256];
        import_damaged(&st, 1, f, st.len[1], 0, err_, sizeof err_);
        snprintf(msg, sizeof msg, "snapshot frame 1 at byte %llu: checksum mismatch",
                 (unsigned long long)off1);
        CHECK(strncmp(err_, msg, strlen(msg)) == 0);
    }
    free(f);
    f = damaged(&st, last, 25, 0);
    {
        char err_[256];
        import_damaged(&st, last, f, st.len[last], 0, err_, sizeof err_);
        CHECK(strstr(err_, ": checksum mismatch: expected ") != NULL);
    }
    free(f);
    /* truncated frames: inside the head, inside the payload */
    snprintf(msg, sizeof msg,
             "snapshot frame 1 at byte %llu: truncated: 10 bytes, a frame head needs 20",
             (unsigned long long)off1);
    EXPECT_DAMAGE(1, st.f[1], 10, 0, msg);
    snprintf(msg, sizeof msg,
             "snapshot frame 1 at byte %llu: truncated: head says %zu payload bytes, chunk has %zu",
             (unsigned long long)off1, st.len[1] - 20, st.len[1] - 21);
    EXPECT_DAMAGE(1, st.f[1], st.len[1] - 1, 0, msg);
    /* two frames swapped: frame 2 arrives where 1 was expected */
    snprintf(msg, sizeof msg,
             "snapshot frame 1 at byte %llu: sequence: expected 1, got 2 (missing or reordered)",
             (unsigned long long)off1);
    EXPECT_DAMAGE(1, st.f[2], st.len[2], 0, msg);
    /* a duplicated frame */
    snprintf(msg, sizeof msg,
             "snapshot frame 2 at byte %llu: sequence: expected 2, got 1 (duplicate or replayed)",
             (unsigned long long)off2);
    EXPECT_DAMAGE(1, st.f[1], st.len[1], 1, msg);
    /* a dropped end frame: finish refuses */
    snprintf(msg, sizeof msg, "snapshot finish before the end frame (next frame %d)", last);
    EXPECT_DAMAGE(last, NULL, 0, 0, msg);
    /* an oversized length */
    f = damaged(&st, 1, 3, 0); /* length += 0x40 << 24 */
    snprintf(msg, sizeof msg,
             "snapshot frame 1 at byte %llu: oversized: payload length %u, limit 4096",
             (unsigned long long)off1, (unsigned)(st.len[1] - 20) ^ 0x40000000u);
    EXPECT_DAMAGE(1, f, st.len[1], 0, msg);
    free(f);
    /* damage behind a valid check: the payload walk catches it */
    f = damaged(&st, 0, 20, 1);
    EXPECT_DAMAGE(0, f, st.len[0], 0,
                  "snapshot frame 0 at byte 0: bad magic: expected 0x50414e53, got 0x50414e13");
    free(f);
    f = damaged(&st, 1, 20 + 4 + 3, 1); /* first key length += 0x40 << 24 */
    snprintf(msg, sizeof msg,
             "snapshot frame 1 at byte %llu: entry 0 at payload byte 4: key %u + value %u bytes "
             "overrun the payload (%zu left)",
             (unsigned long long)off1, 0x40000000u | (unsigned)st.f[1][24],
             (unsigned)st.f[1][28] | (unsigned)st.f[1][29] << 8, st.len[1] - 20 - 12);
    EXPECT_DAMAGE(1, f, st.len[1], 0, msg);
    free(f);
    f = damaged(&st, 1, 20 + 12, 1); /* first key's first byte: '#' -> 'c' (out of order) */
    snprintf(msg, sizeof msg,
             "snapshot frame 1 at byte %llu: entry 1 at payload byte %u: key not above the "
             "previous key",
             (unsigned long long)off1, 12u + st.f[1][24] + st.f[1][28] + 256u * st.f[1][29]);
    EXPECT_DAMAGE(1, f, st.len[1], 0, msg);
    free(f);
    f = damaged(&st, 1, st.len[1] - 1, 1); /* the last value byte: only the digest sees it */
    {
        char err_[256];
        import_damaged(&st, 1, f, st.len[1], 0, err_, sizeof err_);
        CHECK(strstr(err_, ": content digest mismatch: expected ") != NULL);
        CHECK(strncmp(err_, "snapshot frame ", 15) == 0);
    }
    free(f);
    f = damaged(&st, 1, 20, 1); /* entry count 40 -> 104: beyond the frame's limit */
    snprintf(msg, sizeof msg, "snapshot frame 1 at byte %llu: entry count 104, expected 1..40",
             (unsigned long long)off1);
    EXPECT_DAMAGE(1, f, st.len[1], 0, msg);
    free(f);
    f = damaged(&st, last, 20, 1); /* end frame count */
    {
        char err_[256];
        import_damaged(&st, last, f, st.len[last], 0, err_, sizeof err_);
        CHECK(strstr(err_, ": entry count: header says ") != NULL);
    }
    free(f);
    f = damaged(&st, 1, 8, 1); /* kind 2 -> 66 */
    snprintf(
        msg, sizeof msg,
        "snapshot frame 1 at byte %llu: unexpected unknown frame (kind 66), expected data or end",
        (unsigned long long)off1);
    EXPECT_DAMAGE(1, f, st.len[1], 0, msg);
    free(f);
    /* a data frame first */
    snprintf(msg, sizeof msg, "snapshot frame 0 at byte 0: oversized: payload length %zu, limit 40",
             st.len[1] - 20);
    EXPECT_DAMAGE(0, st.f[1], st.len[1], 0, msg);
    stream_free(&st);
    ms_version_release(v);
    ms_store_free(src);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

static void test_export_limits(void) {
    ms_store_mem mem = {0};
    ms_store *s = ms_store_new(&mem);
    char big[300];
    memset(big, 'x', sizeof big);
    ms_store_put(s, "k", 1, big, sizeof big);
    ms_version *v = ms_store_snapshot(s);
    ms_snap_opts o = {10, 100, 0, NULL};
    ms_snap_exp *e = ms_snap_export_begin(v, &o);
    const void *f;
    size_t len;
    char err[200];
    CHECK(ms_snap_export_next(e, &f, &len, err, sizeof err) == 1);
    CHECK(ms_snap_export_next(e, &f, &len, err, sizeof err) == -1);
    CHECK_STR(err, "snapshot export: entry 0 (313 bytes) exceeds the frame limit of 100 bytes");
    ms_snap_export_end(e);
    ms_version_release(v);
    ms_store_free(s);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
    ms_snap_mode m;
    CHECK(ms_snap_mode_parse("aside", &m) == 0 && m == MS_SNAP_ASIDE);
    CHECK(ms_snap_mode_parse("other", &m) == -1);
    CHECK_STR(ms_snap_mode_name(MS_SNAP_INPLACE), "inplace");
}

static size_t charge_x4(const void *k, size_t kl, const void *v, size_t vl) {
    (void)k, (void)kl, (void)v;
    return 4 * vl;
}

/* With a charge function, a data frame ends where the charged sizes reach
 * max_bytes, reports its charged size, and imports as any other. */
static void test_export_charged(void) {
    ms_store_mem mem = {0};
    ms_store *s = ms_store_new(&mem), *dst = ms_store_new(&mem);
    char key[8], val[10] = "vvvvvvvvv";
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "k%02d", i);
        ms_store_put(s, key, 3, val, 10); /* 21 bytes a frame entry, charged 51 */
    }
    ms_version *v = ms_store_snapshot(s);
    ms_snap_opts o = {100, 260, 0, charge_x4};
    ms_snap_exp *e = ms_snap_export_begin(v, &o);
    ms_snap_imp *imp = ms_snap_import_begin(dst, MS_SNAP_ASIDE);
    const void *f;
    size_t len, sizes[16], charged[16];
    int n = 0, rc;
    char err[200];
    while ((rc = ms_snap_export_next(e, &f, &len, err, sizeof err)) == 1 && n < 16) {
        sizes[n] = len;
        charged[n++] = ms_snap_export_charged(e);
        CHECK(ms_snap_import_chunk(imp, f, len, err, sizeof err) == 0);
    }
    CHECK(rc == 0);
    /* header, 4 data frames of 5 entries (4 + 5 x 51 = 259 charged), end */
    CHECK_EQ_I64(n, 6);
    CHECK(sizes[0] == charged[0] && sizes[5] == charged[5]);
    for (int i = 1; i <= 4 && n == 6; i++) {
        CHECK_EQ_I64(sizes[i], MS_SNAP_HEAD_BYTES + 4 + 5 * 21);
        CHECK_EQ_I64(charged[i], MS_SNAP_HEAD_BYTES + 4 + 5 * 51);
    }
    CHECK(ms_snap_import_finish(imp, err, sizeof err) == 0);
    CHECK(ms_store_digest(dst) == ms_store_digest(s));
    ms_snap_export_end(e);
    ms_version_release(v);
    ms_store_free(s);
    ms_store_free(dst);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

/* A key longer than a store takes (MS_STORE_KEY_MAX) is refused by the
 * store and, in a stream, by the importer's frame check, before anything
 * of the frame is applied. */
static void test_long_key_rejected(void) {
    ms_store_mem mem = {0};
    ms_store *src = ms_store_new(&mem);
    size_t kl = MS_STORE_KEY_MAX;
    char *k = malloc(kl + 1);
    memset(k, 'k', kl + 1);
    CHECK(ms_store_put(src, k, kl + 1, "vv", 2) == -1);
    CHECK_EQ_I64(ms_store_count(src), 0);
    CHECK(ms_store_put(src, k, kl, "vv", 2) == 0);
    ms_version *v = ms_store_snapshot(src);
    stream st;
    export_all(v, &st, 40, 1u << 20);
    CHECK_EQ_I64(st.n, 3);
    EXPECT_DAMAGE(-1, NULL, 0, 0, ""); /* the longest key goes through */
    /* entry 0 of frame 1 claims one key byte more and one value byte less */
    unsigned char *f = malloc(st.len[1]);
    memcpy(f, st.f[1], st.len[1]);
    uint32_t klen = (uint32_t)kl + 1, vlen = 1;
    for (int i = 0; i < 4; i++) {
        f[MS_SNAP_HEAD_BYTES + 4 + i] = (unsigned char)(klen >> (8 * i));
        f[MS_SNAP_HEAD_BYTES + 8 + i] = (unsigned char)(vlen >> (8 * i));
    }
    ms_snap_frame_seal(f, st.len[1]);
    char msg[256];
    snprintf(msg, sizeof msg,
             "snapshot frame 1 at byte %zu: entry 0 at payload byte 4: a key of %zu bytes (the "
             "store takes at most %d)",
             st.len[0], kl + 1, MS_STORE_KEY_MAX);
    EXPECT_DAMAGE(1, f, st.len[1], 0, msg);
    free(f);
    free(k);
    stream_free(&st);
    ms_version_release(v);
    ms_store_free(src);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

int main(void) {
    RUN(test_round_trip_every_mode);
    RUN(test_long_key_rejected);
    RUN(test_visible_between_chunks);
    RUN(test_abort);
    RUN(test_corruption_rejected);
    RUN(test_export_limits);
    RUN(test_export_charged);
    return ms_test_end();
}

/* ms_layout's compact records (format 2): edge values round-trip, every
 * malformed form is refused (non-shortest and over-long varints, fields out
 * of range, counts past the input, trailing bytes, the old format), random
 * mutations of valid records either fail or re-encode to exactly their
 * bytes (read from exact-size buffers, so ASan sees any overrun), the
 * one-pass partition check agrees with the full decode, appending a dp to
 * an encoded list equals encoding the longer list, and the format-1 sizes
 * a snapshot stream is charged at. */
#include "ms_layout.h"
#include "ms_rng.h"
#include "ms_test.h"

#include <stdlib.h>

/* Re-encode a decoded record of the kind at b[0] into out; its size, or 0
 * when it does not decode. */
static size_t reencode(const unsigned char *b, size_t n, unsigned char *out, size_t cap) {
    ms_layout_vol v;
    ms_layout_part p;
    ms_layout_node d;
    ms_layout_user u;
    ms_layout_cluster c;
    if (n == 0) return 0;
    switch (b[0] & 15) { /* the kind; the decoders check the format */
    case MS_REC_VOL:
        return ms_layout_vol_decode(b, n, &v) == 0 ? ms_layout_vol_encode(&v, out, cap) : 0;
    case MS_REC_DP:
    case MS_REC_MP:
        return ms_layout_part_decode(b, n, &p) == 0 ? ms_layout_part_encode(&p, out, cap) : 0;
    case MS_REC_DATANODE:
    case MS_REC_METANODE:
        return ms_layout_node_decode(b, n, &d) == 0 ? ms_layout_node_encode(&d, out, cap) : 0;
    case MS_REC_USER:
        return ms_layout_user_decode(b, n, &u) == 0 ? ms_layout_user_encode(&u, out, cap) : 0;
    case MS_REC_CLUSTER:
        return ms_layout_cluster_decode(b, n, &c) == 0 ? ms_layout_cluster_encode(&c, out, cap) : 0;
    default:
        return 0;
    }
}

/* A copy of b in a buffer of exactly n bytes: reading past it is an ASan
 * report. */
static unsigned char *exact(const unsigned char *b, size_t n) {
    unsigned char *p = malloc(n ? n : 1);
    if (n) memcpy(p, b, n);
    return p;
}

static void test_edges_round_trip(void) {
    unsigned char buf[512], again[512];
    uint64_t ids[] = {0, UINT64_MAX, 1, 1, UINT64_MAX - 5, 7, 0}; /* wraps both ways */
    ms_layout_part
        p = {MS_REC_DP, 255, UINT64_MAX, 0, UINT64_MAX - 1, 1u << 31, ms_layout_ids_array(7, ids)},
        dp;
    size_t n = ms_layout_part_encode(&p, buf, sizeof buf);
    CHECK(ms_layout_part_decode(buf, n, &dp) == 0 && dp.status == 255 && dp.id == UINT64_MAX &&
          dp.vol == 0 && dp.start == UINT64_MAX - 1 && dp.hosts.n == 7 && dp.hosts.last == 0);
    uint64_t got[7];
    CHECK(ms_layout_ids_copy(&dp.hosts, got) == 0 && memcmp(got, ids, sizeof ids) == 0);
    CHECK(ms_layout_part_encode(&dp, again, sizeof again) == n && memcmp(again, buf, n) == 0);
    ms_layout_ids_cur c;
    uint64_t x, seen = 0;
    ms_layout_ids_begin(&c, &dp.hosts);
    while (ms_layout_ids_next(&c, &x)) seen++;
    CHECK_EQ_I64(seen, 7);
    CHECK(!ms_layout_ids_next(&c, &x)); /* stays at the end */

    static char name[65535];
    memset(name, 'n', sizeof name);
    ms_layout_node nd = {MS_REC_METANODE, 1, UINT32_MAX, UINT64_MAX, 0, {name, 65535}}, dn;
    size_t big = ms_layout_node_encode(&nd, NULL, 0);
    unsigned char *b = malloc(big);
    CHECK(ms_layout_node_encode(&nd, b, big) == big);
    CHECK(ms_layout_node_decode(b, big, &dn) == 0 && dn.zone == UINT32_MAX &&
          dn.addr.len == 65535 && dn.total == UINT64_MAX);
    free(b);

    ms_layout_vol
        v = {1, 0, 0, {"", 0}, {"", 0}, ms_layout_ids_array(0, NULL), ms_layout_ids_array(0, NULL)},
        dv;
    n = ms_layout_vol_encode(&v, buf, sizeof buf);
    CHECK_EQ_I64(n, 8); /* head, id, capacity, status, 2 lengths, 2 counts */
    CHECK(ms_layout_vol_decode(buf, n, &dv) == 0 && dv.dps.n == 0 && dv.dps.last == 0);
}

/* One hand-built record per rule: each is refused. */
static void test_malformed_refused(void) {
    ms_layout_part p;
    ms_layout_node d;
    ms_layout_vol v;
    ms_layout_cluster c;
    /* dp: head, status, id, vol, start, end, count 0 */
    unsigned char ok[] = {MS_LAYOUT_HEAD(MS_REC_DP), 0, 5, 1, 0, 0, 0};
    CHECK(ms_layout_part_decode(ok, sizeof ok, &p) == 0 && p.id == 5);
    unsigned char overlong[] = {
        MS_LAYOUT_HEAD(MS_REC_DP), 0, 0x85, 0x00, 1, 0, 0, 0};  /* id 5 in 2 bytes */
    unsigned char format1[] = {MS_REC_DP, 1, 0, 5, 1, 0, 0, 0}; /* format 1's kind, format */
    unsigned char trailing[] = {MS_LAYOUT_HEAD(MS_REC_DP), 0, 5, 1, 0, 0, 0, 0};
    unsigned char count[] = {MS_LAYOUT_HEAD(MS_REC_DP), 0, 5, 1, 0, 0, 2, 1}; /* 2 hosts, 1 byte */
    unsigned char cut[] = {
        MS_LAYOUT_HEAD(MS_REC_DP), 0, 5, 1, 0, 0, 1, 0x80}; /* host runs off the end */
    /* records with long varints, written by hand */
    /* clang-format off */
    unsigned char wide[] = {MS_LAYOUT_HEAD(MS_REC_DP), 0, /* id: 65 bits */
                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 1, 0, 0, 0};
    unsigned char eleven[] = {MS_LAYOUT_HEAD(MS_REC_DP), 0, /* id: 11 bytes */
                              0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
                              1, 0, 0, 0};
    /* clang-format on */
    const struct {
        const unsigned char *b;
        size_t n;
    } bad[] = {{overlong, sizeof overlong}, {format1, sizeof format1}, {trailing, sizeof trailing},
               {count, sizeof count},       {cut, sizeof cut},         {wide, sizeof wide},
               {eleven, sizeof eleven}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char *b = exact(bad[i].b, bad[i].n);
        CHECK(ms_layout_part_decode(b, bad[i].n, &p) == -1);
        CHECK(ms_layout_part_check(b, bad[i].n, NULL, NULL) == -1);
        free(b);
    }
    /* 10-byte varint holding 2^63: fine; zone 2^32: out of range */
    /* clang-format off */
    unsigned char top[] = {MS_LAYOUT_HEAD(MS_REC_DP), 0,
                           0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 1, 0, 0, 0};
    /* clang-format on */
    CHECK(ms_layout_part_decode(top, sizeof top, &p) == 0 && p.id == UINT64_C(1) << 63);
    unsigned char zone[] = {
        MS_LAYOUT_HEAD(MS_REC_DATANODE), 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0, 0};
    CHECK(ms_layout_node_decode(zone, sizeof zone, &d) == -1);
    memset(zone + 2, 0xff, 4); /* 2^32 - 1 (ff ff ff ff 0f) is the largest zone */
    zone[6] = 0x0f;
    CHECK(ms_layout_node_decode(zone, sizeof zone, &d) == 0 && d.zone == UINT32_MAX);
    /* a string length past 65535 (65536 = 0x80 0x80 0x04) */
    unsigned char str[] = {MS_LAYOUT_HEAD(MS_REC_CLUSTER), 0x80, 0x80, 0x04};
    CHECK(ms_layout_cluster_decode(str, sizeof str, &c) == -1);
    /* a list count past 2^32 - 1 */
    unsigned char cnt[] = {
        MS_LAYOUT_HEAD(MS_REC_VOL), 1, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0};
    CHECK(ms_layout_vol_decode(cnt, sizeof cnt, &v) == -1);
}

/* A random valid record of a random kind into buf; its size. */
static size_t random_record(ms_rng *r, unsigned char *buf, size_t cap) {
    uint64_t ids[8];
    uint32_t n = (uint32_t)ms_rng_below(r, 8);
    int wide = ms_rng_below(r, 4) == 0; /* else small, nearby values */
    for (uint32_t i = 0; i < n; i++)
        ids[i] = wide ? ms_rng_next(r) : 1000 + i * 7 + ms_rng_below(r, 5);
    uint64_t a = wide ? ms_rng_next(r) : ms_rng_below(r, 300);
    static const char *const names[] = {"", "v", "vol000042", "10.0.0.1:17310"};
    const char *s = names[ms_rng_below(r, 4)];
    ms_layout_str str = {s, (uint16_t)strlen(s)};
    switch (ms_rng_below(r, 5)) {
    case 0: {
        ms_layout_vol v = {a,
                           a * 3,
                           1,
                           str,
                           str,
                           ms_layout_ids_array(n / 2, ids),
                           ms_layout_ids_array(n - n / 2, ids + n / 2)};
        return ms_layout_vol_encode(&v, buf, cap);
    }
    case 1: {
        ms_layout_part p = {MS_REC_MP, 0, a, 3, 1, a + 1, ms_layout_ids_array(n, ids)};
        return ms_layout_part_encode(&p, buf, cap);
    }
    case 2: {
        ms_layout_node d = {MS_REC_DATANODE, a, (uint32_t)a, a << 3, a, str};
        return ms_layout_node_encode(&d, buf, cap);
    }
    case 3: {
        ms_layout_user u = {2, str, ms_layout_ids_array(n, ids)};
        return ms_layout_user_encode(&u, buf, cap);
    }
    default: {
        ms_layout_cluster c = {str, a, 1, 2, 3, 4, 5, a, 7, UINT64_MAX};
        return ms_layout_cluster_encode(&c, buf, cap);
    }
    }
}

/* Mutate b (n bytes, room for n + 1) once: flip, set a continuation bit,
 * zero, truncate or insert. The new size. */
static size_t mutate(ms_rng *r, unsigned char *b, size_t n) {
    size_t at = n ? (size_t)ms_rng_below(r, n) : 0;
    switch (ms_rng_below(r, 5)) {
    case 0:
        if (n) b[at] ^= (unsigned char)(1u << ms_rng_below(r, 8));
        return n;
    case 1:
        if (n) b[at] |= 0x80;
        return n;
    case 2:
        if (n) b[at] = 0;
        return n;
    case 3:
        return at;
    default:
        memmove(b + at + 1, b + at, n - at);
        b[at] = (unsigned char)ms_rng_next(r);
        return n + 1;
    }
}

static void test_mutations(void) {
    ms_rng r;
    ms_rng_init(&r, 17, "layout");
    unsigned char buf[256], again[256];
    long accepted = 0, refused = 0, disagree = 0, noncanonical = 0;
    for (int i = 0; i < 200000; i++) {
        size_t n = random_record(&r, buf, sizeof buf - 8);
        int rounds = 1 + (int)ms_rng_below(&r, 3);
        for (int k = 0; k < rounds; k++) n = mutate(&r, buf, n);
        unsigned char *b = exact(buf, n);
        size_t m = reencode(b, n, again, sizeof again);
        if (m == 0) {
            refused++;
        } else {
            accepted++;
            noncanonical += m != n || memcmp(again, b, n) != 0;
        }
        ms_layout_part p;
        uint64_t id = 0, vol = 0;
        int full = ms_layout_part_decode(b, n, &p), quick = ms_layout_part_check(b, n, &id, &vol);
        disagree += full != quick || (full == 0 && (id != p.id || vol != p.vol));
        free(b);
    }
    CHECK_EQ_I64(noncanonical, 0);
    CHECK_EQ_I64(disagree, 0);
    CHECK(accepted > 1000 && refused > 1000); /* both sides were reached */
}

static void test_add_dp(void) {
    uint64_t mps[] = {4}, dps[] = {10, 12, 30}, more[] = {10, 12, 30, 31};
    ms_layout_vol v = {7,
                       1,
                       0,
                       {"v7", 2},
                       {"u", 1},
                       ms_layout_ids_array(1, mps),
                       ms_layout_ids_array(3, dps)},
                  dv;
    unsigned char a[128], b[128], c[128];
    size_t n = ms_layout_vol_encode(&v, a, sizeof a);
    CHECK(ms_layout_vol_decode(a, n, &dv) == 0 && dv.dps.last == 30);
    size_t m = ms_layout_vol_encode_add_dp(&dv, 31, b, sizeof b);
    v.dps = ms_layout_ids_array(4, more);
    CHECK(ms_layout_vol_encode(&v, c, sizeof c) == m && memcmp(b, c, m) == 0);
    v.dps = ms_layout_ids_array(0, NULL); /* onto an empty list, and from an array */
    m = ms_layout_vol_encode_add_dp(&v, 10, b, sizeof b);
    v.dps = ms_layout_ids_array(1, dps);
    CHECK(ms_layout_vol_encode(&v, c, sizeof c) == m && memcmp(b, c, m) == 0);
    v.dps = ms_layout_ids_array(3, dps);
    m = ms_layout_vol_encode_add_dp(&v, 31, b, sizeof b);
    v.dps = ms_layout_ids_array(4, more);
    CHECK(ms_layout_vol_encode(&v, c, sizeof c) == m && memcmp(b, c, m) == 0);
}

/* Format 1 had 8-byte integers (zone 4), u16 string and u32 list lengths
 * and 8 bytes an id, after the kind and format bytes. */
static void test_v1_sizes(void) {
    unsigned char buf[256];
    uint64_t ids[] = {1, 2, 3};
    ms_layout_vol v = {
        9, 1, 0, {"vol9", 4}, {"bob", 3}, ms_layout_ids_array(2, ids), ms_layout_ids_array(3, ids)};
    size_t n = ms_layout_vol_encode(&v, buf, sizeof buf);
    CHECK_EQ_I64(ms_layout_v1_size("#vol#0000000009", 15, buf, n),
                 2 + 17 + 2 + 4 + 2 + 3 + 4 + 16 + 4 + 24);
    ms_layout_part p = {MS_REC_DP, 0, 5, 9, 0, 0, ms_layout_ids_array(3, ids)};
    n = ms_layout_part_encode(&p, buf, sizeof buf);
    CHECK_EQ_I64(n, 10);
    CHECK_EQ_I64(ms_layout_v1_size("#dp#0000000009#0000000005", 25, buf, n), 2 + 33 + 4 + 24);
    CHECK_EQ_I64(ms_layout_v1_size("#mp#0000000009#0000000005", 25, buf, n), 63);
    CHECK_EQ_I64(ms_layout_v1_size("#xx#", 4, buf, n), n);             /* not a record's key */
    CHECK_EQ_I64(ms_layout_v1_size("#vol#0000000009", 15, buf, n), n); /* not a vol record */
    ms_layout_node d = {MS_REC_DATANODE, 21, 1, 5, 2, {"10.0.0.0:17310", 14}};
    n = ms_layout_node_encode(&d, buf, sizeof buf);
    CHECK_EQ_I64(ms_layout_v1_size("#dn#0000000021#10.0.0.0:17310", 29, buf, n), 2 + 28 + 2 + 14);
    ms_layout_user u = {1, {"alice", 5}, ms_layout_ids_array(3, ids)};
    n = ms_layout_user_encode(&u, buf, sizeof buf);
    CHECK_EQ_I64(ms_layout_v1_size("#user#alice", 11, buf, n), 2 + 1 + 2 + 5 + 4 + 24);
    ms_layout_cluster c = {{"c1", 2}, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    n = ms_layout_cluster_encode(&c, buf, sizeof buf);
    CHECK_EQ_I64(ms_layout_v1_size("#c#c1", 5, buf, n), 2 + 2 + 2 + 72);
    CHECK_EQ_I64(ms_layout_v1_size("applied", 7, "\1\0\0\0\0\0\0\0", 8), 8);
}

int main(void) {
    RUN(test_edges_round_trip);
    RUN(test_malformed_refused);
    RUN(test_mutations);
    RUN(test_add_dp);
    RUN(test_v1_sizes);
    return ms_test_end();
}

/* ms_store: versions stay unchanged under later writes, random operations
 * agree with a sorted-array reference model (with versions taken and
 * released at random points), scans are ordered, digests depend only on
 * contents, and memory accounting returns to 0. */
#include "ms_rng.h"
#include "ms_store.h"
#include "ms_test.h"

#include <stdio.h>
#include <stdlib.h>

/* --- reference model: a sorted array of fixed-size records --------------- */

typedef struct rec {
    char k[16];
    size_t klen;
    char v[48];
    size_t vlen;
} rec;

typedef struct model {
    rec *r;
    size_t n, cap;
} model;

static int rec_cmp(const char *k, size_t klen, const rec *r) {
    size_t m = klen < r->klen ? klen : r->klen;
    int c = memcmp(k, r->k, m);
    return c ? c : (klen > r->klen) - (klen < r->klen);
}

static size_t model_lower(const model *m, const char *k, size_t klen) {
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (rec_cmp(k, klen, &m->r[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void model_put(model *m, const char *k, size_t klen, const char *v, size_t vlen) {
    size_t i = model_lower(m, k, klen);
    if (i == m->n || rec_cmp(k, klen, &m->r[i]) != 0) {
        if (m->n == m->cap) {
            m->cap = m->cap ? 2 * m->cap : 64;
            m->r = realloc(m->r, m->cap * sizeof *m->r);
        }
        memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof *m->r);
        m->n++;
        memcpy(m->r[i].k, k, klen);
        m->r[i].klen = klen;
    }
    memcpy(m->r[i].v, v, vlen);
    m->r[i].vlen = vlen;
}

static int model_del(model *m, const char *k, size_t klen) {
    size_t i = model_lower(m, k, klen);
    if (i == m->n || rec_cmp(k, klen, &m->r[i]) != 0) return 0;
    memmove(&m->r[i], &m->r[i + 1], (m->n - i - 1) * sizeof *m->r);
    m->n--;
    return 1;
}

static model model_copy(const model *m) {
    model c = {malloc((m->n + 1) * sizeof *m->r), m->n, m->n + 1};
    memcpy(c.r, m->r, m->n * sizeof *m->r);
    return c;
}

static uint64_t model_digest(const model *m) {
    uint64_t h = MS_STORE_DIGEST_INIT;
    for (size_t i = 0; i < m->n; i++)
        h = ms_store_digest_entry(h, m->r[i].k, m->r[i].klen, m->r[i].v, m->r[i].vlen);
    return h;
}

/* 1 when a full scan of view v yields exactly the model's records in order. */
static int view_matches(const ms_view *v, const model *m) {
    ms_iter it;
    ms_iter_seek(&it, v, "", 0);
    size_t i = 0, kl, vl;
    while (ms_iter_next(&it)) {
        const void *k = ms_iter_key(&it, &kl);
        const void *val = ms_iter_value(&it, &vl);
        if (i >= m->n || kl != m->r[i].klen || memcmp(k, m->r[i].k, kl) != 0 ||
            vl != m->r[i].vlen || memcmp(val, m->r[i].v, vl) != 0)
            return 0;
        i++;
    }
    return i == m->n && v->count == m->n && ms_view_digest(v) == model_digest(m);
}

static size_t fmt_key(char *buf, uint64_t id) {
    return (size_t)snprintf(buf, 16, "k%07u", (unsigned)id);
}

/* --- tests ------------------------------------------------------------------- */

static void test_basic(void) {
    ms_store_mem mem = {0};
    ms_store *s = ms_store_new(&mem);
    size_t vl = 99;
    CHECK(ms_store_get(s, "a", 1, &vl) == NULL);
    CHECK(ms_store_put(s, "b", 1, "2", 1) == 0);
    CHECK(ms_store_put(s, "a", 1, "1", 1) == 0);
    CHECK(ms_store_put(s, "", 0, "", 0) == 0);
    CHECK_EQ_I64(ms_store_count(s), 3);
    const char *v = ms_store_get(s, "a", 1, &vl);
    CHECK(v && vl == 1 && v[0] == '1');
    CHECK(ms_store_get(s, "", 0, &vl) != NULL && vl == 0);
    CHECK(ms_store_put(s, "a", 1, "xyz", 3) == 0);
    v = ms_store_get(s, "a", 1, &vl);
    CHECK(v && vl == 3 && memcmp(v, "xyz", 3) == 0);
    CHECK_EQ_I64(ms_store_count(s), 3);
    CHECK(ms_store_del(s, "a", 1) == 1);
    CHECK(ms_store_del(s, "a", 1) == 0);
    CHECK_EQ_I64(ms_store_count(s), 2);
    ms_store_set_applied(s, 42);
    CHECK_EQ_I64(ms_store_applied(s), 42);
    CHECK(ms_store_state_of(s) == MS_STORE_OPEN);
    CHECK(mem.bytes_in_use > 0);
    ms_store_free(s);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
    CHECK_EQ_I64(mem.blocks, 0);
    CHECK(mem.peak > 0);
}

static void test_versions_unchanged(void) {
    ms_store_mem mem = {0};
    ms_store *s = ms_store_new(&mem);
    model m = {0};
    char k[16], v[48];
    for (uint64_t i = 0; i < 5000; i++) {
        size_t kl = fmt_key(k, i * 2),
               vl = (size_t)snprintf(v, sizeof v, "v%llu", (unsigned long long)i);
        ms_store_put(s, k, kl, v, vl);
        model_put(&m, k, kl, v, vl);
    }
    ms_store_set_applied(s, 7);
    ms_version *ver = ms_store_snapshot(s);
    uint64_t d0 = ms_version_digest(ver);
    CHECK(d0 == ms_store_digest(s));
    CHECK_EQ_I64(ms_version_applied(ver), 7);
    for (uint64_t i = 0; i < 5000; i += 3) { /* overwrite, insert, delete */
        size_t kl = fmt_key(k, i * 2);
        ms_store_put(s, k, kl, "new", 3);
        kl = fmt_key(k, i * 2 + 1);
        ms_store_put(s, k, kl, "ins", 3);
        kl = fmt_key(k, i * 2 + 2);
        ms_store_del(s, k, kl);
    }
    ms_store_set_applied(s, 9);
    CHECK(ms_store_digest(s) != d0);
    ms_view vv = ms_version_view(ver);
    CHECK(view_matches(&vv, &m));
    CHECK_EQ_I64(ms_version_applied(ver), 7);
    ms_store_clear(s);
    CHECK_EQ_I64(ms_store_count(s), 0);
    CHECK_EQ_I64(ms_store_applied(s), 0);
    CHECK(view_matches(&vv, &m));
    size_t vl;
    const char *got = ms_version_get(ver, "k0000004", 8, &vl);
    CHECK(got && vl == 2 && memcmp(got, "v2", 2) == 0);

    /* A store made from the version diverges without touching it. */
    ms_store *t = ms_store_from_version(ver);
    CHECK_EQ_I64(ms_store_count(t), 5000);
    CHECK_EQ_I64(ms_store_applied(t), 7);
    CHECK(ms_store_digest(t) == d0);
    for (uint64_t i = 0; i < 5000; i++) {
        size_t kl = fmt_key(k, i * 2);
        CHECK(ms_store_del(t, k, kl) == 1);
    }
    CHECK_EQ_I64(ms_store_count(t), 0);
    CHECK(view_matches(&vv, &m));
    ms_store_free(t);
    ms_store_free(s);
    CHECK(view_matches(&vv, &m)); /* the version outlives its store */
    CHECK(mem.bytes_in_use > 0);
    ms_version_retain(ver);
    ms_version_release(ver);
    CHECK(view_matches(&vv, &m));
    ms_version_release(ver);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
    CHECK_EQ_I64(mem.blocks, 0);
    free(m.r);
}

#define MAX_VERS 6

/* Random puts, deletes, clears and version takes against the model, in
 * phases that grow and shrink the tree so splits and merges both run. */
static void test_random_vs_model(void) {
    ms_store_mem mem = {0};
    ms_store *s = ms_store_new(&mem);
    model m = {0};
    ms_version *ver[MAX_VERS] = {0};
    model vm[MAX_VERS] = {{0}};
    ms_rng r;
    ms_rng_init(&r, 1234, "test_store");
    int bad_get = 0, bad_ret = 0, bad_ver = 0, takes = 0;
    char k[16], v[48];
    for (int step = 0; step < 300000; step++) {
        int phase = (step / 50000) % 2; /* 0 grows, 1 shrinks */
        uint64_t roll = ms_rng_below(&r, 100);
        size_t kl = fmt_key(k, ms_rng_below(&r, 30000));
        if (roll < (phase ? 30u : 70u)) {
            size_t vl = (size_t)ms_rng_below(&r, sizeof v);
            for (size_t i = 0; i < vl; i++) v[i] = (char)ms_rng_below(&r, 256);
            bad_ret += ms_store_put(s, k, kl, v, vl) != 0;
            model_put(&m, k, kl, v, vl);
        } else if (roll < 98) {
            bad_ret += ms_store_del(s, k, kl) != model_del(&m, k, kl);
        } else {
            size_t vl, i = model_lower(&m, k, kl);
            const char *got = ms_store_get(s, k, kl, &vl);
            int in = i < m.n && rec_cmp(k, kl, &m.r[i]) == 0;
            bad_get +=
                in ? !(got && vl == m.r[i].vlen && memcmp(got, m.r[i].v, vl) == 0) : got != NULL;
        }
        if (step == 260000) { /* one clear with versions alive */
            ms_store_clear(s);
            m.n = 0;
        }
        if (ms_rng_below(&r, 4000) == 0) {
            int slot = (int)ms_rng_below(&r, MAX_VERS);
            if (ver[slot]) {
                ms_view vv = ms_version_view(ver[slot]);
                bad_ver += !view_matches(&vv, &vm[slot]);
                ms_version_release(ver[slot]);
                free(vm[slot].r);
            }
            ver[slot] = ms_store_snapshot(s);
            vm[slot] = model_copy(&m);
            takes++;
        }
    }
    ms_view sv = ms_store_view(s);
    CHECK(view_matches(&sv, &m));
    ms_store_free(s);
    for (int i = 0; i < MAX_VERS; i++) {
        if (!ver[i]) continue;
        ms_view vv = ms_version_view(ver[i]);
        bad_ver += !view_matches(&vv, &vm[i]);
        ms_version_release(ver[i]);
        free(vm[i].r);
    }
    CHECK_EQ_I64(bad_get, 0);
    CHECK_EQ_I64(bad_ret, 0);
    CHECK_EQ_I64(bad_ver, 0);
    CHECK(takes > 20);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
    CHECK_EQ_I64(mem.blocks, 0);
    free(m.r);
}

static void test_scans(void) {
    ms_store_mem mem = {0};
    ms_store *s = ms_store_new(&mem);
    ms_rng r;
    ms_rng_init(&r, 5, "scan");
    char k[32];
    /* keys "p<group>/<n>" inserted in random order */
    for (int i = 0; i < 20000; i++) {
        unsigned g = (unsigned)ms_rng_below(&r, 50), n = (unsigned)ms_rng_below(&r, 100000);
        size_t kl = (size_t)snprintf(k, sizeof k, "p%02u/%06u", g, n);
        ms_store_put(s, k, kl, k, kl);
    }
    ms_view v = ms_store_view(s);
    ms_iter it;
    ms_iter_seek(&it, &v, "", 0);
    char prev[32] = "";
    size_t prevl = 0, kl, n = 0;
    int ordered = 1;
    while (ms_iter_next(&it)) {
        const char *key = ms_iter_key(&it, &kl);
        if (n > 0) {
            size_t mlen = kl < prevl ? kl : prevl;
            int c = memcmp(prev, key, mlen);
            ordered &= c < 0 || (c == 0 && prevl < kl);
        }
        memcpy(prev, key, kl);
        prevl = kl;
        n++;
    }
    CHECK(ordered);
    CHECK_EQ_I64(n, ms_store_count(s));
    /* prefix p07/ yields exactly the keys that carry it */
    size_t total = 0;
    for (unsigned g = 0; g < 50; g++) {
        char pfx[8];
        size_t pl = (size_t)snprintf(pfx, sizeof pfx, "p%02u/", g);
        size_t cnt = 0;
        int all = 1;
        ms_iter_prefix(&it, &v, pfx, pl);
        while (ms_iter_next(&it)) {
            const char *key = ms_iter_key(&it, &kl);
            all &= kl > pl && memcmp(key, pfx, pl) == 0;
            cnt++;
        }
        CHECK(all);
        total += cnt;
    }
    CHECK_EQ_I64(total, ms_store_count(s));
    /* seek lands on the first key >= start */
    ms_iter_seek(&it, &v, "p10/5", 5);
    CHECK(ms_iter_next(&it));
    const char *first = ms_iter_key(&it, &kl);
    CHECK(kl == 10 && memcmp(first, "p10/5", 5) >= 0);
    ms_iter_prefix(&it, &v, "zz", 2);
    CHECK(!ms_iter_next(&it));
    ms_store_free(s);
    ms_view empty = {0};
    ms_iter_seek(&it, &empty, "", 0);
    CHECK(!ms_iter_next(&it));
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

/* Same contents through different histories -> same digest. */
static void test_digest_shape_independent(void) {
    ms_store_mem mem = {0};
    ms_store *a = ms_store_new(&mem), *b = ms_store_new(&mem);
    char k[16];
    for (uint64_t i = 0; i < 3000; i++) {
        size_t kl = fmt_key(k, i);
        ms_store_put(a, k, kl, "v", 1);
    }
    for (uint64_t i = 6000; i-- > 0;) { /* descending, then delete the extra half */
        size_t kl = fmt_key(k, i);
        ms_store_put(b, k, kl, "v", 1);
    }
    for (uint64_t i = 3000; i < 6000; i++) {
        size_t kl = fmt_key(k, i);
        ms_store_del(b, k, kl);
    }
    CHECK(ms_store_digest(a) == ms_store_digest(b));
    ms_store_put(b, "k0000001", 8, "w", 1);
    CHECK(ms_store_digest(a) != ms_store_digest(b));
    ms_store_free(a);
    ms_store_free(b);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

static void test_swap(void) {
    ms_store_mem mem = {0};
    ms_store *live = ms_store_new(&mem), *side = ms_store_new(&mem);
    ms_store_put(live, "old", 3, "1", 1);
    ms_store_set_applied(live, 5);
    ms_version *before = ms_store_snapshot(live);
    ms_store_put(side, "new", 3, "2", 1);
    ms_store_set_applied(side, 9);
    ms_store_swap(live, side);
    CHECK_EQ_I64(ms_store_applied(live), 9);
    CHECK(ms_store_get(live, "new", 3, NULL) != NULL);
    CHECK(ms_store_get(live, "old", 3, NULL) == NULL);
    CHECK(ms_version_get(before, "old", 3, NULL) != NULL);
    CHECK_EQ_I64(ms_store_count(side), 0);
    ms_version_release(before);
    ms_store_free(side);
    ms_store_free(live);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
    CHECK_EQ_I64(mem.blocks, 0);
}

/* Hinted lookups give what plain ones give: probe keys (present, absent,
 * deleted and put back) and prefixes, each with a hint of its own, read
 * after every few random writes in the live store and in versions pinned
 * along the way (one hint serves every view), with a clear and a swap of
 * the tree's height in between. */
static void test_hints(void) {
    enum { PROBES = 64, PFX = 24 };
    ms_store *s = ms_store_new(NULL);
    ms_rng r;
    ms_rng_init(&r, 99, "test_hints");
    ms_hint kh[PROBES], ph[PFX];
    memset(kh, 0, sizeof kh);
    memset(ph, 0, sizeof ph);
    ms_version *pinned[3] = {0};
    char k[16], v[48] = {0};
    int bad = 0, stops = 0, reads = 0;
    for (int step = 0; step < 60000; step++) {
        size_t kl = fmt_key(k, ms_rng_below(&r, 20000));
        v[0] = (char)step;
        if (ms_rng_below(&r, 100) < 65)
            ms_store_put(s, k, kl, v, 1 + ms_rng_below(&r, sizeof v - 1));
        else
            ms_store_del(s, k, kl);
        if (step == 40000) ms_store_clear(s);
        if (step % 5000 == 0) {
            int i = (int)ms_rng_below(&r, 3);
            ms_version_release(pinned[i]);
            pinned[i] = ms_store_snapshot(s);
        }
        if (step % 7 != 0) continue;
        int which = (int)ms_rng_below(&r, 4);
        ms_view w = which < 3 && pinned[which] ? ms_version_view(pinned[which]) : ms_store_view(s);
        for (int p = 0; p < PROBES; p++) {
            size_t pl = fmt_key(k, (uint64_t)p * 311), vl1 = 0, vl2 = 0;
            uint64_t st1 = 0, st2 = 0;
            /* read twice in a row in one view: the hint stops at the root */
            stops +=
                ms_view_stamp(&w) != 0 && kh[p].depth > 0 && kh[p].path[0] == ms_view_stamp(&w);
            const void *a = ms_view_get_stamped(&w, k, pl, &vl1, &st1);
            const void *b = ms_view_get_hinted(&w, k, pl, &vl2, &st2, &kh[p]);
            bad += a != b || (a && (vl1 != vl2 || st1 != st2));
            reads++;
        }
        for (int p = 0; p < PFX; p++) {
            size_t pl = fmt_key(k, (uint64_t)p * 833) - 2; /* a range of about 100 keys */
            bad +=
                ms_view_prefix_cover(&w, k, pl) != ms_view_prefix_cover_hinted(&w, k, pl, &ph[p]);
        }
    }
    CHECK_EQ_I64(bad, 0);
    CHECK(stops > reads / 10); /* the hints were kept, not only refilled */
    for (int i = 0; i < 3; i++) ms_version_release(pinned[i]);
    ms_store_free(s);
}

int main(void) {
    RUN(test_basic);
    RUN(test_versions_unchanged);
    RUN(test_random_vs_model);
    RUN(test_scans);
    RUN(test_digest_shape_independent);
    RUN(test_swap);
    RUN(test_hints);
    return ms_test_end();
}

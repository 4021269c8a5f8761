/* ms_store_from_base: families that start from one shared image. The base
 * is never written (its contents and its accounting stay as they were
 * through every write, version and clear of the derived stores), each
 * derived store reads and writes as a private copy would, a derived family
 * counts the base in full exactly while it refers into it, and every family
 * returns to 0. */
#include "ms_rng.h"
#include "ms_store.h"
#include "ms_test.h"

#include <stdio.h>
#include <stdlib.h>

#define KEYS 6000

static size_t key(char *buf, uint64_t i) {
    return (size_t)snprintf(buf, 24, "#k#%09u", (unsigned)i);
}

/* Value of key i in generation g: lengths vary (8..71 bytes), so entries
 * land in many size classes of the arena. */
static size_t value(char *buf, uint64_t i, uint64_t g) {
    size_t n = 8 + (size_t)((i * 7 + g) % 64);
    for (size_t j = 0; j < n; j++) buf[j] = (char)('a' + (i + g + j) % 26);
    return n;
}

/* The content digest of keys 0..n-1 with every value of generation g, but
 * those listed in gen[] (generation per key, 0 = g, -1 = deleted). */
static uint64_t digest_of(const int *gen, uint64_t n) {
    uint64_t h = MS_STORE_DIGEST_INIT;
    char k[24], v[80];
    for (uint64_t i = 0; i < n; i++) {
        if (gen[i] < 0) continue;
        h = ms_store_digest_entry(h, k, key(k, i), v, value(v, i, (uint64_t)gen[i]));
    }
    return h;
}

static ms_version *base_image(ms_store_mem *b) {
    char k[24], v[80];
    b->shareable = 1;
    ms_store *s = ms_store_new(b);
    for (uint64_t i = 0; i < KEYS; i++)
        CHECK(ms_store_put(s, k, key(k, i), v, value(v, i, 0)) == 0);
    ms_store_set_applied(s, 7);
    ms_version *img = ms_store_snapshot(s);
    ms_store_free(s);
    return img;
}

/* Random puts (new generations) and deletes on s, mirrored in gen. */
static void scribble(ms_store *s, int *gen, ms_rng *r, int ops) {
    char k[24], v[80];
    for (int j = 0; j < ops; j++) {
        uint64_t i = ms_rng_below(r, KEYS);
        size_t kl = key(k, i);
        if (ms_rng_below(r, 5) == 0) {
            CHECK(ms_store_del(s, k, kl) == (gen[i] >= 0));
            gen[i] = -1;
        } else {
            gen[i] = 1 + (int)ms_rng_below(r, 9);
            CHECK(ms_store_put(s, k, kl, v, value(v, i, (uint64_t)gen[i])) == 0);
        }
    }
}

static void test_shared_image(void) {
    ms_store_mem b = {0}, d1 = {0}, d2 = {0}, e = {0};
    ms_version *img = base_image(&b);
    const int64_t bytes = b.bytes_in_use, blocks = b.blocks;
    ms_store *empty = ms_store_new(&e); /* what a store's own head costs */
    const int64_t head = e.bytes_in_use;
    ms_store_free(empty);

    ms_store *s1 = ms_store_from_base(img, &d1), *s2 = ms_store_from_base(img, &d2);
    CHECK(s1 && s2);
    /* each counts the image in full, as if it had built it */
    CHECK_EQ_I64(d1.bytes_in_use, bytes + head);
    CHECK_EQ_I64(d1.blocks, blocks + 1);
    CHECK_EQ_I64(d2.bytes_in_use, bytes + head);
    CHECK_EQ_I64(ms_store_applied(s1), 7);

    int *g0 = calloc(KEYS, sizeof *g0), *g1 = calloc(KEYS, sizeof *g1),
        *g2 = calloc(KEYS, sizeof *g2);
    const uint64_t d0 = digest_of(g0, KEYS);
    ms_rng r;
    ms_rng_init(&r, 5, "base");
    ms_version *pin = NULL;
    for (int round = 0; round < 6; round++) {
        scribble(s1, g1, &r, 700);
        scribble(s2, g2, &r, 300);
        if (round == 2) pin = ms_store_snapshot(s2); /* a derived family's own version */
        /* the writes went to copies: the image is as it was */
        CHECK_EQ_I64(ms_version_digest(img), d0);
        CHECK_EQ_I64(b.bytes_in_use, bytes);
        CHECK_EQ_I64(b.blocks, blocks);
        CHECK_EQ_I64(ms_store_digest(s1), digest_of(g1, KEYS));
        CHECK_EQ_I64(ms_store_digest(s2), digest_of(g2, KEYS));
        /* still referring into the image: counted, plus their own copies */
        CHECK(d1.bytes_in_use > bytes + head && d2.bytes_in_use > bytes + head);
        CHECK(d1.peak >= d1.bytes_in_use);
    }
    ms_version_release(pin);
    /* a clear drops every reference into the image: only the head is left */
    ms_store_clear(s1);
    CHECK_EQ_I64(d1.base_refs, 0);
    CHECK_EQ_I64(d1.bytes_in_use, head);
    CHECK_EQ_I64(d1.blocks, 1);
    CHECK(d1.peak > bytes);
    /* and it fills on its own from there */
    char k[24], v[80];
    for (uint64_t i = 0; i < 100; i++)
        CHECK(ms_store_put(s1, k, key(k, i), v, value(v, i, 3)) == 0);
    CHECK_EQ_I64(d1.base_refs, 0);
    CHECK(d1.bytes_in_use < bytes / 10);
    ms_store_free(s1);
    ms_store_free(s2);
    CHECK_EQ_I64(d1.bytes_in_use, 0);
    CHECK_EQ_I64(d1.blocks, 0);
    CHECK_EQ_I64(d2.bytes_in_use, 0);
    CHECK_EQ_I64(d2.blocks, 0);
    CHECK_EQ_I64(b.bytes_in_use, bytes);
    ms_version_release(img);
    CHECK_EQ_I64(b.bytes_in_use, 0);
    CHECK_EQ_I64(b.blocks, 0);
    CHECK(d1.arena == NULL && d2.arena == NULL && b.arena == NULL);
    free(g0);
    free(g1);
    free(g2);
}

/* A swap (the aside apply) in a derived family: the store built beside it
 * is the family's own, so the image stays counted until the swap drops it. */
static void test_swap_drops_base(void) {
    ms_store_mem b = {0}, d = {0};
    ms_version *img = base_image(&b);
    const int64_t bytes = b.bytes_in_use;
    ms_store *s = ms_store_from_base(img, &d), *side = ms_store_new(&d);
    char k[24], v[80];
    for (uint64_t i = 0; i < KEYS; i++)
        CHECK(ms_store_put(side, k, key(k, i), v, value(v, i, 2)) == 0);
    CHECK(d.bytes_in_use > 2 * bytes); /* the image and the new store: both show */
    ms_store_swap(s, side);
    CHECK_EQ_I64(d.base_refs, 0);
    CHECK(d.bytes_in_use < bytes * 12 / 10);
    CHECK(d.peak > 2 * bytes);
    ms_store_free(side);
    ms_store_free(s);
    CHECK_EQ_I64(d.bytes_in_use, 0);
    ms_version_release(img);
    CHECK_EQ_I64(b.bytes_in_use, 0);
}

static void test_refusals(void) {
    ms_store_mem plain = {0}, b = {0}, d = {0}, other = {0}, shareable = {.shareable = 1};
    ms_store *s = ms_store_new(&plain);
    ms_version *pv = ms_store_snapshot(s);
    CHECK(ms_store_from_base(pv, &d) == NULL); /* the base must be shareable */
    ms_version *img = base_image(&b);
    CHECK(ms_store_from_base(img, &b) == NULL);         /* not into its own family */
    CHECK(ms_store_from_base(img, &shareable) == NULL); /* a derived family is not a base */
    ms_store *x = ms_store_from_base(img, &d);
    CHECK(x != NULL);
    ms_version *dv = ms_store_snapshot(x);
    CHECK(ms_store_from_base(dv, &other) == NULL); /* nor is a derived family's version */
    ms_store_mem b2 = {0};
    ms_version *img2 = base_image(&b2);
    CHECK(ms_store_from_base(img2, &d) == NULL); /* one base per family */
    ms_version_release(dv);
    ms_store_free(x);
    ms_version_release(img2);
    ms_version_release(img);
    ms_version_release(pv);
    ms_store_free(s);
    CHECK_EQ_I64(d.bytes_in_use + b.bytes_in_use + b2.bytes_in_use + plain.bytes_in_use, 0);
}

int main(void) {
    RUN(test_shared_image);
    RUN(test_swap_drops_base);
    RUN(test_refusals);
    return ms_test_end();
}

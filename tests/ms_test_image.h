/* A generated cluster image for the store, layout, snapshot and write
 * tests: a new store of family mem built from d with seed, its build
 * checked (and its error printed when it fails). */
#ifndef MS_TEST_IMAGE_H
#define MS_TEST_IMAGE_H

#include "ms_gen.h"
#include "ms_store.h"
#include "ms_test.h"

#include <stdio.h>

static inline ms_store *ms_test_image(ms_store_mem *mem, const ms_gen_desc *d, uint64_t seed) {
    ms_store *s = ms_store_new(mem);
    char err[128];
    int rc = ms_gen_build(s, d, seed, NULL, err, sizeof err);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "ms_gen_build: %s\n", err);
    return s;
}

#endif

/* Scheduler: ordering by (time, seq), cancel, run-until, slices, digest. */
#include "ms_sched.h"
#include "ms_digest.h"
#include "ms_test.h"

#include <stdlib.h>

typedef struct {
    uint64_t order[64];
    int64_t times[64];
    int n;
} log_t;

static void record(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)b;
    log_t *l = ctx;
    l->times[l->n] = ms_sched_now(s);
    l->order[l->n++] = a;
}

static void test_order_and_ties(void) {
    ms_sched *s = ms_sched_new();
    log_t l = {0};
    ms_sched_at(s, 30, 1, record, &l, 3, 0);
    ms_sched_at(s, 10, 1, record, &l, 1, 0);
    ms_sched_at(s, 20, 1, record, &l, 20, 0);
    ms_sched_at(s, 20, 1, record, &l, 21, 0); /* same time: scheduling order */
    ms_sched_at(s, 20, 1, record, &l, 22, 0);
    CHECK_EQ_I64(ms_sched_pending(s), 5);
    CHECK_EQ_I64(ms_sched_run(s, MS_TIME_MAX, 0), 5);
    uint64_t want[] = {1, 20, 21, 22, 3};
    for (int i = 0; i < 5; i++) CHECK_EQ_I64(l.order[i], want[i]);
    CHECK_EQ_I64(l.times[1], 20);
    CHECK_EQ_I64(ms_sched_now(s), 30);
    CHECK_EQ_I64(ms_sched_pending(s), 0);
    ms_sched_free(s);
}

static void test_cancel(void) {
    ms_sched *s = ms_sched_new();
    log_t l = {0};
    ms_event_id a = ms_sched_at(s, 5, 1, record, &l, 1, 0);
    ms_event_id b = ms_sched_at(s, 6, 1, record, &l, 2, 0);
    CHECK(ms_sched_pending_id(s, a));
    CHECK_EQ_I64(ms_sched_cancel(s, a), 1);
    CHECK_EQ_I64(ms_sched_cancel(s, a), 0); /* twice: no effect */
    CHECK(!ms_sched_pending_id(s, a));
    CHECK_EQ_I64(ms_sched_pending(s), 1);
    CHECK_EQ_I64(ms_sched_next_time(s), 6);
    CHECK_EQ_I64(ms_sched_run(s, MS_TIME_MAX, 0), 1);
    CHECK_EQ_I64(l.n, 1);
    CHECK_EQ_I64(l.order[0], 2);
    CHECK_EQ_I64(ms_sched_cancel(s, b), 0); /* already ran */
    /* A reused slot does not answer to the old id. */
    ms_event_id c = ms_sched_at(s, 9, 1, record, &l, 3, 0);
    CHECK(c != a && c != b);
    CHECK_EQ_I64(ms_sched_cancel(s, a), 0);
    CHECK(ms_sched_pending_id(s, c));
    ms_sched_free(s);
}

static void test_until_and_slices(void) {
    ms_sched *s = ms_sched_new();
    log_t l = {0};
    for (int i = 1; i <= 10; i++) ms_sched_at(s, i * 100, 1, record, &l, (uint64_t)i, 0);
    CHECK_EQ_I64(ms_sched_run(s, 450, 0), 4);
    CHECK_EQ_I64(ms_sched_now(s), 450); /* the clock advances to `until` */
    CHECK_EQ_I64(ms_sched_run(s, MS_TIME_MAX, 2), 2);
    CHECK_EQ_I64(ms_sched_now(s), 600);
    CHECK_EQ_I64(ms_sched_run(s, MS_TIME_MAX, 0), 4);
    CHECK_EQ_I64(l.n, 10);
    /* Past times are clamped to now. */
    ms_sched_at(s, 5, 1, record, &l, 99, 0);
    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(l.times[10], 1000);
    ms_sched_free(s);
}

static void stopper(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)b;
    (void)ctx;
    if (a == 2) ms_sched_stop(s);
}

static void test_stop(void) {
    ms_sched *s = ms_sched_new();
    for (int i = 1; i <= 4; i++) ms_sched_at(s, i, 1, stopper, NULL, (uint64_t)i, 0);
    CHECK_EQ_I64(ms_sched_run(s, MS_TIME_MAX, 0), 2);
    CHECK_EQ_I64(ms_sched_pending(s), 2);
    CHECK_EQ_I64(ms_sched_run(s, MS_TIME_MAX, 0), 2);
    ms_sched_free(s);
}

typedef struct {
    uint64_t state;
    int left;
} hold_t;

static void hold(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)b;
    hold_t *h = ctx;
    h->state = h->state * 6364136223846793005u + 1442695040888963407u;
    if (h->left-- > 0) ms_sched_after(s, (int64_t)(h->state >> 40) % 1000, 2, hold, h, a, 0);
}

static uint64_t hold_digest(uint64_t seed, int n) {
    ms_sched *s = ms_sched_new();
    hold_t h = {seed, n};
    for (uint64_t i = 0; i < 100; i++) ms_sched_at(s, 0, 2, hold, &h, i, 0);
    ms_sched_run(s, MS_TIME_MAX, 0);
    uint64_t d = ms_sched_digest(s);
    ms_sched_free(s);
    return d;
}

static void test_digest(void) {
    CHECK(hold_digest(1, 5000) == hold_digest(1, 5000));
    CHECK(hold_digest(1, 5000) != hold_digest(2, 5000));
    CHECK(hold_digest(1, 5000) != hold_digest(1, 5001));
    char hex[17];
    ms_digest_hex(UINT64_C(0x0123456789abcdef), hex);
    CHECK_STR(hex, "0123456789abcdef");
    CHECK(ms_digest_bytes(MS_DIGEST_INIT, "ab", 2) != ms_digest_bytes(MS_DIGEST_INIT, "ba", 2));
}

/* Many timers cancelled before they fire: the heap is compacted and
 * every surviving event still runs exactly once, in order. */
static void test_mass_cancel(void) {
    ms_sched *s = ms_sched_new();
    enum { N = 20000 };
    ms_event_id *ids = malloc(N * sizeof *ids);
    log_t l = {0};
    for (int i = 0; i < N; i++) ids[i] = ms_sched_at(s, 1000 + i, 3, stopper, NULL, 0, 0);
    for (int i = 0; i < N; i++)
        if (i % 1000 != 0) CHECK_EQ_I64(ms_sched_cancel(s, ids[i]), 1);
    CHECK_EQ_I64(ms_sched_pending(s), N / 1000);
    ms_sched_at(s, 5, 1, record, &l, 7, 0);
    CHECK_EQ_I64(ms_sched_run(s, MS_TIME_MAX, 0), N / 1000 + 1);
    CHECK_EQ_I64(l.n, 1);
    CHECK_EQ_I64(ms_sched_now(s), 1000 + N - 1000);
    free(ids);
    ms_sched_free(s);
}

int main(void) {
    RUN(test_order_and_ties);
    RUN(test_cancel);
    RUN(test_until_and_slices);
    RUN(test_stop);
    RUN(test_digest);
    RUN(test_mass_cancel);
    return ms_test_end();
}

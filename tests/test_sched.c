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

/* A reference for test_against_model: pending events in an array, the next
 * one found by scanning for the least (time, order scheduled). */
enum { REF_MAX = 16384 };
typedef struct {
    ms_sched *s;
    uint64_t rng;
    int64_t t[REF_MAX];
    uint64_t seq[REF_MAX];
    ms_event_id id[REF_MAX];
    int alive[REF_MAX];
    int n, ran, wrong, budget, mass;
    uint64_t next_seq;
} ref_t;

static uint64_t ref_rand(ref_t *r, uint64_t below) {
    r->rng ^= r->rng << 13, r->rng ^= r->rng >> 7, r->rng ^= r->rng << 17;
    return r->rng % below;
}

static int ref_min(const ref_t *r) {
    int m = -1;
    for (int i = 0; i < r->n; i++)
        if (r->alive[i] &&
            (m < 0 || r->t[i] < r->t[m] || (r->t[i] == r->t[m] && r->seq[i] < r->seq[m])))
            m = i;
    return m;
}

static void ref_event(ms_sched *s, void *ctx, uint64_t a, uint64_t b);

static void ref_schedule(ref_t *r, int64_t t) {
    if (r->n == REF_MAX || r->budget == 0) return;
    r->budget--;
    int i = r->n++;
    r->t[i] = t < ms_sched_now(r->s) ? ms_sched_now(r->s) : t;
    r->seq[i] = r->next_seq++;
    r->alive[i] = 1;
    r->id[i] = ms_sched_at(r->s, t, 1, ref_event, r, (uint64_t)i, 0);
}

/* Run as event a: it must be the reference's least pending one; then
 * schedule 0-3 events (some at the same instant, some before now), maybe
 * cancel a few, maybe ask for the next time, in a random order. */
static void ref_event(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)b;
    ref_t *r = ctx;
    int m = ref_min(r);
    if (m != (int)a || ms_sched_now(s) != r->t[a]) r->wrong++;
    r->alive[a] = 0;
    r->ran++;
    if (r->ran == 1 && r->mass) { /* cancel most of the far block: the heap compacts */
        for (int i = 40; i < r->n; i++)
            if (i % 50 != 0 && r->alive[i]) ms_sched_cancel(s, r->id[i]), r->alive[i] = 0;
    }
    for (int k = (int)ref_rand(r, 6); k > 0; k--) {
        uint64_t what = ref_rand(r, 10);
        if (what < 5) {
            int64_t d = (int64_t)ref_rand(r, 4) == 0 ? 0 : (int64_t)ref_rand(r, 1000) - 50;
            ref_schedule(r, ms_sched_now(s) + d);
        } else if (what < 8 && r->n > 0) {
            int i = (int)ref_rand(r, (uint64_t)r->n);
            int had = r->alive[i] && i != (int)a;
            if (ms_sched_cancel(s, r->id[i]) != had) r->wrong++;
            r->alive[i] = 0;
        } else {
            int n = ref_min(r);
            if (ms_sched_next_time(s) != (n < 0 ? MS_TIME_MAX : r->t[n])) r->wrong++;
        }
    }
}

/* The heap, its deferred removal of the running event's entry (the first
 * event it schedules takes that place) and its compaction, against the
 * reference: handlers that schedule, cancel and peek in every order. The
 * last seeds start with a heap past the length where the deferral stops
 * (8192) and run down through it. */
static void test_against_model(void) {
    for (uint64_t seed = 1; seed <= 22; seed++) {
        ref_t *r = calloc(1, sizeof *r);
        r->s = ms_sched_new();
        r->rng = seed * UINT64_C(0x9e3779b97f4a7c15);
        r->budget = 4032;
        for (int i = 0; i < 40; i++) ref_schedule(r, (int64_t)ref_rand(r, 100));
        /* a far block the first event mostly cancels, compacting the heap
         * while that event's entry is still at its top */
        r->mass = seed % 2 == 0;
        if (r->mass)
            for (int i = 0; i < 1100; i++) ref_schedule(r, 5000 + (int64_t)i);
        if (seed > 20) {
            r->budget = 8400;
            for (int i = 0; i < 8400; i++) ref_schedule(r, (int64_t)ref_rand(r, 20000));
            r->budget = 600; /* the reference's scan is linear: keep the run short */
        }
        ms_sched_run(r->s, MS_TIME_MAX, 0);
        CHECK_EQ_I64(r->wrong, 0);
        CHECK(ref_min(r) < 0);
        CHECK(r->ran > 100);
        CHECK(seed <= 20 || r->n > 8192 + 40); /* it started above 8192 (and drained) */
        CHECK_EQ_I64(ms_sched_pending(r->s), 0);
        ms_sched_free(r->s);
        free(r);
    }
}

/* An owner's events, and the events they schedule, go with
 * ms_sched_cancel_owner; everyone else's stay and run. */
typedef struct {
    log_t l;
    int chained;
} owned_t;

static void owned_chain(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    owned_t *o = ctx;
    record(s, &o->l, a, b);
    if (!o->chained++) ms_sched_after(s, 5, 1, owned_chain, o, a + 100, 0); /* inherits */
}

static void test_owners(void) {
    ms_sched *s = ms_sched_new();
    owned_t o = {0};
    CHECK_EQ_I64(ms_sched_set_owner(s, 7), 0);
    ms_sched_at(s, 10, 1, owned_chain, &o, 1, 0);
    ms_sched_at(s, 40, 1, record, &o.l, 2, 0);
    CHECK_EQ_I64(ms_sched_set_owner(s, 0), 7);
    ms_sched_at(s, 30, 1, record, &o.l, 3, 0);
    ms_sched_at(s, 50, 1, record, &o.l, 4, 0);
    CHECK_EQ_I64(ms_sched_run(s, 12, 0), 1); /* runs 1, which schedules 101 at 15 as owner 7 */
    CHECK_EQ_I64(ms_sched_pending(s), 4);
    CHECK_EQ_I64(ms_sched_cancel_owner(s, 0), 0); /* 0 is nobody */
    CHECK_EQ_I64(ms_sched_cancel_owner(s, 7), 2);
    CHECK_EQ_I64(ms_sched_cancel_owner(s, 7), 0);
    CHECK_EQ_I64(ms_sched_pending(s), 2);
    CHECK_EQ_I64(ms_sched_run(s, MS_TIME_MAX, 0), 2);
    uint64_t want[] = {1, 3, 4};
    CHECK_EQ_I64(o.l.n, 3);
    for (int i = 0; i < 3; i++) CHECK_EQ_I64(o.l.order[i], want[i]);
    CHECK_EQ_I64(ms_sched_set_owner(s, 0), 0); /* the run restored the outer owner */
    ms_sched_free(s);
}

int main(void) {
    RUN(test_order_and_ties);
    RUN(test_cancel);
    RUN(test_until_and_slices);
    RUN(test_stop);
    RUN(test_digest);
    RUN(test_mass_cancel);
    RUN(test_against_model);
    RUN(test_owners);
    return ms_test_end();
}

/* Timer queue: FIFO expiry over one armed event, cancellation, the tie
 * rule, ring growth, re-entrant adds, a digest that repeats, and pages
 * freed once none of their timers is pending. */
#include "ms_sched.h"
#include "ms_test.h"
#include "ms_timerq.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    ms_sched *s;
    ms_timerq *q;
    uint64_t tags[4096];
    int64_t times[4096];
    int n;
    int readd; /* fire: add one more timer this far ahead, this many times */
    int64_t readd_after;
} log_t;

static void fired(void *ctx, void *item, uint64_t tag) {
    log_t *l = ctx;
    (void)item;
    l->times[l->n] = ms_sched_now(l->s);
    l->tags[l->n++] = tag;
    if (l->readd > 0) {
        l->readd--;
        ms_timerq_add(l->q, ms_sched_now(l->s) + l->readd_after, l, tag + 100);
    }
}

static void other(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)b;
    log_t *l = ctx;
    l->times[l->n] = ms_sched_now(s);
    l->tags[l->n++] = a;
}

static void test_fifo_and_cancel(void) {
    ms_sched *s = ms_sched_new();
    ms_timerq q;
    log_t l = {.s = s, .q = &q};
    ms_timerq_init(&q, s, 7, fired, &l);
    uint64_t t1 = ms_timerq_add(&q, 10, &l, 1);
    uint64_t t2 = ms_timerq_add(&q, 10, &l, 2);
    uint64_t t3 = ms_timerq_add(&q, 20, &l, 3);
    uint64_t t4 = ms_timerq_add(&q, 15, &l, 4); /* earlier than the last: raised to 20 */
    CHECK(t1 > 0 && t2 > t1 && t3 > t2 && t4 > t3);
    CHECK_EQ_I64(ms_timerq_queued(&q), 4);
    CHECK_EQ_I64(ms_sched_pending(s), 1); /* only the head is armed */
    CHECK_EQ_I64(ms_timerq_cancel(&q, t2), 1);
    CHECK_EQ_I64(ms_timerq_cancel(&q, t2), 0);
    CHECK_EQ_I64(ms_timerq_cancel(&q, 0), 0);
    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(l.n, 3);
    CHECK_EQ_I64(l.tags[0], 1);
    CHECK_EQ_I64(l.times[0], 10);
    CHECK_EQ_I64(l.tags[1], 3);
    CHECK_EQ_I64(l.times[1], 20);
    CHECK_EQ_I64(l.tags[2], 4);
    CHECK_EQ_I64(l.times[2], 20);
    CHECK_EQ_I64(ms_timerq_cancel(&q, t1), 0); /* already fired */
    CHECK_EQ_I64(ms_timerq_queued(&q), 0);
    ms_timerq_free(&q);
    ms_sched_free(s);
}

/* The armed head cancelled: its event wakes once, finds nothing due, and
 * re-arms for the next live timer. */
static void test_cancelled_head(void) {
    ms_sched *s = ms_sched_new();
    ms_timerq q;
    log_t l = {.s = s, .q = &q};
    ms_timerq_init(&q, s, 7, fired, &l);
    uint64_t t1 = ms_timerq_add(&q, 10, &l, 1);
    ms_timerq_add(&q, 30, &l, 2);
    ms_timerq_cancel(&q, t1);
    CHECK_EQ_I64(ms_sched_run(s, 25, 0), 1); /* the spurious wake at 10 */
    CHECK_EQ_I64(l.n, 0);
    CHECK_EQ_I64(ms_sched_next_time(s), 30);
    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(l.n, 1);
    CHECK_EQ_I64(l.tags[0], 2);
    CHECK_EQ_I64(l.times[0], 30);
    /* everything cancelled: nothing stays armed */
    uint64_t t3 = ms_timerq_add(&q, 40, &l, 3);
    ms_timerq_cancel(&q, t3);
    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(l.n, 1);
    CHECK_EQ_I64(ms_sched_pending(s), 0);
    ms_timerq_free(&q);
    ms_sched_free(s);
}

/* Ties with other events: a timer runs after the events scheduled before
 * its queue armed it, and before those scheduled after. */
static void test_tie_rule(void) {
    ms_sched *s = ms_sched_new();
    ms_timerq q;
    log_t l = {.s = s, .q = &q};
    ms_timerq_init(&q, s, 7, fired, &l);
    ms_sched_at(s, 10, 1, other, &l, 50, 0);
    ms_timerq_add(&q, 10, &l, 1); /* arms now: after event 50 */
    ms_sched_at(s, 10, 1, other, &l, 51, 0);
    ms_timerq_add(&q, 10, &l, 2); /* armed only when timer 1 fires: after 51 */
    ms_sched_run(s, MS_TIME_MAX, 0);
    uint64_t want[] = {50, 1, 51, 2};
    CHECK_EQ_I64(l.n, 4);
    for (int i = 0; i < 4; i++) CHECK_EQ_I64(l.tags[i], want[i]);
    ms_timerq_free(&q);
    ms_sched_free(s);
}

/* The log of a queue with thousands of timers (too big for the stack),
 * reset, and q initialised to fire into it. */
static log_t *start_big(ms_sched *s, ms_timerq *q) {
    static log_t l;
    memset(&l, 0, sizeof l);
    l.s = s;
    l.q = q;
    ms_timerq_init(q, s, 7, fired, &l);
    return &l;
}

/* Many timers, most cancelled, across ring growth; timers added while one
 * fires. Two identical runs give the same digest. */
static uint64_t churn(int *fires) {
    ms_sched *s = ms_sched_new();
    ms_timerq q;
    log_t *l = start_big(s, &q);
    l->readd = 5;
    l->readd_after = 3;
    uint64_t tickets[3000];
    for (int i = 0; i < 3000; i++) tickets[i] = ms_timerq_add(&q, 1000 + i / 3, l, (uint64_t)i);
    int live = 0;
    for (int i = 0; i < 3000; i++) {
        if (i % 7 == 0)
            live++;
        else
            CHECK_EQ_I64(ms_timerq_cancel(&q, tickets[i]), 1);
    }
    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(l->n, live + 5);
    for (int i = 1; i < l->n; i++) CHECK(l->times[i] >= l->times[i - 1]);
    *fires = l->n;
    uint64_t d = ms_sched_digest(s);
    ms_timerq_free(&q);
    ms_sched_free(s);
    return d;
}

static void test_churn_deterministic(void) {
    int f1, f2;
    uint64_t d1 = churn(&f1), d2 = churn(&f2);
    CHECK(d1 == d2);
    CHECK_EQ_I64(f1, f2);
}

/* Freeing with a timer armed leaves nothing pending in the scheduler. */
static void test_free_cancels(void) {
    ms_sched *s = ms_sched_new();
    ms_timerq q;
    log_t l = {.s = s, .q = &q};
    ms_timerq_init(&q, s, 7, fired, &l);
    ms_timerq_add(&q, 10, &l, 1);
    ms_timerq_free(&q);
    ms_timerq_free(&q); /* twice: harmless */
    CHECK_EQ_I64(ms_sched_pending(s), 0);
    ms_sched_free(s);
}

/* A request-timeout pattern: 200K timers with one long duration, each
 * cancelled soon after (its reply), every 1000th left to fire. The queue
 * spans them all, but only pages with a pending timer stay allocated; the
 * kept timers still fire, in order, at their deadlines. */
static void test_pages_freed(void) {
    enum { N = 200000, KEEP = 1000 };
    ms_sched *s = ms_sched_new();
    ms_timerq q;
    log_t *l = start_big(s, &q);
    uint64_t prev = 0;
    for (int i = 0; i < N; i++) {
        uint64_t t = ms_timerq_add(&q, 1000000 + i, l, (uint64_t)i);
        CHECK(t > 0);
        if (prev) CHECK_EQ_I64(ms_timerq_cancel(&q, prev), 1); /* the reply to the one before */
        prev = i % KEEP == 0 ? 0 : t;
    }
    CHECK_EQ_I64(ms_timerq_queued(&q), N); /* the head is the first, kept, timer */
    /* the pages holding a kept timer, and the tail's */
    CHECK(ms_timerq_pages(&q) <= N / KEEP + 2);
    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(l->n, N / KEEP + 1); /* the kept ones and the last added */
    for (int i = 0; i < l->n; i++) CHECK_EQ_I64(l->times[i], 1000000 + (int64_t)l->tags[i]);
    for (int i = 1; i < l->n; i++) CHECK(l->tags[i] > l->tags[i - 1]);
    CHECK(ms_timerq_pages(&q) <= 1);
    ms_timerq_free(&q);
    ms_sched_free(s);
}

int main(void) {
    RUN(test_fifo_and_cancel);
    RUN(test_cancelled_head);
    RUN(test_tie_rule);
    RUN(test_churn_deterministic);
    RUN(test_free_cancels);
    RUN(test_pages_freed);
    return ms_test_end();
}

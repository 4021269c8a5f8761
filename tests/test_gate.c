/* Gate, simulation backend: FIFO wake-all at the instant the apply ends,
 * per-waiter timeouts, cancel, counters. */
#include "ms_gate.h"
#include "ms_test.h"

typedef struct {
    ms_sched *s;
    ms_gate *g;
    uint64_t tags[64];
    int timed_out[64];
    int64_t at[64];
    int n;
} ctx_t;

static void done(void *p, uint64_t tag, int timed_out) {
    ctx_t *c = p;
    c->tags[c->n] = tag;
    c->timed_out[c->n] = timed_out;
    c->at[c->n++] = ms_sched_now(c->s);
}

static void start_wait(ms_sched *s, void *p, uint64_t tag, uint64_t timeout) {
    (void)s;
    ctx_t *c = p;
    ms_gate_wait(c->g, (int64_t)timeout, done, c, tag);
}

static void begin_ev(ms_sched *s, void *p, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    ms_gate_begin(((ctx_t *)p)->g);
}

static void end_ev(ms_sched *s, void *p, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    ms_gate_end(((ctx_t *)p)->g);
}

static void test_wake_all_fifo_at_end(void) {
    ctx_t c = {0};
    c.s = ms_sched_new();
    c.g = ms_gate_new(c.s);
    ms_sched_at(c.s, 100, 1, begin_ev, &c, 0, 0);
    ms_sched_at(c.s, 200, 1, start_wait, &c, 3, 10000);
    ms_sched_at(c.s, 300, 1, start_wait, &c, 1, 10000);
    ms_sched_at(c.s, 300, 1, start_wait, &c, 2, 10000);
    ms_sched_at(c.s, 1000, 1, end_ev, &c, 0, 0);
    ms_sched_run(c.s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(c.n, 3);
    uint64_t want[] = {3, 1, 2};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_I64(c.tags[i], want[i]);
        CHECK_EQ_I64(c.timed_out[i], 0);
        CHECK_EQ_I64(c.at[i], 1000); /* the instant the apply ended */
    }
    const ms_gate_stats *st = ms_gate_stats_get(c.g);
    CHECK_EQ_I64(st->waits, 3);
    CHECK_EQ_I64(st->wakeups, 3);
    CHECK_EQ_I64(st->timeouts, 0);
    CHECK_EQ_I64(st->applies, 1);
    CHECK_EQ_I64(st->longest_wait_ns, 800);
    CHECK_EQ_I64(st->max_waiting, 3);
    CHECK_EQ_I64(st->waiting, 0);
    CHECK_EQ_I64(ms_sched_pending(c.s), 0); /* timeouts were cancelled */
    ms_gate_free(c.g);
    ms_sched_free(c.s);
}

static void test_timeouts(void) {
    ctx_t c = {0};
    c.s = ms_sched_new();
    c.g = ms_gate_new(c.s);
    ms_sched_at(c.s, 0, 1, begin_ev, &c, 0, 0);
    ms_sched_at(c.s, 10, 1, start_wait, &c, 7, 50);   /* times out at 60 */
    ms_sched_at(c.s, 20, 1, start_wait, &c, 8, 5000); /* woken at 100 */
    ms_sched_at(c.s, 100, 1, end_ev, &c, 0, 0);
    ms_sched_run(c.s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(c.n, 2);
    CHECK_EQ_I64(c.tags[0], 7);
    CHECK_EQ_I64(c.timed_out[0], 1);
    CHECK_EQ_I64(c.at[0], 60);
    CHECK_EQ_I64(c.tags[1], 8);
    CHECK_EQ_I64(c.timed_out[1], 0);
    CHECK_EQ_I64(c.at[1], 100);
    CHECK_EQ_I64(ms_gate_stats_get(c.g)->timeouts, 1);
    CHECK_EQ_I64(ms_gate_stats_get(c.g)->wakeups, 1);
    ms_gate_free(c.g);
    ms_sched_free(c.s);
}

static void test_cancel_and_idle_wait(void) {
    ctx_t c = {0};
    c.s = ms_sched_new();
    c.g = ms_gate_new(c.s);
    CHECK_EQ_I64(ms_gate_end(c.g), -1); /* nothing to end */
    /* Not applying: the wait ends at once, as a wake-up. */
    ms_gate_wait(c.g, 1000, done, &c, 5);
    ms_sched_run(c.s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(c.n, 1);
    CHECK_EQ_I64(c.timed_out[0], 0);
    CHECK_EQ_I64(ms_gate_begin(c.g), 0);
    CHECK_EQ_I64(ms_gate_begin(c.g), -1);
    uint64_t w = ms_gate_wait(c.g, 1000, done, &c, 6);
    uint64_t w2 = ms_gate_wait(c.g, -1, done, &c, 9);
    CHECK_EQ_I64(ms_gate_cancel(c.g, w), 1);
    CHECK_EQ_I64(ms_gate_cancel(c.g, w), 0);
    CHECK_EQ_I64(ms_gate_end(c.g), 1);
    ms_sched_run(c.s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(c.n, 2);
    CHECK_EQ_I64(c.tags[1], 9);
    CHECK_EQ_I64(ms_gate_cancel(c.g, w2), 0); /* already ended */
    CHECK_EQ_I64(ms_gate_stats_get(c.g)->cancels, 1);
    ms_gate_free(c.g);
    ms_sched_free(c.s);
}

/* A callback that waits again while the gate is applying again: the slot
 * of the ended wait is reused safely. */
static void rewait(void *p, uint64_t tag, int timed_out) {
    ctx_t *c = p;
    done(p, tag, timed_out);
    if (tag < 3) {
        ms_gate_begin(c->g);
        ms_gate_wait(c->g, 100, rewait, c, tag + 1);
    }
}

static void test_rewait_from_callback(void) {
    ctx_t c = {0};
    c.s = ms_sched_new();
    c.g = ms_gate_new(c.s);
    ms_gate_begin(c.g);
    ms_gate_wait(c.g, 100, rewait, &c, 1);
    ms_sched_run(c.s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(c.n, 3);
    CHECK_EQ_I64(c.at[2], 300);
    CHECK_EQ_I64(ms_gate_stats_get(c.g)->timeouts, 3);
    ms_gate_free(c.g);
    ms_sched_free(c.s);
}

int main(void) {
    RUN(test_wake_all_fifo_at_end);
    RUN(test_timeouts);
    RUN(test_cancel_and_idle_wait);
    RUN(test_rewait_from_callback);
    return ms_test_end();
}

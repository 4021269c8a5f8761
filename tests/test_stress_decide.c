/* The stress harness with an outside decider (ms_stress_decider, what the
 * binding's Lua policies plug into): each reader thread opens its own
 * state on its own thread and is asked from that thread only; it is asked
 * while an apply runs (every read with every_read) and again after each
 * wait, with the time waited; its decisions show in the outcomes (serve
 * during an inplace apply reads torn, stale reads the previous version,
 * fail fails, wait then serve reads fresh); an open or decide error stops
 * the run with its message. Run plain, under ASan and under TSan. */
#include "ms_stress.h"
#include "ms_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SLOW 1
#else
#define SLOW 0
#endif

typedef struct shared {
    ms_stress_dec during; /* what to decide while applying (wait: then serve once woken) */
    int fail_open, fail_decide;
    atomic_int opens, closes, wrong_thread;
    atomic_long calls, calls_idle, rewaits, woken_calls;
    atomic_long max_waited_us;
} shared;

typedef struct ctx {
    shared *sh;
    pthread_t owner;
} ctx;

static void *d_open(void *ud, unsigned reader, char *err, size_t errlen) {
    (void)reader;
    shared *sh = ud;
    if (sh->fail_open) {
        snprintf(err, errlen, "no state for you");
        return NULL;
    }
    ctx *c = malloc(sizeof *c);
    c->sh = sh;
    c->owner = pthread_self();
    atomic_fetch_add(&sh->opens, 1);
    return c;
}

static int d_decide(void *p, const ms_stress_view *v, ms_stress_dec *dec, double *wait_s, char *err,
                    size_t errlen) {
    ctx *c = p;
    shared *sh = c->sh;
    if (!pthread_equal(c->owner, pthread_self())) atomic_fetch_add(&sh->wrong_thread, 1);
    atomic_fetch_add(&sh->calls, 1);
    if (sh->fail_decide) {
        snprintf(err, errlen, "cannot decide %s", v->op);
        return -1;
    }
    if (v->wakeups > 0 || v->timed_out) { /* asked again after its wait */
        atomic_fetch_add(&sh->rewaits, 1);
        long us = (long)(v->waited * 1e6), cur = atomic_load(&sh->max_waited_us);
        while (us > cur && !atomic_compare_exchange_weak(&sh->max_waited_us, &cur, us)) {
        }
        *dec = MS_STRESS_DEC_SERVE;
        return 0;
    }
    if (!v->applying) {
        atomic_fetch_add(&sh->calls_idle, 1);
        *dec = MS_STRESS_DEC_SERVE;
        return 0;
    }
    *dec = sh->during;
    *wait_s = 30;
    return 0;
}

static void d_close(void *p) {
    ctx *c = p;
    atomic_fetch_add(&c->sh->closes, 1);
    free(c);
}

static int run(shared *sh, int every_read, ms_snap_mode mode, ms_stress_result *r, char *err,
               size_t errlen) {
    ms_stress_decider d = {
        .ud = sh, .every_read = every_read, .open = d_open, .decide = d_decide, .close = d_close};
    ms_stress_config c;
    ms_stress_defaults(&c);
    c.decider = &d;
    c.mode = mode;
    c.readers = 2;
    c.keys = SLOW ? 4000 : 20000;
    c.duration_ns = SLOW ? INT64_C(1500000000) : INT64_C(600000000);
    c.apply_every_ns = INT64_C(40000000);
    c.write_every_ns = INT64_C(1000000);
    c.seed = 3;
    c.handle_sigint = 0;
    return ms_stress_run(&c, r, err, errlen);
}

static void check_threads(shared *sh, int readers) {
    CHECK_EQ_I64(atomic_load(&sh->opens), readers);
    CHECK_EQ_I64(atomic_load(&sh->closes), readers);
    CHECK_EQ_I64(atomic_load(&sh->wrong_thread), 0);
}

static void test_decisions_show(void) {
    static const struct {
        ms_stress_dec during;
        ms_snap_mode mode;
    } cases[] = {{MS_STRESS_DEC_WAIT, MS_SNAP_INPLACE},
                 {MS_STRESS_DEC_SERVE, MS_SNAP_INPLACE},
                 {MS_STRESS_DEC_STALE, MS_SNAP_ASIDE},
                 {MS_STRESS_DEC_FAIL, MS_SNAP_INPLACE}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        shared sh = {.during = cases[i].during};
        ms_stress_result r;
        char err[256];
        int rc = run(&sh, 0, cases[i].mode, &r, err, sizeof err);
        /* Serving the live store shows a torn read only when a reader meets
         * the short span of an apply in which a record is there and what it
         * lists is not yet (tens of 400K reads, none in some runs): a
         * bounded retry, not luck. */
        for (int again = 0;
             rc == 0 && cases[i].during == MS_STRESS_DEC_SERVE && r.torn == 0 && again < 5;
             again++) {
            ms_stress_result_free(&r);
            sh = (shared){.during = cases[i].during};
            rc = run(&sh, 0, cases[i].mode, &r, err, sizeof err);
        }
        CHECK(rc == 0);
        if (rc != 0) {
            fprintf(stderr, "%s\n", err);
            continue;
        }
        printf("  decision %d: reads %llu fresh %llu stale %llu torn %llu failed %llu, "
               "%ld calls, %ld after a wait\n",
               (int)cases[i].during, (unsigned long long)r.reads, (unsigned long long)r.fresh,
               (unsigned long long)r.stale, (unsigned long long)r.torn,
               (unsigned long long)r.failed, atomic_load(&sh.calls), atomic_load(&sh.rewaits));
        check_threads(&sh, 2);
        CHECK(r.applies >= 1);
        CHECK(atomic_load(&sh.calls) > 0);
        CHECK_EQ_I64(atomic_load(&sh.calls_idle), 0); /* asked only during applies */
        CHECK_EQ_I64(r.leaked_bytes, 0);
        switch (cases[i].during) {
        case MS_STRESS_DEC_WAIT:
            CHECK(r.gate.wakeups > 0);
            CHECK(atomic_load(&sh.rewaits) > 0);
            CHECK(atomic_load(&sh.max_waited_us) > 0);
            CHECK_EQ_I64(r.torn + r.failed + r.timed_out, 0);
            break;
        case MS_STRESS_DEC_SERVE:
            CHECK(r.torn > 0); /* the live store, half applied */
            break;
        case MS_STRESS_DEC_STALE:
            CHECK(r.stale > 0);
            CHECK_EQ_I64(r.torn, 0);
            break;
        default:
            CHECK(r.failed > 0);
            CHECK_EQ_I64(r.torn, 0);
            break;
        }
        ms_stress_result_free(&r);
    }
}

static void test_every_read(void) {
    shared sh = {.during = MS_STRESS_DEC_SERVE};
    ms_stress_result r;
    char err[256];
    int rc = run(&sh, 1, MS_SNAP_ASIDE, &r, err, sizeof err);
    CHECK(rc == 0);
    if (rc != 0) return;
    check_threads(&sh, 2);
    CHECK_EQ_I64(atomic_load(&sh.calls), r.reads); /* one call per read */
    CHECK(atomic_load(&sh.calls_idle) > 0);
    ms_stress_result_free(&r);
}

static void test_errors_stop_the_run(void) {
    shared a = {.fail_open = 1}, b = {.fail_decide = 1};
    ms_stress_result r;
    char err[256];
    CHECK(run(&a, 0, MS_SNAP_INPLACE, &r, err, sizeof err) == -1);
    CHECK_STR(err, "ms_stress: the policy: no state for you");
    CHECK(run(&b, 1, MS_SNAP_INPLACE, &r, err, sizeof err) == -1);
    CHECK(strncmp(err, "ms_stress: the policy: cannot decide ", 37) == 0);
    CHECK_EQ_I64(atomic_load(&b.opens), atomic_load(&b.closes));
}

int main(void) {
    RUN(test_decisions_show);
    RUN(test_every_read);
    RUN(test_errors_stop_the_run);
    return ms_test_end();
}

/* The queueing station: exact times with constant services (FIFO order,
 * several servers, a full line turning customers away), the ring moved
 * while customers wait, validation, and M/M/1 against queueing theory. */
#include "ms_sched.h"
#include "ms_station.h"
#include "ms_test.h"

#include <math.h>
#include <stdlib.h>

#define SEC INT64_C(1000000000)

typedef struct {
    ms_station *st;
    int admitted, rejected;
} feeder;

static int64_t ring[16];

/* An arrival event: the ring grown whenever the station asks, as a
 * binding does. */
static void arrive_ev(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    feeder *f = ctx;
    ms_station_arrival r;
    while ((r = ms_station_arrive(f->st)) == MS_STATION_NO_ROOM) {
        size_t cap = ms_station_ring_wanted(f->st);
        int64_t *old = f->st->ring, *bigger = malloc(cap * sizeof *bigger);
        CHECK(bigger != NULL && ms_station_give_ring(f->st, bigger, cap) == 0);
        free(old);
    }
    CHECK(r >= 0);
    if (r == MS_STATION_REJECTED)
        f->rejected++;
    else
        f->admitted++;
}

static ms_station_config constant(uint32_t servers, uint64_t queue, double service_s) {
    return (ms_station_config){servers, queue, ms_dist_const(service_s * 1e9)};
}

/* One server, service 3 s, four customers at t = 0: they leave at 3, 6,
 * 9, 12; waits 0 + 3 + 6 + 9, sojourns 3 + 6 + 9 + 12. */
static void test_fifo_one_server(void) {
    ms_sched *s = ms_sched_new();
    ms_station st;
    const char *why = NULL;
    ms_station_config cfg = constant(1, MS_STATION_UNLIMITED, 3);
    CHECK(ms_station_init(&st, s, &cfg, 1, "t", &why) == 0);
    feeder f = {&st, 0, 0};
    for (int i = 0; i < 4; i++) ms_sched_at(s, 0, 1, arrive_ev, &f, 0, 0);
    ms_sched_run(s, MS_TIME_MAX, 0);
    const ms_station_stats *x = ms_station_stats_get(&st);
    CHECK_EQ_I64(x->arrived, 4);
    CHECK_EQ_I64(x->served, 4);
    CHECK_EQ_I64(x->max_waiting, 3);
    CHECK_EQ_I64(x->busy + x->waiting, 0);
    CHECK_EQ_I64((int64_t)x->wait_ns, 18 * SEC);
    CHECK_EQ_I64((int64_t)x->sojourn_ns, 30 * SEC);
    CHECK_EQ_I64(x->sojourn_max_ns, 12 * SEC);
    CHECK_EQ_I64(ms_sched_now(s), 12 * SEC);
    free(st.ring);
    ms_sched_free(s);
}

/* Two servers, a line of one place, service 2 s, five customers at t = 0:
 * two served at once, one waits, two turned away. */
static void test_servers_and_full_line(void) {
    ms_sched *s = ms_sched_new();
    ms_station st;
    const char *why = NULL;
    ms_station_config cfg = constant(2, 1, 2);
    CHECK(ms_station_init(&st, s, &cfg, 1, "t", &why) == 0);
    feeder f = {&st, 0, 0};
    for (int i = 0; i < 5; i++) ms_sched_at(s, 0, 1, arrive_ev, &f, 0, 0);
    ms_sched_run(s, MS_TIME_MAX, 0);
    const ms_station_stats *x = ms_station_stats_get(&st);
    CHECK_EQ_I64(f.admitted, 3);
    CHECK_EQ_I64(f.rejected, 2);
    CHECK_EQ_I64(x->arrived, 5);
    CHECK_EQ_I64(x->rejected, 2);
    CHECK_EQ_I64(x->served, 3);
    CHECK_EQ_I64((int64_t)x->wait_ns, 2 * SEC);
    CHECK_EQ_I64(ms_sched_now(s), 4 * SEC);
    free(st.ring);
    ms_sched_free(s);
}

/* 1000 customers, one every 0.5 s, on one server of 1 s: the line grows
 * to 500 and the ring from 16 to 512 places, each move with the line
 * wrapped around the ring's end, and customers still leave in arrival
 * order: customer i leaves at i + 1, having waited i / 2 s. */
static void test_ring_moves(void) {
    ms_sched *s = ms_sched_new();
    ms_station st;
    const char *why = NULL;
    ms_station_config cfg = constant(1, MS_STATION_UNLIMITED, 1);
    CHECK(ms_station_init(&st, s, &cfg, 1, "t", &why) == 0);
    feeder f = {&st, 0, 0};
    for (int i = 0; i < 1000; i++) ms_sched_at(s, (int64_t)i * SEC / 2, 1, arrive_ev, &f, 0, 0);
    ms_sched_run(s, MS_TIME_MAX, 0);
    const ms_station_stats *x = ms_station_stats_get(&st);
    CHECK_EQ_I64(x->served, 1000);
    CHECK_EQ_I64((int64_t)x->wait_ns, (int64_t)999 * 1000 / 2 * SEC / 2);
    CHECK_EQ_I64(x->sojourn_max_ns, 1000 * SEC - 999 * SEC / 2);
    CHECK_EQ_I64(st.cap, 512);
    free(st.ring);
    ms_sched_free(s);
}

static void test_validation(void) {
    ms_sched *s = ms_sched_new();
    ms_station st;
    const char *why = NULL;
    ms_station_config cfg = constant(0, 1, 1);
    CHECK(ms_station_init(&st, s, &cfg, 1, "t", &why) == -1);
    CHECK_STR(why, "servers must be an integer from 1 to 1048576");
    cfg = constant(1, 1, 1);
    cfg.service = ms_dist_uniform(2, 1);
    CHECK(ms_station_init(&st, s, &cfg, 1, "t", &why) == -1);
    CHECK_STR(why, "service must be a valid distribution");
    cfg = constant(1, 1, 1);
    CHECK(ms_station_init(&st, s, &cfg, 1, "t", &why) == 0);
    CHECK(ms_station_give_ring(&st, ring, 12) == -1); /* not a power of two */
    ms_sched_free(s);
}

/* Poisson arrivals */
typedef struct {
    feeder f;
    ms_rng rng;
} source;

static void poisson_ev(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    source *src = ctx;
    arrive_ev(s, &src->f, a, b);
    ms_sched_after(s, (int64_t)ms_rng_exponential(&src->rng, 1e9), 1, poisson_ev, src, 0, 0);
}

/* M/M/1 at rho = 0.5 over 2e5 s: mean time in system within 2% of
 * 1 / (mu - lambda) = 1 s, mean wait within 3% of rho / (mu - lambda). */
static void test_mm1_theory(void) {
    ms_sched *s = ms_sched_new();
    ms_station st;
    const char *why = NULL;
    ms_station_config cfg = {1, MS_STATION_UNLIMITED, ms_dist_exponential(0.5e9)};
    CHECK(ms_station_init(&st, s, &cfg, 7, "service", &why) == 0);
    source src = {.f = {&st, 0, 0}};
    ms_rng_init(&src.rng, 7, "arrivals");
    ms_sched_after(s, 0, 1, poisson_ev, &src, 0, 0);
    ms_sched_run(s, 200000 * SEC, 0);
    const ms_station_stats *x = ms_station_stats_get(&st);
    double n = (double)x->served;
    CHECK(n > 190000 && n < 210000);
    CHECK(fabs(x->sojourn_ns / n / 1e9 - 1.0) < 0.02);
    CHECK(fabs(x->wait_ns / n / 1e9 / 0.5 - 1.0) < 0.03);
    CHECK(fabs((x->sojourn_ns - x->wait_ns) / n / 1e9 / 0.5 - 1.0) < 0.01);
    free(st.ring);
    ms_sched_free(s);
}

int main(void) {
    RUN(test_fifo_one_server);
    RUN(test_servers_and_full_line);
    RUN(test_ring_moves);
    RUN(test_validation);
    RUN(test_mm1_theory);
    return ms_test_end();
}

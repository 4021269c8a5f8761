/* Scheduler throughput: the classic hold model. N events are pending; each
 * event, when run, schedules one new event at now + an exponential delay, so
 * the queue stays at N. Prints events/s for N = 1K and 100K. */
#include "ms_sched.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

typedef struct {
    uint64_t x;
} lcg;

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void hold(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    lcg *g = ctx;
    g->x = g->x * 6364136223846793005u + 1442695040888963407u;
    double u = ((double)(g->x >> 11) + 0.5) * 0x1.0p-53;
    ms_sched_after(s, (int64_t)(-log(u) * 1e6), 1, hold, g, a, b);
}

static void run(size_t pending, uint64_t events) {
    ms_sched *s = ms_sched_new();
    lcg g = {42};
    for (size_t i = 0; i < pending; i++) ms_sched_at(s, (int64_t)i, 1, hold, &g, i, 0);
    ms_sched_run(s, MS_TIME_MAX, pending * 2); /* warm up */
    double t0 = wall();
    uint64_t n = ms_sched_run(s, MS_TIME_MAX, events);
    double dt = wall() - t0;
    printf("sched hold model, C callbacks, %6zu pending: %6.2f M events/s (%llu events, %.3f s)\n",
           pending, (double)n / dt / 1e6, (unsigned long long)n, dt);
    ms_sched_free(s);
}

int main(void) {
    run(1000, 20000000);
    run(100000, 10000000);
    return 0;
}

/* A first-come-first-served queueing station (see ms_station.h). */
#include "ms_station.h"

#define STR_(x) #x
#define STR(x) STR_(x)

int ms_station_init(ms_station *st, ms_sched *s, const ms_station_config *cfg, uint64_t seed,
                    const char *stream, const char **why) {
    if (cfg->servers < 1 || cfg->servers > MS_STATION_MAX_SERVERS) {
        *why = "servers must be an integer from 1 to " STR(MS_STATION_MAX_SERVERS);
        return -1;
    }
    if (!ms_dist_valid(&cfg->service)) {
        *why = "service must be a valid distribution";
        return -1;
    }
    *st = (ms_station){.s = s, .cfg = *cfg};
    ms_rng_init(&st->rng, seed, stream);
    return 0;
}

static void on_depart(ms_sched *s, void *ctx, uint64_t arrived, uint64_t started);

/* Start a service now for the customer who arrived at `arrived`. */
static int start(ms_station *st, int64_t arrived) {
    int64_t now = ms_sched_now(st->s);
    int64_t d = ms_dist_sample_i64(&st->cfg.service, &st->rng);
    if (ms_sched_after(st->s, d, MS_STATION_EV_DEPART, on_depart, st, (uint64_t)arrived,
                       (uint64_t)now) == 0)
        return -1;
    st->st.busy++;
    return 0;
}

static void on_depart(ms_sched *s, void *ctx, uint64_t arrived, uint64_t started) {
    ms_station *st = ctx;
    int64_t now = ms_sched_now(s), a = (int64_t)arrived, b = (int64_t)started;
    st->st.busy--;
    st->st.served++;
    st->st.sojourn_ns += (double)(now - a);
    st->st.wait_ns += (double)(b - a);
    if (now - a > st->st.sojourn_max_ns) st->st.sojourn_max_ns = now - a;
    if (st->st.waiting > 0) {
        int64_t next = st->ring[st->head];
        st->head = (st->head + 1) & (st->cap - 1);
        st->st.waiting--;
        if (start(st, next) != 0) st->failed = 1;
    }
    if (st->done) st->done(st->done_ctx, now - a, b - a); /* last: it may do anything */
}

void ms_station_on_done(ms_station *st, ms_station_done_fn fn, void *ctx) {
    st->done = fn;
    st->done_ctx = ctx;
}

ms_station_arrival ms_station_arrive(ms_station *st) {
    int64_t now = ms_sched_now(st->s);
    if (st->failed) return MS_STATION_NO_MEMORY;
    if (st->st.busy < st->cfg.servers) {
        if (start(st, now) != 0) return MS_STATION_NO_MEMORY;
        st->st.arrived++;
        return MS_STATION_SERVED;
    }
    int full = st->st.waiting >= st->cfg.queue;
    if (!full && st->st.waiting == st->cap) return MS_STATION_NO_ROOM; /* nothing counted */
    st->st.arrived++;
    if (full) {
        st->st.rejected++;
        return MS_STATION_REJECTED;
    }
    st->ring[(st->head + st->st.waiting) & (st->cap - 1)] = now;
    if (++st->st.waiting > st->st.max_waiting) st->st.max_waiting = st->st.waiting;
    return MS_STATION_QUEUED;
}

size_t ms_station_ring_wanted(const ms_station *st) {
    if (st->cap == 0) return 16;
    return st->cap > SIZE_MAX / 2 / sizeof *st->ring ? 0 : st->cap * 2;
}

int ms_station_give_ring(ms_station *st, int64_t *ring, size_t cap) {
    /* the ring masks its indices: cap is a power of two */
    if (cap < st->st.waiting || cap == 0 || (cap & (cap - 1)) != 0) return -1;
    for (size_t i = 0; i < st->st.waiting; i++) ring[i] = st->ring[(st->head + i) & (st->cap - 1)];
    st->ring = ring;
    st->cap = cap;
    st->head = 0;
    return 0;
}

const ms_station_stats *ms_station_stats_get(const ms_station *st) {
    return &st->st;
}

/* A queueing station on a scheduler: `servers` identical servers fed by
 * one first-come-first-served waiting line of at most `queue` customers
 * (an arrival that finds it full is turned away), each service time drawn
 * from a distribution on the station's own random stream. It is the
 * building block a scripted sim uses for a part the cluster model does not
 * have (a disk, a downstream service, the textbook M/M/c queue): arrivals
 * come from the script, services and departures run in C, and the station
 * keeps the sums queueing theory is checked against; a done function
 * (ms_station_on_done) hears of each departure, which is how stations are
 * linked into a network.
 *
 * A customer is its arrival time. A departure is one scheduler event of
 * kind MS_STATION_EV_DEPART with a = the arrival time and b = the service
 * start (ns), so it is digested like any event.
 *
 * A departure that cannot schedule the next service (the scheduler out of
 * memory) drops that customer and marks the station failed: every later
 * arrival returns MS_STATION_NO_MEMORY.
 *
 * The waiting line is a ring the caller provides (ms_station_give_ring):
 * the station allocates nothing, so a binding can take the ring's memory
 * from wherever it counts memory. */
#ifndef MS_STATION_H
#define MS_STATION_H

#include "ms_dist.h"
#include "ms_rng.h"
#include "ms_sched.h"

#include <stddef.h>
#include <stdint.h>

#define MS_STATION_EV_DEPART 0x4d535301u
#define MS_STATION_MAX_SERVERS 1048576
#define MS_STATION_UNLIMITED UINT64_MAX /* a waiting line without a limit */

typedef struct ms_station_config {
    uint32_t servers; /* 1 .. MS_STATION_MAX_SERVERS */
    uint64_t queue;   /* places in the waiting line, or MS_STATION_UNLIMITED */
    ms_dist service;  /* ns; must be ms_dist_valid */
} ms_station_config;

typedef struct ms_station_stats {
    uint64_t arrived;  /* admitted or turned away */
    uint64_t rejected; /* turned away: the waiting line was full */
    uint64_t served;   /* departed */
    uint64_t busy;     /* servers busy now */
    uint64_t waiting;  /* customers in the waiting line now */
    uint64_t max_waiting;
    double sojourn_ns; /* sums over the customers served: arrival to departure, */
    double wait_ns;    /* arrival to service start (service: the difference) */
    int64_t sojourn_max_ns;
} ms_station_stats;

/* Called after each departure, once the next service has started: the
 * customer's time in the station and in its line, ns. */
typedef void (*ms_station_done_fn)(void *ctx, int64_t sojourn_ns, int64_t wait_ns);

typedef struct ms_station {
    ms_sched *s;
    ms_station_config cfg;
    ms_rng rng;
    int64_t *ring; /* arrival times of the waiting customers, oldest at head */
    size_t cap, head;
    int failed; /* a departure could not schedule the next service (out of memory) */
    ms_station_done_fn done;
    void *done_ctx;
    ms_station_stats st;
} ms_station;

/* What an arrival did. */
typedef enum ms_station_arrival {
    MS_STATION_SERVED = 0,    /* a server was free: its service started */
    MS_STATION_QUEUED = 1,    /* it waits in line */
    MS_STATION_REJECTED = 2,  /* the line was full: turned away (counted) */
    MS_STATION_NO_ROOM = -1,  /* the ring is full: give a bigger one and arrive again */
    MS_STATION_NO_MEMORY = -2 /* the scheduler could not take the departure */
} ms_station_arrival;

/* Validate cfg (0, or -1 and *why set to a static message naming the
 * field) and set st up on s with the stream (seed, stream); no ring yet. */
int ms_station_init(ms_station *st, ms_sched *s, const ms_station_config *cfg, uint64_t seed,
                    const char *stream, const char **why);

/* Call fn(ctx, ...) after every departure (NULL: none). */
void ms_station_on_done(ms_station *st, ms_station_done_fn fn, void *ctx);

/* A customer arrives now (see ms_station_arrival). */
ms_station_arrival ms_station_arrive(ms_station *st);

/* The ring size the next ms_station_give_ring should offer (twice the
 * present one, at least 16), or 0 when it would overflow size_t. */
size_t ms_station_ring_wanted(const ms_station *st);

/* Move the waiting line into ring (cap entries: a power of two, at least
 * the customers waiting; else -1 and nothing changes); the old ring is the
 * caller's again. */
int ms_station_give_ring(ms_station *st, int64_t *ring, size_t cap);

const ms_station_stats *ms_station_stats_get(const ms_station *st);

#endif

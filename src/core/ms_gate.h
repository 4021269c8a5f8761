/* The snapshot-apply gate, simulation backend: an applying flag, a FIFO
 * queue of waiting readers, wake-all when the apply finishes, a timeout per
 * waiter, and counters. Time is the scheduler's virtual time: a wake-up is
 * an event at the very instant the apply ends (not on a later tick), and a
 * timeout is an event at wait start + timeout. Waiters are woken in the
 * order they started waiting.
 *
 * The real-thread backend (ms_gate_os) offers the same operations with
 * blocking waits; this one reports the end of a wait through a callback. */
#ifndef MS_GATE_H
#define MS_GATE_H

#include "ms_sched.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ms_gate ms_gate;

/* Called when a wait ends: timed_out = 0 on wake-up (the apply ended),
 * 1 on timeout. `tag` is the caller's id given to ms_gate_wait. */
typedef void (*ms_gate_fn)(void *ctx, uint64_t tag, int timed_out);

typedef struct ms_gate_stats {
    uint64_t applies;        /* begin..end cycles completed */
    uint64_t waits;          /* waits started */
    uint64_t wakeups;        /* waits ended by the end of an apply */
    uint64_t timeouts;       /* waits ended by their timeout */
    uint64_t cancels;        /* waits cancelled by their owner */
    int64_t longest_wait_ns; /* over ended waits */
    int64_t total_wait_ns;   /* over ended waits */
    size_t waiting;          /* now */
    size_t max_waiting;
} ms_gate_stats;

/* Event kinds this module schedules (folded into the run digest). */
enum { MS_EV_GATE_WAKE = 0x6701, MS_EV_GATE_TIMEOUT = 0x6702 };

ms_gate *ms_gate_new(ms_sched *s);
void ms_gate_free(ms_gate *g);

/* Set the applying flag. Returns -1 (and changes nothing) when an apply is
 * already in progress. */
int ms_gate_begin(ms_gate *g);

/* Clear the flag and wake every waiter at the current instant, in FIFO
 * order. Returns the number woken, or -1 when no apply was in progress. */
int ms_gate_end(ms_gate *g);

int ms_gate_applying(const ms_gate *g);

/* Wait until the apply ends or timeout_ns passes (timeout_ns < 0: no
 * timeout). When no apply is in progress the wait ends at once (a wake-up
 * at the current instant). Returns a waiter id for ms_gate_cancel, or 0
 * when out of memory. */
uint64_t ms_gate_wait(ms_gate *g, int64_t timeout_ns, ms_gate_fn fn, void *ctx, uint64_t tag);

/* Withdraw a wait before it ends (its callback will not run). Returns 1
 * when it was waiting. */
int ms_gate_cancel(ms_gate *g, uint64_t waiter);

const ms_gate_stats *ms_gate_stats_get(const ms_gate *g);

#endif

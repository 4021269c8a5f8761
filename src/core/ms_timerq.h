/* A FIFO of timers that share one duration (a client group's per-attempt
 * timeout), backed by a single armed scheduler event.
 *
 * Timers added with one duration expire in the order they were added, so
 * they need no heap: they queue in a ring, and only the earliest live one is
 * armed in the scheduler. Cancelling a timer marks its ring entry; cancelled
 * entries are skipped when they reach the head. A timer that is nearly
 * always cancelled (a request timeout: the reply comes first) therefore
 * costs a ring push and a mark instead of a heap insert, a lazy heap delete
 * and the heap growth that 40K dead entries cause.
 *
 * Ordering rule (the deterministic replacement for "ties run in the order
 * they were scheduled"): timers of one queue fire in deadline order, ties in
 * the order they were added, one timer per scheduler event. The armed event
 * is scheduled when the queue's previous head fired or was found cancelled
 * (or when the timer was added to an idle queue), so relative to other
 * events at the same nanosecond a timer runs after those scheduled before
 * that moment and before those scheduled after it. Everything here is a
 * function of the event order, so runs stay deterministic.
 *
 * The armed event is digested like any other: (deadline, kind, tag of the
 * head when armed, 0). When the armed head was cancelled meanwhile, the
 * event still runs (a "spurious" wake), skips cancelled entries and re-arms:
 * at most one such wake per armed timer.
 *
 * Memory. The ring is made of pages of entries; a page whose timers have
 * all fired or been cancelled is freed at once, so a queue holds about the
 * pages that still have a pending timer, not every timer added within one
 * timeout (at 500K attempts/s and a 30 s timeout that was 360 MB). */
#ifndef MS_TIMERQ_H
#define MS_TIMERQ_H

#include "ms_sched.h"

#include <stddef.h>
#include <stdint.h>

/* Called when a timer expires: the item and tag given to ms_timerq_add. */
typedef void (*ms_timerq_fn)(void *ctx, void *item, uint64_t tag);

typedef struct ms_timerq_entry {
    int64_t deadline;
    void *item; /* NULL once cancelled */
    uint64_t tag;
} ms_timerq_entry;

typedef struct ms_timerq_page ms_timerq_page;

typedef struct ms_timerq {
    ms_sched *s;
    uint32_t kind;
    ms_timerq_fn fn;
    void *ctx;
    ms_timerq_page **pages; /* page p (tickets p * page length ...) at pages[p & pmask],
                               NULL when none of its timers is pending */
    size_t pmask;           /* page slots - 1 (a power of two), or 0 before the first add */
    uint64_t head, tail;    /* live tickets lie in [head, tail); tickets start at 1 */
    int64_t last;           /* the deadline of the last timer added */
    ms_event_id armed;      /* the scheduler event for the head, or 0 */
} ms_timerq;

/* An empty queue whose expiries call fn(ctx, item, tag) from scheduler
 * events of the given kind. */
void ms_timerq_init(ms_timerq *q, ms_sched *s, uint32_t kind, ms_timerq_fn fn, void *ctx);

/* Release the ring and cancel the armed event (the scheduler must still
 * exist). Safe on a zeroed or already freed queue. */
void ms_timerq_free(ms_timerq *q);

/* Add a timer for item (not NULL) expiring at `deadline`, which must not
 * precede the last deadline added (an earlier one is raised to it, keeping
 * the FIFO ordered). Returns a ticket > 0 for ms_timerq_cancel, or 0 when
 * out of memory. */
uint64_t ms_timerq_add(ms_timerq *q, int64_t deadline, void *item, uint64_t tag);

/* Cancel a timer. Returns 1 when it was pending, 0 when it already fired,
 * was cancelled, or the ticket is 0. */
int ms_timerq_cancel(ms_timerq *q, uint64_t ticket);

/* Timers added and neither fired nor dropped yet, cancelled ones included
 * (the span of tickets between the head and the tail). */
size_t ms_timerq_queued(const ms_timerq *q);

/* Pages of entries allocated now (for tests and memory figures). */
size_t ms_timerq_pages(const ms_timerq *q);

#endif

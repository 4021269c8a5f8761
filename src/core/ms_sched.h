/* The deterministic scheduler: a virtual clock (int64 nanoseconds) and an
 * event queue ordered by (time, sequence number). Ties between equal times
 * run in the order they were scheduled. Every processed event is folded into
 * a 64-bit digest (time, kind, a, b), so two runs that process the same
 * events in the same order report the same digest.
 *
 * Cancellation is lazy: a cancelled event stays in the heap, marked dead,
 * and is dropped when it reaches the top (or when dead entries outnumber live
 * ones, by a rebuild). Dead events are neither run nor digested. */
#ifndef MS_SCHED_H
#define MS_SCHED_H

#include <stddef.h>
#include <stdint.h>

typedef struct ms_sched ms_sched;

/* Identifies a scheduled event for ms_sched_cancel; 0 is never a valid id.
 * The low 32 bits are the event's slot: an index below 2^24, dense and
 * reused once the event has run or been dropped, so a binding may use it to
 * index an array of per-event data (MS_EVENT_SLOT). The high 32 bits are a
 * generation that makes a stale id harmless. */
typedef uint64_t ms_event_id;

#define MS_EVENT_SLOT(id) ((uint32_t)((id)&UINT32_MAX))

/* An event callback. `a` and `b` are the ids given at scheduling. */
typedef void (*ms_event_fn)(ms_sched *s, void *ctx, uint64_t a, uint64_t b);

#define MS_TIME_MAX INT64_MAX

/* A new scheduler at time 0 with an empty queue, or NULL when out of memory. */
ms_sched *ms_sched_new(void);
void ms_sched_free(ms_sched *s);

/* The current virtual time in ns: the time of the event being run, or of the
 * last one run. */
int64_t ms_sched_now(const ms_sched *s);

/* Schedule fn(ctx, a, b) at absolute time t (clamped to now when in the
 * past). `kind` names the event in the digest. Returns 0 when out of memory. */
ms_event_id ms_sched_at(ms_sched *s, int64_t t, uint32_t kind, ms_event_fn fn, void *ctx,
                        uint64_t a, uint64_t b);

/* Schedule at now + delay (delay < 0 counts as 0). */
ms_event_id ms_sched_after(ms_sched *s, int64_t delay, uint32_t kind, ms_event_fn fn, void *ctx,
                           uint64_t a, uint64_t b);

/* Cancel a pending event. Returns 1 when it was pending, 0 when it already
 * ran, was cancelled, or the id is unknown. */
int ms_sched_cancel(ms_sched *s, ms_event_id id);

/* Is the event still pending? */
int ms_sched_pending_id(const ms_sched *s, ms_event_id id);

/* Number of live (not cancelled, not yet run) events. */
size_t ms_sched_pending(const ms_sched *s);

/* Time of the next live event, or MS_TIME_MAX when none. */
int64_t ms_sched_next_time(ms_sched *s);

/* Run events in order while their time is <= until, at most max_events of
 * them (0 = no limit), or until ms_sched_stop is called from a callback.
 * When the queue runs dry or the next event lies beyond `until`, the clock
 * advances to `until` (unless until is MS_TIME_MAX). Returns the number of
 * events run. */
uint64_t ms_sched_run(ms_sched *s, int64_t until, uint64_t max_events);

/* Ask a running ms_sched_run to return after the current event. */
void ms_sched_stop(ms_sched *s);

/* The id of the event being run (inside a callback), else 0. */
ms_event_id ms_sched_current(const ms_sched *s);

/* Total events run since creation, and the digest folded over them. */
uint64_t ms_sched_events(const ms_sched *s);
uint64_t ms_sched_digest(const ms_sched *s);

/* Fold extra data into the digest (e.g. an outcome computed by a callback). */
void ms_sched_fold(ms_sched *s, uint64_t v);

/* Owners. Every event carries the owner that was current when it was
 * scheduled (0 = none); while an event runs, its owner is current, so the
 * events a component's events schedule are the component's too. A binding
 * makes a component's owner current around the calls it makes into it, and
 * when the component goes away it cancels what it still has queued (its
 * events point into it) while the scheduler and everyone else's events
 * live on. Owners are not digested. ms_sched_set_owner returns the owner
 * it replaces. */
typedef uint16_t ms_sched_owner;
ms_sched_owner ms_sched_set_owner(ms_sched *s, ms_sched_owner owner);

/* Cancel every pending event of `owner` (not 0). Returns how many. */
size_t ms_sched_cancel_owner(ms_sched *s, ms_sched_owner owner);

/* Is event slot `slot` (MS_EVENT_SLOT of an id) scheduled and pending? */
int ms_sched_slot_pending(const ms_sched *s, uint32_t slot);

#endif

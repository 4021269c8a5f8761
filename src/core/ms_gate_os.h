/* The snapshot-apply gate, OS backend: the concepts of ms_gate (an applying
 * flag, wake-all when the apply ends, a timeout per waiter, counters) for
 * real threads.
 *
 * The flag is a C11 atomic: the read fast path is one acquire load
 * (ms_gate_os_applying) and takes no lock. Everything else (begin, end,
 * waiting, the counters) goes through one mutex and one condition
 * variable (libuv's uv_mutex / uv_cond, monotonic clock). The flag only
 * changes under that mutex, so a waiter that saw it set under the mutex
 * cannot miss the broadcast of the end (sent just after the mutex is
 * released, so that woken waiters do not find it still held). A waiter leaves when the apply it
 * waited for ended (an apply generation counter, so a new apply begun
 * right after the end does not keep it) or when its own deadline passes.
 *
 * Thread-safe: any thread may call any function; ms_gate_os_free only once
 * nobody uses the gate. */
#ifndef MS_GATE_OS_H
#define MS_GATE_OS_H

#include <stddef.h>
#include <stdint.h>

typedef struct ms_gate_os ms_gate_os;

/* How a wait ended. */
typedef enum ms_gate_os_wait_rc {
    MS_GATE_OS_OPEN = 0,    /* no apply in progress: nothing to wait for */
    MS_GATE_OS_WOKEN = 1,   /* the apply ended (wake-all) */
    MS_GATE_OS_TIMEDOUT = 2 /* the waiter's own timeout passed first */
} ms_gate_os_wait_rc;

typedef struct ms_gate_os_stats {
    uint64_t applies;        /* begin..end cycles completed */
    uint64_t waits;          /* waits started (the flag was set under the mutex) */
    uint64_t wakeups;        /* waits ended by the end of an apply */
    uint64_t timeouts;       /* waits ended by their timeout */
    int64_t longest_wait_ns; /* over ended waits */
    int64_t total_wait_ns;   /* over ended waits */
    size_t waiting;          /* now */
    size_t max_waiting;
} ms_gate_os_stats;

/* New open gate; NULL when out of memory or the OS refuses a primitive. */
ms_gate_os *ms_gate_os_new(void);

/* Free g; nobody may be waiting. NULL is a no-op. */
void ms_gate_os_free(ms_gate_os *g);

/* Set the applying flag. -1 (nothing changes) when an apply is already in
 * progress. */
int ms_gate_os_begin(ms_gate_os *g);

/* Clear the flag, note the time and wake every waiter. Returns the number
 * of waiters woken, or -1 when no apply was in progress. */
int ms_gate_os_end(ms_gate_os *g);

/* How long a waiter woken by ms_gate_os_soon polls before it sleeps again:
 * long enough for an apply whose CPU a poller shares to finish (the stress
 * harness announces ~6 ms ahead, which can stretch to ~20 ms). */
#define MS_GATE_OS_POLL_NS INT64_C(60000000)

/* The applier expects the apply to end shortly (within a few milliseconds):
 * wake the waiters so that they poll for the end (for at most
 * MS_GATE_OS_POLL_NS, then sleep again) instead of sleeping through it. 0,
 * or -1 when no apply is in progress. Optional: without it waiters sleep
 * until the end. */
int ms_gate_os_soon(ms_gate_os *g);

/* The flag: one atomic load (acquire), no lock. */
int ms_gate_os_applying(ms_gate_os *g);

/* Block until the apply in progress ends or timeout_ns passes (< 0: no
 * timeout). When woken, *end_ns (if not NULL) is the monotonic time
 * (ms_gate_os_now) at which the apply ended. */
ms_gate_os_wait_rc ms_gate_os_wait(ms_gate_os *g, int64_t timeout_ns, int64_t *end_ns);

/* A consistent copy of the counters. */
ms_gate_os_stats ms_gate_os_stats_get(ms_gate_os *g);

/* Monotonic clock in nanoseconds (the clock of every time above). */
int64_t ms_gate_os_now(void);

#endif

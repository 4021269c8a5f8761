/* OS gate: an atomic flag for the fast path; a mutex for begin, end and a
 * waiter's registration; waiters sleep on the apply generation itself.
 *
 * On Linux a waiter sleeps in futex_wait on the generation word and the end
 * of an apply is one futex_wake of all of them, sent after the mutex is
 * released: a woken waiter returns without taking any lock (its counters
 * are atomics), so waiters woken together do not queue on a mutex (with a
 * condition variable each must take it back in turn, behind the others
 * and, on a loaded machine, behind a preempted one). Elsewhere the same
 * logic sleeps on a condition variable (also with MS_GATE_OS_NO_FUTEX
 * defined, to test it). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* syscall */
#endif
#include "ms_gate_os.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <uv.h>

#if defined(__linux__) && !defined(MS_GATE_OS_NO_FUTEX)
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#define GATE_FUTEX 1
#else
#define GATE_FUTEX 0
#endif

struct ms_gate_os {
    atomic_int applying; /* written only under mu */
    atomic_int soon;     /* the applier said the end is near; written under mu */
    uv_mutex_t mu;
    uv_cond_t cv;            /* without futexes: where waiters sleep */
    atomic_uint gen;         /* applies ended (mod 2^32); written under mu */
    atomic_int_fast64_t end; /* when the last apply ended; written under mu, before gen */
    atomic_uint_fast64_t applies, waits, wakeups, timeouts;
    atomic_int_fast64_t longest, total;
    atomic_size_t waiting, max_waiting;
};

int64_t ms_gate_os_now(void) {
    return (int64_t)uv_hrtime();
}

ms_gate_os *ms_gate_os_new(void) {
    ms_gate_os *g = calloc(1, sizeof *g);
    if (g == NULL) return NULL;
    atomic_init(&g->applying, 0);
    atomic_init(&g->soon, 0);
    atomic_init(&g->gen, 0);
    atomic_init(&g->end, 0);
    atomic_init(&g->applies, 0);
    atomic_init(&g->waits, 0);
    atomic_init(&g->wakeups, 0);
    atomic_init(&g->timeouts, 0);
    atomic_init(&g->longest, 0);
    atomic_init(&g->total, 0);
    atomic_init(&g->waiting, 0);
    atomic_init(&g->max_waiting, 0);
    if (uv_mutex_init(&g->mu) != 0) {
        free(g);
        return NULL;
    }
    if (uv_cond_init(&g->cv) != 0) {
        uv_mutex_destroy(&g->mu);
        free(g);
        return NULL;
    }
    return g;
}

void ms_gate_os_free(ms_gate_os *g) {
    if (g == NULL) return;
    uv_cond_destroy(&g->cv);
    uv_mutex_destroy(&g->mu);
    free(g);
}

/* --- sleeping on the generation ------------------------------------------- */

/* Wake every waiter sleeping on the generation (called without mu: a waiter
 * woken while the waker still held it would find it taken). */
static void wake_all(ms_gate_os *g) {
#if GATE_FUTEX
    syscall(SYS_futex, (unsigned *)&g->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    /* no wake-up is lost: the waker changed what a sleeper checks under mu,
     * where the sleeper checks it and starts to sleep in one step */
    uv_cond_broadcast(&g->cv);
#endif
}

/* Sleep while the generation is gen and soon is as seen, at most until the
 * deadline (< 0: none). May return early (a spurious or unrelated wake-up):
 * the caller looks again. */
static void sleep_on(ms_gate_os *g, unsigned gen, int soon, int64_t deadline) {
    int64_t left = deadline < 0 ? -1 : deadline - ms_gate_os_now();
    if (deadline >= 0 && left <= 0) return;
#if GATE_FUTEX
    (void)soon; /* ms_gate_os_soon wakes the generation's sleepers too */
    struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
    syscall(SYS_futex, (unsigned *)&g->gen, FUTEX_WAIT_PRIVATE, gen, left < 0 ? NULL : &ts, NULL,
            0);
#else
    uv_mutex_lock(&g->mu);
    if (atomic_load(&g->gen) == gen && atomic_load(&g->soon) == soon) {
        if (left < 0)
            uv_cond_wait(&g->cv, &g->mu);
        else
            uv_cond_timedwait(&g->cv, &g->mu, (uint64_t)left);
    }
    uv_mutex_unlock(&g->mu);
#endif
}

/* --- the applier's side ------------------------------------------------------ */

int ms_gate_os_begin(ms_gate_os *g) {
    int rc = -1;
    uv_mutex_lock(&g->mu);
    if (!atomic_load_explicit(&g->applying, memory_order_relaxed)) {
        /* seq_cst: ordered before whatever the applier publishes next */
        atomic_store(&g->applying, 1);
        rc = 0;
    }
    uv_mutex_unlock(&g->mu);
    return rc;
}

int ms_gate_os_end(ms_gate_os *g) {
    uv_mutex_lock(&g->mu);
    if (!atomic_load_explicit(&g->applying, memory_order_relaxed)) {
        uv_mutex_unlock(&g->mu);
        return -1;
    }
    /* Counted before the generation moves on: a pre-woken waiter polls it
     * and leaves (uncounting itself) the moment it changes. Waiters register
     * under mu, so this is every waiter of this apply still waiting. */
    int n = (int)atomic_load(&g->waiting);
    atomic_store_explicit(&g->end, ms_gate_os_now(), memory_order_relaxed);
    atomic_store_explicit(&g->soon, 0, memory_order_relaxed);
    atomic_store_explicit(&g->gen, atomic_load_explicit(&g->gen, memory_order_relaxed) + 1,
                          memory_order_release);
    atomic_fetch_add(&g->applies, 1);
    atomic_store_explicit(&g->applying, 0, memory_order_release);
    uv_mutex_unlock(&g->mu);
    wake_all(g);
    return n;
}

int ms_gate_os_soon(ms_gate_os *g) {
    uv_mutex_lock(&g->mu);
    int on = atomic_load_explicit(&g->applying, memory_order_relaxed);
    if (on) atomic_store_explicit(&g->soon, 1, memory_order_release);
    uv_mutex_unlock(&g->mu);
    if (on) wake_all(g);
    return on ? 0 : -1;
}

int ms_gate_os_applying(ms_gate_os *g) {
    return atomic_load_explicit(&g->applying, memory_order_acquire);
}

/* --- the waiters' side -------------------------------------------------------- */

static int gen_is(ms_gate_os *g, unsigned gen) {
    return atomic_load_explicit(&g->gen, memory_order_acquire) == gen;
}

/* Pre-woken: poll the generation, so that the end is seen within a
 * cache-line transfer instead of a sleeping thread's wake-up (on a virtual
 * machine an idle CPU is halted, and waking it costs hundreds of
 * microseconds). Bounded by MS_GATE_OS_POLL_NS and the deadline, then back
 * to sleep. */
static void poll_for_end(ms_gate_os *g, unsigned gen, int64_t deadline) {
    int64_t stop = ms_gate_os_now() + MS_GATE_OS_POLL_NS;
    if (deadline >= 0 && deadline < stop) stop = deadline;
    for (unsigned i = 1; gen_is(g, gen); i++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if (i % 64 == 0 && ms_gate_os_now() >= stop) break;
    }
}

/* Sleep until the generation moves on from gen or the deadline passes;
 * 1 when timed out. */
static int sleep_until_end(ms_gate_os *g, unsigned gen, int64_t deadline) {
    int polled = 0;
    while (gen_is(g, gen)) {
        int soon = atomic_load_explicit(&g->soon, memory_order_acquire);
        if (soon && !polled) {
            polled = 1;
            poll_for_end(g, gen, deadline);
            continue;
        }
        if (deadline >= 0 && ms_gate_os_now() >= deadline) return 1;
        sleep_on(g, gen, soon, deadline);
    }
    return 0;
}

static void store_max(atomic_int_fast64_t *m, int64_t v) {
    int_fast64_t cur = atomic_load_explicit(m, memory_order_relaxed);
    while (cur < v && !atomic_compare_exchange_weak(m, &cur, v)) {
    }
}

ms_gate_os_wait_rc ms_gate_os_wait(ms_gate_os *g, int64_t timeout_ns, int64_t *end_ns) {
    if (!ms_gate_os_applying(g)) return MS_GATE_OS_OPEN;
    int64_t start = ms_gate_os_now();
    int64_t deadline = timeout_ns < 0 ? -1 : start + timeout_ns;
    /* Registration under mu, where the flag and the generation change
     * together: a waiter that sees the flag set there waits for the end of
     * that apply, and is counted in what ms_gate_os_end returns. */
    uv_mutex_lock(&g->mu);
    if (!atomic_load_explicit(&g->applying, memory_order_relaxed)) {
        uv_mutex_unlock(&g->mu);
        return MS_GATE_OS_OPEN;
    }
    unsigned gen = atomic_load_explicit(&g->gen, memory_order_relaxed);
    atomic_fetch_add(&g->waits, 1);
    size_t n = atomic_fetch_add(&g->waiting, 1) + 1, max = atomic_load(&g->max_waiting);
    while (max < n && !atomic_compare_exchange_weak(&g->max_waiting, &max, n)) {
    }
    uv_mutex_unlock(&g->mu);

    int timed_out = sleep_until_end(g, gen, deadline);
    if (!timed_out && end_ns) *end_ns = atomic_load_explicit(&g->end, memory_order_relaxed);
    atomic_fetch_sub(&g->waiting, 1);
    int64_t waited = ms_gate_os_now() - start;
    atomic_fetch_add(&g->total, waited);
    store_max(&g->longest, waited);
    atomic_fetch_add(timed_out ? &g->timeouts : &g->wakeups, 1);
    return timed_out ? MS_GATE_OS_TIMEDOUT : MS_GATE_OS_WOKEN;
}

ms_gate_os_stats ms_gate_os_stats_get(ms_gate_os *g) {
    ms_gate_os_stats st = {
        .applies = atomic_load(&g->applies),
        .waits = atomic_load(&g->waits),
        .wakeups = atomic_load(&g->wakeups),
        .timeouts = atomic_load(&g->timeouts),
        .longest_wait_ns = atomic_load(&g->longest),
        .total_wait_ns = atomic_load(&g->total),
        .waiting = atomic_load(&g->waiting),
        .max_waiting = atomic_load(&g->max_waiting),
    };
    return st;
}

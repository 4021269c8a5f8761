/* OS gate: an atomic flag for the fast path, a mutex + condition variable
 * for everything that waits or counts. */
#include "ms_gate_os.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <uv.h>

struct ms_gate_os {
    atomic_int applying; /* written only under mu */
    int soon;            /* the applier said the end is near; under mu */
    uv_mutex_t mu;
    uv_cond_t cv;
    atomic_uint_fast64_t gen; /* applies ended; written under mu */
    int64_t end_ns;           /* when the last apply ended; under mu */
    ms_gate_os_stats st;
};

int64_t ms_gate_os_now(void) {
    return (int64_t)uv_hrtime();
}

ms_gate_os *ms_gate_os_new(void) {
    ms_gate_os *g = calloc(1, sizeof *g);
    if (g == NULL) return NULL;
    atomic_init(&g->applying, 0);
    atomic_init(&g->gen, 0);
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
    g->end_ns = ms_gate_os_now();
    atomic_store_explicit(&g->gen, atomic_load_explicit(&g->gen, memory_order_relaxed) + 1,
                          memory_order_release);
    g->soon = 0;
    g->st.applies++;
    int n = (int)g->st.waiting;
    atomic_store_explicit(&g->applying, 0, memory_order_release);
    uv_mutex_unlock(&g->mu);
    /* After the unlock: a waiter woken while we still held mu would
     * preempt us, find mu taken, sleep on it and need us back on the CPU
     * to be woken a second time. Nobody is lost: a waiter is in
     * uv_cond_wait before we could take mu, and one that takes mu after
     * us sees the new generation (or the flag clear) and does not wait. */
    uv_cond_broadcast(&g->cv);
    return n;
}

int ms_gate_os_soon(ms_gate_os *g) {
    uv_mutex_lock(&g->mu);
    int on = atomic_load_explicit(&g->applying, memory_order_relaxed);
    if (on) g->soon = 1;
    uv_mutex_unlock(&g->mu);
    if (on) uv_cond_broadcast(&g->cv);
    return on ? 0 : -1;
}

int ms_gate_os_applying(ms_gate_os *g) {
    return atomic_load_explicit(&g->applying, memory_order_acquire);
}

static int gen_is(ms_gate_os *g, uint64_t gen) {
    return atomic_load_explicit(&g->gen, memory_order_acquire) == gen;
}

/* Pre-woken: poll the generation without the mutex, so that the end is
 * seen within a cache-line transfer instead of a sleeping thread's wake-up
 * (on a virtual machine an idle CPU is halted, and waking it costs
 * hundreds of microseconds). Bounded by MS_GATE_OS_POLL_NS and the deadline, then
 * back to sleep. Called and returns with mu held. */
static void poll_for_end(ms_gate_os *g, uint64_t gen, int64_t deadline) {
    uv_mutex_unlock(&g->mu);
    int64_t stop = ms_gate_os_now() + MS_GATE_OS_POLL_NS;
    if (deadline >= 0 && deadline < stop) stop = deadline;
    for (unsigned i = 1; gen_is(g, gen); i++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if (i % 64 == 0 && ms_gate_os_now() >= stop) break;
    }
    uv_mutex_lock(&g->mu);
}

/* Sleep on the condition until the generation moves on or the deadline
 * passes; called and returns with mu held. 1 when timed out. */
static int sleep_until_end(ms_gate_os *g, uint64_t gen, int64_t deadline) {
    int polled = 0;
    while (gen_is(g, gen)) {
        if (g->soon && !polled) {
            polled = 1;
            poll_for_end(g, gen, deadline);
            continue;
        }
        if (deadline < 0) {
            uv_cond_wait(&g->cv, &g->mu);
            continue;
        }
        int64_t left = deadline - ms_gate_os_now();
        if (left <= 0) return 1;
        uv_cond_timedwait(&g->cv, &g->mu, (uint64_t)left);
    }
    return 0;
}

ms_gate_os_wait_rc ms_gate_os_wait(ms_gate_os *g, int64_t timeout_ns, int64_t *end_ns) {
    if (!ms_gate_os_applying(g)) return MS_GATE_OS_OPEN;
    int64_t start = ms_gate_os_now();
    int64_t deadline = timeout_ns < 0 ? -1 : start + timeout_ns;
    uv_mutex_lock(&g->mu);
    if (!atomic_load_explicit(&g->applying, memory_order_relaxed)) {
        uv_mutex_unlock(&g->mu);
        return MS_GATE_OS_OPEN;
    }
    g->st.waits++;
    if (++g->st.waiting > g->st.max_waiting) g->st.max_waiting = g->st.waiting;
    int timed_out =
        sleep_until_end(g, atomic_load_explicit(&g->gen, memory_order_relaxed), deadline);
    g->st.waiting--;
    int64_t waited = ms_gate_os_now() - start;
    g->st.total_wait_ns += waited;
    if (waited > g->st.longest_wait_ns) g->st.longest_wait_ns = waited;
    if (timed_out)
        g->st.timeouts++;
    else
        g->st.wakeups++;
    if (!timed_out && end_ns) *end_ns = g->end_ns;
    uv_mutex_unlock(&g->mu);
    return timed_out ? MS_GATE_OS_TIMEDOUT : MS_GATE_OS_WOKEN;
}

ms_gate_os_stats ms_gate_os_stats_get(ms_gate_os *g) {
    uv_mutex_lock(&g->mu);
    ms_gate_os_stats st = g->st;
    uv_mutex_unlock(&g->mu);
    return st;
}

/* The gate's waiters live in a slab with a doubly linked FIFO list through
 * it; each has a pending timeout event in the scheduler (cancelled when it
 * is woken) or, once woken, a pending wake event. */
#include "ms_gate.h"

#include <stdlib.h>

#define NIL UINT32_MAX

typedef struct {
    ms_gate_fn fn;
    void *ctx;
    uint64_t tag;
    int64_t start;
    ms_event_id timer; /* timeout, then the wake event once woken */
    uint32_t prev, next;
    uint32_t gen;
    uint8_t state; /* 0 free, 1 queued, 2 woken (wake event pending) */
} waiter;

struct ms_gate {
    ms_sched *s;
    int applying;
    waiter *w;
    uint32_t nw, cap, free_head;
    uint32_t head, tail; /* FIFO of queued waiters */
    ms_gate_stats st;
};

ms_gate *ms_gate_new(ms_sched *s) {
    ms_gate *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->s = s;
    g->free_head = g->head = g->tail = NIL;
    return g;
}

void ms_gate_free(ms_gate *g) {
    if (!g) return;
    for (uint32_t i = 0; i < g->nw; i++)
        if (g->w[i].state != 0) ms_sched_cancel(g->s, g->w[i].timer);
    free(g->w);
    free(g);
}

int ms_gate_applying(const ms_gate *g) {
    return g->applying;
}
const ms_gate_stats *ms_gate_stats_get(const ms_gate *g) {
    return &g->st;
}

static uint64_t id_of(const ms_gate *g, uint32_t i) {
    return ((uint64_t)g->w[i].gen << 32) | i;
}

static waiter *lookup(ms_gate *g, uint64_t id, uint32_t *idx) {
    uint32_t i = (uint32_t)(id & UINT32_MAX);
    if (i >= g->nw || g->w[i].gen != (uint32_t)(id >> 32) || g->w[i].state == 0) return NULL;
    *idx = i;
    return &g->w[i];
}

static uint32_t alloc_waiter(ms_gate *g) {
    if (g->free_head != NIL) {
        uint32_t i = g->free_head;
        g->free_head = g->w[i].next;
        return i;
    }
    if (g->nw == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 64;
        waiter *n = realloc(g->w, cap * sizeof *n);
        if (!n) return NIL;
        g->w = n;
        g->cap = cap;
    }
    g->w[g->nw].gen = 0;
    return g->nw++;
}

static void release(ms_gate *g, uint32_t i) {
    g->w[i].state = 0;
    g->w[i].next = g->free_head;
    g->free_head = i;
    g->st.waiting--;
}

static void unlink_waiter(ms_gate *g, uint32_t i) {
    waiter *w = &g->w[i];
    if (w->prev != NIL)
        g->w[w->prev].next = w->next;
    else
        g->head = w->next;
    if (w->next != NIL)
        g->w[w->next].prev = w->prev;
    else
        g->tail = w->prev;
}

/* A wait ended: count it, free the slot, then call back (last, so the
 * callback may start a new wait that reuses the slot). */
static void end_wait(ms_gate *g, uint32_t i, int timed_out) {
    waiter w = g->w[i];
    int64_t waited = ms_sched_now(g->s) - w.start;
    if (waited > g->st.longest_wait_ns) g->st.longest_wait_ns = waited;
    g->st.total_wait_ns += waited;
    if (timed_out)
        g->st.timeouts++;
    else
        g->st.wakeups++;
    release(g, i);
    w.fn(w.ctx, w.tag, timed_out);
}

static void on_timeout(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s;
    (void)a;
    ms_gate *g = ctx;
    uint32_t i = (uint32_t)b;
    unlink_waiter(g, i);
    end_wait(g, i, 1);
}

static void on_wake(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s;
    (void)a;
    end_wait(ctx, (uint32_t)b, 0);
}

int ms_gate_begin(ms_gate *g) {
    if (g->applying) return -1;
    g->applying = 1;
    return 0;
}

/* Move waiter i from the queue to "woken": its timeout is replaced by a
 * wake event at the current instant. */
static void wake(ms_gate *g, uint32_t i) {
    waiter *w = &g->w[i];
    ms_sched_cancel(g->s, w->timer);
    w->state = 2;
    w->timer = ms_sched_after(g->s, 0, MS_EV_GATE_WAKE, on_wake, g, w->tag, i);
}

int ms_gate_end(ms_gate *g) {
    if (!g->applying) return -1;
    g->applying = 0;
    g->st.applies++;
    int n = 0;
    for (uint32_t i = g->head; i != NIL;) {
        uint32_t next = g->w[i].next;
        wake(g, i);
        n++;
        i = next;
    }
    g->head = g->tail = NIL;
    return n;
}

uint64_t ms_gate_wait(ms_gate *g, int64_t timeout_ns, ms_gate_fn fn, void *ctx, uint64_t tag) {
    uint32_t i = alloc_waiter(g);
    if (i == NIL) return 0;
    waiter *w = &g->w[i];
    w->fn = fn;
    w->ctx = ctx;
    w->tag = tag;
    w->start = ms_sched_now(g->s);
    w->gen++;
    w->state = 1;
    g->st.waits++;
    if (++g->st.waiting > g->st.max_waiting) g->st.max_waiting = g->st.waiting;
    if (!g->applying) {
        w->prev = w->next = NIL;
        w->timer = 0;
        wake(g, i);
        return id_of(g, i);
    }
    w->prev = g->tail;
    w->next = NIL;
    if (g->tail != NIL)
        g->w[g->tail].next = i;
    else
        g->head = i;
    g->tail = i;
    w->timer = timeout_ns < 0
                   ? 0
                   : ms_sched_after(g->s, timeout_ns, MS_EV_GATE_TIMEOUT, on_timeout, g, tag, i);
    return id_of(g, i);
}

int ms_gate_cancel(ms_gate *g, uint64_t id) {
    uint32_t i;
    waiter *w = lookup(g, id, &i);
    if (!w) return 0;
    ms_sched_cancel(g->s, w->timer);
    if (w->state == 1) unlink_waiter(g, i);
    g->st.cancels++;
    release(g, i);
    return 1;
}

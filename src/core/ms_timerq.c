/* FIFO timers over one armed scheduler event (see ms_timerq.h for the
 * ordering rule). */
#include "ms_timerq.h"

#include <stdlib.h>
#include <string.h>

void ms_timerq_init(ms_timerq *q, ms_sched *s, uint32_t kind, ms_timerq_fn fn, void *ctx) {
    memset(q, 0, sizeof *q);
    q->s = s;
    q->kind = kind;
    q->fn = fn;
    q->ctx = ctx;
    q->head = q->tail = 1; /* ticket 0 means "no timer" */
}

void ms_timerq_free(ms_timerq *q) {
    if (q->armed) ms_sched_cancel(q->s, q->armed);
    q->armed = 0;
    free(q->ring);
    q->ring = NULL;
    q->mask = 0;
    q->head = q->tail = 1;
}

size_t ms_timerq_queued(const ms_timerq *q) {
    return (size_t)(q->tail - q->head);
}

static ms_timerq_entry *at(const ms_timerq *q, uint64_t ticket) {
    return &q->ring[ticket & q->mask];
}

/* Drop cancelled entries off the head. */
static void drop_cancelled(ms_timerq *q) {
    while (q->head < q->tail && at(q, q->head)->item == NULL) q->head++;
}

static void on_fire(ms_sched *s, void *ctx, uint64_t a, uint64_t b);

/* Arm the scheduler for the earliest live timer, unless already armed. */
static void arm(ms_timerq *q) {
    if (q->armed) return;
    drop_cancelled(q);
    if (q->head == q->tail) return;
    const ms_timerq_entry *e = at(q, q->head);
    q->armed = ms_sched_at(q->s, e->deadline, q->kind, on_fire, q, e->tag, 0);
}

/* The armed head's deadline came: fire it if still live (else this is a
 * spurious wake after its cancellation), then arm the next. */
static void on_fire(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)a, (void)b;
    ms_timerq *q = ctx;
    q->armed = 0;
    drop_cancelled(q);
    if (q->head < q->tail && at(q, q->head)->deadline <= ms_sched_now(s)) {
        ms_timerq_entry e = *at(q, q->head++);
        q->fn(q->ctx, e.item, e.tag); /* may add timers, which may arm */
    }
    arm(q);
}

/* Double the ring, keeping each ticket at ring[ticket & mask]. */
static int grow(ms_timerq *q) {
    size_t cap = q->ring ? (q->mask + 1) * 2 : 64;
    ms_timerq_entry *n = malloc(cap * sizeof *n);
    if (!n) return -1;
    for (uint64_t t = q->head; t < q->tail; t++) n[t & (cap - 1)] = *at(q, t);
    free(q->ring);
    q->ring = n;
    q->mask = cap - 1;
    return 0;
}

uint64_t ms_timerq_add(ms_timerq *q, int64_t deadline, void *item, uint64_t tag) {
    if (!item) return 0;
    if ((!q->ring || q->tail - q->head > q->mask) && grow(q) != 0) return 0;
    if (q->tail > q->head) {
        int64_t last = at(q, q->tail - 1)->deadline;
        if (deadline < last) deadline = last;
    }
    uint64_t ticket = q->tail++;
    *at(q, ticket) = (ms_timerq_entry){deadline, item, tag};
    arm(q);
    if (!q->armed) { /* the scheduler is out of memory: the timer could never fire */
        q->tail--;
        return 0;
    }
    return ticket;
}

int ms_timerq_cancel(ms_timerq *q, uint64_t ticket) {
    if (ticket < q->head || ticket >= q->tail) return 0;
    ms_timerq_entry *e = at(q, ticket);
    if (!e->item) return 0;
    e->item = NULL;
    return 1;
}

/* FIFO timers over one armed scheduler event (see ms_timerq.h for the
 * ordering rule), in a ring of pages that are freed as soon as none of their
 * timers is pending. */
#include "ms_timerq.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_BITS 9
#define PAGE_LEN ((uint64_t)1 << PAGE_BITS)

struct ms_timerq_page {
    uint64_t index;   /* its tickets are index * PAGE_LEN ... + PAGE_LEN - 1 */
    uint32_t pending; /* entries added here, neither fired nor cancelled */
    ms_timerq_entry e[PAGE_LEN];
};

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
    if (q->pages)
        for (size_t i = 0; i <= q->pmask; i++) free(q->pages[i]);
    free(q->pages);
    q->pages = NULL;
    q->pmask = 0;
    q->head = q->tail = 1;
}

size_t ms_timerq_queued(const ms_timerq *q) {
    return (size_t)(q->tail - q->head);
}

size_t ms_timerq_pages(const ms_timerq *q) {
    size_t n = 0;
    if (q->pages)
        for (size_t i = 0; i <= q->pmask; i++) n += q->pages[i] != NULL;
    return n;
}

static ms_timerq_page **slot(const ms_timerq *q, uint64_t ticket) {
    return &q->pages[(ticket >> PAGE_BITS) & q->pmask];
}

/* The entry of ticket t, or NULL when its page was freed (it is done). */
static ms_timerq_entry *at(const ms_timerq *q, uint64_t ticket) {
    ms_timerq_page *p = *slot(q, ticket);
    return p ? &p->e[ticket & (PAGE_LEN - 1)] : NULL;
}

/* Free ticket t's page when none of its timers is pending and no timer
 * will be added to it (the tail has left it). */
static void maybe_free_page(ms_timerq *q, uint64_t ticket) {
    ms_timerq_page **ps = slot(q, ticket);
    if (*ps && (*ps)->pending == 0 && ticket >> PAGE_BITS != q->tail >> PAGE_BITS) {
        free(*ps);
        *ps = NULL;
    }
}

/* Ticket t's timer stops being pending (it fired or was cancelled). */
static void done(ms_timerq *q, uint64_t ticket) {
    (*slot(q, ticket))->pending--;
    maybe_free_page(q, ticket);
}

/* Drop cancelled entries (and freed pages) off the head. */
static void drop_cancelled(ms_timerq *q) {
    while (q->head < q->tail) {
        const ms_timerq_entry *e = at(q, q->head);
        if (e == NULL) {
            uint64_t next = (q->head | (PAGE_LEN - 1)) + 1; /* the next page's first ticket */
            q->head = next < q->tail ? next : q->tail;
        } else if (e->item == NULL) {
            q->head++;
        } else {
            break;
        }
    }
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
        uint64_t t = q->head++;
        ms_timerq_entry e = *at(q, t);
        at(q, t)->item = NULL;
        done(q, t);
        q->fn(q->ctx, e.item, e.tag); /* may add timers, which may arm */
    }
    arm(q);
}

/* Make room in the page ring for the pages from the head's to ticket t's,
 * doubling it while it is short, each page kept at pages[index & pmask].
 * Every allocated page lies in that span: those before the head's were
 * freed when their last timer was done. */
static int room_for(ms_timerq *q, uint64_t t) {
    uint64_t first = q->head >> PAGE_BITS, last = t >> PAGE_BITS;
    size_t cap = q->pages ? q->pmask + 1 : 4;
    while (last - first + 1 > cap) cap *= 2;
    if (q->pages && cap == q->pmask + 1) return 0;
    ms_timerq_page **n = calloc(cap, sizeof *n);
    if (!n) return -1;
    if (q->pages) {
        for (uint64_t p = first; p <= last; p++) {
            ms_timerq_page *pg = q->pages[p & q->pmask];
            if (pg && pg->index == p) n[p & (cap - 1)] = pg;
        }
        free(q->pages);
    }
    q->pages = n;
    q->pmask = cap - 1;
    return 0;
}

uint64_t ms_timerq_add(ms_timerq *q, int64_t deadline, void *item, uint64_t tag) {
    if (!item) return 0;
    uint64_t ticket = q->tail;
    if (room_for(q, ticket) != 0) return 0;
    ms_timerq_page **ps = slot(q, ticket);
    if (!*ps) {
        *ps = malloc(sizeof **ps);
        if (!*ps) return 0;
        (*ps)->index = ticket >> PAGE_BITS;
        (*ps)->pending = 0;
    }
    if (q->tail > q->head && deadline < q->last) deadline = q->last;
    (*ps)->e[ticket & (PAGE_LEN - 1)] = (ms_timerq_entry){deadline, item, tag};
    (*ps)->pending++;
    q->tail++;
    q->last = deadline;
    arm(q);
    if (!q->armed) { /* the scheduler is out of memory: the timer could never fire */
        q->tail--;
        (*ps)->e[ticket & (PAGE_LEN - 1)].item = NULL;
        (*ps)->pending--;
        return 0;
    }
    return ticket;
}

int ms_timerq_cancel(ms_timerq *q, uint64_t ticket) {
    if (ticket < q->head || ticket >= q->tail) return 0;
    ms_timerq_entry *e = at(q, ticket);
    if (!e || !e->item) return 0;
    e->item = NULL;
    done(q, ticket);
    return 1;
}

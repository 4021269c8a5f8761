/* The scheduler: a binary min-heap of 16-byte entries (time, seq<<24|slot)
 * over a slab of event slots. Comparing the packed key compares the
 * sequence number first, which is unique, so order is (time, seq). */
#include "ms_sched.h"

#include "ms_digest.h"

#include <stdlib.h>

#define SLOT_BITS 24
#define SLOT_MASK ((UINT64_C(1) << SLOT_BITS) - 1)
#define MAX_SLOTS ((size_t)SLOT_MASK)
#define SEQ_MAX (UINT64_C(1) << (64 - SLOT_BITS))

typedef struct {
    int64_t t;
    uint64_t key; /* seq << SLOT_BITS | slot */
} entry;

typedef struct {
    ms_event_fn fn;
    void *ctx;
    uint64_t a, b;
    uint32_t kind;
    uint32_t gen;         /* bumped each time the slot is handed out */
    uint32_t next;        /* free-list link */
    uint8_t live;         /* scheduled and neither run nor cancelled */
    ms_sched_owner owner; /* fits the padding: a slot stays 48 bytes */
} slot;

struct ms_sched {
    entry *heap;
    size_t len, cap;
    slot *slots;
    size_t nslots, slotcap;
    uint32_t free_head; /* UINT32_MAX when empty */
    size_t live, dead;
    int64_t now;
    uint64_t seq;
    uint64_t events;
    uint64_t digest;
    ms_event_id current;
    ms_sched_owner owner; /* stamped on new events */
    int stop;
    /* heap[0] is the event being run, already taken out: the first event
     * it schedules goes there (one sift down, and a near event stops high
     * in the heap), else the next look at the heap removes it (fill_hole);
     * only while the heap is at most CACHED_LEN long */
    int hole;
};

ms_sched *ms_sched_new(void) {
    ms_sched *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->free_head = UINT32_MAX;
    s->digest = MS_DIGEST_INIT;
    return s;
}

void ms_sched_free(ms_sched *s) {
    if (!s) return;
    free(s->heap);
    free(s->slots);
    free(s);
}

int64_t ms_sched_now(const ms_sched *s) {
    return s->now;
}
size_t ms_sched_pending(const ms_sched *s) {
    return s->live;
}
uint64_t ms_sched_events(const ms_sched *s) {
    return s->events;
}
uint64_t ms_sched_digest(const ms_sched *s) {
    return s->digest;
}
void ms_sched_stop(ms_sched *s) {
    s->stop = 1;
}
ms_event_id ms_sched_current(const ms_sched *s) {
    return s->current;
}
void ms_sched_fold(ms_sched *s, uint64_t v) {
    s->digest = ms_digest_fold(s->digest, v);
}
ms_sched_owner ms_sched_set_owner(ms_sched *s, ms_sched_owner owner) {
    ms_sched_owner prev = s->owner;
    s->owner = owner;
    return prev;
}

static inline int before(const entry *x, const entry *y) {
    return x->t < y->t || (x->t == y->t && x->key < y->key);
}

/* The same without short-circuits, so that picking the smaller child
 * compiles to a conditional move instead of a branch taken at random
 * (callgrind's branch model on bench_cluster 5: 4.3 mispredicts per pop
 * down to 1). That wins while the heap is cache-resident; in a heap far
 * larger than the cache the branchy form wins, as speculation starts the
 * next level's loads early (bench_sched, 100K pending). */
static inline int before_nb(const entry *x, const entry *y) {
    return (x->t < y->t) | ((x->t == y->t) & (x->key < y->key));
}

#define CACHED_LEN 8192 /* entries (128 KB): the heap sizes where before_nb wins */

static void sift_up(entry *h, size_t i) {
    entry e = h[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&e, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static void sift_down(entry *h, size_t len, size_t i) {
    entry e = h[i];
    int cached = len <= CACHED_LEN;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= len) break;
        if (c + 1 < len)
            c += (size_t)(cached ? before_nb(&h[c + 1], &h[c]) : before(&h[c + 1], &h[c]));
        if (!before(&h[c], &e)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = e;
}

/* Remove the stale top left by the event just run, if still there. Every
 * function that looks at the heap calls this first. */
static void fill_hole(ms_sched *s) {
    if (!s->hole) return;
    s->hole = 0;
    s->heap[0] = s->heap[--s->len];
    if (s->len > 0) sift_down(s->heap, s->len, 0);
}

static uint32_t slot_alloc(ms_sched *s) {
    if (s->free_head != UINT32_MAX) {
        uint32_t i = s->free_head;
        s->free_head = s->slots[i].next;
        return i;
    }
    if (s->nslots == s->slotcap) {
        size_t cap = s->slotcap ? s->slotcap * 2 : 256;
        if (cap > MAX_SLOTS) cap = MAX_SLOTS;
        if (cap <= s->nslots) return UINT32_MAX;
        slot *n = realloc(s->slots, cap * sizeof *n);
        if (!n) return UINT32_MAX;
        s->slots = n;
        s->slotcap = cap;
    }
    s->slots[s->nslots].gen = 0;
    return (uint32_t)s->nslots++;
}

static void slot_release(ms_sched *s, uint32_t i) {
    s->slots[i].live = 0;
    s->slots[i].next = s->free_head;
    s->free_head = i;
}

ms_event_id ms_sched_at(ms_sched *s, int64_t t, uint32_t kind, ms_event_fn fn, void *ctx,
                        uint64_t a, uint64_t b) {
    if (fn == NULL || s->seq + 1 >= SEQ_MAX) return 0;
    if (t < s->now) t = s->now;
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        entry *n = realloc(s->heap, cap * sizeof *n);
        if (!n) return 0;
        s->heap = n;
        s->cap = cap;
    }
    uint32_t i = slot_alloc(s);
    if (i == UINT32_MAX) return 0;
    slot *sl = &s->slots[i];
    sl->fn = fn;
    sl->ctx = ctx;
    sl->a = a;
    sl->b = b;
    sl->kind = kind;
    sl->gen++;
    sl->live = 1;
    sl->owner = s->owner;
    entry e = {t, (++s->seq << SLOT_BITS) | i};
    if (s->hole) { /* the order (time, seq) is total: any correct heap pops the same */
        s->hole = 0;
        s->heap[0] = e;
        sift_down(s->heap, s->len, 0);
    } else {
        s->heap[s->len] = e;
        sift_up(s->heap, s->len++);
    }
    s->live++;
    return ((uint64_t)sl->gen << 32) | i;
}

ms_event_id ms_sched_after(ms_sched *s, int64_t delay, uint32_t kind, ms_event_fn fn, void *ctx,
                           uint64_t a, uint64_t b) {
    if (delay < 0) delay = 0;
    int64_t t = s->now > MS_TIME_MAX - delay ? MS_TIME_MAX : s->now + delay;
    return ms_sched_at(s, t, kind, fn, ctx, a, b);
}

static slot *lookup(const ms_sched *s, ms_event_id id) {
    uint32_t i = (uint32_t)(id & UINT32_MAX);
    uint32_t gen = (uint32_t)(id >> 32);
    if (id == 0 || i >= s->nslots) return NULL;
    slot *sl = &s->slots[i];
    return (sl->gen == gen && sl->live) ? sl : NULL;
}

int ms_sched_pending_id(const ms_sched *s, ms_event_id id) {
    return lookup(s, id) != NULL;
}

/* Drop dead entries from the heap and rebuild it: keeps the heap from
 * growing without bound when most timers are cancelled (request timeouts). */
static void compact(ms_sched *s) {
    fill_hole(s);
    size_t j = 0;
    for (size_t i = 0; i < s->len; i++) {
        uint32_t k = (uint32_t)(s->heap[i].key & SLOT_MASK);
        if (s->slots[k].fn != NULL)
            s->heap[j++] = s->heap[i];
        else
            slot_release(s, k);
    }
    s->len = j;
    s->dead = 0;
    for (size_t i = j / 2; i-- > 0;) sift_down(s->heap, s->len, i);
}

int ms_sched_slot_pending(const ms_sched *s, uint32_t i) {
    return i < s->nslots && s->slots[i].live;
}

/* Mark the live slot sl dead (its heap entry goes when popped or compacted). */
static void mark_dead(ms_sched *s, slot *sl) {
    sl->live = 0;
    sl->fn = NULL; /* marks the heap entry dead; the slot is freed when popped */
    s->live--;
    s->dead++;
}

int ms_sched_cancel(ms_sched *s, ms_event_id id) {
    slot *sl = lookup(s, id);
    if (!sl) return 0;
    mark_dead(s, sl);
    if (s->dead > 1024 && s->dead > s->live) compact(s);
    return 1;
}

size_t ms_sched_cancel_owner(ms_sched *s, ms_sched_owner owner) {
    size_t n = 0;
    if (owner == 0) return 0;
    for (size_t i = 0; i < s->nslots; i++) {
        if (s->slots[i].live && s->slots[i].owner == owner) {
            mark_dead(s, &s->slots[i]);
            n++;
        }
    }
    if (s->dead > 1024 && s->dead > s->live) compact(s);
    return n;
}

/* Pop dead entries off the top so that heap[0], if any, is live. */
static void skip_dead(ms_sched *s) {
    fill_hole(s);
    while (s->len > 0) {
        uint32_t k = (uint32_t)(s->heap[0].key & SLOT_MASK);
        if (s->slots[k].fn != NULL) return;
        slot_release(s, k);
        s->dead--;
        s->heap[0] = s->heap[--s->len];
        if (s->len > 0) sift_down(s->heap, s->len, 0);
    }
}

int64_t ms_sched_next_time(ms_sched *s) {
    skip_dead(s);
    return s->len ? s->heap[0].t : MS_TIME_MAX;
}

uint64_t ms_sched_run(ms_sched *s, int64_t until, uint64_t max_events) {
    uint64_t ran = 0;
    ms_sched_owner outer = s->owner;
    s->stop = 0;
    s->current = 0;
    while (!s->stop && (max_events == 0 || ran < max_events)) {
        skip_dead(s);
        if (s->len == 0 || s->heap[0].t > until) {
            if (until != MS_TIME_MAX && until > s->now) s->now = until;
            break;
        }
        entry e = s->heap[0];
        /* keep the top for the handler's first event while the heap is
         * cache-resident; past that, a sift-down of a new event from the
         * top is slower than a plain pop and a short sift-up (bench_sched,
         * 100K pending: 6.1 -> 4.5-5.0 M events/s) */
        s->hole = 1;
        if (s->len > CACHED_LEN) fill_hole(s);
        uint32_t k = (uint32_t)(e.key & SLOT_MASK);
        slot sl = s->slots[k];
        slot_release(s, k);
        s->live--;
        s->now = e.t;
        s->events++;
        uint64_t h = ms_digest_fold(s->digest, (uint64_t)e.t);
        h = ms_digest_fold(h, sl.kind);
        h = ms_digest_fold(h, sl.a);
        s->digest = ms_digest_fold(h, sl.b);
        ran++;
        s->current = ((uint64_t)sl.gen << 32) | k;
        s->owner = sl.owner;
        sl.fn(s, sl.ctx, sl.a, sl.b);
        s->current = 0;
    }
    s->owner = outer;
    return ran;
}

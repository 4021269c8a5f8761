/* Shared store family: family mutex for refcounts and accounting, rwlock
 * for the published-handle pointer, atomic handle counts, a retire list. */
#include "ms_shared_store.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <uv.h>

struct ms_shared_ver {
    atomic_uint_fast64_t refs;
    ms_version *v;              /* one reference, dropped under the family lock */
    uint64_t seq;               /* immutable */
    struct ms_shared_ver *next; /* retire list link, written by the last releaser */
};

struct ms_shared_store {
    uv_mutex_t family; /* store refcounts, ms_store_mem, live */
    uv_rwlock_t pub;   /* cur: written under the write side, read under the read side */
    ms_store *live;
    ms_shared_ver *cur;               /* published; holds one reference of its own */
    atomic_uint_fast64_t seq;         /* cur->seq, for the readers' one-load check */
    _Atomic(ms_shared_ver *) retired; /* push by readers, drained under family */
    uint64_t reclaimed;               /* versions released by drain; under family */
    uint64_t next_seq;                /* under family */
};

/* Release every retired version; family lock held. */
static void drain(ms_shared_store *ss) {
    ms_shared_ver *h = atomic_exchange_explicit(&ss->retired, NULL, memory_order_acquire);
    while (h) {
        ms_shared_ver *next = h->next;
        ms_version_release(h->v);
        free(h);
        ss->reclaimed++;
        h = next;
    }
}

/* Wrap a new pin of live in a handle; family lock held. */
static ms_shared_ver *handle_new(ms_shared_store *ss) {
    ms_shared_ver *h = malloc(sizeof *h);
    if (h == NULL) return NULL;
    h->v = ms_store_snapshot(ss->live);
    if (h->v == NULL) {
        free(h);
        return NULL;
    }
    atomic_init(&h->refs, 1);
    h->seq = ++ss->next_seq;
    h->next = NULL;
    return h;
}

ms_shared_store *ms_shared_store_new(ms_store *live) {
    ms_shared_store *ss = calloc(1, sizeof *ss);
    if (ss == NULL) return NULL;
    if (uv_mutex_init(&ss->family) != 0) goto fail_mutex;
    if (uv_rwlock_init(&ss->pub) != 0) goto fail_rwlock;
    ss->live = live;
    atomic_init(&ss->retired, NULL);
    ss->cur = handle_new(ss);
    if (ss->cur == NULL) goto fail_handle;
    atomic_init(&ss->seq, ss->cur->seq);
    return ss;
fail_handle:
    uv_rwlock_destroy(&ss->pub);
fail_rwlock:
    uv_mutex_destroy(&ss->family);
fail_mutex:
    free(ss);
    return NULL;
}

void ms_shared_store_free(ms_shared_store *ss) {
    if (ss == NULL) return;
    ms_shared_store_release(ss, ss->cur);
    drain(ss);
    ms_store_free(ss->live);
    uv_rwlock_destroy(&ss->pub);
    uv_mutex_destroy(&ss->family);
    free(ss);
}

void ms_shared_store_lock(ms_shared_store *ss) {
    uv_mutex_lock(&ss->family);
    drain(ss);
}

void ms_shared_store_unlock(ms_shared_store *ss) {
    uv_mutex_unlock(&ss->family);
}

ms_store *ms_shared_store_live(ms_shared_store *ss) {
    return ss->live;
}

uint64_t ms_shared_store_reclaimed(ms_shared_store *ss) {
    return ss->reclaimed;
}

int ms_shared_store_publish(ms_shared_store *ss) {
    ms_shared_ver *h = handle_new(ss);
    if (h == NULL) return -1;
    uv_rwlock_wrlock(&ss->pub);
    ms_shared_ver *old = ss->cur;
    ss->cur = h;
    atomic_store_explicit(&ss->seq, h->seq, memory_order_release);
    uv_rwlock_wrunlock(&ss->pub);
    ms_shared_store_release(ss, old);
    drain(ss); /* we hold the family lock: free it now if no reader has it */
    return 0;
}

ms_shared_ver *ms_shared_store_acquire(ms_shared_store *ss) {
    /* The read side keeps cur from being dropped (publish swaps it under
     * the write side) between loading it and counting ourselves in. */
    uv_rwlock_rdlock(&ss->pub);
    ms_shared_ver *h = ss->cur;
    atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
    uv_rwlock_rdunlock(&ss->pub);
    return h;
}

void ms_shared_store_release(ms_shared_store *ss, ms_shared_ver *h) {
    if (h == NULL) return;
    if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) != 1) return;
    /* Last one out: push (a Treiber stack; only drain pops, all at once,
     * so there is no ABA). */
    ms_shared_ver *head = atomic_load_explicit(&ss->retired, memory_order_relaxed);
    do {
        h->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&ss->retired, &head, h, memory_order_release,
                                                    memory_order_relaxed));
}

uint64_t ms_shared_store_seq(ms_shared_store *ss) {
    return atomic_load_explicit(&ss->seq, memory_order_acquire);
}

const ms_version *ms_shared_ver_version(const ms_shared_ver *h) {
    return h->v;
}

uint64_t ms_shared_ver_seq(const ms_shared_ver *h) {
    return h->seq;
}

const ms_version *ms_shared_reader_get(ms_shared_store *ss, ms_shared_reader *r) {
    if (r->h == NULL || ms_shared_store_seq(ss) != r->seq) {
        ms_shared_store_release(ss, r->h);
        r->h = ms_shared_store_acquire(ss);
        r->seq = r->h->seq;
    }
    return r->h->v;
}

void ms_shared_reader_drop(ms_shared_store *ss, ms_shared_reader *r) {
    ms_shared_store_release(ss, r->h);
    r->h = NULL;
    r->seq = 0;
}

ms_version *ms_shared_store_pin_live(ms_shared_store *ss) {
    uv_mutex_lock(&ss->family);
    ms_version *v = ms_store_snapshot(ss->live);
    uv_mutex_unlock(&ss->family);
    return v;
}

void ms_shared_store_unpin(ms_shared_store *ss, ms_version *v) {
    uv_mutex_lock(&ss->family);
    ms_version_release(v);
    uv_mutex_unlock(&ss->family);
}

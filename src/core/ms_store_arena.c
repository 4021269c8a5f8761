/* The store's entry arena: size classes of 4 bytes up to ARENA_MAX, carved
 * from 64 KiB chunks, with a free list per class. An entry allocated by
 * malloc costs its size rounded up to 16 plus an 8-byte header; here it
 * costs its size rounded up to 4 (an entry needs 4-byte alignment only: its
 * head is 32- and 16-bit fields, its bytes are read bytewise). One arena per store family
 * (ms_store_mem), so it needs no lock beyond the family's own (ms_shared_store's). */
#include "ms_store_impl.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_OFF 1
#endif
#endif
#ifndef ARENA_OFF
#define ARENA_OFF 0
#endif

#define ARENA_MAX 512     /* larger blocks are malloc'ed */
#define ARENA_CHUNK 65536 /* bytes per chunk, its link included */
#define GRAIN 4           /* block sizes are multiples of this */
#define CLASSES (ARENA_MAX / GRAIN + 1)
_Static_assert(_Alignof(ms__entry) <= GRAIN, "an entry must fit the arena's alignment");

typedef struct chunk {
    struct chunk *next;
    uint64_t pad; /* keeps the blocks after the link 16-aligned */
} chunk;

struct ms__arena {
    void *free[CLASSES]; /* a free block's first bytes link the next (memcpy: 4-aligned) */
    chunk *chunks;       /* every chunk, the current one first */
    size_t used;         /* bytes carved from the current chunk */
    int64_t live;        /* blocks handed out and not freed */
};

static size_t round_grain(size_t n) {
    return (n + GRAIN - 1) & ~(size_t)(GRAIN - 1);
}

/* A block of sz bytes (a multiple of GRAIN, 8 <= sz <= ARENA_MAX) from a,
 * or NULL. */
static void *carve(struct ms__arena *a, size_t sz) {
    void **head = &a->free[sz / GRAIN];
    if (*head) {
        void *p = *head;
        memcpy(head, p, sizeof p);
        return p;
    }
    if (a->chunks == NULL || a->used + sz > ARENA_CHUNK) {
        chunk *c = malloc(ARENA_CHUNK);
        if (c == NULL) return NULL;
        c->next = a->chunks;
        a->chunks = c;
        a->used = sizeof *c;
    }
    void *p = (unsigned char *)a->chunks + a->used;
    a->used += sz;
    return p;
}

void *ms__arena_alloc(ms_store_mem *m, size_t n) {
    size_t sz = round_grain(n);
    if (ARENA_OFF || m == NULL || sz > ARENA_MAX || sz < sizeof(void *)) return malloc(n);
    if (m->arena == NULL && (m->arena = calloc(1, sizeof *m->arena)) == NULL) return NULL;
    void *p = carve(m->arena, sz);
    if (p) m->arena->live++;
    return p;
}

void ms__arena_free(ms_store_mem *m, void *p, size_t n) {
    size_t sz = round_grain(n);
    if (ARENA_OFF || m == NULL || sz > ARENA_MAX || sz < sizeof(void *)) {
        free(p);
        return;
    }
    struct ms__arena *a = m->arena;
    memcpy(p, &a->free[sz / GRAIN], sizeof p);
    a->free[sz / GRAIN] = p;
    if (--a->live > 0) return;
    while (a->chunks) { /* the family's last entry: give everything back */
        chunk *c = a->chunks;
        a->chunks = c->next;
        free(c);
    }
    free(a);
    m->arena = NULL;
}

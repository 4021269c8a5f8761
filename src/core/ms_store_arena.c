/* The store's entry arena: size classes of 8 bytes up to ARENA_MAX, carved
 * from 64 KiB chunks, with a free list per class. An entry allocated by
 * malloc costs its size rounded up to 16 plus an 8-byte header; here it
 * costs its size rounded up to 8. One arena per store family (ms_store_mem),
 * so it needs no lock beyond the family's own (ms_shared_store's). */
#include "ms_store_impl.h"

#include <stdlib.h>

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
#define CLASSES (ARENA_MAX / 8 + 1)

typedef struct chunk {
    struct chunk *next;
    uint64_t pad; /* keeps the blocks after the link 16-aligned */
} chunk;

struct ms__arena {
    void *free[CLASSES]; /* a free block's first word links the next */
    chunk *chunks;       /* every chunk, the current one first */
    size_t used;         /* bytes carved from the current chunk */
    int64_t live;        /* blocks handed out and not freed */
};

static size_t round8(size_t n) {
    return (n + 7) & ~(size_t)7;
}

/* A block of sz bytes (a multiple of 8, <= ARENA_MAX) from a, or NULL. */
static void *carve(struct ms__arena *a, size_t sz) {
    void **head = &a->free[sz / 8];
    if (*head) {
        void *p = *head;
        *head = *(void **)p;
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
    size_t sz = round8(n);
    if (ARENA_OFF || m == NULL || sz > ARENA_MAX) return malloc(n);
    if (m->arena == NULL && (m->arena = calloc(1, sizeof *m->arena)) == NULL) return NULL;
    void *p = carve(m->arena, sz);
    if (p) m->arena->live++;
    return p;
}

void ms__arena_free(ms_store_mem *m, void *p, size_t n) {
    size_t sz = round8(n);
    if (ARENA_OFF || m == NULL || sz > ARENA_MAX) {
        free(p);
        return;
    }
    struct ms__arena *a = m->arena;
    *(void **)p = a->free[sz / 8];
    a->free[sz / 8] = p;
    if (--a->live > 0) return;
    while (a->chunks) { /* the family's last entry: give everything back */
        chunk *c = a->chunks;
        a->chunks = c->next;
        free(c);
    }
    free(a);
    m->arena = NULL;
}

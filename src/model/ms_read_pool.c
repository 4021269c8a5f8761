/* Pools of reads and attempts: blocks of MS_POOL_BLOCK objects, reused
 * through free lists, freed with the cluster. */
#include "ms_cluster_impl.h"

#include <stdlib.h>
#include <string.h>

/* A new block of MS_POOL_BLOCK zeroed objects of `size`, linked through the
 * pointer at `link_off` into a free list; returns its first object. */
static void *pool_grow(ms_pool *p, size_t size, size_t link_off) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        void **b = realloc(p->blocks, cap * sizeof *b);
        if (!b) return NULL;
        p->blocks = b;
        p->cap = cap;
    }
    char *blk = calloc(MS_POOL_BLOCK, size);
    if (!blk) return NULL;
    p->blocks[p->n++] = blk;
    for (size_t i = 0; i + 1 < MS_POOL_BLOCK; i++)
        memcpy(blk + i * size + link_off, &(void *){blk + (i + 1) * size}, sizeof(void *));
    return blk;
}

ms_read *ms__read_new(ms_cluster *c) {
    if (!c->free_reads)
        c->free_reads = pool_grow(&c->read_pool, sizeof(ms_read), offsetof(ms_read, next_free));
    ms_read *r = c->free_reads;
    if (!r) return NULL;
    c->free_reads = r->next_free;
    memset(r, 0, sizeof *r);
    r->c = c;
    r->id = ++c->next_read;
    return r;
}

void ms__read_free(ms_cluster *c, ms_read *r) {
    r->next_free = c->free_reads;
    c->free_reads = r;
}

ms_attempt *ms__attempt_new(ms_cluster *c) {
    if (!c->free_attempts)
        c->free_attempts =
            pool_grow(&c->attempt_pool, sizeof(ms_attempt), offsetof(ms_attempt, next_free));
    ms_attempt *a = c->free_attempts;
    if (!a) return NULL;
    c->free_attempts = a->next_free;
    memset(a, 0, sizeof *a);
    a->c = c;
    a->id = ++c->next_attempt;
    return a;
}

void ms__attempt_free(ms_cluster *c, ms_attempt *a) {
    ms_version_release(a->pinned);
    a->pinned = NULL;
    a->id = 0; /* marks it free for ms__reads_free */
    a->next_free = c->free_attempts;
    c->free_attempts = a;
}

/* Release what attempts still in flight hold (pinned versions), then the
 * pools. Called before the stores are freed. */
void ms__reads_free(ms_cluster *c) {
    for (size_t i = 0; i < c->attempt_pool.n; i++) {
        ms_attempt *blk = c->attempt_pool.blocks[i];
        for (size_t j = 0; j < MS_POOL_BLOCK; j++) {
            ms_version_release(blk[j].pinned);
            blk[j].pinned = NULL;
        }
        free(blk);
    }
    for (size_t i = 0; i < c->read_pool.n; i++) free(c->read_pool.blocks[i]);
    free(c->attempt_pool.blocks);
    free(c->read_pool.blocks);
    for (int g = 0; g < MS_MAX_CLIENT_GROUPS; g++) {
        free(c->clients[g]);
        ms_timerq_free(&c->timeouts[g]);
    }
}

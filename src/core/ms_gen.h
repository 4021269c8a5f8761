/* Cluster image generator: fills an empty store with a consistent CubeFS
 * master image (ms_layout keys and records) drawn deterministically from a
 * seed (ms_rng stream "gen").
 *
 * Ids: vols 1..V, data nodes V+1..V+DN, meta nodes after them (the common
 * allocator), dps 1..D and mps 1..M (their own allocators). Each vol gets at
 * least one dp and one mp (the first V of each go to vols 1..V in turn, the
 * rest to uniformly drawn vols); each partition's replicas are distinct
 * nodes drawn uniformly (data nodes for dps, meta nodes for mps); vol v is
 * owned by user (v-1) mod U. The cluster record counts everything, the
 * allocators hold the max ids, and `applied` and the store's applied index
 * are desc->applied. Each kind is written in key order (ids in
 * decimal-string order: vols 1, 10, 100, 2, ...; ms_layout.h), and the
 * draws are made in that order. Same desc and seed -> identical contents. */
#ifndef MS_GEN_H
#define MS_GEN_H

#include "ms_store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ms_gen_desc {
    uint64_t volumes;         /* >= 1 */
    uint64_t data_partitions; /* >= volumes */
    uint64_t meta_partitions; /* >= volumes */
    uint64_t nodes;           /* data + meta nodes, split evenly (data get the odd one) */
    uint64_t data_nodes;      /* when both are non-zero they override nodes */
    uint64_t meta_nodes;
    uint64_t users;      /* 0: vols have no owner */
    uint32_t replicas;   /* 0 means 3; at most 16, and at most each node count */
    uint64_t applied;    /* raft index of the image; 0 means 1 */
    const char *cluster; /* NULL means "mastersim" */
    uint64_t max_rss;    /* 0: none; else fail ("memory budget") once the process's
                            resident memory exceeds it (checked every 65536 keys) */
} ms_gen_desc;

typedef struct ms_gen_stats {
    uint64_t keys;
    uint64_t key_bytes;
    uint64_t value_bytes;
} ms_gen_stats;

/* Build the image into s, which must be empty. Returns 0 (stats filled when
 * st is not NULL) or -1 with a message in err: a description that cannot be
 * satisfied (naming the field), a non-empty store, or out of memory (s is
 * then partly filled). */
int ms_gen_build(ms_store *s, const ms_gen_desc *d, uint64_t seed, ms_gen_stats *st, char *err,
                 size_t errlen);

#endif

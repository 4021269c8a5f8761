/* Read operations modelled on the CubeFS master's routes, run against a
 * view (a version or the live store), each with an exact integrity verdict.
 *
 * Rules, applied in this order (the first that fires decides):
 *  1. View state MS_STORE_CLOSED (reopen apply in progress) -> CRASH, and
 *     MS_STORE_BROKEN (an apply was aborted) -> UNUSABLE; nothing is read.
 *  2. The `applied` key is absent or not 8 bytes -> TORN: a complete image
 *     always carries it and an apply writes it last.
 *  3. A record the op reads does not decode -> TORN.
 *  4. The vol record is the source of truth for its partitions. get_vol,
 *     get_partitions, get_meta_partitions and get_dp on an absent vol: the
 *     cluster record (`#c#<name>`) counts the vols; when the number of
 *     `#vol#` keys equals that count the vol truly does not exist ->
 *     NOT_FOUND, else (or when the cluster record is absent) -> TORN.
 *  5. get_partitions / get_meta_partitions: the `#dp#<vol>#` (`#mp#<vol>#`)
 *     keys must be exactly the ids the vol lists (ascending): a listed id
 *     missing (an empty list where the vol lists entries included) or a
 *     key the vol does not list -> TORN.
 *  6. get_dp: present (and naming that vol) -> COMPLETE; absent but listed by
 *     the vol -> TORN; absent and not listed -> NOT_FOUND.
 *  7. get_node: a `#dn#<id>#` or `#mn#<id>#` key -> COMPLETE; absent ->
 *     NOT_FOUND when the node keys number what the cluster record counts,
 *     else TORN.
 *  8. get_cluster: the cluster record and the three id allocators must all
 *     be present, else TORN.
 *  9. list_vols: the `#vol#` keys must number what the cluster record
 *     counts (an empty list included), else TORN.
 * Otherwise COMPLETE. A result also reports the records and bytes read and
 * the index in `applied` (what the reader observes). */
#ifndef MS_OPS_H
#define MS_OPS_H

#include "ms_store.h"

#include <stdint.h>

typedef enum ms_read_verdict {
    MS_READ_COMPLETE = 0, /* everything the records say exists was found */
    MS_READ_NOT_FOUND,    /* the object does not exist in a complete store */
    MS_READ_TORN,         /* missing or partial: an incomplete store */
    MS_READ_CRASH,        /* the store was closed under the reader */
    MS_READ_UNUSABLE      /* the store is marked broken by an aborted apply */
} ms_read_verdict;

typedef enum ms_read_op {
    MS_OP_GET_VOL = 0,
    MS_OP_GET_PARTITIONS,
    MS_OP_GET_META_PARTITIONS,
    MS_OP_GET_DP,
    MS_OP_GET_NODE,
    MS_OP_GET_CLUSTER,
    MS_OP_LIST_VOLS,
    MS_OP_COUNT
} ms_read_op;

typedef struct ms_read_result {
    ms_read_verdict verdict;
    const char *why;  /* the rule that fired (static text); NULL when COMPLETE */
    uint64_t entries; /* records read */
    uint64_t bytes;   /* key + value bytes read */
    uint64_t applied; /* index in the `applied` key; 0 when absent */
} ms_read_result;

ms_read_result ms_ops_get_vol(const ms_view *v, uint64_t vol);
ms_read_result ms_ops_get_partitions(const ms_view *v, uint64_t vol);
ms_read_result ms_ops_get_meta_partitions(const ms_view *v, uint64_t vol);
ms_read_result ms_ops_get_dp(const ms_view *v, uint64_t vol, uint64_t dp);
ms_read_result ms_ops_get_node(const ms_view *v, uint64_t id);
ms_read_result ms_ops_get_cluster(const ms_view *v);
ms_read_result ms_ops_list_vols(const ms_view *v);

/* Run op with its arguments (a: vol or node id, b: dp id; unused ones are
 * ignored). An op outside the enum gives UNUSABLE with why set. */
ms_read_result ms_ops_run(const ms_view *v, ms_read_op op, uint64_t a, uint64_t b);

/* A cache of read results for one thread's reads (the simulator keeps one
 * per master). ms_ops_run_memo gives exactly what ms_ops_run gives; for
 * get_partitions and get_meta_partitions it skips the scan of the partition
 * records when the vol record and the leaves holding the range carry the
 * content stamps they had when the result was remembered (ms_store.h), which
 * means they hold the same bytes, in whatever view of whatever store; for
 * get_vol it skips decoding the vol record when the record's entry is the
 * one it last decoded; rules 1-2 (the applied key) and get_cluster are read
 * once per tree (ms_view_stamp: a master's tree changes once per entry it
 * applies, and is read many times between). The store state and the vol
 * record's key are read every time. */
typedef struct ms_ops_memo ms_ops_memo;

typedef struct ms_ops_memo_stats {
    uint64_t hits, misses;         /* scans skipped and scans made */
    uint64_t covered;              /* hits decided by the subtree's stamp, no leaf read */
    uint64_t vol_hits, vol_misses; /* get_vol: decodes skipped and made */
} ms_ops_memo_stats;

/* NULL when out of memory (about 1.6 MB). */
ms_ops_memo *ms_ops_memo_new(void);
void ms_ops_memo_free(ms_ops_memo *m);
ms_ops_memo_stats ms_ops_memo_stats_get(const ms_ops_memo *m);

/* ms_ops_run through m (m NULL: ms_ops_run). */
ms_read_result ms_ops_run_memo(ms_ops_memo *m, const ms_view *v, ms_read_op op, uint64_t a,
                               uint64_t b);

/* "get_vol", ..., "list_vols"; NULL for an op outside the enum. */
const char *ms_ops_op_name(ms_read_op op);

/* The op named name; -1 when none is. */
int ms_ops_op_parse(const char *name, ms_read_op *op);

/* "complete", "not_found", "torn", "crash", "unusable". */
const char *ms_ops_verdict_name(ms_read_verdict v);

#endif

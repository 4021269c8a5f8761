/* Writes to the master's metadata, as raft entries: the payload encoding
 * and the apply to a store, which keeps the image consistent by the rules
 * of ms_ops (a vol record lists exactly its partitions; the cluster record
 * counts vols, partitions and nodes and holds the allocators).
 *
 *  create_vol: a new vol (id from #max_common_id) with one data partition
 *              and one meta partition on the given hosts;
 *  create_dp:  a new data partition of `vol` on the given hosts;
 *  heartbeat:  a data or meta node reports its used bytes;
 *  delete_vol: the vol and its partitions are removed.
 * A write whose target no longer exists (a vol deleted before the write was
 * applied) is applied as a no-op, identically on every replica. User
 * records are not updated by writes (a deleted vol stays in its owner's
 * list): the read ops do not consult them. */
#ifndef MS_WRITE_H
#define MS_WRITE_H

#include "ms_store.h"

#include <stddef.h>
#include <stdint.h>

typedef enum ms_write_op {
    MS_W_CREATE_VOL = 1,
    MS_W_CREATE_DP = 2,
    MS_W_HEARTBEAT = 3,
    MS_W_DELETE_VOL = 4
} ms_write_op;

/* Slots of a table indexed by ms_write_op (slot 0 unused). */
#define MS_WRITE_OP_SLOTS 5

#define MS_WRITE_HOSTS 3
#define MS_WRITE_BYTES (1 + 8 * 3 + 16 * MS_WRITE_HOSTS)

typedef struct ms_write {
    uint8_t op;
    uint64_t vol;                      /* create_dp, delete_vol */
    uint64_t node;                     /* heartbeat */
    uint64_t used;                     /* heartbeat */
    uint64_t dp_hosts[MS_WRITE_HOSTS]; /* create_vol, create_dp */
    uint64_t mp_hosts[MS_WRITE_HOSTS]; /* create_vol */
} ms_write;

/* Encode into buf (MS_WRITE_BYTES). Returns the length. */
size_t ms_write_encode(const ms_write *w, unsigned char *buf);

/* Decode; -1 when p is not a well-formed write. */
int ms_write_decode(const void *p, size_t n, ms_write *w);

/* Apply w as raft entry `index` to s: the change, then `applied`. Returns 1
 * applied, 0 a no-op (missing target), -1 on a store without a cluster
 * record or out of memory (err says which). */
int ms_write_apply(ms_store *s, const ms_write *w, uint64_t index, char *err, size_t errlen);

/* Mark entry `index` applied without a change (a leader's no-op entry). */
int ms_write_mark_applied(ms_store *s, uint64_t index);

/* "create_vol", ...; NULL for an unknown op. */
const char *ms_write_op_name(int op);
int ms_write_op_parse(const char *name, ms_write_op *op);

#endif

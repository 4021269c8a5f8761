/* A store family shared between threads: one writer side (writes, snapshot
 * applies) and any number of reader threads, without making the store
 * itself thread-safe.
 *
 * The store's node and entry reference counts and its ms_store_mem are
 * plain integers, so every operation that can change them runs under one
 * mutex, the family lock: writes and imports into the live store, taking
 * and dropping ms_version pins, and freeing. Readers never take it on
 * their fast path. Instead the writer side *publishes* versions: a
 * published version is an ms_version pin of the live store wrapped in a
 * handle with an atomic reference count. A reader takes the current handle
 * (a short read-side hold of a uv_rwlock and one atomic increment) and
 * then reads the version's tree with no lock at all: the copy-on-write
 * store never writes a node that a version can reach (such a node has
 * refs > 1, and the writer copies it), it only adjusts `refs` fields, which
 * readers do not read.
 *
 * A reader drops a handle with one atomic decrement; the last one pushes
 * it on a lock-free retire list instead of freeing it (freeing changes
 * store refcounts). The list is drained, and the retired versions released,
 * under the family lock at the writer side's next ms_shared_store_lock: a
 * version's memory is reclaimed only after its last reader has left.
 *
 * ms_shared_reader caches a handle per reader thread and re-takes one only
 * when the published sequence number changed: one atomic load per read. */
#ifndef MS_SHARED_STORE_H
#define MS_SHARED_STORE_H

#include "ms_store.h"

#include <stdint.h>

typedef struct ms_shared_store ms_shared_store;
typedef struct ms_shared_ver ms_shared_ver;

/* A reader thread's cached handle; zero-initialise it. */
typedef struct ms_shared_reader {
    ms_shared_ver *h;
    uint64_t seq;
} ms_shared_reader;

/* Share live (ownership moves in) and publish its current contents. NULL
 * when out of memory (live is then still the caller's). */
ms_shared_store *ms_shared_store_new(ms_store *live);

/* Free the live store, the published version and every retired one. No
 * reader may still hold a handle. NULL is a no-op. */
void ms_shared_store_free(ms_shared_store *ss);

/* --- writer side: everything between lock and unlock ------------------- */

/* Take the family lock, then release the versions whose readers all left. */
void ms_shared_store_lock(ms_shared_store *ss);
void ms_shared_store_unlock(ms_shared_store *ss);

/* The live store. Use it only under the family lock. */
ms_store *ms_shared_store_live(ms_shared_store *ss);

/* Under the family lock: pin the live store's contents and make them the
 * published version (the previous one is dropped, reclaimed once its
 * readers leave). 0, or -1 when out of memory (nothing changes). */
int ms_shared_store_publish(ms_shared_store *ss);

/* Published versions released so far, each once its last reader left
 * (under the family lock). */
uint64_t ms_shared_store_reclaimed(ms_shared_store *ss);

/* --- reader side: any thread, no family lock ----------------------------- */

/* The published version, held until ms_shared_store_release. */
ms_shared_ver *ms_shared_store_acquire(ms_shared_store *ss);
void ms_shared_store_release(ms_shared_store *ss, ms_shared_ver *h);

/* Sequence number of the published version (1, 2, ...; one atomic load). */
uint64_t ms_shared_store_seq(ms_shared_store *ss);

const ms_version *ms_shared_ver_version(const ms_shared_ver *h);
uint64_t ms_shared_ver_seq(const ms_shared_ver *h);

/* The published version through r's cache: re-acquired only when the
 * sequence moved. Valid until the next call with r or ms_shared_reader_drop. */
const ms_version *ms_shared_reader_get(ms_shared_store *ss, ms_shared_reader *r);

/* Release r's handle (r is zeroed; dropping twice is a no-op). */
void ms_shared_reader_drop(ms_shared_store *ss, ms_shared_reader *r);

/* --- per-access locked reads of the live store (no isolation) ------------- */

/* Pin the live store's current contents under the family lock: whatever
 * state it is in, a half-applied one included. Release with
 * ms_shared_store_unpin. NULL when out of memory. */
ms_version *ms_shared_store_pin_live(ms_shared_store *ss);
void ms_shared_store_unpin(ms_shared_store *ss, ms_version *v);

#endif

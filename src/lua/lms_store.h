/* Shared by the store family's bindings: lms_store.c (core.store, Store),
 * lms_version.c (Version), lms_view.c (reads common to both: get, digest,
 * read, scan) and lms_snapshot.c (SnapExport, SnapImport).
 *
 * Memory ownership. The core counts every allocation of a family (a store,
 * its versions, stores made from them, import targets) in one ms_store_mem
 * that must outlive all of them. Here that ms_store_mem is the block of a
 * userdata of its own ("mastersim.StoreMem", no finalizer), and every member
 * userdata (Store, Version, Scan, SnapExport, SnapImport) holds it as user
 * value 1. Lua keeps whatever a finalizable object references alive until
 * its __gc has run (and runs every finalizer before freeing anything at
 * lua_close), so the accounting is valid in every member's __gc, whatever
 * the collection order. The struct also caches the pointer (`mem`) so reads
 * of the figures need no stack work. */
#ifndef LMS_STORE_H
#define LMS_STORE_H

#include "lms_aux.h"

#include "ms_store.h"

#define LMS_STORE "mastersim.Store"
#define LMS_VERSION "mastersim.Version"
#define LMS_STOREMEM "mastersim.StoreMem"
#define LMS_SCAN "mastersim.Scan"
#define LMS_SNAPEXPORT "mastersim.SnapExport"
#define LMS_SNAPIMPORT "mastersim.SnapImport"

struct lms_snapimp;

/* A Store userdata. user value 1: the family's StoreMem. */
typedef struct lms_store {
    ms_store *s;             /* NULL once closed */
    ms_store_mem *mem;       /* the family's accounting (user value 1) */
    uint64_t writes;         /* bumped by every change to the contents; scans compare it */
    struct lms_snapimp *imp; /* the unfinished import into this store, or NULL */
} lms_store;

/* A Version userdata. user value 1: the family's StoreMem. */
typedef struct lms_version {
    ms_version *v; /* NULL once released */
    ms_store_mem *mem;
} lms_version;

/* A new family accounting, zeroed. Stack: [-0, +1]. */
ms_store_mem *lms_storemem_new(lua_State *L);

/* A new Store userdata with no store yet (s == NULL, safe to collect) whose
 * family is the StoreMem at index memidx. Stack: [-0, +1]. */
lms_store *lms_store_push(lua_State *L, int memidx);

/* The open Store / unreleased Version at argument arg (any position; raises
 * "attempt to use a closed Store" / "... released Version"). */
lms_store *lms_store_check(lua_State *L, int arg);
lms_version *lms_version_check(lua_State *L, int arg);

/* Push {bytes=, peak=, blocks=} of m. Stack: [-0, +1]. */
void lms_push_memory(lua_State *L, const ms_store_mem *m);

/* The reads shared by Store and Version, on view v of the object at
 * argument 1 (see lms_view.c). Each pushes its results and returns the
 * count, as a binding does. */
int lms_view_get(lua_State *L, const ms_view *v);
int lms_view_digest(lua_State *L, const ms_view *v);
int lms_view_read(lua_State *L, const ms_view *v);

/* scan(prefix | nil) of argument 1: of the live store owner (v NULL), or
 * of version v (owner NULL). The scan pins what it walks (a version of
 * owner taken now, or a reference to v) until it ends, is closed or is
 * collected; a write to owner after this call makes the next step raise
 * "store modified during scan". Pushes iterator, nil, nil, scan (the
 * fourth value closes the scan when a generic for is left early);
 * returns 4. */
int lms_view_scan(lua_State *L, lms_store *owner, ms_version *v);

/* Abort the unfinished import imp (its target is being closed) and detach
 * it from the target. Defined in lms_snapshot.c. */
void lms_snapimp_abort(struct lms_snapimp *imp);

/* Registration of the family's classes; lms_open_store calls the others. */
void lms_open_version(lua_State *L);
void lms_open_view(lua_State *L);

#endif

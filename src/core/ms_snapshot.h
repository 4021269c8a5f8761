/* Snapshot streams: export a pinned version as checksummed frames, import
 * them frame by frame into a live store in one of three apply modes.
 *
 * Frame (all little-endian): a 20-byte head
 *     u32 payload length | u32 sequence | u8 kind | 3 zero bytes |
 *     u64 check = ms_store_hash over the first 12 head bytes, then the payload
 * followed by the payload. Frame 0 is the header (kind 1, 40 bytes: u32
 * magic "SNAP", u16 format 1, u16 0, u64 raft index, u64 term, u64 entry
 * count, u32 max entries per data frame, u32 max data payload bytes). Then
 * data frames (kind 2: u32 count, then count x {u32 klen, u32 vlen, key,
 * value}, keys strictly ascending across the stream, at most the header's
 * limits), then the end frame (kind 3, 24 bytes: u64 entry count, u64
 * content digest as ms_view_digest, u64 data frame count). Sequence numbers
 * run 0, 1, 2, ... without gaps.
 *
 * The importer checks each frame in full before applying any of it and
 * rejects truncated, oversized, corrupt, duplicated, reordered or
 * out-of-order input with a message naming the frame, its byte offset in
 * the stream and what was expected; it never reads outside the chunk. */
#ifndef MS_SNAPSHOT_H
#define MS_SNAPSHOT_H

#include "ms_store.h"

#include <stddef.h>
#include <stdint.h>

#define MS_SNAP_HEAD_BYTES 20
#define MS_SNAP_MAGIC 0x50414e53u /* "SNAP" little-endian */
#define MS_SNAP_FORMAT 1
#define MS_SNAP_MAX_PAYLOAD (64u << 20) /* hard cap on any frame's payload */
#define MS_SNAP_DEFAULT_ENTRIES 4096
#define MS_SNAP_DEFAULT_BYTES (1u << 20)

typedef enum ms_snap_kind { MS_SNAP_HEADER = 1, MS_SNAP_DATA = 2, MS_SNAP_END = 3 } ms_snap_kind;

typedef enum ms_snap_mode {
    MS_SNAP_REOPEN = 0, /* live store CLOSED from the first chunk to finish */
    MS_SNAP_INPLACE,    /* live store cleared at the first data chunk, filled in place */
    MS_SNAP_ASIDE       /* new store built beside the live one, swapped in at finish */
} ms_snap_mode;

/* The size an entry's value counts for in a data frame, in place of vlen:
 * for a model that charges a stream at other sizes than the bytes stored. */
typedef size_t (*ms_snap_charge_fn)(const void *key, size_t klen, const void *val, size_t vlen);

typedef struct ms_snap_opts {
    uint32_t max_entries; /* entries per data frame; 0 = MS_SNAP_DEFAULT_ENTRIES */
    uint32_t max_bytes;   /* data frame payload bytes; 0 = MS_SNAP_DEFAULT_BYTES */
    uint64_t term;        /* raft term recorded in the header */
    /* NULL, or the charged value size: a data frame then ends when its
     * charged size (each entry 8 + klen + charge) or its real one would
     * pass max_bytes, and ms_snap_export_charged reports the charged size */
    ms_snap_charge_fn charge;
} ms_snap_opts;

typedef struct ms_snap_progress {
    uint64_t entries; /* entries applied so far */
    uint64_t total;   /* entries announced by the header (0 before it) */
    uint64_t frames;  /* frames accepted */
    uint64_t bytes;   /* stream bytes accepted */
    uint64_t index;   /* raft index from the header */
    uint64_t term;
    int done; /* the end frame was accepted */
} ms_snap_progress;

typedef struct ms_snap_exp ms_snap_exp;
typedef struct ms_snap_imp ms_snap_imp;

/* --- export --------------------------------------------------------------- */

/* Start exporting v (retained until ms_snap_export_end); opts may be NULL.
 * NULL when out of memory. */
ms_snap_exp *ms_snap_export_begin(ms_version *v, const ms_snap_opts *opts);

/* Produce the next frame: 1 with *frame and *len set (valid until the next
 * call), 0 after the end frame, -1 with err set when an entry cannot fit a
 * frame of opts.max_bytes or memory runs out. */
int ms_snap_export_next(ms_snap_exp *e, const void **frame, size_t *len, char *err, size_t errlen);

/* Bytes, frames and entries produced so far. */
uint64_t ms_snap_export_bytes(const ms_snap_exp *e);
/* The charged size of the frame ms_snap_export_next returned last: its
 * length, unless opts.charge is set and it is a data frame. */
size_t ms_snap_export_charged(const ms_snap_exp *e);
uint64_t ms_snap_export_frames(const ms_snap_exp *e);
uint64_t ms_snap_export_entries(const ms_snap_exp *e);

/* Release the exporter and its reference to the version. NULL is a no-op. */
void ms_snap_export_end(ms_snap_exp *e);

/* Recompute the check of a frame of len bytes in place (for tests and
 * fuzzing that alter a payload on purpose). -1 when len cannot hold a head
 * and the payload length it states. */
int ms_snap_frame_seal(void *frame, size_t len);

/* --- import ------------------------------------------------------------------ */

/* Start importing into live (which must outlive the importer). Nothing
 * changes until the first chunk. NULL when out of memory. */
ms_snap_imp *ms_snap_import_begin(ms_store *live, ms_snap_mode mode);

/* Check and apply one frame. 0, or -1 with err set; after -1 the importer
 * accepts nothing more and the caller must abort it. */
int ms_snap_import_chunk(ms_snap_imp *imp, const void *frame, size_t len, char *err, size_t errlen);

/* A body frame starts to apply (its keys take the caller's modelled time
 * before ms_snap_import_chunk takes it): make the apply visible on live
 * now, as the real apply does before its first write: reopen closes the
 * store, inplace clears it (CubeFS's DeleteRange before the first Put).
 * Does nothing in aside mode or once done. */
void ms_snap_import_start_body(ms_snap_imp *imp);

ms_snap_progress ms_snap_import_progress(const ms_snap_imp *imp);

/* Complete the apply once the end frame was accepted: write `applied`
 * last, set the applied index, and (reopen, aside) swap the new contents
 * into live in O(1); frees imp. -1 with err set (imp kept: abort it) when
 * the end frame has not been accepted or memory runs out. */
int ms_snap_import_finish(ms_snap_imp *imp, char *err, size_t errlen);

/* Give up: aside leaves live exactly as it was; reopen and inplace mark
 * live MS_STORE_BROKEN once they have touched it. Frees imp; NULL is a
 * no-op. */
void ms_snap_import_abort(ms_snap_imp *imp);

/* "reopen", "inplace", "aside"; and the reverse (-1 for an unknown name). */
const char *ms_snap_mode_name(ms_snap_mode m);
int ms_snap_mode_parse(const char *name, ms_snap_mode *m);

#endif

/* Snapshot import: validate each frame completely, then apply it to the
 * target of the mode (the live store for inplace, a store beside it for
 * reopen and aside). The `applied` key is held back and written last. */
#include "ms_layout.h"
#include "ms_snapshot_impl.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { IMP_HEADER, IMP_BODY, IMP_DONE, IMP_FAILED };

struct ms_snap_imp {
    ms_store *live, *side; /* side: reopen and aside build here */
    ms_snap_mode mode;
    int phase;
    int touched; /* live was closed (reopen) or cleared (inplace) */
    uint32_t seq;
    uint64_t offset; /* stream bytes accepted */
    uint64_t index, term, total, got, data_frames, digest;
    uint32_t max_entries, max_bytes;
    unsigned char *last; /* previous key, for the order check */
    size_t last_len, last_cap;
    int have_last;
    unsigned char *applied; /* the held-back `applied` value */
    size_t applied_len;
    int have_applied;
};

/* Frame being checked: where it is, for messages. */
typedef struct at {
    uint32_t frame;
    uint64_t offset;
    char *err;
    size_t errlen;
} at;

static int reject(ms_snap_imp *imp, const at *a, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(a->err, a->errlen, "snapshot frame %" PRIu32 " at byte %" PRIu64 ": %s", a->frame,
             a->offset, msg);
    imp->phase = IMP_FAILED;
    return -1;
}

ms_snap_imp *ms_snap_import_begin(ms_store *live, ms_snap_mode mode) {
    if ((unsigned)mode > MS_SNAP_ASIDE) return NULL;
    ms_snap_imp *imp = calloc(1, sizeof *imp);
    if (imp == NULL) return NULL;
    imp->live = live;
    imp->mode = mode;
    imp->digest = MS_STORE_DIGEST_INIT;
    if (mode != MS_SNAP_INPLACE) {
        imp->side = ms_store_new(ms_store_mem_of(live));
        if (imp->side == NULL) {
            free(imp);
            return NULL;
        }
    }
    return imp;
}

static const char *kind_name(int kind) {
    return kind == MS_SNAP_HEADER ? "header"
           : kind == MS_SNAP_DATA ? "data"
           : kind == MS_SNAP_END  ? "end"
                                  : "unknown";
}

static int check_header(ms_snap_imp *imp, const at *a, const unsigned char *p, uint32_t n) {
    if (n != MS_SNAP_HEADER_PAYLOAD)
        return reject(imp, a, "header payload is %" PRIu32 " bytes, expected %d", n,
                      MS_SNAP_HEADER_PAYLOAD);
    if (ms__snap_get32(p) != MS_SNAP_MAGIC)
        return reject(imp, a, "bad magic: expected 0x%08x, got 0x%08" PRIx32, MS_SNAP_MAGIC,
                      ms__snap_get32(p));
    if (ms__snap_get32(p + 4) != MS_SNAP_FORMAT)
        return reject(imp, a, "unsupported format: expected %d, got %" PRIu32, MS_SNAP_FORMAT,
                      ms__snap_get32(p + 4));
    imp->index = ms__snap_get64(p + 8);
    imp->term = ms__snap_get64(p + 16);
    imp->total = ms__snap_get64(p + 24);
    imp->max_entries = ms__snap_get32(p + 32);
    imp->max_bytes = ms__snap_get32(p + 36);
    if (imp->max_entries == 0 || imp->max_bytes < 64 || imp->max_bytes > MS_SNAP_MAX_PAYLOAD)
        return reject(imp, a, "bad frame limits: %" PRIu32 " entries, %" PRIu32 " bytes",
                      imp->max_entries, imp->max_bytes);
    return 0;
}

/* Walk a data payload without applying it: every length in bounds, count
 * within limits, keys strictly ascending from the previous frame on. */
static int check_data(ms_snap_imp *imp, const at *a, const unsigned char *p, uint32_t n) {
    if (n < 4) return reject(imp, a, "data payload of %" PRIu32 " bytes has no entry count", n);
    uint32_t count = ms__snap_get32(p);
    if (count == 0 || count > imp->max_entries)
        return reject(imp, a, "entry count %" PRIu32 ", expected 1..%" PRIu32, count,
                      imp->max_entries);
    if (count > imp->total - imp->got)
        return reject(imp, a,
                      "%" PRIu32 " entries would exceed the header's %" PRIu64 " (already %" PRIu64
                      ")",
                      count, imp->total, imp->got);
    const unsigned char *prev = imp->have_last ? imp->last : NULL;
    size_t prev_len = imp->last_len, off = 4;
    for (uint32_t i = 0; i < count; i++) {
        if (n - off < 8)
            return reject(imp, a, "entry %" PRIu32 " at payload byte %zu: truncated lengths", i,
                          off);
        uint32_t kl = ms__snap_get32(p + off), vl = ms__snap_get32(p + off + 4);
        if ((uint64_t)kl + vl > n - off - 8)
            return reject(imp, a,
                          "entry %" PRIu32 " at payload byte %zu: key %" PRIu32 " + value %" PRIu32
                          " bytes overrun the payload (%zu left)",
                          i, off, kl, vl, n - off - 8);
        if (kl > MS_STORE_KEY_MAX)
            return reject(imp, a,
                          "entry %" PRIu32 " at payload byte %zu: a key of %" PRIu32
                          " bytes (the store takes at most %d)",
                          i, off, kl, MS_STORE_KEY_MAX);
        const unsigned char *k = p + off + 8;
        if (prev) {
            size_t m = kl < prev_len ? kl : prev_len;
            int c = m ? memcmp(prev, k, m) : 0;
            if (c > 0 || (c == 0 && prev_len >= kl))
                return reject(
                    imp, a, "entry %" PRIu32 " at payload byte %zu: key not above the previous key",
                    i, off);
        }
        prev = k;
        prev_len = kl;
        off += 8 + (size_t)kl + vl;
    }
    if (off != n)
        return reject(imp, a, "%zu trailing bytes after %" PRIu32 " entries", n - off, count);
    return 0;
}

/* Keep a copy of key (the last of a frame) for the next frame's order check. */
static int remember(ms_snap_imp *imp, const unsigned char *k, size_t kl) {
    if (kl > imp->last_cap) {
        unsigned char *b = realloc(imp->last, kl);
        if (b == NULL) return -1;
        imp->last = b;
        imp->last_cap = kl;
    }
    if (kl) memcpy(imp->last, k, kl);
    imp->last_len = kl;
    imp->have_last = 1;
    return 0;
}

static int hold_applied(ms_snap_imp *imp, const void *v, size_t vl) {
    unsigned char *b = malloc(vl ? vl : 1);
    if (b == NULL) return -1;
    if (vl) memcpy(b, v, vl);
    free(imp->applied);
    imp->applied = b;
    imp->applied_len = vl;
    imp->have_applied = 1;
    return 0;
}

/* Apply a checked data payload. */
static int apply_data(ms_snap_imp *imp, const at *a, const unsigned char *p) {
    ms_store *dst = imp->side ? imp->side : imp->live;
    uint32_t count = ms__snap_get32(p);
    size_t off = 4;
    const size_t alen = strlen(MS_LAYOUT_KEY_APPLIED);
    const unsigned char *k = NULL;
    uint32_t kl = 0;
    for (uint32_t i = 0; i < count; i++) {
        kl = ms__snap_get32(p + off);
        uint32_t vl = ms__snap_get32(p + off + 4);
        k = p + off + 8;
        const unsigned char *v = k + kl;
        imp->digest = ms_store_digest_entry(imp->digest, k, kl, v, vl);
        int rc = kl == alen && memcmp(k, MS_LAYOUT_KEY_APPLIED, alen) == 0
                     ? hold_applied(imp, v, vl)
                     : ms_store_put(dst, k, kl, v, vl);
        if (rc != 0) return reject(imp, a, "out of memory at entry %" PRIu32, i);
        imp->got++;
        off += 8 + (size_t)kl + vl;
    }
    if (remember(imp, k, kl) != 0) return reject(imp, a, "out of memory");
    return 0;
}

static int check_end(ms_snap_imp *imp, const at *a, const unsigned char *p, uint32_t n) {
    if (n != MS_SNAP_END_PAYLOAD)
        return reject(imp, a, "end payload is %" PRIu32 " bytes, expected %d", n,
                      MS_SNAP_END_PAYLOAD);
    uint64_t count = ms__snap_get64(p), digest = ms__snap_get64(p + 8);
    uint64_t frames = ms__snap_get64(p + 16);
    if (count != imp->total || imp->got != imp->total)
        return reject(
            imp, a, "entry count: header says %" PRIu64 ", end says %" PRIu64 ", received %" PRIu64,
            imp->total, count, imp->got);
    if (frames != imp->data_frames)
        return reject(imp, a, "data frame count: expected %" PRIu64 ", got %" PRIu64,
                      imp->data_frames, frames);
    if (digest != imp->digest)
        return reject(imp, a, "content digest mismatch: expected %016" PRIx64 ", got %016" PRIx64,
                      imp->digest, digest);
    return 0;
}

/* The frame head: length, limits, check, sequence and kind. */
static int check_head(ms_snap_imp *imp, const at *a, const unsigned char *f, size_t len) {
    if (len < MS_SNAP_HEAD_BYTES)
        return reject(imp, a, "truncated: %zu bytes, a frame head needs %d", len,
                      MS_SNAP_HEAD_BYTES);
    uint32_t n = ms__snap_get32(f), seq = ms__snap_get32(f + 4);
    uint32_t limit = imp->phase == IMP_HEADER ? MS_SNAP_HEADER_PAYLOAD : imp->max_bytes;
    if (n > limit)
        return reject(imp, a, "oversized: payload length %" PRIu32 ", limit %" PRIu32, n, limit);
    if (n != len - MS_SNAP_HEAD_BYTES)
        return reject(imp, a, "%s: head says %" PRIu32 " payload bytes, chunk has %zu",
                      n > len - MS_SNAP_HEAD_BYTES ? "truncated" : "length mismatch", n,
                      len - MS_SNAP_HEAD_BYTES);
    uint64_t want = ms__snap_check(f, n), got = ms__snap_get64(f + 12);
    if (want != got)
        return reject(imp, a, "checksum mismatch: expected %016" PRIx64 ", got %016" PRIx64, want,
                      got);
    if (seq != imp->seq)
        return reject(imp, a, "sequence: expected %" PRIu32 ", got %" PRIu32 " (%s)", imp->seq, seq,
                      seq < imp->seq ? "duplicate or replayed" : "missing or reordered");
    int kind = f[8];
    int ok = imp->phase == IMP_HEADER ? kind == MS_SNAP_HEADER
                                      : kind == MS_SNAP_DATA || kind == MS_SNAP_END;
    if (!ok || f[9] || f[10] || f[11])
        return reject(imp, a, "unexpected %s frame (kind %d), expected %s", kind_name(kind), kind,
                      imp->phase == IMP_HEADER ? "header" : "data or end");
    return 0;
}

/* The first frame of the body makes the apply visible on live. */
static void touch_live(ms_snap_imp *imp) {
    if (imp->touched || imp->mode != MS_SNAP_INPLACE) return;
    ms_store_clear(imp->live);
    imp->touched = 1;
}

void ms_snap_import_start_body(ms_snap_imp *imp) {
    if (imp->mode == MS_SNAP_REOPEN && !imp->touched) {
        ms_store_set_state(imp->live, MS_STORE_CLOSED);
        imp->touched = 1;
    }
    touch_live(imp);
}

int ms_snap_import_chunk(ms_snap_imp *imp, const void *frame, size_t len, char *err,
                         size_t errlen) {
    char dummy[1];
    at a = {imp->seq, imp->offset, err ? err : dummy, err ? errlen : sizeof dummy};
    if (imp->mode == MS_SNAP_REOPEN && !imp->touched) { /* the DB closes on arrival */
        ms_store_set_state(imp->live, MS_STORE_CLOSED);
        imp->touched = 1;
    }
    if (imp->phase == IMP_FAILED) return reject(imp, &a, "the import already failed");
    if (imp->phase == IMP_DONE) return reject(imp, &a, "frame after the end frame");
    if (frame == NULL && len > 0) return reject(imp, &a, "no frame");
    const unsigned char *f = frame;
    if (check_head(imp, &a, f, len) != 0) return -1;
    const unsigned char *p = f + MS_SNAP_HEAD_BYTES;
    uint32_t n = (uint32_t)(len - MS_SNAP_HEAD_BYTES);
    if (f[8] == MS_SNAP_HEADER) {
        if (check_header(imp, &a, p, n) != 0) return -1;
        imp->phase = IMP_BODY;
    } else if (f[8] == MS_SNAP_DATA) {
        if (check_data(imp, &a, p, n) != 0) return -1;
        touch_live(imp);
        if (apply_data(imp, &a, p) != 0) return -1;
        imp->data_frames++;
    } else {
        if (check_end(imp, &a, p, n) != 0) return -1;
        touch_live(imp);
        imp->phase = IMP_DONE;
    }
    imp->seq++;
    imp->offset += len;
    return 0;
}

ms_snap_progress ms_snap_import_progress(const ms_snap_imp *imp) {
    ms_snap_progress p = {
        imp->got, imp->total, imp->seq, imp->offset, imp->index, imp->term, imp->phase == IMP_DONE};
    return p;
}

int ms_snap_import_finish(ms_snap_imp *imp, char *err, size_t errlen) {
    char dummy[1];
    if (err == NULL) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (imp->phase != IMP_DONE) {
        snprintf(err, errlen, "snapshot finish before the end frame (next frame %" PRIu32 ")",
                 imp->seq);
        return -1;
    }
    ms_store *dst = imp->side ? imp->side : imp->live;
    if (imp->have_applied && ms_store_put(dst, MS_LAYOUT_KEY_APPLIED, strlen(MS_LAYOUT_KEY_APPLIED),
                                          imp->applied, imp->applied_len) != 0) {
        snprintf(err, errlen, "snapshot finish: out of memory");
        return -1;
    }
    ms_store_set_applied(dst, imp->index);
    if (imp->side) {
        ms_store_set_state(imp->side, MS_STORE_OPEN);
        ms_store_swap(imp->live, imp->side);
    }
    imp->touched = 0;
    ms_snap_import_abort(imp); /* frees; live is complete, so nothing is marked */
    return 0;
}

void ms_snap_import_abort(ms_snap_imp *imp) {
    if (imp == NULL) return;
    if (imp->touched) ms_store_set_state(imp->live, MS_STORE_BROKEN);
    ms_store_free(imp->side);
    free(imp->last);
    free(imp->applied);
    free(imp);
}

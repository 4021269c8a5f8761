/* Snapshot frames and the exporter. The importer is in
 * ms_snapshot_import.c; both share the frame helpers of ms_snapshot_impl.h. */
#include "ms_snapshot_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXP_HEADER, EXP_DATA, EXP_END, EXP_DONE };

struct ms_snap_exp {
    ms_version *v;
    ms_view view;
    ms_iter it;
    int pending; /* the iterator is on an entry not yet written */
    int phase;
    ms_snap_opts o;
    unsigned char *buf; /* one frame */
    size_t charged;     /* the charged size of the frame in buf */
    uint32_t seq;
    uint64_t entries, bytes, frames, data_frames, digest;
};

uint64_t ms__snap_check(const unsigned char *frame, size_t payload_len) {
    uint64_t h = ms_store_hash(MS_SNAP_CHECK_SEED, frame, 12);
    return ms_store_hash(h, frame + MS_SNAP_HEAD_BYTES, payload_len);
}

/* Write the head of a frame whose payload is already in place. */
static void seal(unsigned char *frame, uint32_t payload_len, uint32_t seq, int kind) {
    ms__snap_put32(frame, payload_len);
    ms__snap_put32(frame + 4, seq);
    frame[8] = (unsigned char)kind;
    frame[9] = frame[10] = frame[11] = 0;
    ms__snap_put64(frame + 12, ms__snap_check(frame, payload_len));
}

int ms_snap_frame_seal(void *frame, size_t len) {
    unsigned char *f = frame;
    if (len < MS_SNAP_HEAD_BYTES) return -1;
    uint32_t n = ms__snap_get32(f);
    if (n != len - MS_SNAP_HEAD_BYTES) return -1;
    ms__snap_put64(f + 12, ms__snap_check(f, n));
    return 0;
}

ms_snap_exp *ms_snap_export_begin(ms_version *v, const ms_snap_opts *opts) {
    ms_snap_exp *e = calloc(1, sizeof *e);
    if (e == NULL) return NULL;
    if (opts) e->o = *opts;
    if (e->o.max_entries == 0) e->o.max_entries = MS_SNAP_DEFAULT_ENTRIES;
    if (e->o.max_bytes == 0) e->o.max_bytes = MS_SNAP_DEFAULT_BYTES;
    if (e->o.max_bytes > MS_SNAP_MAX_PAYLOAD) e->o.max_bytes = MS_SNAP_MAX_PAYLOAD;
    if (e->o.max_bytes < 64) e->o.max_bytes = 64; /* room for the header and end payloads */
    e->buf = malloc(MS_SNAP_HEAD_BYTES + (size_t)e->o.max_bytes);
    if (e->buf == NULL) {
        free(e);
        return NULL;
    }
    ms_version_retain(v);
    e->v = v;
    e->view = ms_version_view(v);
    ms_iter_seek(&e->it, &e->view, "", 0);
    e->digest = MS_STORE_DIGEST_INIT;
    return e;
}

static size_t header_frame(ms_snap_exp *e) {
    unsigned char *p = e->buf + MS_SNAP_HEAD_BYTES;
    ms__snap_put32(p, MS_SNAP_MAGIC);
    ms__snap_put32(p + 4, MS_SNAP_FORMAT);
    ms__snap_put64(p + 8, e->view.applied);
    ms__snap_put64(p + 16, e->o.term);
    ms__snap_put64(p + 24, e->view.count);
    ms__snap_put32(p + 32, e->o.max_entries);
    ms__snap_put32(p + 36, e->o.max_bytes);
    seal(e->buf, MS_SNAP_HEADER_PAYLOAD, e->seq++, MS_SNAP_HEADER);
    return MS_SNAP_HEAD_BYTES + MS_SNAP_HEADER_PAYLOAD;
}

static size_t end_frame(ms_snap_exp *e) {
    unsigned char *p = e->buf + MS_SNAP_HEAD_BYTES;
    ms__snap_put64(p, e->entries);
    ms__snap_put64(p + 8, e->digest);
    ms__snap_put64(p + 16, e->data_frames);
    seal(e->buf, MS_SNAP_END_PAYLOAD, e->seq++, MS_SNAP_END);
    return MS_SNAP_HEAD_BYTES + MS_SNAP_END_PAYLOAD;
}

/* Fill one data frame from the iterator: its size, 0 when no entry is
 * left, or -1 (err set) when an entry is larger than a frame. Sets
 * e->charged. */
static long data_frame(ms_snap_exp *e, char *err, size_t errlen) {
    unsigned char *p = e->buf + MS_SNAP_HEAD_BYTES;
    size_t off = 4, woff = 4, cap = e->o.max_bytes;
    uint32_t n = 0;
    while (n < e->o.max_entries) {
        if (!e->pending && !ms_iter_next(&e->it)) break;
        e->pending = 1;
        size_t kl, vl;
        const void *k = ms_iter_key(&e->it, &kl), *v = ms_iter_value(&e->it, &vl);
        size_t need = 8 + kl + vl, wneed = e->o.charge ? 8 + kl + e->o.charge(k, kl, v, vl) : need;
        if (need > cap - off || (n > 0 && wneed > cap - woff)) {
            if (n > 0) break;
            snprintf(err, errlen,
                     "snapshot export: entry %llu (%zu bytes) exceeds the frame limit of %u bytes",
                     (unsigned long long)e->entries, need + 4, e->o.max_bytes);
            return -1;
        }
        ms__snap_put32(p + off, (uint32_t)kl);
        ms__snap_put32(p + off + 4, (uint32_t)vl);
        memcpy(p + off + 8, k, kl);
        memcpy(p + off + 8 + kl, v, vl);
        e->digest = ms_store_digest_entry(e->digest, k, kl, v, vl);
        off += need;
        woff += wneed;
        n++;
        e->entries++;
        e->pending = 0;
    }
    if (n == 0) return 0;
    ms__snap_put32(p, n);
    seal(e->buf, (uint32_t)off, e->seq++, MS_SNAP_DATA);
    e->data_frames++;
    e->charged = MS_SNAP_HEAD_BYTES + woff;
    return (long)(MS_SNAP_HEAD_BYTES + off);
}

int ms_snap_export_next(ms_snap_exp *e, const void **frame, size_t *len, char *err, size_t errlen) {
    size_t n = 0;
    int data = 0;
    if (e->phase == EXP_HEADER) {
        n = header_frame(e);
        e->phase = EXP_DATA;
    } else if (e->phase == EXP_DATA) {
        long d = data_frame(e, err, errlen);
        if (d < 0) return -1;
        n = (size_t)d;
        data = d > 0;
        if (d == 0) e->phase = EXP_END;
    }
    if (n == 0 && e->phase == EXP_END) {
        n = end_frame(e);
        e->phase = EXP_DONE;
    }
    if (n == 0) return 0;
    if (!data || !e->o.charge) e->charged = n;
    e->bytes += n;
    e->frames++;
    *frame = e->buf;
    *len = n;
    return 1;
}

uint64_t ms_snap_export_bytes(const ms_snap_exp *e) {
    return e->bytes;
}

size_t ms_snap_export_charged(const ms_snap_exp *e) {
    return e->charged;
}

uint64_t ms_snap_export_frames(const ms_snap_exp *e) {
    return e->frames;
}

uint64_t ms_snap_export_entries(const ms_snap_exp *e) {
    return e->entries;
}

void ms_snap_export_end(ms_snap_exp *e) {
    if (e == NULL) return;
    ms_version_release(e->v);
    free(e->buf);
    free(e);
}

const char *ms_snap_mode_name(ms_snap_mode m) {
    static const char *const names[] = {"reopen", "inplace", "aside"};
    return (unsigned)m < 3 ? names[m] : "unknown";
}

int ms_snap_mode_parse(const char *name, ms_snap_mode *m) {
    for (int i = 0; i < 3; i++) {
        if (strcmp(name, ms_snap_mode_name((ms_snap_mode)i)) == 0) {
            *m = (ms_snap_mode)i;
            return 0;
        }
    }
    return -1;
}

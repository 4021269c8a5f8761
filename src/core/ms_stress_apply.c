/* The stress harness's writer and applier: the two threads that change the
 * store, one raft apply loop between them (the raft lock). The writer
 * applies a write every write_every; the applier builds a leader's state a
 * little ahead, exports it and installs it under the gate every
 * apply_every. Lock order: ms_stress.c. */
#include "ms_stress_impl.h"

#include "ms_rng.h"
#include "ms_shared_store.h"
#include "ms_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_GAP 1000      /* entries the snapshot is ahead of the node */
#define FRAME_ENTRIES 1024 /* per data frame: the family lock is taken per frame */
/* prewake: how long before the end of an apply (estimated from the frames
 * imported so far) the applier tells the gate the end is near: time for a
 * sleeping waiter to be woken and start polling. A halted virtual CPU
 * takes ~150 us to wake at the median and, on a busy host, milliseconds
 * now and then; a fixed 8 frames (1-3 ms at 1M keys) left waits of 4-8 ms
 * in the tail. The waiter polls at most MS_GATE_OS_POLL_NS. */
#define PREWAKE_NS INT64_C(6000000)

/* --- the writer ------------------------------------------------------------ */

static void write_pick(stress *st, ms_rng *rng, ms_write *w) {
    memset(w, 0, sizeof *w);
    uint64_t v = st->desc.volumes;
    if (ms_rng_below(rng, 10) == 0) {
        w->op = MS_W_CREATE_DP;
        w->vol = 1 + ms_rng_below(rng, v);
        for (int i = 0; i < MS_WRITE_HOSTS; i++) w->dp_hosts[i] = v + 1 + ms_rng_below(rng, st->dn);
    } else {
        w->op = MS_W_HEARTBEAT;
        w->node = v + 1 + ms_rng_below(rng, st->dn + st->mn);
        w->used = ms_rng_below(rng, UINT64_C(1) << 40);
    }
}

void ms__stress_writer_main(void *arg) {
    stress *st = arg;
    if (st->c.pin) ms__stress_pin(st, -1);
    ms_rng rng;
    ms_rng_init(&rng, st->c.seed, "stress-writer");
    int64_t next = ms_gate_os_now();
    char err[128];
    while (!ms__stress_stopping(st)) {
        next += st->c.write_every_ns;
        ms__stress_sleep_until(st, next);
        if (ms__stress_stopping(st)) break;
        ms_write w;
        write_pick(st, &rng, &w);
        uv_mutex_lock(&st->raft);
        ms_shared_store_lock(st->ss);
        uint64_t idx = st->index + 1;
        int rc = ms_write_apply(ms_shared_store_live(st->ss), &w, idx, err, sizeof err);
        if (rc >= 0) rc = ms_shared_store_publish(st->ss);
        ms_shared_store_unlock(st->ss);
        if (rc >= 0) {
            st->index = idx;
            st->writes++;
            /* after the publish: a reader that sees idx finds it published */
            atomic_store_explicit(&st->commit, idx, memory_order_release);
        }
        uv_mutex_unlock(&st->raft);
        if (rc < 0) ms__stress_fail(st, "write", err);
        int64_t now = ms_gate_os_now();
        if (next < now) next = now;
    }
}

/* --- the applier ------------------------------------------------------------ */

typedef struct frames {
    unsigned char **f;
    size_t *len;
    size_t n, cap;
} frames;

static void frames_free(frames *fr) {
    for (size_t i = 0; i < fr->n; i++) free(fr->f[i]);
    free(fr->f);
    free(fr->len);
    memset(fr, 0, sizeof *fr);
}

static int frames_add(frames *fr, const void *p, size_t len) {
    if (fr->n == fr->cap) {
        size_t cap = fr->cap ? 2 * fr->cap : 64;
        unsigned char **f = realloc(fr->f, cap * sizeof *f);
        if (f) fr->f = f;
        size_t *l = realloc(fr->len, cap * sizeof *l);
        if (l) fr->len = l;
        if (!f || !l) return -1;
        fr->cap = cap;
    }
    unsigned char *c = malloc(len);
    if (c == NULL) return -1;
    memcpy(c, p, len);
    fr->f[fr->n] = c;
    fr->len[fr->n++] = len;
    return 0;
}

/* The leader's state: the live contents at index `target`, pinned. Raft
 * and family locks held. */
static ms_version *leader_state(stress *st, uint64_t target) {
    ms_version *pin = ms_store_snapshot(ms_shared_store_live(st->ss));
    ms_store *lead = pin ? ms_store_from_version(pin) : NULL;
    ms_version_release(pin);
    ms_version *v = NULL;
    if (lead && ms_write_mark_applied(lead, target) == 0) v = ms_store_snapshot(lead);
    ms_store_free(lead);
    return v;
}

/* Export v's frames (reads v's immutable tree: no lock). Returns 0, -1
 * with err, or 1 when the run stopped first (an export of a large store
 * takes seconds; an import, once the gate is up, is always finished, as
 * the readers it wakes must find a whole store). */
static int export_all(stress *st, ms_version *v, frames *fr, char *err, size_t errlen) {
    ms_snap_opts o = {.max_entries = FRAME_ENTRIES};
    ms_snap_exp *e = ms_snap_export_begin(v, &o);
    if (e == NULL) return snprintf(err, errlen, "out of memory"), -1;
    const void *p;
    size_t len;
    int rc;
    while ((rc = ms_snap_export_next(e, &p, &len, err, errlen)) == 1) {
        if (frames_add(fr, p, len) != 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        if (ms__stress_stopping(st)) break; /* rc 1: stopped */
    }
    ms_snap_export_end(e);
    return rc;
}

/* Import every frame, taking the family lock per frame so that readers of
 * the live store (unguarded) see it half-applied; finish and publish.
 * Each frame is freed once imported, as a streamed install consumes its
 * chunks: the frames of a 1M-key image (~1000 of up to 1 MB, 104 MB) are
 * not handed back to the OS all at once right after the gate opens, on the
 * CPUs the woken readers need. Raft lock held. */
static int import_all(stress *st, frames *fr, char *err, size_t errlen) {
    ms_shared_store_lock(st->ss);
    ms_snap_imp *imp = ms_snap_import_begin(ms_shared_store_live(st->ss), st->c.mode);
    ms_shared_store_unlock(st->ss);
    if (imp == NULL) return snprintf(err, errlen, "out of memory"), -1;
    int rc = 0, told = !(st->gate && st->c.prewake);
    double pace = -1; /* ns per data frame (FRAME_ENTRIES entries), recent ones weighted most */
    for (size_t i = 0; i < fr->n && rc == 0; i++) {
        /* near the end: blocked readers may start watching for it (the
         * time left estimated from the frames left at the recent pace;
         * frames differ in bytes more than in cost) */
        if (!told &&
            (pace >= 0 ? pace * (double)(fr->n - i) <= (double)PREWAKE_NS : i + 1 == fr->n))
            told = 1, ms_gate_os_soon(st->gate);
        int64_t t0 = ms_gate_os_now();
        ms_shared_store_lock(st->ss);
        rc = ms_snap_import_chunk(imp, fr->f[i], fr->len[i], err, errlen);
        ms_shared_store_unlock(st->ss);
        double took = (double)(ms_gate_os_now() - t0);
        if (i > 0) /* the first frame holds the header alone */
            pace = pace < 0 ? took : pace + (took - pace) / 16;
        free(fr->f[i]);
        fr->f[i] = NULL;
    }
    ms_shared_store_lock(st->ss);
    if (rc == 0) rc = ms_snap_import_finish(imp, err, errlen);
    if (rc != 0)
        ms_snap_import_abort(imp);
    else if (ms_shared_store_publish(st->ss) != 0)
        rc = -1, snprintf(err, errlen, "out of memory");
    ms_shared_store_unlock(st->ss);
    return rc;
}

/* One install: build and export the leader's state, then apply it under
 * the gate. Returns 0, -1 with err, or 1 when the run stopped during the
 * export (nothing applied). */
static int apply_once(stress *st, char *err, size_t errlen) {
    uv_mutex_lock(&st->raft);
    ms_shared_store_lock(st->ss);
    uint64_t target = st->index + SNAP_GAP;
    ms_version *v = leader_state(st, target);
    ms_shared_store_unlock(st->ss);
    uv_mutex_unlock(&st->raft);
    if (v == NULL) return snprintf(err, errlen, "out of memory"), -1;
    frames fr = {0};
    int rc = export_all(st, v, &fr, err, errlen);
    /* Drop the leader's state before the apply: cheap now (the published
     * version shares its tree), and no free of a whole tree competes with
     * the readers woken at the end. */
    ms_shared_store_lock(st->ss);
    ms_version_release(v);
    ms_shared_store_unlock(st->ss);
    if (rc == 0) {
        uv_mutex_lock(&st->raft);
        int64_t t0 = ms_gate_os_now();
        if (st->gate) ms_gate_os_begin(st->gate);
        /* after the flag: a reader that sees the new commit sees the flag */
        atomic_store_explicit(&st->commit, target, memory_order_release);
        rc = import_all(st, &fr, err, errlen);
        if (st->gate) ms_gate_os_end(st->gate);
        ms_hist_record(st->apply, ms_gate_os_now() - t0);
        if (rc == 0) st->index = target, st->applies++;
        uv_mutex_unlock(&st->raft);
    }
    frames_free(&fr);
    return rc;
}

void ms__stress_applier_main(void *arg) {
    stress *st = arg;
    if (st->c.pin) ms__stress_pin(st, -1);
    char err[200];
    int64_t next = ms_gate_os_now();
    while (!ms__stress_stopping(st)) {
        next += st->c.apply_every_ns;
        ms__stress_sleep_until(st, next);
        if (ms__stress_stopping(st)) break;
        if (apply_once(st, err, sizeof err) < 0) ms__stress_fail(st, "snapshot install", err);
        int64_t now = ms_gate_os_now();
        if (next < now) next = now;
    }
}

/* A tiny FSM for raft tests and benches, and a cluster helper.
 *
 * State: a running 64-bit hash of the applied payload hashes and a count.
 * Applies entries synchronously, or one per apply_ns of virtual time.
 * A snapshot is `chunks` chunks of chunk_size bytes: each starts with a
 * header (magic, chunk number, index, term, state, count) and is filled
 * with bytes derived from the state, all checked on install. Installs
 * build the new state aside and swap it in at the end (so a crash or a
 * failed install leaves the old state), taking chunk_ns per chunk.
 * Reports its state digest to the checker after every apply and install. */
#ifndef MS_TEST_FSM_H
#define MS_TEST_FSM_H

#include "ms_check.h"
#include "ms_digest.h"
#include "ms_net.h"
#include "ms_raft.h"
#include "ms_sched.h"

#include <stdlib.h>
#include <string.h>

enum { TFSM_EV_APPLY = 0x54460001, TFSM_EV_CHUNK = 0x54460002 };
#define TFSM_MAGIC UINT64_C(0x74667366736e6170)
#define TFSM_HDR 48

typedef struct tfsm {
    ms_raft *g;
    ms_check *chk;
    ms_sched *s;
    int node;
    uint64_t state, count, applied, applied_term;
    /* install in progress */
    int installing, chunk_ok;
    uint64_t inst_index, inst_term, inst_state, inst_count;
    int inst_chunks;
    /* configuration */
    size_t chunk_size;
    int chunks;
    int64_t apply_ns, chunk_ns;
    ms_event_id apply_ev, chunk_ev;
    uint64_t installs_ok, installs_failed, chunks_seen;
} tfsm;

typedef struct texp {
    tfsm *f;
    uint64_t index, term, state, count;
    int next;
    unsigned char *buf;
} texp;

static uint64_t tfsm_digest(uint64_t state, uint64_t count) {
    return ms_digest_fold(state, count);
}

static void tfsm_put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t tfsm_get64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void tfsm_fill(unsigned char *buf, size_t size, int k, uint64_t index, uint64_t term,
                      uint64_t state, uint64_t count) {
    uint64_t hdr[6] = {TFSM_MAGIC, (uint64_t)k, index, term, state, count};
    for (int i = 0; i < 6; i++) tfsm_put64(buf + 8 * i, hdr[i]);
    uint64_t x = ms_digest_fold(state, (uint64_t)k);
    for (size_t i = TFSM_HDR; i < size; i++) buf[i] = (unsigned char)(x >> ((i % 8) * 8));
}

static int tfsm_apply_one(tfsm *f) {
    ms_raft_entry e;
    if (ms_raft_entry_at(f->g, f->node, f->applied + 1, &e)) return -1;
    uint64_t h = ms_digest_bytes(MS_DIGEST_INIT, e.data, e.len);
    if (ms_raft_applied(f->g, f->node, e.index)) return -1;
    f->state = ms_digest_fold(f->state, h);
    f->count += e.len > 0;
    f->applied = e.index;
    f->applied_term = e.term;
    if (f->chk) ms_check_state(f->chk, f->node, f->applied, tfsm_digest(f->state, f->count));
    return 0;
}

static void tfsm_on_apply(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)a, (void)b;
    tfsm *f = ctx;
    f->apply_ev = 0;
    if (f->installing || tfsm_apply_one(f)) return;
    if (f->applied < ms_raft_commit_index(f->g, f->node))
        f->apply_ev = ms_sched_after(s, f->apply_ns, TFSM_EV_APPLY, tfsm_on_apply, f,
                                     (uint64_t)f->node, f->applied + 1);
}

static void tfsm_committed(void *ctx, uint64_t commit) {
    tfsm *f = ctx;
    if (f->apply_ns <= 0) {
        while (f->applied < commit && !tfsm_apply_one(f)) {
        }
        return;
    }
    if (!f->apply_ev)
        f->apply_ev = ms_sched_after(f->s, f->apply_ns, TFSM_EV_APPLY, tfsm_on_apply, f,
                                     (uint64_t)f->node, f->applied + 1);
}

static void *tfsm_snap_open(void *ctx, uint64_t *index, uint64_t *term) {
    tfsm *f = ctx;
    texp *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->buf = malloc(f->chunk_size);
    if (!x->buf) {
        free(x);
        return NULL;
    }
    *x = (texp){f, f->applied, f->applied_term, f->state, f->count, 0, x->buf};
    *index = f->applied;
    *term = f->applied_term;
    return x;
}

static int tfsm_snap_next(void *exporter, const void **buf, size_t *len) {
    texp *x = exporter;
    if (x->next >= x->f->chunks) return 0;
    tfsm_fill(x->buf, x->f->chunk_size, x->next, x->index, x->term, x->state, x->count);
    x->next++;
    *buf = x->buf;
    *len = x->f->chunk_size;
    return 1;
}

static void tfsm_snap_close(void *exporter) {
    texp *x = exporter;
    free(x->buf);
    free(x);
}

static uint64_t tfsm_snap_size(void *exporter) {
    texp *x = exporter;
    return (uint64_t)x->f->chunks * x->f->chunk_size;
}

static int tfsm_install_begin(void *ctx, uint64_t index, uint64_t term) {
    tfsm *f = ctx;
    if (f->apply_ev) ms_sched_cancel(f->s, f->apply_ev);
    f->apply_ev = 0;
    f->installing = 1;
    f->inst_index = index;
    f->inst_term = term;
    f->inst_chunks = 0;
    return 0;
}

/* Check chunk k against the install's index and its own header. */
static int tfsm_check_chunk(tfsm *f, const unsigned char *p, size_t len) {
    if (len != f->chunk_size || tfsm_get64(p) != TFSM_MAGIC) return -1;
    if (tfsm_get64(p + 8) != (uint64_t)f->inst_chunks || tfsm_get64(p + 16) != f->inst_index ||
        tfsm_get64(p + 24) != f->inst_term)
        return -1;
    uint64_t state = tfsm_get64(p + 32), count = tfsm_get64(p + 40);
    unsigned char *want = malloc(len);
    if (!want) return -1;
    tfsm_fill(want, len, f->inst_chunks, f->inst_index, f->inst_term, state, count);
    int same = memcmp(want, p, len) == 0;
    free(want);
    if (!same) return -1;
    f->inst_state = state;
    f->inst_count = count;
    f->inst_chunks++;
    return 0;
}

static void tfsm_on_chunk(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    tfsm *f = ctx;
    f->chunk_ev = 0;
    ms_raft_snap_chunk_done(f->g, f->node, f->chunk_ok);
}

static int tfsm_install_chunk(void *ctx, const void *buf, size_t len) {
    tfsm *f = ctx;
    f->chunks_seen++;
    int rc = tfsm_check_chunk(f, buf, len);
    if (f->chunk_ns <= 0) return rc;
    f->chunk_ok = rc == 0;
    f->chunk_ev = ms_sched_after(f->s, f->chunk_ns, TFSM_EV_CHUNK, tfsm_on_chunk, f,
                                 (uint64_t)f->node, (uint64_t)f->inst_chunks);
    return 1;
}

static void tfsm_install_end(void *ctx, int ok) {
    tfsm *f = ctx;
    f->installing = 0;
    if (!ok || f->inst_chunks != f->chunks) {
        f->installs_failed++;
        return;
    }
    f->installs_ok++;
    f->state = f->inst_state;
    f->count = f->inst_count;
    f->applied = f->inst_index;
    f->applied_term = f->inst_term;
    if (f->chk) ms_check_state(f->chk, f->node, f->applied, tfsm_digest(f->state, f->count));
}

static void tfsm_crash(void *ctx) {
    tfsm *f = ctx;
    if (f->apply_ev) ms_sched_cancel(f->s, f->apply_ev);
    if (f->chunk_ev) ms_sched_cancel(f->s, f->chunk_ev);
    f->apply_ev = f->chunk_ev = 0;
    f->installing = 0; /* the aside state is discarded */
}

static uint64_t tfsm_restart(void *ctx) {
    return ((tfsm *)ctx)->applied;
}

static ms_raft_fsm tfsm_iface(tfsm *f) {
    ms_raft_fsm i = {f,
                     tfsm_committed,
                     tfsm_snap_open,
                     tfsm_snap_next,
                     tfsm_snap_close,
                     tfsm_snap_size,
                     tfsm_install_begin,
                     tfsm_install_chunk,
                     tfsm_install_end,
                     tfsm_crash,
                     tfsm_restart,
                     NULL,
                     NULL};
    return i;
}

/* A cluster: scheduler, net, checker, raft group and one tfsm per node. */
#define TC_MAX 7
typedef struct tcluster {
    ms_sched *s;
    ms_net *net;
    ms_check *chk;
    ms_raft *g;
    int n;
    tfsm f[TC_MAX];
} tcluster;

/* Build and start a cluster from cfg (cfg->n nodes, cfg->seed also seeds
 * the net). Snapshots: 4 chunks of 16 KiB, applied synchronously. */
static tcluster *tc_new(const ms_raft_config *cfg) {
    tcluster *c = calloc(1, sizeof *c);
    c->n = cfg->n;
    c->s = ms_sched_new();
    c->net = ms_net_new(c->s, cfg->n, cfg->seed);
    c->chk = ms_check_new(c->s);
    c->g = ms_raft_new(c->s, c->net, c->chk, cfg);
    for (int i = 0; i < c->n; i++) {
        tfsm *f = &c->f[i];
        f->g = c->g;
        f->chk = c->chk;
        f->s = c->s;
        f->node = i;
        f->chunk_size = 16384;
        f->chunks = 4;
        ms_raft_fsm iface = tfsm_iface(f);
        ms_raft_set_fsm(c->g, i, &iface);
    }
    ms_raft_start(c->g);
    return c;
}

static void tc_free(tcluster *c) {
    ms_raft_free(c->g);
    ms_net_free(c->net);
    ms_check_free(c->chk);
    ms_sched_free(c->s);
    free(c);
}

/* Run until virtual time t (ns). */
static void tc_run_to(tcluster *c, int64_t t) {
    ms_sched_run(c->s, t, 0);
}

/* Propose an 8-byte payload v on the current leader; its index or 0. */
static uint64_t tc_propose(tcluster *c, uint64_t v) {
    int l = ms_raft_find_leader(c->g);
    if (l < 0) return 0;
    unsigned char p[8];
    tfsm_put64(p, v);
    uint64_t idx = 0;
    return ms_raft_propose(c->g, l, p, sizeof p, &idx, NULL) == MS_RAFT_OK ? idx : 0;
}

#endif

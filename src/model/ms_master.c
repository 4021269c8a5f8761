/* One master: the raft FSM over its store (the apply pipeline at a modelled
 * rate, snapshot export as leader, snapshot install as follower in the
 * scenario's mode), its phase and its apply gate. */
#include "ms_cluster_impl.h"

#include "ms_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const phase_names[] = {"serving", "applying", "loading", "down"};

const char *ms_phase_name(ms_phase p) {
    return p >= MS_PHASE_SERVING && p <= MS_PHASE_DOWN ? phase_names[p] : "unknown";
}

static int64_t per_entry_ns(const ms_master *m) {
    double rate = m->c->cfg.apply_rate * m->apply_scale;
    return rate > 0 ? (int64_t)(1e9 / rate + 0.5) : 0;
}

void ms__master_set_phase(ms_master *m, ms_phase p) {
    if (m->phase == p) return;
    int64_t now = ms_sched_now(m->c->s);
    ms_metrics_close(&m->c->metrics.phases, m->phase_interval, now);
    m->phase = p;
    m->phase_interval = ms_metrics_open(&m->c->metrics.phases, m->idx, now, (int)p);
    ms__changed(m->c);
}

/* --- apply pipeline ------------------------------------------------------- */

static void on_apply(ms_sched *s, void *ctx, uint64_t a, uint64_t b);

static void schedule_apply(ms_master *m) {
    if (m->apply_ev || m->imp || m->phase == MS_PHASE_DOWN) return;
    if (ms_raft_applied_index(m->c->raft, m->idx) >= m->commit_seen) return;
    m->apply_ev =
        ms_sched_after(m->c->s, per_entry_ns(m), EV_APPLY, on_apply, m, (uint64_t)m->idx, 0);
}

/* Apply the next committed entry: a write, or a leader's no-op. */
static void on_apply(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    ms_master *m = ctx;
    ms_cluster *c = m->c;
    m->apply_ev = 0;
    uint64_t next = ms_raft_applied_index(c->raft, m->idx) + 1;
    ms_raft_entry e;
    if (next > m->commit_seen || ms_raft_entry_at(c->raft, m->idx, next, &e) != 0) return;
    ms_write w;
    char err[128];
    if (e.len == 0 || ms_write_decode(e.data, e.len, &w) != 0) {
        ms_write_mark_applied(m->store, e.index);
    } else if (ms_write_apply(m->store, &w, e.index, err, sizeof err) < 0) {
        ms_check_fail(c->check, m->idx, "apply of entry %llu failed: %s",
                      (unsigned long long)e.index, err);
    }
    m->applied_term = e.term;
    ms_raft_applied(c->raft, m->idx, e.index);
    /* Replicas must agree on contents at the same index; a full digest is
     * O(store), so it is compared every 1000th index and after installs. */
    if (e.index % 1000 == 0) ms_check_state(c->check, m->idx, e.index, ms_store_digest(m->store));
    schedule_apply(m);
}

static void fsm_committed(void *ctx, uint64_t commit) {
    ms_master *m = ctx;
    if (commit > m->commit_seen) m->commit_seen = commit;
    ms__commit_advanced(m->c, commit);
    schedule_apply(m);
}

/* --- snapshot export (leader side) ----------------------------------------- */

typedef struct {
    ms_snap_exp *e;
} exporter;

static void *fsm_snap_open(void *ctx, uint64_t *index, uint64_t *term) {
    ms_master *m = ctx;
    ms_version *v = ms_store_snapshot(m->store);
    if (!v) return NULL;
    ms_snap_opts o = {m->c->cfg.chunk_entries, m->c->cfg.chunk_bytes, m->applied_term};
    exporter *x = malloc(sizeof *x);
    if (x) x->e = ms_snap_export_begin(v, &o);
    *index = ms_version_applied(v);
    *term = m->applied_term;
    ms_version_release(v); /* the exporter holds its own reference */
    if (!x || !x->e) {
        free(x);
        return NULL;
    }
    return x;
}

static int fsm_snap_next(void *p, const void **buf, size_t *len) {
    char err[128];
    return ms_snap_export_next(((exporter *)p)->e, buf, len, err, sizeof err);
}

static void fsm_snap_close(void *p) {
    exporter *x = p;
    ms_snap_export_end(x->e);
    free(x);
}

/* --- snapshot install (follower side) -------------------------------------- */

static void apply_ended(ms_master *m) {
    ms_cluster *c = m->c;
    ms_version_release(m->prev);
    m->prev = NULL;
    c->applying--;
    ms_metrics_close(&c->metrics.applies, m->apply_interval, ms_sched_now(c->s));
    ms_gate_end(m->gate);
    if (c->pol.on_apply) {
        ms_node_state ns;
        ms__node_state(c, m->idx, &ns);
        c->pol.on_apply(c->pol.ud, &ns, 0);
    }
}

static int fsm_install_begin(void *ctx, uint64_t index, uint64_t term) {
    ms_master *m = ctx;
    ms_cluster *c = m->c;
    if (m->imp) return -1;
    ms_sched_cancel(c->s, m->apply_ev);
    m->apply_ev = 0;
    m->imp = ms_snap_import_begin(m->store, c->cfg.mode);
    if (!m->imp) return -1;
    if (c->cfg.mode == MS_SNAP_ASIDE) m->prev = ms_store_snapshot(m->store);
    m->install_index = index;
    m->install_term = term;
    m->applied_before_install = ms_store_applied(m->store);
    c->applying++;
    c->apply_epoch++;
    m->apply_interval =
        ms_metrics_open(&c->metrics.applies, m->idx, ms_sched_now(c->s), (int)c->cfg.mode);
    ms_gate_begin(m->gate);
    ms__master_set_phase(m, MS_PHASE_APPLYING);
    if (c->pol.on_apply) {
        ms_node_state ns;
        ms__node_state(c, m->idx, &ns);
        c->pol.on_apply(c->pol.ud, &ns, 1);
    }
    return 0;
}

/* Entries in a data frame (its payload starts with a u32 count); header
 * and end frames carry none. */
static uint64_t frame_entries(const unsigned char *f, size_t len) {
    if (len < MS_SNAP_HEAD_BYTES + 4 || f[8] != MS_SNAP_DATA) return 0;
    const unsigned char *p = f + MS_SNAP_HEAD_BYTES;
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
}

static void on_chunk(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    ms_master *m = ctx;
    char err[256];
    m->chunk_ev = 0;
    int rc = ms_snap_import_chunk(m->imp, m->chunk, m->chunk_len, err, sizeof err);
    free((void *)m->chunk);
    m->chunk = NULL;
    if (rc != 0) ms_check_fail(m->c->check, m->idx, "snapshot chunk rejected: %s", err);
    ms__changed(m->c);
    ms_raft_snap_chunk_done(m->c->raft, m->idx, rc == 0);
}

/* A chunk arrived: it is applied after the time its entries take at the
 * apply rate (the raft loop is blocked meanwhile: one chunk at a time). */
static int fsm_install_chunk(void *ctx, const void *buf, size_t len) {
    ms_master *m = ctx;
    if (!m->imp) return -1;
    void *copy = malloc(len ? len : 1);
    if (!copy) return -1;
    memcpy(copy, buf, len);
    m->chunk = copy;
    m->chunk_len = len;
    int64_t dt = (int64_t)frame_entries(copy, len) * per_entry_ns(m);
    m->chunk_ev = ms_sched_after(m->c->s, dt, EV_CHUNK, on_chunk, m, (uint64_t)m->idx, 0);
    return 1;
}

static void fsm_install_end(void *ctx, int ok) {
    ms_master *m = ctx;
    ms_cluster *c = m->c;
    char err[256];
    if (ok && ms_snap_import_finish(m->imp, err, sizeof err) == 0) {
        m->applied_term = m->install_term;
        ms_check_state(c->check, m->idx, m->install_index, ms_store_digest(m->store));
    } else {
        ms_snap_import_abort(m->imp);
        /* raft resumes after the applied index it had: the store must match
         * it, which only an aside apply guarantees; otherwise it is empty. */
        if (ms_store_state_of(m->store) != MS_STORE_OPEN) {
            ms_store_clear(m->store);
            ms_store_set_state(m->store, MS_STORE_OPEN);
        }
    }
    m->imp = NULL;
    apply_ended(m);
    ms__master_set_phase(m, MS_PHASE_SERVING);
    ms__master_role_check(m);
    schedule_apply(m);
}

/* --- crash and restart ----------------------------------------------------- */

void ms__master_crash(ms_master *m) {
    ms_cluster *c = m->c;
    ms_sched_cancel(c->s, m->apply_ev);
    ms_sched_cancel(c->s, m->chunk_ev);
    ms_sched_cancel(c->s, m->loading_ev);
    m->apply_ev = m->chunk_ev = m->loading_ev = 0;
    free((void *)m->chunk);
    m->chunk = NULL;
    if (m->imp) {
        ms_snap_import_abort(m->imp); /* aside: live intact; else marked broken */
        m->imp = NULL;
        apply_ended(m);
    }
    m->was_leader = 0;
    m->commit_seen = 0;
    ms__master_set_phase(m, MS_PHASE_DOWN);
    ms__reads_node_down(c, m->idx);
}

static void fsm_crash(void *ctx) {
    ms__master_crash(ctx);
}

/* The store is durable (RocksDB in CubeFS): it restarts as of its last
 * applied entry, unless an apply left it unusable, in which case it starts
 * empty and raft must send a snapshot. */
static uint64_t fsm_restart(void *ctx) {
    ms_master *m = ctx;
    if (ms_store_state_of(m->store) != MS_STORE_OPEN) {
        ms_store_clear(m->store);
        ms_store_set_state(m->store, MS_STORE_OPEN);
    }
    return ms_store_applied(m->store);
}

void ms__master_restarted(ms_master *m) {
    ms__master_set_phase(m, MS_PHASE_SERVING);
    m->commit_seen = ms_raft_commit_index(m->c->raft, m->idx);
}

/* --- leadership and the loading phase ------------------------------------- */

static void on_loaded(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    ms_master *m = ctx;
    m->loading_ev = 0;
    if (m->phase == MS_PHASE_LOADING) ms__master_set_phase(m, MS_PHASE_SERVING);
}

/* A node that has just become leader rebuilds its in-memory view (CubeFS's
 * "meta not ready") for store keys / load_rate seconds. */
void ms__master_role_check(ms_master *m) {
    ms_cluster *c = m->c;
    int leader = ms_raft_role_of(c->raft, m->idx) == MS_RAFT_LEADER;
    if (leader && !m->was_leader && c->cfg.load_rate > 0 && m->phase == MS_PHASE_SERVING) {
        int64_t dt = (int64_t)((double)ms_store_count(m->store) / c->cfg.load_rate * 1e9);
        ms__master_set_phase(m, MS_PHASE_LOADING);
        m->loading_ev = ms_sched_after(c->s, dt, EV_LOADED, on_loaded, m, (uint64_t)m->idx, 0);
    }
    m->was_leader = leader;
}

void ms__master_fsm(ms_master *m, ms_raft_fsm *fsm) {
    memset(fsm, 0, sizeof *fsm);
    fsm->ctx = m;
    fsm->committed = fsm_committed;
    fsm->snap_open = fsm_snap_open;
    fsm->snap_next = fsm_snap_next;
    fsm->snap_close = fsm_snap_close;
    fsm->snap_install_begin = fsm_install_begin;
    fsm->snap_install_chunk = fsm_install_chunk;
    fsm->snap_install_end = fsm_install_end;
    fsm->crash = fsm_crash;
    fsm->restart = fsm_restart;
}

int ms__master_init(ms_cluster *c, int i) {
    ms_master *m = &c->m[i];
    memset(m, 0, sizeof *m);
    m->c = c;
    m->idx = i;
    snprintf(m->name, sizeof m->name, "m%d", (i + 1) % 100);
    m->apply_scale = 1.0;
    m->store = ms_store_new(&m->mem);
    m->gate = ms_gate_new(c->s);
    if (!m->store || !m->gate) return -1;
    char err[256];
    if (ms_gen_build(m->store, &c->cfg.image, c->cfg.seed, NULL, err, sizeof err) != 0) {
        snprintf(c->err, sizeof c->err, "cluster image: %.200s", err);
        return -1;
    }
    m->phase_interval = ms_metrics_open(&c->metrics.phases, i, 0, MS_PHASE_SERVING);
    return 0;
}

void ms__master_free(ms_master *m) {
    if (m->imp) ms_snap_import_abort(m->imp);
    ms_version_release(m->prev);
    free((void *)m->chunk);
    ms_gate_free(m->gate);
    ms_store_free(m->store);
}

void ms__node_state(const ms_cluster *c, int i, ms_node_state *o) {
    const ms_master *m = &c->m[i];
    ms_raft_role r = ms_raft_role_of(c->raft, i);
    static const char *const roles[] = {"follower", "candidate", "candidate", "leader", "down"};
    memset(o, 0, sizeof *o);
    o->name = m->name;
    o->role = roles[r <= MS_RAFT_DOWN ? r : MS_RAFT_DOWN];
    o->phase = m->phase;
    o->term = ms_raft_term(c->raft, i);
    o->applied = ms_store_applied(m->store);
    o->commit = c->commit_max;
    o->lag = o->commit > o->applied ? o->commit - o->applied : 0;
    if (m->imp) {
        ms_snap_progress p = ms_snap_import_progress(m->imp);
        o->apply_progress = p.total ? (double)p.entries / (double)p.total : 0;
    }
    o->stale_index = m->prev ? ms_version_applied(m->prev) : 0;
    o->waiters = (int)ms_gate_stats_get(m->gate)->waiting;
    o->store_keys = ms_store_count(m->store);
    o->mem_bytes = m->mem.bytes_in_use;
    o->mem_peak = m->mem.peak;
}

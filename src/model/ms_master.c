/* One master: the raft FSM over its store (the apply pipeline at a modelled
 * rate, snapshot export as leader, snapshot install as follower in the
 * scenario's mode), its phase and its apply gate. */
#include "ms_cluster_impl.h"

#include "ms_layout.h"
#include "ms_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const phase_names[] = {"serving", "applying", "loading", "down"};

const char *ms_phase_name(ms_phase p) {
    return p >= MS_PHASE_SERVING && p <= MS_PHASE_DOWN ? phase_names[p] : "unknown";
}

/* Apply costs: a snapshot key at snapshot.apply_rate; a log entry at
 * log.apply_rate (CubeFS: one synced RocksDB batch each), or at the
 * snapshot rate when that is 0. */
static int64_t ns_at(const ms_master *m, double per_s) {
    double rate = per_s / m->apply_scale;
    return rate > 0 ? (int64_t)(1e9 / rate + 0.5) : 0;
}

static int64_t per_key_ns(const ms_master *m) {
    return ns_at(m, m->c->cfg.apply_rate);
}

static int64_t per_entry_ns(const ms_master *m) {
    const ms_cluster_config *cfg = &m->c->cfg;
    return ns_at(m, cfg->log_apply_rate > 0 ? cfg->log_apply_rate : cfg->apply_rate);
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
    ms_write w = {0};
    char err[128];
    if (e.len == 0 || ms_write_decode(e.data, e.len, &w) != 0) {
        w.op = 0;
        ms_write_mark_applied(m->store, e.index);
    } else if (ms_write_apply(m->store, &w, e.index, err, sizeof err) < 0) {
        ms_check_fail(c->check, m->idx, "apply of entry %llu failed: %s",
                      (unsigned long long)e.index, err);
    }
    if (c->on_op) {
        ms_op_record h = {.kind = MS_OPR_APPLY,
                          .t = ms_sched_now(s),
                          .node = m->idx,
                          .op = w.op,
                          .a = w.vol,
                          .b = w.node,
                          .index = e.index,
                          .term = e.term};
        c->on_op(c->op_ctx, &h);
    }
    m->applied_term = e.term;
    ms_raft_applied(c->raft, m->idx, e.index);
    /* Replicas must agree on contents at the same index; a full digest is
     * O(store), so it is compared every check_every-th index (about an
     * eighth of the store's keys: ~8 key hashes per entry) and at every
     * snapshot (export and install). */
    if (e.index % c->check_every == 0)
        ms_check_state(c->check, m->idx, e.index, ms_store_digest(m->store));
    schedule_apply(m);
}

static void fsm_committed(void *ctx, uint64_t commit) {
    ms_master *m = ctx;
    if (commit > m->commit_seen) m->commit_seen = commit;
    ms__commit_advanced(m->c, m->idx, commit);
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
    /* the follower that installs it reports its digest at this index too */
    ms_check_state(m->c->check, m->idx, ms_version_applied(v), ms_version_digest(v));
    /* records are charged at their format-1 sizes: docs/cubefs.md */
    ms_snap_opts o = {m->c->cfg.chunk_entries, m->c->cfg.chunk_bytes, m->applied_term,
                      ms_layout_v1_size};
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

static size_t fsm_snap_charged(void *p) {
    return ms_snap_export_charged(((exporter *)p)->e);
}

static void fsm_snap_close(void *p) {
    exporter *x = p;
    ms_snap_export_end(x->e);
    free(x);
}

/* --- snapshot install (follower side) -------------------------------------- */

static void tell_policy(ms_master *m, int begin) {
    ms_cluster *c = m->c;
    if (!c->pol.on_apply) return;
    ms_node_state ns;
    ms__node_state(c, m->idx, &ns);
    c->pol.on_apply(c->pol.ud, &ns, begin);
}

/* The node starts applying a snapshot (or, its store lost, waiting for
 * one): the gate closes, reads see phase `applying`. */
static void apply_began(ms_master *m) {
    ms_cluster *c = m->c;
    c->applying++;
    c->apply_epoch++;
    m->apply_interval =
        ms_metrics_open(&c->metrics.applies, m->idx, ms_sched_now(c->s), (int)c->cfg.mode);
    ms_gate_begin(m->gate);
    ms__master_set_phase(m, MS_PHASE_APPLYING);
    tell_policy(m, 1);
}

static void apply_ended(ms_master *m) {
    ms_cluster *c = m->c;
    ms_version_release(m->prev);
    m->prev = NULL;
    c->applying--;
    ms_metrics_close(&c->metrics.applies, m->apply_interval, ms_sched_now(c->s));
    ms_gate_end(m->gate);
    tell_policy(m, 0);
}

/* What a reader of a store left unusable by an interrupted install sees
 * until a snapshot replaces it: reopen's DB is closed (a read crashes);
 * inplace's half-loaded contents are live (a read may be torn). */
static void show_lost_store(ms_master *m) {
    ms_store_state st = m->c->cfg.mode == MS_SNAP_REOPEN ? MS_STORE_CLOSED : MS_STORE_OPEN;
    ms_store_set_state(m->store, st);
}

/* Give up the install in progress; the store is lost when the importer
 * had touched it (reopen, inplace) or it was lost before. */
static void import_abandon(ms_master *m) {
    ms_snap_import_abort(m->imp);
    m->imp = NULL;
    if (ms_store_state_of(m->store) != MS_STORE_OPEN) m->lost = 1;
    if (m->lost) show_lost_store(m);
}

static int fsm_install_begin(void *ctx, uint64_t index, uint64_t term) {
    ms_master *m = ctx;
    ms_cluster *c = m->c;
    if (m->imp) return -1;
    ms_sched_cancel(c->s, m->apply_ev);
    m->apply_ev = 0;
    if (!m->lost) ms__reads_apply_begins(c, m->idx);
    m->imp = ms_snap_import_begin(m->store, c->cfg.mode);
    if (!m->imp) return -1;
    if (c->cfg.mode == MS_SNAP_ASIDE) m->prev = ms_store_snapshot(m->store);
    m->install_index = index;
    m->install_term = term;
    m->applied_before_install = ms_store_applied(m->store);
    if (!m->lost) apply_began(m); /* a lost store is applying already */
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
    uint64_t keys = frame_entries(copy, len);
    if (keys) ms_snap_import_start_body(m->imp); /* the apply shows from its first key */
    int64_t dt = (int64_t)keys * per_key_ns(m);
    m->chunk_ev = ms_sched_after(m->c->s, dt, EV_CHUNK, on_chunk, m, (uint64_t)m->idx, 0);
    return 1;
}

static void fsm_install_end(void *ctx, int ok) {
    ms_master *m = ctx;
    ms_cluster *c = m->c;
    char err[256];
    if (ok && ms_snap_import_finish(m->imp, err, sizeof err) == 0) {
        m->imp = NULL;
        m->lost = 0;
        m->applied_term = m->install_term;
        ms_check_state(c->check, m->idx, m->install_index, ms_store_digest(m->store));
    } else {
        if (ok) ms_check_fail(c->check, m->idx, "snapshot finish failed: %s", err);
        /* raft resumes after the applied index it had: only an untouched
         * store (aside) still matches it; a touched one needs a snapshot,
         * and the node stays `applying` until one installs. */
        import_abandon(m);
        if (m->lost) {
            ms_raft_state_lost(c->raft, m->idx);
            ms__changed(c);
            return;
        }
    }
    apply_ended(m);
    ms__master_set_phase(m, MS_PHASE_SERVING);
    schedule_apply(m);
}

/* --- crash and restart ----------------------------------------------------- */

void ms__master_crash(ms_master *m) {
    ms_cluster *c = m->c;
    ms_sched_cancel(c->s, m->apply_ev);
    ms_sched_cancel(c->s, m->chunk_ev);
    ms_sched_cancel(c->s, m->loading_ev);
    ms_sched_cancel(c->s, m->role_ev);
    m->apply_ev = m->chunk_ev = m->loading_ev = m->role_ev = 0;
    free((void *)m->chunk);
    m->chunk = NULL;
    if (m->imp) import_abandon(m); /* aside: live intact; else lost */
    if (m->phase == MS_PHASE_APPLYING) apply_ended(m);
    m->was_leader = 0;
    m->commit_seen = 0;
    ms__master_set_phase(m, MS_PHASE_DOWN);
    ms__reads_node_down(c, m->idx);
    ms__scans_node_down(m);
    ms__cache_node_down(m);
}

static void fsm_crash(void *ctx) {
    ms__master_crash(ctx);
}

/* The store is durable (RocksDB in CubeFS): it restarts as of its last
 * applied entry, unless an interrupted install left it unusable: then raft
 * must send a snapshot before anything is applied to it. */
static uint64_t fsm_restart(void *ctx) {
    ms_master *m = ctx;
    return m->lost ? MS_RAFT_NO_STATE : ms_store_applied(m->store);
}

/* Up again: serving, or (store lost) applying until a snapshot installs. */
void ms__master_restarted(ms_master *m) {
    m->commit_seen = ms_raft_commit_index(m->c->raft, m->idx);
    if (m->lost)
        apply_began(m);
    else
        ms__master_set_phase(m, MS_PHASE_SERVING);
    ms__scans_node_up(m);
    ms__cache_node_up(m);
}

/* --- leadership and the loading phase ------------------------------------- */

static void on_loaded(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    ms_master *m = ctx;
    m->loading_ev = 0;
    if (m->phase == MS_PHASE_LOADING) ms__master_set_phase(m, MS_PHASE_SERVING);
}

/* A node that has just become leader rebuilds its in-memory view (CubeFS's
 * "meta not ready") for store keys / load_rate seconds; one that lost the
 * leadership meanwhile stops. */
void ms__master_role_check(ms_master *m) {
    ms_cluster *c = m->c;
    int leader = ms_raft_role_of(c->raft, m->idx) == MS_RAFT_LEADER;
    if (leader && !m->was_leader && c->cfg.load_rate > 0 && m->phase == MS_PHASE_SERVING) {
        int64_t dt = (int64_t)((double)ms_store_count(m->store) / c->cfg.load_rate * 1e9);
        ms__master_set_phase(m, MS_PHASE_LOADING);
        m->loading_ev = ms_sched_after(c->s, dt, EV_LOADED, on_loaded, m, (uint64_t)m->idx, 0);
    } else if (!leader && m->phase == MS_PHASE_LOADING) {
        ms_sched_cancel(c->s, m->loading_ev);
        m->loading_ev = 0;
        ms__master_set_phase(m, MS_PHASE_SERVING);
    }
    m->was_leader = leader;
}

static void on_role(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    ms_master *m = ctx;
    m->role_ev = 0;
    ms__master_role_check(m);
    ms__changed(m->c);
}

/* Raft changed the node's role: look at it in an event of its own at this
 * instant, outside raft's call stack (a phase change runs triggers, which
 * may crash nodes). */
static void fsm_role(void *ctx, ms_raft_role role, uint64_t term) {
    (void)role, (void)term;
    ms_master *m = ctx;
    if (!m->role_ev)
        m->role_ev = ms_sched_after(m->c->s, 0, EV_ROLE, on_role, m, (uint64_t)m->idx, 0);
}

void ms__master_fsm(ms_master *m, ms_raft_fsm *fsm) {
    memset(fsm, 0, sizeof *fsm);
    fsm->ctx = m;
    fsm->committed = fsm_committed;
    fsm->snap_open = fsm_snap_open;
    fsm->snap_next = fsm_snap_next;
    fsm->snap_close = fsm_snap_close;
    fsm->snap_charged = fsm_snap_charged;
    fsm->snap_install_begin = fsm_install_begin;
    fsm->snap_install_chunk = fsm_install_chunk;
    fsm->snap_install_end = fsm_install_end;
    fsm->crash = fsm_crash;
    fsm->restart = fsm_restart;
    fsm->role = fsm_role;
}

int ms__master_init(ms_cluster *c, int i) {
    ms_master *m = &c->m[i];
    memset(m, 0, sizeof *m);
    m->c = c;
    m->idx = i;
    snprintf(m->name, sizeof m->name, "m%d", (i + 1) % 100);
    m->apply_scale = 1.0;
    m->store = ms_store_from_base(c->image_ver, &m->mem);
    m->gate = ms_gate_new(c->s);
    if (!c->cfg.read_memo_off) m->memo = ms_ops_memo_new();
    if (!m->store || !m->gate || (!c->cfg.read_memo_off && !m->memo)) return -1;
    m->phase_interval = ms_metrics_open(&c->metrics.phases, i, 0, MS_PHASE_SERVING);
    return ms__cache_init(m);
}

void ms__master_free(ms_master *m) {
    if (m->imp) ms_snap_import_abort(m->imp);
    ms_version_release(m->prev);
    free((void *)m->chunk);
    ms_gate_free(m->gate);
    ms__cache_free(m);
    ms_ops_memo_free(m->memo);
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
    int64_t now = ms_sched_now(c->s), heard = ms_raft_last_contact(c->raft, i);
    o->last_contact = (double)(now - (heard >= 0 ? heard : 0)) / 1e9;
    if (m->imp) {
        ms_snap_progress p = ms_snap_import_progress(m->imp);
        o->apply_progress = p.total ? (double)p.entries / (double)p.total : 0;
    }
    o->stale_index = m->prev ? ms_version_applied(m->prev) : 0;
    o->waiters = (int)ms_gate_stats_get(m->gate)->waiting;
    o->store_keys = ms_store_count(m->store);
    o->mem_bytes = m->mem.bytes_in_use;
    o->mem_peak = m->mem.peak;
    ms_raft_status st;
    ms_raft_stats rs;
    if (ms_raft_status_of(c->raft, i, &st) == 0)
        o->log_entries = st.last_index + 1 - st.first_index;
    if (ms_raft_stats_of(c->raft, i, &rs) == 0) o->campaigns = rs.campaigns;
}

/* Background scans: readers of a master's own store that are not clients
 * (scans[] in settings.lua). CubeFS's is the follower's vol scan before
 * each cache pass (master/cluster.go getVolumeDpView: SeekForPrefix over
 * #vol#, a panic on any store error): under the reopen style it is what
 * meets the closed store, under inplace it lists a partial set of volumes.
 *
 * A scan goes through the same apply gate and policy as a client read: on
 * a node whose phase is not `serving` (or for every read when the policy
 * says so) the policy decides: serve (read the live store), stale (the
 * previous version, when there is one), wait (on the gate, then ask
 * again), fail or redirect (the scan is given up: `failed`). The read is
 * taken at the scan's start (CubeFS reads under a RocksDB snapshot) and
 * lasts cost_per_key per key read; the scan's outcome is classified as a
 * read's: fresh or stale against the commit index at its start, torn,
 * crash (the node crashes as by a read: ms__crash_by_read), failed. A
 * scan that feeds the cache hands its volume list to ms_cache.c, whose task
 * schedules it; any other scan runs every period, start to start. */
#include "ms_cluster_impl.h"

#include "ms_layout.h"

#include <stdio.h>
#include <string.h>

#define MAX_CONSULTATIONS 1000
#define NS 1000000000.0

static const ms_read_op SCAN_OPS[] = {MS_OP_LIST_VOLS, MS_OP_GET_CLUSTER};

static int feeds(const ms_cluster *c, int k) {
    return c->cache_on && c->cfg.scan[k].feeds_cache;
}

static void on_scan(ms_sched *s, void *ctx, uint64_t node, uint64_t k);
static void consult(ms_scan_run *r);

/* A periodic scan's next start (a cache-feeding one is started by the
 * cache task instead). */
static void schedule(ms_scan_run *r, int64_t at) {
    ms_cluster *c = r->c;
    if (feeds(c, r->scan)) return;
    r->ev = ms_sched_at(c->s, at, EV_SCAN, on_scan, &c->m[r->node], (uint64_t)r->node,
                        (uint64_t)r->scan);
}

/* The scan is over with outcome o. */
static void end(ms_scan_run *r, ms_outcome o) {
    ms_cluster *c = r->c;
    ms_master *m = &c->m[r->node];
    ms_scan_stats *st = &c->scan_stats[r->scan];
    int64_t now = ms_sched_now(c->s);
    st->outcomes[o]++;
    st->waited += r->waited;
    ms_sched_fold(c->s, (uint64_t)o);
    r->stage = SCAN_IDLE;
    r->ev = 0;
    if (feeds(c, r->scan)) {
        ms__cache_scan_done(m, o == MS_OUT_FRESH || o == MS_OUT_STALE || o == MS_OUT_TORN);
        return;
    }
    int64_t next = r->arrived + c->cfg.scan[r->scan].period;
    schedule(r, next > now ? next : now);
}

static void on_step(ms_sched *s, void *ctx, uint64_t node, uint64_t k) {
    (void)s, (void)node, (void)k;
    ms_scan_run *r = ctx;
    r->ev = 0;
    if (r->stage == SCAN_READING) {
        end(r, r->out);
        return;
    }
    consult(r); /* SCAN_DECIDING: the policy's cost has passed */
}

/* The vols a cache-feeding scan finds in view v. */
static void list_vols(ms_master *m, const ms_view *v) {
    char key[MS_LAYOUT_KEY_MAX];
    size_t len;
    for (uint64_t vol = 1; vol <= m->c->image.volumes; vol++)
        m->listed[vol] = ms_view_get(v, key, ms_layout_key_vol(key, vol), &len) != NULL;
}

/* Read view v now; the scan ends after its keys' cost. */
static void read_view(ms_scan_run *r, const ms_view *v) {
    ms_cluster *c = r->c;
    ms_master *m = &c->m[r->node];
    const ms_scan_config *sc = &c->cfg.scan[r->scan];
    r->res = ms_ops_run_memo(m->memo, v, SCAN_OPS[sc->op], 0, 0);
    switch (r->res.verdict) {
    case MS_READ_CRASH:
        c->scan_stats[r->scan].outcomes[MS_OUT_CRASH]++;
        r->stage = SCAN_IDLE;
        ms__crash_by_read(c, m, "scan_crash"); /* resets this scan with the node */
        return;
    case MS_READ_TORN:
        r->out = MS_OUT_TORN;
        break;
    case MS_READ_UNUSABLE:
        r->out = MS_OUT_FAILED;
        break;
    default:
        r->out = r->res.applied >= c->commit_max ? MS_OUT_FRESH : MS_OUT_STALE;
    }
    if (feeds(c, r->scan) && r->out != MS_OUT_FAILED) list_vols(m, v);
    int64_t d = (int64_t)r->res.entries * sc->cost_per_key;
    c->scan_stats[r->scan].busy += d;
    r->stage = SCAN_READING;
    r->ev = ms_sched_after(c->s, d, EV_SCAN_STEP, on_step, r, (uint64_t)r->node, (uint64_t)r->scan);
}

static void on_gate(void *ctx, uint64_t runs, int timed_out) {
    ms_scan_run *r = ctx;
    ms_cluster *c = r->c;
    if (r->stage != SCAN_WAITING || runs != r->runs) return; /* a scan the node's crash ended */
    r->waited += ms_sched_now(c->s) - r->wait_start;
    r->timed_out = timed_out;
    if (!timed_out) r->wakeups++;
    consult(r);
}

/* Carry out the policy's decision. */
static void act(ms_scan_run *r) {
    ms_cluster *c = r->c;
    ms_master *m = &c->m[r->node];
    switch (r->dec.kind) {
    case MS_DEC_SERVE: {
        ms_view v = ms_store_view(m->store);
        read_view(r, &v);
        return;
    }
    case MS_DEC_STALE: {
        ms_view v = m->prev ? ms_version_view(m->prev) : ms_store_view(m->store);
        if (!m->prev && m->phase != MS_PHASE_SERVING) break; /* nothing older to read */
        read_view(r, &v);
        return;
    }
    case MS_DEC_WAIT:
        r->stage = SCAN_WAITING;
        r->wait_start = ms_sched_now(c->s);
        ms_gate_wait(m->gate, (int64_t)(r->dec.seconds * NS), on_gate, r, r->runs);
        return;
    default:
        break;
    }
    end(r, MS_OUT_FAILED);
}

/* Ask the policy what the scan does (as consult() does for a read). */
static void consult(ms_scan_run *r) {
    ms_cluster *c = r->c;
    if (++r->consultations > MAX_CONSULTATIONS) {
        end(r, MS_OUT_FAILED);
        return;
    }
    ms_node_state ns;
    ms__node_state(c, r->node, &ns);
    ms_read_state rs = {ms_ops_op_name(SCAN_OPS[c->cfg.scan[r->scan].op]),
                        -1,
                        (int)r->runs,
                        (double)r->arrived / NS,
                        (double)r->waited / NS,
                        r->wakeups,
                        r->timed_out,
                        0,
                        "scan"};
    c->scan_stats[r->scan].policy_calls++;
    if (ms__policy_ask(c, &rs, &ns, &r->dec) != 0) {
        end(r, MS_OUT_FAILED);
        return;
    }
    if (c->pol.cost > 0) {
        r->stage = SCAN_DECIDING;
        r->ev = ms_sched_after(c->s, (int64_t)(c->pol.cost * NS), EV_SCAN_STEP, on_step, r,
                               (uint64_t)r->node, (uint64_t)r->scan);
        return;
    }
    act(r);
}

/* Does scan k run on m now (its `on` against m's role)? */
static int runs_here(const ms_master *m, int k) {
    ms_scan_on on = (ms_scan_on)m->c->cfg.scan[k].on;
    int leader = ms_raft_role_of(m->c->raft, m->idx) == MS_RAFT_LEADER;
    return on == MS_SCAN_ALL || (on == MS_SCAN_LEADER) == leader;
}

void ms__scan_begin(ms_master *m, int k) {
    ms_cluster *c = m->c;
    ms_scan_run *r = &m->scan[k];
    if (r->stage != SCAN_IDLE || m->phase == MS_PHASE_DOWN) return;
    r->ev = 0;
    r->arrived = ms_sched_now(c->s);
    if (!runs_here(m, k)) {
        if (feeds(c, k)) {
            ms__cache_scan_done(m, 0);
        } else {
            schedule(r, r->arrived + c->cfg.scan[k].period);
        }
        return;
    }
    r->runs++;
    r->waited = 0;
    r->wakeups = r->timed_out = r->consultations = 0;
    c->scan_stats[k].runs++;
    if (m->phase != MS_PHASE_SERVING || c->pol.every_read) {
        consult(r);
        return;
    }
    ms_view v = ms_store_view(m->store);
    read_view(r, &v);
}

static void on_scan(ms_sched *s, void *ctx, uint64_t node, uint64_t k) {
    (void)s, (void)node;
    ms__scan_begin(ctx, (int)k);
}

void ms__scans_node_down(ms_master *m) {
    ms_cluster *c = m->c;
    for (int k = 0; k < c->cfg.scans; k++) {
        ms_scan_run *r = &m->scan[k];
        ms_sched_cancel(c->s, r->ev);
        r->ev = 0;
        r->stage = SCAN_IDLE;
        r->runs++; /* a gate wake-up of the scan that was cut short is ignored */
    }
}

void ms__scans_node_up(ms_master *m) {
    ms_cluster *c = m->c;
    int64_t now = ms_sched_now(c->s);
    for (int k = 0; k < c->cfg.scans; k++) schedule(&m->scan[k], now + c->cfg.scan[k].period);
}

int ms__scans_start(ms_cluster *c) {
    for (int i = 0; i < c->n; i++) {
        for (int k = 0; k < c->cfg.scans; k++) {
            ms_scan_run *r = &c->m[i].scan[k];
            r->c = c;
            r->node = i;
            r->scan = k;
        }
        ms__scans_node_up(&c->m[i]);
    }
    return 0;
}

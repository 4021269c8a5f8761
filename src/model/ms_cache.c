/* The follower cache of the leader's volume views: what a CubeFS follower
 * answers /client/partitions from (master/cluster.go followerReadManager;
 * docs/cubefs.md). Each master runs one cache task, as CubeFS's
 * scheduleToCheckFollowerReadCache does: on the leader a pass pushes every
 * volume's view to every follower; on a follower a pass first scans its own
 * store for the volume list (a cache-feeding scan, ms_scans.c: the store
 * reader that meets a snapshot apply), then fetches the view of each
 * volume it listed from the leader. A pass spreads its volumes over
 * cache.pass (CubeFS sleeps pass / volumes between them); the next starts
 * when it ends. An entry is a hit while it is younger than cache.expiry;
 * every cache.cleanup a follower drops the entries of volumes its last
 * scan did not list. A cached answer is the leader's view as of its
 * applied index when the entry was filled: complete, and stale by the
 * entries committed since.
 *
 * Model choices: a pass is carried out in at most PASS_STEPS steps (the
 * volumes of a step are filled at its end); a fetch adds the mean round
 * trip of the network to the pass, and draws nothing; the cache is warm at
 * time 0 (every entry filled at the image's applied index) and cold after
 * a crash. */
#include "ms_cluster_impl.h"

#include "ms_layout.h"

#include <stdlib.h>
#include <string.h>

#define PASS_STEPS 50
#define FIRST_TICK 1000000000LL /* CubeFS: the task's first tick after 1 s */

static uint64_t vols(const ms_cluster *c) {
    return c->image.volumes;
}

int ms__cache_init(ms_master *m) {
    ms_cluster *c = m->c;
    if (!c->cache_on) return 0;
    size_t n = (size_t)vols(c) + 1;
    m->cache_at = malloc(n * sizeof *m->cache_at);
    m->cache_index = malloc(n * sizeof *m->cache_index);
    m->listed = malloc(n);
    m->pass_vols = malloc(n * sizeof *m->pass_vols);
    if (!m->cache_at || !m->cache_index || !m->listed || !m->pass_vols) return -1;
    uint64_t applied = ms_store_applied(m->store);
    for (size_t v = 0; v < n; v++) {
        m->cache_at[v] = 0;
        m->cache_index[v] = applied;
    }
    memset(m->listed, 1, n);
    return 0;
}

void ms__cache_free(ms_master *m) {
    free(m->cache_at);
    free(m->cache_index);
    free(m->listed);
    free(m->pass_vols);
}

int ms__cache_ready(const ms_master *m, uint64_t vol) {
    const ms_cluster *c = m->c;
    if (!m->cache_at || vol < 1 || vol > vols(c) || m->cache_at[vol] < 0) return 0;
    return ms_sched_now(c->s) - m->cache_at[vol] <= c->cfg.cache_expiry;
}

uint64_t ms__cache_index(const ms_master *m, uint64_t vol) {
    return m->cache_index[vol];
}

static void on_cache(ms_sched *s, void *ctx, uint64_t a, uint64_t b);

static void arm(ms_master *m, int64_t at) {
    m->cache_ev = ms_sched_at(m->c->s, at, EV_CACHE, on_cache, m, (uint64_t)m->idx, 0);
}

/* The leader m serves answers: up, leading, its view loaded. */
static int serving_leader(const ms_cluster *c, int l) {
    return l >= 0 && ms_raft_role_of(c->raft, l) == MS_RAFT_LEADER &&
           c->m[l].phase == MS_PHASE_SERVING;
}

/* Fill vol's entry on follower f from leader l, if l can reach f. */
static int fill(ms_cluster *c, int l, int f, uint64_t vol) {
    if (c->m[f].phase == MS_PHASE_DOWN || ms_net_blocked(c->net, l, f) ||
        ms_net_blocked(c->net, f, l))
        return 0;
    c->m[f].cache_at[vol] = ms_sched_now(c->s);
    c->m[f].cache_index[vol] = ms_store_applied(c->m[l].store);
    return 1;
}

static uint64_t pass_steps(const ms_master *m) {
    return m->pass_n < PASS_STEPS ? m->pass_n : PASS_STEPS;
}

/* Step pass_next of the pass in progress: its share of the volumes. */
static void pass_step(ms_master *m) {
    ms_cluster *c = m->c;
    uint64_t steps = pass_steps(m);
    uint64_t lo = m->pass_next * m->pass_n / steps, hi = (m->pass_next + 1) * m->pass_n / steps;
    m->pass_next++;
    int l = m->pass_push ? m->idx : ms_raft_leader(c->raft, m->idx);
    if (!serving_leader(c, l) || (m->pass_push ? l != m->idx : l == m->idx)) return;
    for (uint64_t j = lo; j < hi; j++) {
        uint64_t v = m->pass_vols[j];
        if (m->pass_push) {
            for (int f = 0; f < c->n; f++)
                if (f != m->idx) c->cache.pushed += (uint64_t)fill(c, m->idx, f, v);
        } else {
            c->cache.pulled += (uint64_t)fill(c, l, m->idx, v);
        }
    }
}

/* When the first `done` vols of the pass are done: pushes sleep pass / n
 * before each vol; pulls fetch (a mean round trip), then sleep pass / n. */
static int64_t step_end(const ms_master *m, uint64_t done) {
    const ms_cluster *c = m->c;
    double per = (double)c->cfg.cache_pass / (double)m->pass_n;
    if (!m->pass_push) per += 2 * ms_dist_mean(&c->cfg.latency);
    return m->pass_start + (int64_t)(per * (double)done);
}

static void arm_step(ms_master *m) {
    arm(m, step_end(m, (m->pass_next + 1) * m->pass_n / pass_steps(m)));
}

static void begin_pass(ms_master *m, int push) {
    m->pass_push = push;
    m->pass_next = 0;
    m->pass_start = ms_sched_now(m->c->s);
    arm_step(m);
}

/* The vols present in the leader's view (its store: CubeFS's in-memory
 * vol map holds the same vols). */
static void leader_vols(ms_master *m) {
    ms_view v = ms_store_view(m->store);
    char key[MS_LAYOUT_KEY_MAX];
    size_t len;
    m->pass_n = 0;
    for (uint64_t vol = 1; vol <= vols(m->c); vol++)
        if (ms_view_get(&v, key, ms_layout_key_vol(key, vol), &len))
            m->pass_vols[m->pass_n++] = vol;
}

/* The feeding scan of this follower, or -1 (then it fetches every vol). */
static int feeding_scan(const ms_cluster *c) {
    for (int k = 0; k < c->cfg.scans; k++)
        if (c->cfg.scan[k].feeds_cache && c->cfg.scan[k].on != MS_SCAN_LEADER) return k;
    return -1;
}

/* A tick of the cache task: a step of the pass in progress, or the next
 * pass (the leader pushes; a follower scans, then pulls). */
static void on_cache(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    ms_master *m = ctx;
    ms_cluster *c = m->c;
    m->cache_ev = 0;
    int64_t now = ms_sched_now(c->s);
    if (m->pass_n && m->pass_next < pass_steps(m)) {
        pass_step(m);
        if (m->pass_next < pass_steps(m))
            arm_step(m);
        else
            arm(m, now); /* back to back: a pass takes the whole period */
        return;
    }
    m->pass_n = 0;
    if (ms_raft_role_of(c->raft, m->idx) == MS_RAFT_LEADER) {
        if (m->phase == MS_PHASE_SERVING) leader_vols(m);
        if (m->pass_n) {
            begin_pass(m, 1);
            return;
        }
        arm(m, now + c->cfg.cache_pass);
        return;
    }
    int k = feeding_scan(c);
    if (k >= 0) {
        ms__scan_begin(m, k); /* ms__cache_scan_done carries on */
        return;
    }
    memset(m->listed, 1, (size_t)vols(c) + 1);
    ms__cache_scan_done(m, 1);
}

void ms__cache_scan_done(ms_master *m, int ok) {
    ms_cluster *c = m->c;
    if (!c->cache_on || m->phase == MS_PHASE_DOWN) return;
    int64_t now = ms_sched_now(c->s);
    m->pass_n = 0;
    int l = ms_raft_leader(c->raft, m->idx);
    if (ok && l >= 0 && l != m->idx)
        for (uint64_t v = 1; v <= vols(c); v++)
            if (m->listed[v]) m->pass_vols[m->pass_n++] = v;
    /* CubeFS returns early with no vols listed or no leader: the next tick
     * comes a period after this one began */
    if (m->pass_n == 0) {
        arm(m, now + c->cfg.cache_pass);
        return;
    }
    begin_pass(m, 0);
}

static void on_cleanup(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s, (void)a, (void)b;
    ms_master *m = ctx;
    ms_cluster *c = m->c;
    if (ms_raft_role_of(c->raft, m->idx) != MS_RAFT_LEADER) {
        for (uint64_t v = 1; v <= vols(c); v++) {
            if (m->listed[v] || m->cache_at[v] < 0) continue;
            m->cache_at[v] = -1;
            c->cache.dropped++;
        }
    }
    m->cleanup_ev =
        ms_sched_after(c->s, c->cfg.cache_cleanup, EV_CLEANUP, on_cleanup, m, (uint64_t)m->idx, 0);
}

void ms__cache_node_down(ms_master *m) {
    ms_cluster *c = m->c;
    if (!c->cache_on) return;
    ms_sched_cancel(c->s, m->cache_ev);
    ms_sched_cancel(c->s, m->cleanup_ev);
    m->cache_ev = m->cleanup_ev = 0;
    m->pass_n = m->pass_next = 0;
    for (uint64_t v = 0; v <= vols(c); v++) m->cache_at[v] = -1;
    memset(m->listed, 1, (size_t)vols(c) + 1);
}

void ms__cache_node_up(ms_master *m) {
    ms_cluster *c = m->c;
    if (!c->cache_on) return;
    arm(m, ms_sched_now(c->s) + FIRST_TICK);
    m->cleanup_ev =
        ms_sched_after(c->s, c->cfg.cache_cleanup, EV_CLEANUP, on_cleanup, m, (uint64_t)m->idx, 0);
}

int ms__cache_start(ms_cluster *c) {
    for (int i = 0; i < c->n && c->cache_on; i++) ms__cache_node_up(&c->m[i]);
    return 0;
}

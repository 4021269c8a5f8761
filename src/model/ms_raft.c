/* The raft group: configuration, lifecycle, crash and restart, compaction
 * faults and observability. The protocol lives in ms_raft_elect.c,
 * ms_raft_repl.c and ms_raft_snap.c. */
#include "ms_raft_impl.h"

#include <stdlib.h>
#include <string.h>

#define MS_NS 1000000LL

void ms_raft_config_default(ms_raft_config *cfg, int n) {
    memset(cfg, 0, sizeof *cfg);
    cfg->n = n;
    cfg->seed = 1;
    cfg->election_min = 1000 * MS_NS;
    cfg->election_max = 2000 * MS_NS;
    cfg->heartbeat = 200 * MS_NS;
    cfg->snap_timeout = 10000 * MS_NS;
    cfg->retain = 20000;
    cfg->max_batch = 256;
    cfg->msg_bytes = 64;
    cfg->entry_bytes = 24;
    cfg->prevote = 0;
    cfg->check_quorum = 1;
}

static int config_ok(const ms_raft_config *c, const ms_net *net) {
    return c->n >= 1 && c->n <= 1024 && ms_net_size(net) == c->n && c->election_min > 0 &&
           c->election_max >= c->election_min && c->heartbeat > 0 &&
           c->heartbeat < c->election_min && c->snap_timeout > 0 && c->max_batch > 0 &&
           c->tick >= 0 && c->tick <= c->heartbeat && c->lease_timeout >= 0 && c->quorum_check >= 0;
}

/* Tick mode: a node's ticker starts at a phase of its own (drawn when it
 * starts or restarts; continuous mode draws nothing). */
static void start_ticker(rnode *nd) {
    ms_raft *g = nd->g;
    if (g->cfg.tick > 0) nd->tick_phase = (int64_t)ms_rng_below(&g->rng, (uint64_t)g->cfg.tick);
}

int64_t ms__raft_next_tick(const rnode *nd, int64_t t) {
    int64_t T = nd->g->cfg.tick;
    if (t < nd->tick_phase) return nd->tick_phase;
    return nd->tick_phase + ((t - nd->tick_phase) / T + 1) * T;
}

static int valid(const ms_raft *g, int node) {
    return node >= 0 && node < g->cfg.n;
}

ms_raft *ms_raft_new(ms_sched *s, ms_net *net, ms_check *chk, const ms_raft_config *cfg) {
    if (!s || !net || !cfg || !config_ok(cfg, net)) return NULL;
    ms_raft *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->sched = s;
    g->net = net;
    g->chk = chk;
    g->cfg = *cfg;
    g->quorum = cfg->n / 2 + 1;
    g->in_flight.next = g->in_flight.prev = &g->in_flight;
    ms_rng_init(&g->rng, cfg->seed, "raft");
    g->nodes = calloc((size_t)cfg->n, sizeof *g->nodes);
    g->scratch = calloc((size_t)cfg->n, sizeof *g->scratch);
    g->noop = ms__rblob_new(NULL, 0);
    if (!g->nodes || !g->scratch || !g->noop) goto fail;
    for (int i = 0; i < cfg->n; i++) {
        rnode *nd = &g->nodes[i];
        nd->g = g;
        nd->id = i;
        nd->up = 1;
        nd->voted_for = -1;
        nd->leader = -1;
        nd->transferee = -1;
        nd->last_leader_contact = -1;
        nd->votes = calloc((size_t)cfg->n, 1);
        nd->prog = calloc((size_t)cfg->n, sizeof *nd->prog);
        if (!nd->votes || !nd->prog) goto fail;
        ms_net_set_up(net, i, 1);
    }
    return g;
fail:
    ms_raft_free(g);
    return NULL;
}

void ms_raft_free(ms_raft *g) {
    if (!g) return;
    ms__raft_free_in_flight(g);
    for (int i = 0; g->nodes && i < g->cfg.n; i++) {
        rnode *nd = &g->nodes[i];
        for (int p = 0; nd->prog && p < g->cfg.n; p++)
            if (nd->prog[p].exp) nd->fsm.snap_close(nd->prog[p].exp);
        ms__rlog_free(&nd->log);
        free(nd->votes);
        free(nd->prog);
    }
    ms__rblob_unref(g->noop);
    ms__raft_el_free(g);
    free(g->nodes);
    free(g->scratch);
    free(g);
}

int ms_raft_set_fsm(ms_raft *g, int node, const ms_raft_fsm *fsm) {
    if (!valid(g, node) || !fsm || !fsm->committed) return MS_RAFT_EINVAL;
    int exports = fsm->snap_open && fsm->snap_next && fsm->snap_close;
    int imports = fsm->snap_install_begin && fsm->snap_install_chunk && fsm->snap_install_end;
    if ((fsm->snap_open && !exports) || (fsm->snap_install_begin && !imports))
        return MS_RAFT_EINVAL;
    g->nodes[node].fsm = *fsm;
    g->nodes[node].has_fsm = 1;
    return MS_RAFT_OK;
}

void ms_raft_start(ms_raft *g) {
    if (!g->elections) ms__raft_el_start(g);
    for (int i = 0; i < g->cfg.n; i++) {
        if (!g->nodes[i].up || g->nodes[i].election_ev) continue;
        start_ticker(&g->nodes[i]);
        ms__raft_reset_election(&g->nodes[i]);
    }
}

void ms_raft_start_elected(ms_raft *g, int leader) {
    int64_t now = ms_sched_now(g->sched);
    g->heard_leader = leader;
    g->heard_term = 1;
    for (int i = 0; i < g->cfg.n; i++) {
        rnode *nd = &g->nodes[i];
        nd->term = 1;
        nd->voted_for = leader;
        start_ticker(nd);
        if (i == leader) continue;
        nd->role = MS_RAFT_FOLLOWER;
        nd->leader = leader;
        nd->last_leader_contact = now;
        ms__raft_reset_election(nd);
    }
    ms__raft_lead(&g->nodes[leader]);
}

int ms_raft_snap_chunk_done(ms_raft *g, int node, int ok) {
    if (!valid(g, node)) return MS_RAFT_EINVAL;
    return ms__raft_chunk_done(&g->nodes[node], ok);
}

int ms_raft_crash(ms_raft *g, int node) {
    if (!valid(g, node)) return MS_RAFT_EINVAL;
    rnode *nd = &g->nodes[node];
    if (!nd->up) return MS_RAFT_EDOWN;
    for (int p = 0; p < g->cfg.n; p++)
        if (nd->prog[p].state == PR_SNAPSHOT) ms__raft_snap_abort_stream(nd, p, 0);
    ms__raft_stop_timers(nd);
    if (nd->installing) ms__raft_install_drop(nd);
    if (nd->role == MS_RAFT_LEADER) ms__raft_el_leader_lost(nd, MS_RAFT_LOSS_CRASH);
    nd->up = 0;
    ms_net_set_up(g->net, node, 0);
    nd->role = MS_RAFT_FOLLOWER;
    nd->leader = -1;
    nd->transferee = -1;
    nd->st.crashes++;
    if (nd->has_fsm && nd->fsm.crash) nd->fsm.crash(nd->fsm.ctx);
    return MS_RAFT_OK;
}

int ms_raft_restart(ms_raft *g, int node) {
    if (!valid(g, node)) return MS_RAFT_EINVAL;
    rnode *nd = &g->nodes[node];
    if (nd->up) return MS_RAFT_ESTATE;
    nd->up = 1;
    ms_net_set_up(g->net, node, 1);
    nd->role = MS_RAFT_FOLLOWER;
    nd->leader = -1;
    nd->last_leader_contact = -1;
    nd->fsm_lost = 0;
    if (nd->has_fsm && nd->fsm.restart) nd->applied = nd->fsm.restart(nd->fsm.ctx);
    /* An FSM without its state, or behind what the log still holds, can
     * only catch up by a snapshot: applying the next entries onto it would
     * diverge. Until one installs, applied stays at the log's start. */
    if (nd->applied == MS_RAFT_NO_STATE || nd->applied < nd->log.snap_index) {
        nd->fsm_lost = 1;
        nd->snap_req++;
        nd->applied = nd->log.snap_index;
    }
    if (nd->applied > ms__rlog_last(&nd->log)) nd->applied = ms__rlog_last(&nd->log);
    nd->commit = nd->applied;
    start_ticker(nd);
    ms__raft_reset_election(nd);
    return MS_RAFT_OK;
}

int ms_raft_state_lost(ms_raft *g, int node) {
    if (!valid(g, node)) return MS_RAFT_EINVAL;
    rnode *nd = &g->nodes[node];
    if (!nd->up) return MS_RAFT_EDOWN;
    if (!nd->fsm_lost) nd->snap_req++;
    nd->fsm_lost = 1;
    return MS_RAFT_OK;
}

int ms_raft_request_snapshot(ms_raft *g, int node) {
    if (!valid(g, node)) return MS_RAFT_EINVAL;
    rnode *nd = &g->nodes[node];
    if (!nd->snap_wanted) nd->snap_req++;
    nd->snap_wanted = 1;
    return MS_RAFT_OK;
}

int64_t ms_raft_force_compact(ms_raft *g, int node, uint64_t index) {
    if (!valid(g, node)) return MS_RAFT_EINVAL;
    rnode *nd = &g->nodes[node];
    if (index > nd->applied) index = nd->applied;
    if (index > nd->log.snap_index) {
        ms__rlog_compact(&nd->log, index);
        nd->st.compactions++;
    }
    return (int64_t)nd->log.snap_index;
}

int ms_raft_size(const ms_raft *g) {
    return g->cfg.n;
}

ms_raft_role ms_raft_role_of(const ms_raft *g, int node) {
    if (!valid(g, node) || !g->nodes[node].up) return MS_RAFT_DOWN;
    return (ms_raft_role)g->nodes[node].role;
}

int ms_raft_is_up(const ms_raft *g, int node) {
    return valid(g, node) && g->nodes[node].up;
}

uint64_t ms_raft_term(const ms_raft *g, int node) {
    return valid(g, node) ? g->nodes[node].term : 0;
}

int ms_raft_leader(const ms_raft *g, int node) {
    return valid(g, node) && g->nodes[node].up ? g->nodes[node].leader : -1;
}

uint64_t ms_raft_commit_index(const ms_raft *g, int node) {
    return valid(g, node) ? g->nodes[node].commit : 0;
}

uint64_t ms_raft_applied_index(const ms_raft *g, int node) {
    return valid(g, node) ? g->nodes[node].applied : 0;
}

uint64_t ms_raft_last_index(const ms_raft *g, int node) {
    return valid(g, node) ? ms__rlog_last(&g->nodes[node].log) : 0;
}

uint64_t ms_raft_first_index(const ms_raft *g, int node) {
    return valid(g, node) ? ms__rlog_first(&g->nodes[node].log) : 0;
}

int64_t ms_raft_last_contact(const ms_raft *g, int node) {
    if (!valid(g, node)) return -1;
    const rnode *nd = &g->nodes[node];
    if (nd->up && nd->role == MS_RAFT_LEADER) return ms_sched_now(g->sched);
    return nd->last_leader_contact;
}

int ms_raft_status_of(const ms_raft *g, int node, ms_raft_status *out) {
    if (!valid(g, node) || !out) return MS_RAFT_EINVAL;
    const rnode *nd = &g->nodes[node];
    memset(out, 0, sizeof *out);
    out->role = ms_raft_role_of(g, node);
    out->term = nd->term;
    out->leader = ms_raft_leader(g, node);
    out->voted_for = nd->voted_for;
    out->commit = nd->commit;
    out->applied = nd->applied;
    out->first_index = ms__rlog_first(&nd->log);
    out->last_index = ms__rlog_last(&nd->log);
    out->snap_index = nd->log.snap_index;
    out->installing = nd->installing;
    out->install_index = nd->installing ? nd->inst_index : 0;
    out->install_bytes = nd->installing ? nd->inst_bytes : 0;
    out->install_total = nd->installing ? nd->inst_total : 0;
    out->state_lost = nd->fsm_lost;
    out->snap_wanted = nd->snap_wanted;
    out->last_contact = ms_raft_last_contact(g, node);
    for (int p = 0; nd->role == MS_RAFT_LEADER && p < g->cfg.n; p++) {
        if (nd->prog[p].state != PR_SNAPSHOT) continue;
        out->streams++;
        out->stream_bytes += nd->prog[p].snap_sent;
        out->stream_total += nd->prog[p].snap_total;
    }
    return MS_RAFT_OK;
}

int ms_raft_stats_of(const ms_raft *g, int node, ms_raft_stats *out) {
    if (!valid(g, node) || !out) return MS_RAFT_EINVAL;
    *out = g->nodes[node].st;
    return MS_RAFT_OK;
}

int ms_raft_find_leader(const ms_raft *g) {
    int best = -1;
    for (int i = 0; i < g->cfg.n; i++) {
        const rnode *nd = &g->nodes[i];
        if (nd->up && nd->role == MS_RAFT_LEADER && (best < 0 || nd->term > g->nodes[best].term))
            best = i;
    }
    return best;
}

const char *ms_raft_role_name(ms_raft_role role) {
    static const char *const names[] = {"follower", "precandidate", "candidate", "leader", "down"};
    return (unsigned)role <= MS_RAFT_DOWN ? names[role] : "?";
}

/* Elections and roles: the election timer, (pre-)campaigns, votes, the
 * leader's tick (heartbeats, check-quorum, transfer deadline, snapshot
 * stream timeouts), leader transfer. */
#include "ms_raft_impl.h"

static void on_election(ms_sched *s, void *ctx, uint64_t a, uint64_t b);
static void on_tick(ms_sched *s, void *ctx, uint64_t a, uint64_t b);

/* Continuous mode: the time to the next election from a reset now. */
static int64_t continuous_timeout(rnode *nd) {
    ms_raft *g = nd->g;
    int64_t span = g->cfg.election_max - g->cfg.election_min;
    int64_t t =
        g->cfg.election_min + (span > 0 ? (int64_t)ms_rng_below(&g->rng, (uint64_t)span) : 0);
    if (g->cfg.lease_timeout > 0 && nd->role == MS_RAFT_FOLLOWER && nd->leader >= 0)
        t = g->cfg.lease_timeout;
    return t;
}

/* Tick mode (tiglabs raft): elapsed ticks restart at 0 now; a follower
 * that knows its leader times out after lease_timeout (in ticks), a
 * pre-candidate after election_min, anyone else after its randomized k
 * in [election_min, election_max] (in ticks), which is also its vote
 * lease. The timeout fires on the k-th tick of its own ticker. */
static int64_t tick_deadline(rnode *nd, int64_t now) {
    ms_raft *g = nd->g;
    int64_t T = g->cfg.tick;
    int lo = (int)(g->cfg.election_min / T), hi = (int)(g->cfg.election_max / T);
    if (lo < 1) lo = 1;
    if (hi < lo) hi = lo;
    nd->rand_ticks = lo + (int)ms_rng_below(&g->rng, (uint64_t)(hi - lo + 1));
    int k = nd->rand_ticks;
    if (nd->role == MS_RAFT_PRECANDIDATE)
        k = lo;
    else if (g->cfg.lease_timeout > 0 && nd->role == MS_RAFT_FOLLOWER && nd->leader >= 0)
        k = (int)(g->cfg.lease_timeout / T);
    if (k < 1) k = 1;
    return ms__raft_next_tick(nd, now) + (int64_t)(k - 1) * T;
}

/* Arm the election event for nd->election_at. */
static void arm_election(rnode *nd) {
    nd->election_armed_at = nd->election_at;
    nd->election_ev = ms_sched_at(nd->g->sched, nd->election_at, MS_RAFT_EV_ELECTION, on_election,
                                  nd, (uint64_t)nd->id, nd->term);
}

/* A follower resets its timer on every append from the leader (hundreds a
 * second under writes). Cancelling and rescheduling each time left one
 * dead heap entry per reset until the old deadline passed, ~1000 in all,
 * which doubled the scheduler's heap depth for every other event. So the
 * reset only moves the deadline; an event already armed no later than it
 * stays, and on firing early re-arms for the deadline (one wake per
 * election_min or so). Only a reset to an earlier deadline re-schedules.
 * The election still starts exactly at the last reset's deadline. */
void ms__raft_reset_election(rnode *nd) {
    ms_raft *g = nd->g;
    int64_t now = ms_sched_now(g->sched);
    nd->election_at = g->cfg.tick > 0 ? tick_deadline(nd, now) : now + continuous_timeout(nd);
    if (nd->election_ev) {
        if (nd->election_armed_at <= nd->election_at) return;
        ms_sched_cancel(g->sched, nd->election_ev);
    }
    arm_election(nd);
}

void ms__raft_stop_timers(rnode *nd) {
    ms_sched *s = nd->g->sched;
    if (nd->election_ev) ms_sched_cancel(s, nd->election_ev);
    if (nd->heartbeat_ev) ms_sched_cancel(s, nd->heartbeat_ev);
    if (nd->watch_ev) ms_sched_cancel(s, nd->watch_ev);
    nd->election_ev = nd->heartbeat_ev = nd->watch_ev = 0;
}

/* A node that heard from a leader within election_min ignores vote
 * requests (check-quorum's lease), so a partitioned node cannot depose a
 * healthy leader when it comes back. */
int ms__raft_in_lease(const rnode *nd) {
    const ms_raft *g = nd->g;
    if (!g->cfg.check_quorum) return 0;
    if (nd->role == MS_RAFT_LEADER) return 1;
    if (nd->leader < 0) return 0;
    int64_t now = ms_sched_now(g->sched);
    if (g->cfg.tick == 0) return now - nd->last_leader_contact < g->cfg.election_min;
    /* ticks elapsed since the leader was heard, against the drawn k */
    int64_t first = ms__raft_next_tick(nd, nd->last_leader_contact);
    int64_t elapsed = now < first ? 0 : (now - first) / g->cfg.tick + 1;
    return elapsed < nd->rand_ticks;
}

void ms__raft_peer_heard(rnode *nd, int p) {
    nd->prog[p].active = 1;
    nd->prog[p].last_heard = ms_sched_now(nd->g->sched);
}

/* The leader's interval between quorum checks. */
static int64_t quorum_interval(const ms_raft *g) {
    return g->cfg.quorum_check > 0 ? g->cfg.quorum_check : g->cfg.election_min;
}

static void leave_leadership(rnode *nd) {
    ms_raft *g = nd->g;
    for (int p = 0; p < g->cfg.n; p++)
        if (nd->prog[p].state == PR_SNAPSHOT) ms__raft_snap_abort_stream(nd, p, 0);
    if (nd->heartbeat_ev) ms_sched_cancel(g->sched, nd->heartbeat_ev);
    nd->heartbeat_ev = 0;
    nd->transferee = -1;
}

void ms__raft_notify_role(rnode *nd) {
    if (nd->has_fsm && nd->fsm.role) nd->fsm.role(nd->fsm.ctx, (ms_raft_role)nd->role, nd->term);
}

void ms__raft_become_follower(rnode *nd, uint64_t term, int leader) {
    int was = nd->role;
    if (nd->role == MS_RAFT_LEADER) {
        ms__raft_el_leader_lost(nd, MS_RAFT_LOSS_STEP_DOWN);
        leave_leadership(nd);
    }
    if (term > nd->term) {
        nd->term = term;
        nd->voted_for = -1;
    }
    nd->role = MS_RAFT_FOLLOWER;
    nd->leader = leader;
    if (leader >= 0) nd->last_leader_contact = ms_sched_now(nd->g->sched);
    ms__raft_reset_election(nd);
    if (was != MS_RAFT_FOLLOWER) ms__raft_notify_role(nd);
}

static int lookup(void *ctx, uint64_t index, uint64_t *term, uint64_t *hash) {
    const rlog *l = ctx;
    if (index > ms__rlog_last(l)) return -1;
    const rent *e = ms__rlog_at(l, index);
    if (!e) return 0;
    *term = e->term;
    *hash = e->b->hash;
    return 1;
}

/* The leader's next tick: heartbeat later, on a tick of its ticker in
 * tick mode. */
static void arm_tick(rnode *nd) {
    ms_raft *g = nd->g;
    int64_t now = ms_sched_now(g->sched), at = now + g->cfg.heartbeat;
    if (g->cfg.tick > 0) {
        int64_t k = g->cfg.heartbeat / g->cfg.tick;
        at = ms__raft_next_tick(nd, now) + (k > 1 ? k - 1 : 0) * g->cfg.tick;
    }
    nd->heartbeat_ev =
        ms_sched_at(g->sched, at, MS_RAFT_EV_HEARTBEAT, on_tick, nd, (uint64_t)nd->id, nd->term);
}

static void become_leader(rnode *nd) {
    ms_raft *g = nd->g;
    nd->role = MS_RAFT_LEADER;
    nd->leader = nd->id;
    nd->transferee = -1;
    nd->st.leaderships++;
    if (nd->election_ev) ms_sched_cancel(g->sched, nd->election_ev);
    nd->election_ev = 0;
    int64_t now = ms_sched_now(g->sched);
    nd->quorum_check_at = now + quorum_interval(g);
    uint64_t last = ms__rlog_last(&nd->log);
    for (int p = 0; p < g->cfg.n; p++) {
        rprog *pr = &nd->prog[p];
        pr->next = last + 1;
        pr->match = p == nd->id ? last : 0;
        pr->state = PR_PROBE;
        pr->paused = 0;
        pr->active = 1;
        pr->snap_retry_at = now;
        pr->exp = NULL;
        pr->req_seen = pr->req_pending = pr->req_served = 0;
        pr->last_heard = now;
    }
    ms__raft_el_elected(nd);
    if (g->chk) {
        ms_check_leader(g->chk, nd->id, nd->term);
        ms_check_leader_log(g->chk, nd->id, nd->term, ms__rlog_first(&nd->log), lookup, &nd->log);
    }
    /* The no-op of the new term lets earlier entries commit. */
    ms__raft_append_local(nd, g->noop);
    ms__raft_broadcast_append(nd);
    ms__raft_maybe_commit(nd);
    arm_tick(nd);
    ms__raft_notify_role(nd);
}

static void send_vote_requests(rnode *nd, int prevote, int transfer) {
    ms_raft *g = nd->g;
    for (int p = 0; p < g->cfg.n; p++) {
        if (p == nd->id) continue;
        rmsg *m = ms__raft_msg_new(g, prevote ? MSG_PREVOTE : MSG_VOTE, nd, p);
        if (!m) continue;
        if (prevote) m->term = nd->term + 1;
        m->index = ms__rlog_last(&nd->log);
        m->log_term = ms__rlog_last_term(&nd->log);
        m->flag = (uint8_t)transfer;
        ms__raft_send(g, m, 0);
    }
}

/* Count a vote; returns 1 when a quorum granted, -1 when a quorum refused. */
static int tally(rnode *nd, int from, int granted) {
    ms_raft *g = nd->g;
    if (!nd->votes[from]) nd->votes[from] = granted ? 1 : 2;
    int yes = 0, no = 0;
    for (int p = 0; p < g->cfg.n; p++) {
        yes += nd->votes[p] == 1;
        no += nd->votes[p] == 2;
    }
    return yes >= g->quorum ? 1 : no >= g->quorum ? -1 : 0;
}

void ms__raft_lead(rnode *nd) {
    become_leader(nd);
}

void ms__raft_campaign(rnode *nd, int prevote, int transfer) {
    ms_raft *g = nd->g;
    if (nd->role == MS_RAFT_LEADER) return;
    if (nd->installing || nd->fsm_lost) {
        ms__raft_reset_election(nd); /* no consistent state to lead with */
        return;
    }
    for (int p = 0; p < g->cfg.n; p++) nd->votes[p] = 0;
    nd->leader = -1;
    if (prevote) {
        nd->role = MS_RAFT_PRECANDIDATE;
    } else {
        nd->role = MS_RAFT_CANDIDATE;
        nd->term++;
        nd->voted_for = nd->id;
        nd->st.campaigns++;
    }
    ms__raft_el_campaign(g, prevote ? nd->term + 1 : nd->term, prevote);
    ms__raft_reset_election(nd);
    if (tally(nd, nd->id, 1) == 1) {
        if (prevote)
            ms__raft_campaign(nd, 0, transfer);
        else
            become_leader(nd);
        return;
    }
    send_vote_requests(nd, prevote, transfer);
    ms__raft_notify_role(nd);
}

static void on_election(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)a, (void)b;
    rnode *nd = ctx;
    nd->election_ev = 0;
    if (ms_sched_now(s) < nd->election_at) { /* reset since armed: wait for the deadline */
        arm_election(nd);
        return;
    }
    if (!nd->up || nd->role == MS_RAFT_LEADER) return;
    ms__raft_campaign(nd, nd->g->cfg.prevote, 0);
}

void ms__raft_on_vote(rnode *nd, const rmsg *m) {
    ms_raft *g = nd->g;
    int pre = m->type == MSG_PREVOTE;
    uint64_t last_term = ms__rlog_last_term(&nd->log);
    int up_to_date = m->log_term > last_term ||
                     (m->log_term == last_term && m->index >= ms__rlog_last(&nd->log));
    int can_vote = nd->voted_for == m->from || (nd->voted_for < 0 && nd->leader < 0) ||
                   (pre && m->term > nd->term);
    int grant = can_vote && up_to_date;
    rmsg *r = ms__raft_msg_new(g, pre ? MSG_PREVOTE_RESP : MSG_VOTE_RESP, nd, m->from);
    if (!r) return;
    r->reject = (uint8_t)!grant;
    if (grant) {
        r->term = m->term; /* a granted pre-vote answers in the proposed term */
        if (!pre) {
            nd->voted_for = m->from;
            nd->st.votes_granted++;
            ms__raft_reset_election(nd);
        }
    }
    ms__raft_send(g, r, 0);
}

void ms__raft_on_vote_resp(rnode *nd, const rmsg *m) {
    int pre = m->type == MSG_PREVOTE_RESP;
    if (nd->role != (pre ? MS_RAFT_PRECANDIDATE : MS_RAFT_CANDIDATE)) return;
    if (pre && !m->reject && m->term != nd->term + 1) return;
    int r = tally(nd, m->from, !m->reject);
    if (r == 1) {
        if (pre)
            ms__raft_campaign(nd, 0, 0);
        else
            become_leader(nd);
    } else if (r == -1) {
        ms__raft_become_follower(nd, nd->term, -1);
    }
}

void ms__raft_on_timeout_now(rnode *nd, const rmsg *m) {
    (void)m;
    if (nd->role == MS_RAFT_LEADER) return;
    ms__raft_campaign(nd, 0, 1);
}

/* Leader: once per election_min, step down unless a quorum was heard from. */
static int quorum_lost(rnode *nd) {
    ms_raft *g = nd->g;
    int64_t now = ms_sched_now(g->sched);
    if (!g->cfg.check_quorum || now < nd->quorum_check_at) return 0;
    nd->quorum_check_at = now + quorum_interval(g);
    int active = 0;
    for (int p = 0; p < g->cfg.n; p++) {
        active += p == nd->id || nd->prog[p].active;
        nd->prog[p].active = 0;
    }
    return active < g->quorum;
}

static void on_tick(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)a, (void)b;
    rnode *nd = ctx;
    nd->heartbeat_ev = 0;
    if (!nd->up || nd->role != MS_RAFT_LEADER) return;
    if (quorum_lost(nd)) {
        ms__raft_become_follower(nd, nd->term, -1);
        return;
    }
    if (nd->transferee >= 0 && ms_sched_now(s) >= nd->transfer_deadline) nd->transferee = -1;
    ms__raft_snap_check_streams(nd);
    ms__raft_send_heartbeats(nd);
    arm_tick(nd);
}

int ms_raft_transfer_leader(ms_raft *g, int node, int target) {
    if (node < 0 || node >= g->cfg.n || target < 0 || target >= g->cfg.n || target == node)
        return MS_RAFT_EINVAL;
    rnode *nd = &g->nodes[node];
    if (!nd->up) return MS_RAFT_EDOWN;
    if (nd->role != MS_RAFT_LEADER) return MS_RAFT_ENOTLEADER;
    nd->transferee = target;
    nd->transfer_deadline = ms_sched_now(g->sched) + g->cfg.election_min;
    if (nd->prog[target].match == ms__rlog_last(&nd->log)) {
        rmsg *m = ms__raft_msg_new(g, MSG_TIMEOUT_NOW, nd, target);
        if (m) ms__raft_send(g, m, 0);
    } else {
        ms__raft_send_append(nd, target, 1);
    }
    return MS_RAFT_OK;
}

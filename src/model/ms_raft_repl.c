/* Log replication and apply: proposals, AppendEntries and heartbeats on
 * both sides, the commit rule, and the FSM's pull interface. */
#include "ms_raft_impl.h"

#include <stdlib.h>

static int64_t now_of(const rnode *nd) {
    return ms_sched_now(nd->g->sched);
}

int ms__raft_append_local(rnode *nd, rblob *b) {
    if (ms__rlog_append(&nd->log, nd->term, b)) return -1;
    uint64_t last = ms__rlog_last(&nd->log);
    nd->prog[nd->id].match = last;
    nd->prog[nd->id].next = last + 1;
    return 0;
}

static int reserve_ents(rmsg *m, size_t n) {
    if (n <= m->ents_cap) return 0;
    rent *v = realloc(m->ents, n * sizeof *v);
    if (!v) return -1;
    m->ents = v;
    m->ents_cap = n;
    return 0;
}

/* One AppendEntries to `peer` from its next index (a snapshot when that is
 * compacted). In replicate state, keeps sending until the log is out. */
void ms__raft_send_append(rnode *nd, int peer, int send_empty) {
    ms_raft *g = nd->g;
    rprog *pr = &nd->prog[peer];
    for (;;) {
        if (pr->state == PR_SNAPSHOT || (pr->state == PR_PROBE && pr->paused)) return;
        uint64_t last = ms__rlog_last(&nd->log);
        if (pr->next > last + 1) pr->next = last + 1;
        uint64_t prev = pr->next - 1, prev_term = 0;
        if (ms__rlog_term(&nd->log, prev, &prev_term)) {
            ms__raft_snap_start(nd, peer);
            return;
        }
        size_t n = (size_t)(last - prev);
        if (n > g->cfg.max_batch) n = g->cfg.max_batch;
        if (n == 0 && !send_empty) return;
        rmsg *m = ms__raft_msg_new(g, MSG_APP, nd, peer);
        if (!m || reserve_ents(m, n)) {
            if (m) ms__raft_msg_free(g, m);
            return;
        }
        m->index = prev;
        m->log_term = prev_term;
        m->commit = nd->commit;
        for (size_t i = 0; i < n; i++) {
            const rent *e = ms__rlog_at(&nd->log, prev + 1 + i);
            m->ents[i].term = e->term;
            m->ents[i].b = ms__rblob_ref(e->b);
        }
        m->n = n;
        nd->st.appends_sent++;
        ms__raft_send(g, m, 0);
        if (pr->state == PR_PROBE) {
            pr->paused = 1;
            return;
        }
        pr->next = prev + n + 1;
        if (n == 0 || pr->next > last) return;
        send_empty = 0;
    }
}

void ms__raft_broadcast_append(rnode *nd) {
    for (int p = 0; p < nd->g->cfg.n; p++)
        if (p != nd->id) ms__raft_send_append(nd, p, 0);
}

void ms__raft_send_heartbeats(rnode *nd) {
    ms_raft *g = nd->g;
    for (int p = 0; p < g->cfg.n; p++) {
        if (p == nd->id) continue;
        rmsg *m = ms__raft_msg_new(g, MSG_HB, nd, p);
        if (!m) return;
        uint64_t match = nd->prog[p].match;
        m->commit = match < nd->commit ? match : nd->commit;
        nd->st.heartbeats_sent++;
        ms__raft_send(g, m, 0);
    }
}

void ms__raft_commit_to(rnode *nd, uint64_t commit) {
    ms_raft *g = nd->g;
    if (commit <= nd->commit) return;
    if (g->chk) {
        for (uint64_t i = nd->commit + 1; i <= commit; i++) {
            const rent *e = ms__rlog_at(&nd->log, i);
            if (e) ms_check_commit(g->chk, nd->id, i, e->term, e->b->hash);
        }
    }
    nd->commit = commit;
}

void ms__raft_maybe_commit(rnode *nd) {
    ms_raft *g = nd->g;
    uint64_t last = ms__rlog_last(&nd->log);
    if (g->cfg.unsafe_commit_without_majority) {
        ms__raft_commit_to(nd, last);
        return;
    }
    /* The quorum-th largest match index (insertion sort: n is small). */
    uint64_t *v = g->scratch;
    int n = g->cfg.n;
    for (int i = 0; i < n; i++) {
        uint64_t x = i == nd->id ? last : nd->prog[i].match;
        int j = i;
        while (j > 0 && v[j - 1] < x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    uint64_t m = v[g->quorum - 1], t = 0;
    if (m > nd->commit && !ms__rlog_term(&nd->log, m, &t) && t == nd->term)
        ms__raft_commit_to(nd, m);
}

void ms__raft_notify_fsm(rnode *nd) {
    if (!nd->up || !nd->has_fsm || nd->installing || nd->fsm_lost || nd->commit <= nd->applied)
        return;
    nd->fsm.committed(nd->fsm.ctx, nd->commit);
}

/* A message from the current leader: remember it and push back elections. */
static void heard_leader(rnode *nd, int leader) {
    ms__raft_el_heard(nd, leader, nd->term);
    if (nd->role != MS_RAFT_FOLLOWER) {
        ms__raft_become_follower(nd, nd->term, leader);
        return;
    }
    nd->leader = leader;
    nd->last_leader_contact = now_of(nd);
    ms__raft_reset_election(nd);
}

/* The largest index <= m->index whose term is <= m->log_term: where the
 * leader should probe next (skips a whole conflicting term per round trip). */
static uint64_t conflict_hint(const rnode *nd, const rmsg *m) {
    uint64_t i = ms__rlog_last(&nd->log), t = 0;
    if (i > m->index) i = m->index;
    while (i > nd->log.snap_index && !ms__rlog_term(&nd->log, i, &t) && t > m->log_term) i--;
    return i;
}

/* Append m's entries after the matching prefix; a conflicting suffix goes. */
static void append_entries(rnode *nd, const rmsg *m) {
    ms_raft *g = nd->g;
    for (size_t k = 0; k < m->n; k++) {
        uint64_t idx = m->index + 1 + k, t = 0;
        if (idx <= ms__rlog_last(&nd->log)) {
            if (!ms__rlog_term(&nd->log, idx, &t) && t == m->ents[k].term) continue;
            if (idx <= nd->commit && g->chk)
                ms_check_fail(g->chk, nd->id, "truncating committed index %llu",
                              (unsigned long long)idx);
            ms__rlog_truncate(&nd->log, idx);
        }
        if (ms__rlog_append(&nd->log, m->ents[k].term, m->ents[k].b)) return;
    }
}

void ms__raft_on_append(rnode *nd, const rmsg *m) {
    ms_raft *g = nd->g;
    heard_leader(nd, m->from);
    nd->st.appends_received++;
    rmsg *r = ms__raft_msg_new(g, MSG_APP_RESP, nd, m->from);
    if (!r) return;
    r->index = m->index;
    uint64_t t = 0;
    if (nd->installing) {
        r->reject = 1;
        r->hint = nd->commit;
    } else if (m->index < nd->commit) {
        r->hint = nd->commit;
    } else if (ms__rlog_term(&nd->log, m->index, &t) || t != m->log_term) {
        r->reject = 1;
        r->hint = conflict_hint(nd, m);
    } else {
        append_entries(nd, m);
        uint64_t last_new = m->index + m->n;
        r->hint = last_new;
        ms__raft_commit_to(nd, m->commit < last_new ? m->commit : last_new);
    }
    if (r->reject) nd->st.append_rejects++;
    r->seq = ms__raft_snap_wanted(nd);
    ms__raft_send(g, r, 0);
    ms__raft_notify_fsm(nd);
}

/* Back off after a rejection; 0 when the rejection is stale. */
static int maybe_decrease(rprog *pr, uint64_t rejected, uint64_t hint) {
    if (pr->state == PR_REPLICATE) {
        if (rejected <= pr->match) return 0;
        pr->next = pr->match + 1;
        pr->state = PR_PROBE;
        pr->paused = 0;
        return 1;
    }
    if (pr->next - 1 != rejected) return 0;
    uint64_t next = hint + 1 < rejected ? hint + 1 : rejected;
    if (next < pr->match + 1) next = pr->match + 1;
    pr->next = next ? next : 1;
    pr->paused = 0;
    return 1;
}

static void send_timeout_now(rnode *nd, int peer) {
    rmsg *m = ms__raft_msg_new(nd->g, MSG_TIMEOUT_NOW, nd, peer);
    if (m) ms__raft_send(nd->g, m, 0);
}

static void append_resp(rnode *nd, const rmsg *m) {
    rprog *pr = &nd->prog[m->from];
    ms__raft_peer_heard(nd, m->from);
    if (pr->state == PR_SNAPSHOT) return;
    if (m->reject) {
        if (maybe_decrease(pr, m->index, m->hint)) ms__raft_send_append(nd, m->from, 1);
        return;
    }
    if (m->hint > pr->match) pr->match = m->hint;
    if (pr->state == PR_PROBE) {
        pr->state = PR_REPLICATE;
        pr->next = pr->match + 1;
    } else if (pr->next < pr->match + 1) {
        pr->next = pr->match + 1;
    }
    pr->paused = 0;
    ms__raft_maybe_commit(nd);
    if (m->from == nd->transferee && pr->match == ms__rlog_last(&nd->log))
        send_timeout_now(nd, m->from);
    ms__raft_send_append(nd, m->from, 0);
    ms__raft_notify_fsm(nd);
}

void ms__raft_on_append_resp(rnode *nd, const rmsg *m) {
    if (nd->role != MS_RAFT_LEADER) return;
    append_resp(nd, m);
    if (m->seq) ms__raft_on_snap_request(nd, m->from, m->seq);
}

void ms__raft_on_heartbeat(rnode *nd, const rmsg *m) {
    heard_leader(nd, m->from);
    uint64_t last = ms__rlog_last(&nd->log);
    ms__raft_commit_to(nd, m->commit < last ? m->commit : last);
    rmsg *r = ms__raft_msg_new(nd->g, MSG_HB_RESP, nd, m->from);
    if (r) {
        r->seq = ms__raft_snap_wanted(nd);
        ms__raft_send(nd->g, r, 0);
    }
    ms__raft_notify_fsm(nd);
}

void ms__raft_on_heartbeat_resp(rnode *nd, const rmsg *m) {
    if (nd->role != MS_RAFT_LEADER) return;
    rprog *pr = &nd->prog[m->from];
    ms__raft_peer_heard(nd, m->from);
    if (m->seq) ms__raft_on_snap_request(nd, m->from, m->seq);
    if (pr->state == PR_SNAPSHOT || pr->match >= ms__rlog_last(&nd->log)) return;
    pr->paused = 0;
    ms__raft_send_append(nd, m->from, 1);
}

int ms_raft_propose(ms_raft *g, int node, const void *payload, size_t len, uint64_t *index,
                    int *leader_hint) {
    if (node < 0 || node >= g->cfg.n || (!payload && len) || len == 0) return MS_RAFT_EINVAL;
    rnode *nd = &g->nodes[node];
    if (leader_hint) *leader_hint = nd->leader;
    if (!nd->up) return MS_RAFT_EDOWN;
    if (nd->role != MS_RAFT_LEADER) return MS_RAFT_ENOTLEADER;
    if (nd->transferee >= 0) return MS_RAFT_ETRANSFER;
    rblob *b = ms__rblob_new(payload, len);
    if (!b) return MS_RAFT_ENOMEM;
    int rc = ms__raft_append_local(nd, b);
    ms__rblob_unref(b);
    if (rc) return MS_RAFT_ENOMEM;
    nd->st.proposals++;
    if (index) *index = ms__rlog_last(&nd->log);
    ms__raft_broadcast_append(nd);
    ms__raft_maybe_commit(nd);
    ms__raft_notify_fsm(nd);
    return MS_RAFT_OK;
}

int ms_raft_entry_at(const ms_raft *g, int node, uint64_t index, ms_raft_entry *out) {
    if (node < 0 || node >= g->cfg.n || !out) return MS_RAFT_EINVAL;
    const rent *e = ms__rlog_at(&g->nodes[node].log, index);
    if (!e) return MS_RAFT_ESTATE;
    out->index = index;
    out->term = e->term;
    out->data = e->b->data;
    out->len = e->b->len;
    return MS_RAFT_OK;
}

int ms_raft_applied(ms_raft *g, int node, uint64_t index) {
    if (node < 0 || node >= g->cfg.n) return MS_RAFT_EINVAL;
    rnode *nd = &g->nodes[node];
    if (!nd->up || nd->installing || nd->fsm_lost || index != nd->applied + 1 || index > nd->commit)
        return MS_RAFT_ESTATE;
    const rent *e = ms__rlog_at(&nd->log, index);
    if (!e) return MS_RAFT_ESTATE;
    if (g->chk) ms_check_apply(g->chk, node, index, e->term, e->b->hash);
    nd->applied = index;
    /* periodic: at multiples of retain, down to min(applied, last - retain) */
    uint64_t last = ms__rlog_last(&nd->log), upto = 0;
    if (!g->cfg.truncate_periodic)
        upto = index > g->cfg.retain ? index - g->cfg.retain : 0;
    else if (index % g->cfg.retain == 0 && last > g->cfg.retain)
        upto = index < last - g->cfg.retain ? index : last - g->cfg.retain;
    if (upto > nd->log.snap_index) {
        ms__rlog_compact(&nd->log, upto);
        nd->st.compactions++;
    }
    return MS_RAFT_OK;
}

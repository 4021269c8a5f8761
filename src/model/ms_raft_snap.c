/* InstallSnapshot, streamed: the leader's side (one stream per lagging
 * follower, one chunk in flight, ack-clocked) and the follower's side (one
 * install at a time, apply blocked, a watchdog for streams that stall). */
#include "ms_raft_impl.h"

#include <stdlib.h>
#include <string.h>

static int64_t now_of(const rnode *nd) {
    return ms_sched_now(nd->g->sched);
}

/* --- leader side ---------------------------------------------------------- */

void ms__raft_snap_abort_stream(rnode *nd, int peer, int64_t retry_delay) {
    rprog *pr = &nd->prog[peer];
    if (pr->state != PR_SNAPSHOT) return;
    if (pr->exp) nd->fsm.snap_close(pr->exp);
    pr->exp = NULL;
    pr->state = PR_PROBE;
    pr->paused = 0;
    pr->snap_retry_at = now_of(nd) + retry_delay;
    nd->st.snaps_aborted++;
}

static int copy_chunk(rmsg *m, const void *buf, size_t len) {
    if (len > m->data_cap) {
        unsigned char *d = realloc(m->data, len);
        if (!d) return -1;
        m->data = d;
        m->data_cap = len;
    }
    if (len) memcpy(m->data, buf, len);
    m->len = len;
    return 0;
}

/* Pull the stream's next chunk from the exporter and put it on the wire;
 * the end of the stream is an empty chunk flagged last. */
static void send_chunk(rnode *nd, int peer) {
    ms_raft *g = nd->g;
    rprog *pr = &nd->prog[peer];
    const void *buf = NULL;
    size_t len = 0;
    int rc = nd->fsm.snap_next(pr->exp, &buf, &len);
    rmsg *m = rc < 0 ? NULL : ms__raft_msg_new(g, MSG_SNAP, nd, peer);
    if (m && copy_chunk(m, buf, rc == 1 ? len : 0)) {
        ms__raft_msg_free(g, m);
        m = NULL;
    }
    if (!m) {
        ms__raft_snap_abort_stream(nd, peer, g->cfg.election_min);
        return;
    }
    m->index = pr->snap_index;
    m->log_term = pr->snap_term;
    m->seq = pr->seq;
    m->hint = pr->snap_total;
    m->commit = nd->commit;
    m->flag = rc == 0;
    if (rc == 1 && nd->fsm.snap_charged) m->charged = nd->fsm.snap_charged(pr->exp);
    nd->st.snap_chunks_sent++;
    nd->st.snap_bytes_sent += m->len;
    pr->snap_sent += m->len;
    if (ms__raft_send(g, m, 1) != MS_NET_SENT)
        ms__raft_snap_abort_stream(nd, peer, g->cfg.election_min);
}

void ms__raft_snap_start(rnode *nd, int peer) {
    rprog *pr = &nd->prog[peer];
    int64_t now = now_of(nd);
    if (!nd->has_fsm || !nd->fsm.snap_open || now < pr->snap_retry_at) return;
    uint64_t index = 0, term = 0;
    void *exp = nd->fsm.snap_open(nd->fsm.ctx, &index, &term);
    if (!exp) {
        pr->snap_retry_at = now + nd->g->cfg.election_min;
        return;
    }
    pr->state = PR_SNAPSHOT;
    pr->exp = exp;
    pr->snap_index = index;
    pr->snap_term = term;
    pr->snap_sent = 0;
    pr->snap_total = nd->fsm.snap_size ? nd->fsm.snap_size(exp) : 0;
    pr->seq = 0;
    pr->last_ack = now;
    pr->req_pending = pr->req_seen;
    nd->st.snaps_started++;
    send_chunk(nd, peer);
}

void ms__raft_snap_check_streams(rnode *nd) {
    ms_raft *g = nd->g;
    int64_t now = now_of(nd);
    for (int p = 0; p < g->cfg.n; p++) {
        rprog *pr = &nd->prog[p];
        if (pr->state == PR_SNAPSHOT && now - pr->last_ack > g->cfg.snap_timeout)
            ms__raft_snap_abort_stream(nd, p, g->cfg.election_min);
    }
}

/* The follower holds the snapshot: replicate from just after it. */
static void stream_done(rnode *nd, int peer, uint64_t match) {
    rprog *pr = &nd->prog[peer];
    nd->fsm.snap_close(pr->exp);
    pr->exp = NULL;
    pr->state = PR_PROBE;
    pr->paused = 0;
    if (match > pr->match) pr->match = match;
    pr->next = pr->match + 1;
    ms__raft_maybe_commit(nd);
    ms__raft_send_append(nd, peer, 1);
}

void ms__raft_on_snap_resp(rnode *nd, const rmsg *m) {
    if (nd->role != MS_RAFT_LEADER) return;
    rprog *pr = &nd->prog[m->from];
    ms__raft_peer_heard(nd, m->from);
    if (pr->state != PR_SNAPSHOT || m->index != pr->snap_index || m->seq != pr->seq) return;
    switch (m->hint) {
    case SNAP_OK:
        pr->last_ack = now_of(nd);
        if (m->flag) {
            nd->st.snaps_sent++;
            pr->req_served = pr->req_pending;
            stream_done(nd, m->from, pr->snap_index);
        } else {
            pr->seq++;
            send_chunk(nd, m->from);
        }
        break;
    case SNAP_STALE:
        stream_done(nd, m->from, m->commit);
        break;
    default:
        ms__raft_snap_abort_stream(nd, m->from, nd->g->cfg.election_min);
        break;
    }
    ms__raft_notify_fsm(nd);
}

/* A follower's reply asked for a snapshot (request number req): stream
 * one unless one is running or this request was served already (a reply
 * sent before the install ended can arrive after it). */
void ms__raft_on_snap_request(rnode *nd, int peer, uint32_t req) {
    rprog *pr = &nd->prog[peer];
    if (nd->role != MS_RAFT_LEADER || peer == nd->id) return;
    pr->req_seen = req;
    if (req == pr->req_served || pr->state == PR_SNAPSHOT) return;
    ms__raft_snap_start(nd, peer);
}

/* --- follower side -------------------------------------------------------- */

uint32_t ms__raft_snap_wanted(const rnode *nd) {
    if (!nd->fsm_lost && !nd->snap_wanted) return 0;
    return nd->snap_req ? nd->snap_req : 1;
}

static void on_watch(ms_sched *s, void *ctx, uint64_t a, uint64_t b);

static void arm_watch(rnode *nd, int64_t at) {
    nd->watch_ev = ms_sched_at(nd->g->sched, at, MS_RAFT_EV_SNAP_WATCH, on_watch, nd,
                               (uint64_t)nd->id, nd->inst_index);
}

static void install_stop(rnode *nd) {
    nd->installing = 0;
    nd->chunk_pending = 0;
    if (nd->watch_ev) ms_sched_cancel(nd->g->sched, nd->watch_ev);
    nd->watch_ev = 0;
}

void ms__raft_install_drop(rnode *nd) {
    install_stop(nd);
}

static void install_fail(rnode *nd) {
    install_stop(nd);
    nd->st.installs_failed++;
    nd->fsm.snap_install_end(nd->fsm.ctx, 0);
}

/* The FSM holds the snapshot: the log restarts after it (keeping a suffix
 * that already follows it), and applied jumps to its index. */
static void install_finish(rnode *nd) {
    uint64_t t = 0;
    install_stop(nd);
    nd->fsm_lost = nd->snap_wanted = 0;
    nd->fsm.snap_install_end(nd->fsm.ctx, 1);
    if (!ms__rlog_term(&nd->log, nd->inst_index, &t) && t == nd->inst_term)
        ms__rlog_compact(&nd->log, nd->inst_index);
    else
        ms__rlog_reset(&nd->log, nd->inst_index, nd->inst_term);
    nd->applied = nd->inst_index;
    if (nd->commit < nd->inst_index) nd->commit = nd->inst_index;
    nd->st.snaps_installed++;
}

static void reply(rnode *nd, int to, uint64_t index, uint32_t seq, int last, int code) {
    rmsg *r = ms__raft_msg_new(nd->g, MSG_SNAP_RESP, nd, to);
    if (!r) return;
    r->index = index;
    r->seq = seq;
    r->flag = (uint8_t)last;
    r->hint = (uint64_t)code;
    r->commit = nd->commit;
    ms__raft_send(nd->g, r, 0);
}

static void on_watch(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)a, (void)b;
    rnode *nd = ctx;
    nd->watch_ev = 0;
    if (!nd->up || !nd->installing) return;
    int64_t timeout = nd->g->cfg.snap_timeout, now = ms_sched_now(s);
    if (nd->chunk_pending) {
        arm_watch(nd, now + timeout);
    } else if (now - nd->inst_last >= timeout) {
        install_fail(nd);
        ms__raft_notify_fsm(nd);
    } else {
        arm_watch(nd, nd->inst_last + timeout);
    }
}

/* Is m the first chunk of a stream we can take? Replies and returns 0 if not. */
static int begin_install(rnode *nd, const rmsg *m) {
    int code = SNAP_OK;
    int wanted = nd->fsm_lost || nd->snap_wanted;
    if (nd->installing) {
        code = SNAP_REFUSED;
        nd->st.snaps_refused++;
    } else if (wanted && m->index < nd->log.snap_index) {
        code = SNAP_REFUSED; /* older than our log: the leader retries later */
    } else if (!wanted && m->index <= nd->commit) {
        code = SNAP_STALE;
    } else if (!nd->has_fsm || !nd->fsm.snap_install_begin ||
               nd->fsm.snap_install_begin(nd->fsm.ctx, m->index, m->log_term)) {
        code = SNAP_ERROR;
    }
    if (code != SNAP_OK) {
        reply(nd, m->from, m->index, m->seq, m->flag, code);
        return 0;
    }
    nd->installing = 1;
    nd->inst_from = m->from;
    nd->inst_index = m->index;
    nd->inst_term = m->log_term;
    nd->inst_bytes = 0;
    nd->inst_total = m->hint;
    nd->inst_last = now_of(nd);
    arm_watch(nd, nd->inst_last + nd->g->cfg.snap_timeout);
    return 1;
}

void ms__raft_on_snap(rnode *nd, const rmsg *m) {
    ms__raft_el_heard(nd, m->from, nd->term);
    if (nd->role != MS_RAFT_FOLLOWER) ms__raft_become_follower(nd, nd->term, m->from);
    nd->leader = m->from;
    nd->last_leader_contact = now_of(nd);
    ms__raft_reset_election(nd);
    if (m->seq == 0) {
        if (!begin_install(nd, m)) return;
    } else if (!nd->installing || nd->chunk_pending || m->from != nd->inst_from ||
               m->index != nd->inst_index || m->seq != nd->inst_seq + 1) {
        reply(nd, m->from, m->index, m->seq, m->flag, SNAP_ERROR);
        return;
    }
    nd->inst_seq = m->seq;
    nd->inst_last = now_of(nd);
    if (m->flag) {
        install_finish(nd);
        reply(nd, m->from, m->index, m->seq, 1, SNAP_OK);
        ms__raft_notify_fsm(nd);
        return;
    }
    int rc = m->len ? nd->fsm.snap_install_chunk(nd->fsm.ctx, m->data, m->len) : 0;
    if (rc == 1) {
        nd->chunk_pending = 1;
        nd->pending_len = m->len;
        return;
    }
    if (rc == 0) nd->inst_bytes += m->len;
    if (rc < 0) install_fail(nd);
    reply(nd, m->from, m->index, m->seq, 0, rc < 0 ? SNAP_ERROR : SNAP_OK);
    if (rc < 0) ms__raft_notify_fsm(nd);
}

int ms__raft_chunk_done(rnode *nd, int ok) {
    if (!nd->up || !nd->installing || !nd->chunk_pending) return MS_RAFT_ESTATE;
    nd->chunk_pending = 0;
    nd->inst_last = now_of(nd);
    if (ok) nd->inst_bytes += nd->pending_len;
    if (!ok) install_fail(nd);
    reply(nd, nd->inst_from, nd->inst_index, nd->inst_seq, 0, ok ? SNAP_OK : SNAP_ERROR);
    if (!ok) ms__raft_notify_fsm(nd);
    return MS_RAFT_OK;
}

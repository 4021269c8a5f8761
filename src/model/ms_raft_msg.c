/* Raft messages: a pool, the send path onto ms_net, and the receive path
 * (term rules first, then dispatch by type). */
#include "ms_raft_impl.h"

#include <stdlib.h>
#include <string.h>

/* Unlink from the in-flight list (a free message has prev == NULL). */
static void unlink_msg(rmsg *m) {
    if (!m->prev) return;
    m->prev->next = m->next;
    m->next->prev = m->prev;
    m->prev = m->next = NULL;
}

rmsg *ms__raft_msg_new(ms_raft *g, int type, const rnode *from, int to) {
    rmsg *m = g->free_msgs;
    if (m) {
        g->free_msgs = m->next;
    } else {
        m = calloc(1, sizeof *m);
        if (!m) return NULL;
    }
    m->prev = m->next = NULL;
    m->g = g;
    m->type = (uint8_t)type;
    m->reject = m->flag = 0;
    m->from = from->id;
    m->to = to;
    m->term = from->term;
    m->index = m->log_term = m->commit = m->hint = 0;
    m->seq = 0;
    m->n = 0;
    m->len = m->charged = 0;
    return m;
}

void ms__raft_msg_free(ms_raft *g, rmsg *m) {
    unlink_msg(m);
    for (size_t i = 0; i < m->n; i++) ms__rblob_unref(m->ents[i].b);
    m->n = 0;
    m->next = g->free_msgs;
    g->free_msgs = m;
}

void ms__raft_free_in_flight(ms_raft *g) {
    while (g->in_flight.next != &g->in_flight) ms__raft_msg_free(g, g->in_flight.next);
    while (g->free_msgs) {
        rmsg *m = g->free_msgs;
        g->free_msgs = m->next;
        free(m->ents);
        free(m->data);
        free(m);
    }
}

static size_t wire_bytes(const ms_raft *g, const rmsg *m) {
    size_t bytes = g->cfg.msg_bytes + (m->charged ? m->charged : m->len);
    for (size_t i = 0; i < m->n; i++) bytes += g->cfg.entry_bytes + m->ents[i].b->len;
    return bytes;
}

static void on_deliver(void *ctx, int status, int from, int to, uint64_t a, uint64_t b);

int ms__raft_send(ms_raft *g, rmsg *m, int bulk) {
    uint64_t a = (uint64_t)m->type << 24 | (uint64_t)m->from << 12 | (uint64_t)m->to;
    uint64_t b = m->term << 40 | (m->index & ((UINT64_C(1) << 40) - 1));
    size_t bytes = wire_bytes(g, m);
    /* Link before sending: a delivery never runs inside the send. */
    m->next = g->in_flight.next;
    m->prev = &g->in_flight;
    g->in_flight.next->prev = m;
    g->in_flight.next = m;
    int rc = bulk ? ms_net_send_bulk(g->net, m->from, m->to, bytes, on_deliver, m, a, b)
                  : ms_net_send(g->net, m->from, m->to, bytes, on_deliver, m, a, b);
    if (rc != MS_NET_SENT) ms__raft_msg_free(g, m);
    return rc;
}

/* The term rules every message goes through. Returns 1 when the message
 * should be dispatched, 0 when it is dropped here. */
static int check_term(rnode *nd, const rmsg *m) {
    if (m->term > nd->term) {
        int vote_req = m->type == MSG_VOTE || m->type == MSG_PREVOTE;
        if (vote_req && !m->flag && ms__raft_in_lease(nd)) return 0;
        if (m->type == MSG_PREVOTE) return 1; /* a pre-vote never moves our term */
        if (m->type == MSG_PREVOTE_RESP && !m->reject) return 1;
        int from_leader = m->type == MSG_APP || m->type == MSG_HB || m->type == MSG_SNAP ||
                          m->type == MSG_TIMEOUT_NOW;
        ms__raft_become_follower(nd, m->term, from_leader ? m->from : -1);
        return 1;
    }
    if (m->term < nd->term) {
        /* Tell a stale leader or pre-candidate about the newer term. */
        int type = m->type == MSG_PREVOTE                      ? MSG_PREVOTE_RESP
                   : (m->type == MSG_APP || m->type == MSG_HB) ? MSG_APP_RESP
                                                               : 0;
        if (type) {
            rmsg *r = ms__raft_msg_new(nd->g, type, nd, m->from);
            if (r) {
                r->reject = 1;
                r->index = m->index;
                r->hint = ms__rlog_last(&nd->log);
                ms__raft_send(nd->g, r, 0);
            }
        }
        return 0;
    }
    return 1;
}

static void dispatch(rnode *nd, const rmsg *m) {
    switch (m->type) {
    case MSG_VOTE:
    case MSG_PREVOTE:
        ms__raft_on_vote(nd, m);
        break;
    case MSG_VOTE_RESP:
    case MSG_PREVOTE_RESP:
        ms__raft_on_vote_resp(nd, m);
        break;
    case MSG_APP:
        ms__raft_on_append(nd, m);
        break;
    case MSG_APP_RESP:
        ms__raft_on_append_resp(nd, m);
        break;
    case MSG_HB:
        ms__raft_on_heartbeat(nd, m);
        break;
    case MSG_HB_RESP:
        ms__raft_on_heartbeat_resp(nd, m);
        break;
    case MSG_SNAP:
        ms__raft_on_snap(nd, m);
        break;
    case MSG_SNAP_RESP:
        ms__raft_on_snap_resp(nd, m);
        break;
    case MSG_TIMEOUT_NOW:
        ms__raft_on_timeout_now(nd, m);
        break;
    }
}

static void on_deliver(void *ctx, int status, int from, int to, uint64_t a, uint64_t b) {
    (void)from, (void)a, (void)b;
    rmsg *m = ctx;
    ms_raft *g = m->g;
    unlink_msg(m);
    rnode *nd = &g->nodes[to];
    if (status == MS_NET_DELIVERED && nd->up && check_term(nd, m)) dispatch(nd, m);
    ms__raft_msg_free(g, m);
}

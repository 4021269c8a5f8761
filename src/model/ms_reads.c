/* The read path at a node: a follower's routing table, the policy, the apply
 * gate and the request server, up to the reply. The client's side (sending,
 * the reply, classification against ground truth, timeouts and retries) is
 * in ms_reads_client.c, arrivals and the SDK's host order in ms_arrivals.c. */
#include "ms_cluster_impl.h"

#include <stdio.h>
#include <string.h>

#define MAX_CONSULTATIONS 1000
#define MAX_REDIRECTS 3
#define NS 1000000000.0

/* --- attempts present at a node ------------------------------------------------ */

static void enter(ms_attempt *a) {
    ms_master *m = &a->c->m[a->node];
    a->prev_at = NULL;
    a->next_at = m->present;
    if (m->present) m->present->prev_at = a;
    m->present = a;
}

static void leave(ms_attempt *a) {
    ms_master *m = &a->c->m[a->node];
    if (a->prev_at)
        a->prev_at->next_at = a->next_at;
    else if (m->present == a)
        m->present = a->next_at;
    if (a->next_at) a->next_at->prev_at = a->prev_at;
    a->prev_at = a->next_at = NULL;
}

static void consult(ms_cluster *c, ms_attempt *a);
static void enqueue(ms_cluster *c, ms_attempt *a);

static void on_served(ms_sched *s, void *ctx, uint64_t id, uint64_t node);

/* A worker picks up attempt a. An attempt admitted while the node was
 * serving meets the node's phase as it is now: a policy that gates reads
 * checks them when a worker takes them, not when they were queued.
 * Returns 1 when a took a worker. */
static int start_service(ms_cluster *c, ms_attempt *a) {
    ms_master *m = &c->m[a->node];
    if (!a->pinned && !a->cached && a->admitted == MS_PHASE_SERVING &&
        m->phase != MS_PHASE_SERVING) {
        if (m->phase == MS_PHASE_LOADING) {
            leave(a);
            ms__read_reply_fail(c, a, "ENOTREADY", 0);
        } else {
            consult(c, a);
        }
        return 0;
    }
    m->busy++;
    a->stage = AT_SERVICE;
    a->service_start = ms_sched_now(c->s);
    if (a->queued_at) a->queue_ns += a->service_start - a->queued_at;
    a->queued_at = 0;
    int64_t d = ms_dist_sample_i64(&c->cfg.service[a->op], &c->service);
    a->ev = ms_sched_after(c->s, d, EV_SERVED, on_served, a, a->id, (uint64_t)a->node);
    return 1;
}

/* Take queued attempts while workers are free. */
static void drain_queue(ms_cluster *c, ms_master *m) {
    while (m->qhead && m->busy < c->cfg.workers) {
        ms_attempt *q = m->qhead;
        m->qhead = q->qnext;
        if (!m->qhead) m->qtail = NULL;
        m->qlen--;
        start_service(c, q);
    }
}

/* An apply begins on `node`: reads in service there finish against the
 * state they started on (the apply's write lock waits for readers already
 * inside; modelled by their reading the pre-apply version). */
void ms__reads_apply_begins(ms_cluster *c, int node) {
    ms_master *m = &c->m[node];
    ms_version *v = NULL;
    for (ms_attempt *a = m->present; a; a = a->next_at) {
        if (a->stage != AT_SERVICE || a->pinned) continue;
        if (!v && !(v = ms_store_snapshot(m->store))) return;
        ms_version_retain(v);
        a->pinned = v;
    }
    ms_version_release(v);
}

static void on_restart_after_crash(ms_sched *s, void *ctx, uint64_t node, uint64_t b) {
    (void)s, (void)b;
    ms_cluster *c = ctx;
    ms_cluster_restart(c, (int)node);
}

/* Service ended: the op runs against the store (or the pinned previous
 * version) as it is at this instant. A read of a closed store crashes the
 * node, which restarts after restart_delay. */
static void on_served(ms_sched *s, void *ctx, uint64_t id, uint64_t node) {
    (void)s, (void)id, (void)node;
    ms_attempt *a = ctx;
    ms_cluster *c = a->c;
    ms_master *m = &c->m[a->node];
    a->ev = 0;
    m->busy--;
    a->service_ns += ms_sched_now(c->s) - a->service_start;
    leave(a);
    a->kind = REPLY_RESULT;
    if (a->cached) {
        /* the leader's view as of when the entry was filled: complete */
        memset(&a->result, 0, sizeof a->result);
        a->result.applied = ms__cache_index(m, a->key_a);
        ms__read_reply(c, a);
        drain_queue(c, m);
        return;
    }
    if (!a->pinned && m->phase == MS_PHASE_APPLYING) c->metrics.served_while_applying++;
    ms_view v = a->pinned ? ms_version_view(a->pinned) : ms_store_view(m->store);
    a->result = ms_ops_run_memo(m->memo, &v, (ms_read_op)a->op, a->key_a, a->key_b);
    int crash = a->result.verdict == MS_READ_CRASH;
    ms__read_reply(c, a);
    if (crash) {
        c->metrics.read_crashes++;
        ms__crash_by_read(c, m, "read_crash");
        return;
    }
    drain_queue(c, m);
}

void ms__crash_by_read(ms_cluster *c, ms_master *m, const char *what) {
    ms_metrics_fault(&c->metrics, ms_sched_now(c->s), what, m->idx);
    ms_cluster_crash(c, m->idx);
    ms_sched_after(c->s, c->cfg.restart_delay, EV_RESTART, on_restart_after_crash, c,
                   (uint64_t)m->idx, 0);
}

static void enqueue(ms_cluster *c, ms_attempt *a) {
    ms_master *m = &c->m[a->node];
    if (m->busy < c->cfg.workers) {
        start_service(c, a);
    } else if (m->qlen < c->cfg.queue) {
        a->stage = AT_QUEUED;
        a->queued_at = ms_sched_now(c->s);
        a->qnext = NULL;
        if (m->qtail)
            m->qtail->qnext = a;
        else
            m->qhead = a;
        m->qtail = a;
        m->qlen++;
    } else {
        leave(a);
        ms__read_reply_fail(c, a, "EBUSY", 0);
    }
}

static void on_gate(void *ctx, uint64_t tag, int timed_out) {
    (void)tag;
    ms_attempt *a = ctx;
    ms_cluster *c = a->c;
    int64_t waited = ms_sched_now(c->s) - a->wait_start;
    a->waited += waited;
    if (waited > c->metrics.wait_max) c->metrics.wait_max = waited;
    a->timed_out = timed_out;
    if (!timed_out) a->wakeups++;
    if (c->m[a->node].phase == MS_PHASE_DOWN) {
        leave(a);
        ms__read_reply_fail(c, a, "ECONNRESET", 0);
        return;
    }
    consult(c, a);
}

/* Carry out the decision in a->dec. */
static void act(ms_cluster *c, ms_attempt *a) {
    ms_master *m = &c->m[a->node];
    ms_decision *d = &a->dec;
    a->admitted = m->phase;
    switch (d->kind) {
    case MS_DEC_SERVE:
        enqueue(c, a);
        return;
    case MS_DEC_STALE:
        if (m->prev) {
            ms_version_retain(m->prev);
            a->pinned = m->prev;
            enqueue(c, a);
        } else if (m->phase == MS_PHASE_SERVING) {
            enqueue(c, a); /* nothing older to serve: the live store is current */
        } else {
            leave(a);
            ms__read_reply_fail(c, a, "ENOSTALE", 0);
        }
        return;
    case MS_DEC_WAIT:
        a->stage = AT_WAIT;
        a->wait_start = ms_sched_now(c->s);
        ms_gate_wait(m->gate, (int64_t)(d->seconds * NS), on_gate, a, a->id);
        return;
    case MS_DEC_FAIL:
        leave(a);
        ms__read_reply_fail(c, a, d->code, d->retry_after);
        return;
    case MS_DEC_REDIRECT: {
        int target = d->target >= 0 ? d->target : ms_cluster_leader(c);
        leave(a);
        if (target < 0 || (a->r && a->r->redirects >= MAX_REDIRECTS)) {
            ms__read_reply_fail(c, a, target < 0 ? "ENOLEADER" : "ELOOP", 0);
            return;
        }
        if (a->r) a->r->redirects++;
        a->kind = REPLY_REDIRECT;
        a->redirect_to = target;
        ms__read_reply(c, a);
        return;
    }
    }
}

static void on_decided(ms_sched *s, void *ctx, uint64_t id, uint64_t b) {
    (void)s, (void)id, (void)b;
    ms_attempt *a = ctx;
    a->ev = 0;
    act(a->c, a);
}

int ms__policy_ask(ms_cluster *c, const ms_read_state *rs, const ms_node_state *ns,
                   ms_decision *d) {
    c->metrics.policy_calls++;
    memset(d, 0, sizeof *d);
    d->retry_after = -1;
    char err[256] = "";
    if (c->pol.on_read(c->pol.ud, rs, ns, d, err, sizeof err) != 0) {
        snprintf(c->err, sizeof c->err, "%s", err);
        ms_sched_stop(c->s);
        return -1;
    }
    ms_sched_fold(c->s, (uint64_t)d->kind);
    return 0;
}

/* Ask the policy, then act (after the decision's simulated cost). */
static void consult(ms_cluster *c, ms_attempt *a) {
    ms_node_state ns;
    ms__node_state(c, a->node, &ns);
    ms_read_state rs = {ms_ops_op_name((ms_read_op)a->op),
                        a->client,
                        a->number,
                        (double)a->arrived / NS,
                        (double)a->waited / NS,
                        a->wakeups,
                        a->timed_out,
                        a->last_seen,
                        "client"};
    if (++a->consultations > MAX_CONSULTATIONS) {
        leave(a);
        ms__read_reply_fail(c, a, "EPOLICYLOOP", 0);
        return;
    }
    if (ms__policy_ask(c, &rs, &ns, &a->dec) != 0) {
        leave(a);
        ms__read_reply_fail(c, a, "EPOLICY", 0);
        return;
    }
    if (c->pol.cost > 0) {
        a->stage = AT_DECIDING;
        a->ev =
            ms_sched_after(c->s, (int64_t)(c->pol.cost * NS), EV_DECIDED, on_decided, a, a->id, 0);
        return;
    }
    act(c, a);
}

/* A follower forwards attempt a to the leader it knows (CubeFS's reverse
 * proxy): none known (or itself) fails ENOLEADER at once; a blocked link
 * loses the attempt (the client's timeout ends it); at the leader the
 * attempt is handled as if it had arrived there. */
static void forward(ms_cluster *c, ms_attempt *a) {
    int l = ms_raft_leader(c->raft, a->node);
    if (l < 0 || l == a->node || a->proxied >= MAX_REDIRECTS) {
        ms__read_reply_fail(c, a, l < 0 || l == a->node ? "ENOLEADER" : "ELOOP", 0);
        return;
    }
    if (ms_net_blocked(c->net, a->node, l) || ms_net_blocked(c->net, l, a->node)) {
        ms__read_reply_lost(c, a);
        return;
    }
    a->proxied++;
    a->node = l;
    a->ev = ms_sched_after(c->s, ms__hop(c), EV_AT_NODE, ms__read_at_node, a, a->id, (uint64_t)l);
}

/* A follower's routing of attempt a (`routing`): 1 when it was dealt
 * with (forwarded, answered from the cache, or failed), 0 to serve it
 * from the store. */
static int follower_routes(ms_cluster *c, ms_attempt *a) {
    switch (c->cfg.routing[a->op]) {
    case MS_FOLLOWER_PROXY:
        forward(c, a);
        return 1;
    case MS_FOLLOWER_CACHE: {
        ms_master *m = &c->m[a->node];
        if (!ms__cache_ready(m, a->key_a)) {
            c->cache.misses++;
            ms__read_reply_fail(c, a, "ECACHEMISS", 0);
            return 1;
        }
        c->cache.hits++;
        c->metrics.load[a->node]++;
        a->arrived = ms_sched_now(c->s);
        a->arr_phase = ms_phase_name(m->phase);
        a->arr_role = ms_raft_role_name(ms_raft_role_of(c->raft, a->node));
        a->cached = 1;
        a->admitted = MS_PHASE_SERVING;
        enter(a);
        enqueue(c, a);
        return 1;
    }
    default:
        return 0;
    }
}

/* The attempt reaches its node. */
void ms__read_at_node(ms_sched *s, void *ctx, uint64_t id, uint64_t node) {
    (void)s, (void)id, (void)node;
    ms_attempt *a = ctx;
    ms_cluster *c = a->c;
    ms_master *m = &c->m[a->node];
    a->ev = 0;
    if (m->phase == MS_PHASE_DOWN) {
        ms__read_reply_fail(c, a, "ECONNREFUSED", 0);
        return;
    }
    const ms_client_group *g = a->r ? &c->cfg.group[a->r->group] : NULL;
    int leader = ms_cluster_leader(c);
    if (g && g->route == MS_ROUTE_ANY) {
        if (!a->proxied && leader >= 0 && leader != a->node) {
            a->proxied = 1; /* the follower forwards it to the leader: one more hop each way */
            a->node = leader;
            a->ev = ms_sched_after(c->s, ms__hop(c), EV_AT_NODE, ms__read_at_node, a, a->id,
                                   (uint64_t)leader);
            return;
        }
    } else if (ms_raft_role_of(c->raft, a->node) != MS_RAFT_LEADER && follower_routes(c, a)) {
        return;
    }
    c->metrics.load[a->node]++;
    a->arrived = ms_sched_now(c->s);
    a->arr_phase = ms_phase_name(m->phase);
    a->arr_role = ms_raft_role_name(ms_raft_role_of(c->raft, a->node));
    if (m->phase == MS_PHASE_LOADING) {
        ms__read_reply_fail(c, a, "ENOTREADY", 0);
        return;
    }
    enter(a);
    if (m->phase != MS_PHASE_SERVING || c->pol.every_read) {
        consult(c, a);
    } else {
        a->admitted = MS_PHASE_SERVING;
        enqueue(c, a);
    }
}

/* A node went down: attempts queued or in service there are reset. Gate
 * waiters are woken by the end of the apply and reset in on_gate. */
void ms__reads_node_down(ms_cluster *c, int node) {
    ms_master *m = &c->m[node];
    m->qhead = m->qtail = NULL;
    m->qlen = 0;
    m->busy = 0;
    ms_attempt *a = m->present;
    while (a) {
        ms_attempt *next = a->next_at;
        if (a->stage == AT_QUEUED || a->stage == AT_SERVICE || a->stage == AT_DECIDING) {
            ms_sched_cancel(c->s, a->ev);
            a->ev = 0;
            leave(a);
            ms__read_reply_fail(c, a, "ECONNRESET", 0);
        }
        a = next;
    }
}

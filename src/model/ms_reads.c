/* The read path: routing, the network hop, a follower's routing table, the
 * policy at the node, the apply gate, the request server, the reply,
 * classification against ground truth, timeouts and retries. Arrivals and
 * the SDK's host order are in ms_arrivals.c. */
#include "ms_cluster_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

/* --- the client side ---------------------------------------------------------------- */

static int64_t hop(ms_cluster *c) {
    return ms_dist_sample_i64(&c->cfg.latency, &c->client);
}

static void at_node(ms_sched *s, void *ctx, uint64_t id, uint64_t node);

/* The logical read is over. */
static void finish(ms_cluster *c, ms_read *r, ms_outcome o, const char *code) {
    int64_t now = ms_sched_now(c->s);
    if (c->on_op) {
        ms_op_record h = {.kind = MS_OPR_READ,
                          .t = now,
                          .invoked = r->intended,
                          .id = r->id,
                          .client = r->client,
                          .node = -1,
                          .op = r->op,
                          .a = r->key_a,
                          .b = r->key_b,
                          .outcome = (int)o,
                          .index = r->observed};
        c->on_op(c->op_ctx, &h);
    }
    int overlapped = r->applying_at_issue || c->apply_epoch != r->apply_epoch;
    ms_metrics_done(&c->metrics, r->op, o, r->intended, now - r->intended, overlapped, code);
    ms_hist_record(c->metrics.wait, r->total_wait);
    c->metrics.attempts += (uint64_t)r->attempts;
    c->metrics.retries += (uint64_t)r->retries;
    c->metrics.redirects += (uint64_t)r->redirects;
    ms_sched_fold(c->s, (uint64_t)o);
    int group = r->group, client = r->client;
    ms__read_free(c, r);
    /* nothing after the last read is measured: the run ends with it */
    if (--c->reads_open == 0 && now >= c->cfg.duration) ms_sched_stop(c->s);
    const ms_client_group *g = &c->cfg.group[group];
    if (g->arrivals == MS_ARRIVALS_CLOSED) ms__reads_next_closed(c, group, client, g->think);
}

static void on_retry(ms_sched *s, void *ctx, uint64_t id, uint64_t b) {
    (void)s, (void)id, (void)b;
    ms_read *r = ctx;
    r->retry = 0;
    ms__read_send(r->c, r);
}

/* A failed attempt: retry after backoff with jitter, or give up. */
static void failed_attempt(ms_cluster *c, ms_read *r, ms_outcome o, const char *code,
                           int64_t retry_after) {
    const ms_client_group *g = &c->cfg.group[r->group];
    if (g->route == MS_ROUTE_SDK) {
        /* CubeFS's SDK: the next host at once, until every one was tried */
        if (!ms__sdk_next(c, r)) {
            finish(c, r, o, code);
            return;
        }
        r->retries++;
        ms__read_send(c, r);
        return;
    }
    if (r->retries >= g->retry_max) {
        finish(c, r, o, code);
        return;
    }
    r->retries++;
    double back = (double)g->backoff * pow(2.0, r->retries - 1);
    if (back > (double)g->backoff_cap) back = (double)g->backoff_cap;
    back *= 1.0 + g->jitter * (2.0 * ms_rng_uniform(&c->client) - 1.0);
    if (retry_after > 0 && (double)retry_after > back) back = (double)retry_after;
    if (g->retry_other) r->target = (r->target + 1) % c->n;
    r->retry = ms_sched_after(c->s, (int64_t)back, EV_SEND, on_retry, r, r->id, 0);
}

/* Ground truth: a complete read is fresh when it reflects every entry
 * committed when the read was issued, else stale by the missing entries
 * and by how long ago the first of them committed. */
static void classify(ms_cluster *c, ms_read *r, const ms_read_result *res) {
    client_state *cs = ms__client_of(c, r);
    /* the SDK's leader is the host that answered (get_partitions restores it) */
    if (res->verdict != MS_READ_CRASH && r->op != MS_OP_GET_PARTITIONS) cs->sdk_leader = r->target;
    r->observed = res->applied;
    switch (res->verdict) {
    case MS_READ_COMPLETE:
    case MS_READ_NOT_FOUND: {
        if (res->applied < cs->last_seen) c->metrics.monotonic_regressions++;
        if (res->applied > cs->last_seen) cs->last_seen = res->applied;
        ms_outcome o = MS_OUT_FRESH;
        if (res->applied < r->commit_at_issue) {
            o = MS_OUT_STALE;
            uint64_t first_missing = res->applied + 1;
            int64_t t = first_missing < c->ncommit ? c->commit_time[first_missing] : r->intended;
            ms_hist_record(c->metrics.stale_index, (int64_t)(r->commit_at_issue - res->applied));
            ms_hist_record(c->metrics.stale_time, r->intended > t ? r->intended - t : 0);
        }
        c->metrics.attempt_outcomes[o]++;
        finish(c, r, o, NULL);
        return;
    }
    case MS_READ_TORN:
        c->metrics.attempt_outcomes[MS_OUT_TORN]++;
        finish(c, r, MS_OUT_TORN, NULL);
        return;
    case MS_READ_CRASH:
        c->metrics.attempt_outcomes[MS_OUT_CRASH]++;
        failed_attempt(c, r, MS_OUT_CRASH, NULL, 0);
        return;
    default:
        c->metrics.attempt_outcomes[MS_OUT_FAILED]++;
        failed_attempt(c, r, MS_OUT_FAILED, "EUNUSABLE", 0);
        return;
    }
}

/* Report attempt a's end to the history hook, if any. */
static void history(ms_cluster *c, const ms_read *r, const ms_attempt *a, const char *outcome,
                    const char *code) {
    if (!c->on_attempt) return;
    int64_t now = ms_sched_now(c->s);
    ms_attempt_record h = {now,
                           r->id,
                           a->number,
                           a->client,
                           a->op,
                           a->node,
                           a->arr_role ? a->arr_role : "",
                           a->arr_phase ? a->arr_phase : "",
                           a->kind == REPLY_RESULT ? a->result.applied : 0,
                           r->commit_at_issue,
                           outcome,
                           code,
                           now - a->sent,
                           a->queue_ns,
                           a->waited,
                           a->service_ns,
                           0,
                           a->host};
    /* a timed-out attempt may still be waiting, queued or in service */
    if (a->stage == AT_WAIT) h.gate += now - a->wait_start;
    if (a->stage == AT_QUEUED) h.queue += now - a->queued_at;
    if (a->stage == AT_SERVICE) h.service += now - a->service_start;
    h.network = h.latency - h.queue - h.gate - h.service;
    if (h.network < 0) h.network = 0;
    c->on_attempt(c->attempt_ctx, &h);
}

/* The outcome name of a result reply, as classify will count it. */
static const char *result_outcome(const ms_read *r, const ms_read_result *res) {
    switch (res->verdict) {
    case MS_READ_COMPLETE:
    case MS_READ_NOT_FOUND:
        return res->applied >= r->commit_at_issue ? "fresh" : "stale";
    case MS_READ_TORN:
        return "torn";
    case MS_READ_CRASH:
        return "crash";
    default:
        return "failed";
    }
}

/* The reply reaches the client, or is dropped when the client gave up. */
static void on_reply(ms_sched *s, void *ctx, uint64_t id, uint64_t b) {
    (void)s, (void)id, (void)b;
    ms_attempt *a = ctx;
    ms_cluster *c = a->c;
    ms_read *r = a->r;
    if (!r) {
        ms__attempt_free(c, a);
        return;
    }
    r->cur = NULL;
    ms_timerq_cancel(&c->timeouts[r->group], r->timeout);
    r->timeout = 0;
    r->total_wait += a->waited;
    if (c->on_attempt) {
        const char *o = a->kind == REPLY_RESULT     ? result_outcome(r, &a->result)
                        : a->kind == REPLY_REDIRECT ? "redirect"
                                                    : "failed";
        const char *code = a->kind == REPLY_FAIL ? a->code
                           : a->kind == REPLY_RESULT && a->result.verdict == MS_READ_UNUSABLE
                               ? "EUNUSABLE"
                               : NULL;
        history(c, r, a, o, code);
    }
    if (a->kind == REPLY_RESULT) {
        ms_read_result res = a->result;
        ms__attempt_free(c, a);
        classify(c, r, &res);
    } else if (a->kind == REPLY_REDIRECT) {
        r->target = a->redirect_to;
        ms__attempt_free(c, a);
        ms__read_send(c, r);
    } else {
        char code[MS_CODE_MAX];
        memcpy(code, a->code, sizeof code);
        int64_t ra = a->retry_after;
        ms__attempt_free(c, a);
        c->metrics.attempt_outcomes[MS_OUT_FAILED]++;
        failed_attempt(c, r, MS_OUT_FAILED, code, ra);
    }
}

/* Send the reply of attempt a (which has left its node) to the client. */
static void reply(ms_cluster *c, ms_attempt *a) {
    a->stage = AT_REPLY;
    int64_t d = hop(c);
    for (int i = 0; i < a->proxied; i++) d += hop(c); /* back through each forwarding follower */
    a->ev = ms_sched_after(c->s, d, EV_REPLY, on_reply, a, a->id, 0);
}

static void reply_fail(ms_cluster *c, ms_attempt *a, const char *code, double retry_after) {
    a->kind = REPLY_FAIL;
    snprintf(a->code, sizeof a->code, "%s", code);
    a->retry_after = retry_after > 0 ? (int64_t)(retry_after * NS) : 0;
    reply(c, a);
}

/* The client's attempt timer (from its group's timeout queue): give up on
 * the attempt (the server may still work on it) and retry or finish as a
 * timeout. */
void ms__read_timeout(void *ctx, void *item, uint64_t id) {
    (void)ctx, (void)id;
    ms_read *r = item;
    ms_cluster *c = r->c;
    r->timeout = 0;
    if (r->cur) {
        r->total_wait += r->cur->waited;
        history(c, r, r->cur, "timeout", NULL);
        r->cur->r = NULL;
        r->cur = NULL;
    }
    c->metrics.attempt_outcomes[MS_OUT_TIMEOUT]++;
    failed_attempt(c, r, MS_OUT_TIMEOUT, NULL, 0);
}

/* Route: the current leader (clients learn it from any master's redirect;
 * the model gives it to them directly), or the master the read targets:
 * the client's own at first, another after a retry_other retry, or where a
 * redirect pointed. */
static int route(ms_cluster *c, const ms_read *r) {
    const ms_client_group *g = &c->cfg.group[r->group];
    if (g->route == MS_ROUTE_LEADER && r->redirects == 0) {
        int l = ms_cluster_leader(c);
        if (l >= 0) return l;
    }
    return r->target; /* sdk: set by sdk_first / sdk_next, or a redirect */
}

void ms__read_send(ms_cluster *c, ms_read *r) {
    ms_attempt *a = ms__attempt_new(c);
    if (!a) {
        finish(c, r, MS_OUT_FAILED, "ENOMEM");
        return;
    }
    r->attempts++;
    r->target = route(c, r);
    a->r = r;
    a->op = r->op;
    a->client = r->client;
    a->key_a = r->key_a;
    a->key_b = r->key_b;
    a->last_seen = ms__client_of(c, r)->last_seen;
    a->node = a->host = r->target;
    a->number = r->attempts;
    a->sent = ms_sched_now(c->s);
    a->stage = AT_NET;
    r->cur = a;
    int64_t deadline = ms_sched_now(c->s) + c->cfg.group[r->group].timeout;
    r->timeout = ms_timerq_add(&c->timeouts[r->group], deadline, r, r->id);
    a->ev = ms_sched_after(c->s, hop(c), EV_AT_NODE, at_node, a, a->id, (uint64_t)a->node);
}

/* --- the server side ------------------------------------------------------------ */

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
            reply_fail(c, a, "ENOTREADY", 0);
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
        reply(c, a);
        drain_queue(c, m);
        return;
    }
    if (!a->pinned && m->phase == MS_PHASE_APPLYING) c->metrics.served_while_applying++;
    ms_view v = a->pinned ? ms_version_view(a->pinned) : ms_store_view(m->store);
    a->result = ms_ops_run_memo(m->memo, &v, (ms_read_op)a->op, a->key_a, a->key_b);
    int crash = a->result.verdict == MS_READ_CRASH;
    reply(c, a);
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
        reply_fail(c, a, "EBUSY", 0);
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
        reply_fail(c, a, "ECONNRESET", 0);
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
            reply_fail(c, a, "ENOSTALE", 0);
        }
        return;
    case MS_DEC_WAIT:
        a->stage = AT_WAIT;
        a->wait_start = ms_sched_now(c->s);
        ms_gate_wait(m->gate, (int64_t)(d->seconds * NS), on_gate, a, a->id);
        return;
    case MS_DEC_FAIL:
        leave(a);
        reply_fail(c, a, d->code, d->retry_after);
        return;
    case MS_DEC_REDIRECT: {
        int target = d->target >= 0 ? d->target : ms_cluster_leader(c);
        leave(a);
        if (target < 0 || (a->r && a->r->redirects >= MAX_REDIRECTS)) {
            reply_fail(c, a, target < 0 ? "ENOLEADER" : "ELOOP", 0);
            return;
        }
        if (a->r) a->r->redirects++;
        a->kind = REPLY_REDIRECT;
        a->redirect_to = target;
        reply(c, a);
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
        reply_fail(c, a, "EPOLICYLOOP", 0);
        return;
    }
    if (ms__policy_ask(c, &rs, &ns, &a->dec) != 0) {
        leave(a);
        reply_fail(c, a, "EPOLICY", 0);
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
        reply_fail(c, a, l < 0 || l == a->node ? "ENOLEADER" : "ELOOP", 0);
        return;
    }
    if (ms_net_blocked(c->net, a->node, l) || ms_net_blocked(c->net, l, a->node)) {
        /* never answered: the reply is dropped once the client gave up */
        a->stage = AT_REPLY;
        a->kind = REPLY_FAIL;
        snprintf(a->code, sizeof a->code, "%s", "ETIMEDOUT");
        int64_t t = a->r ? c->cfg.group[a->r->group].timeout : 0;
        a->ev = ms_sched_after(c->s, t + 1, EV_REPLY, on_reply, a, a->id, 0);
        return;
    }
    a->proxied++;
    a->node = l;
    a->ev = ms_sched_after(c->s, hop(c), EV_AT_NODE, at_node, a, a->id, (uint64_t)l);
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
            reply_fail(c, a, "ECACHEMISS", 0);
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
static void at_node(ms_sched *s, void *ctx, uint64_t id, uint64_t node) {
    (void)s, (void)id, (void)node;
    ms_attempt *a = ctx;
    ms_cluster *c = a->c;
    ms_master *m = &c->m[a->node];
    a->ev = 0;
    if (m->phase == MS_PHASE_DOWN) {
        reply_fail(c, a, "ECONNREFUSED", 0);
        return;
    }
    const ms_client_group *g = a->r ? &c->cfg.group[a->r->group] : NULL;
    int leader = ms_cluster_leader(c);
    if (g && g->route == MS_ROUTE_ANY) {
        if (!a->proxied && leader >= 0 && leader != a->node) {
            a->proxied = 1; /* the follower forwards it to the leader: one more hop each way */
            a->node = leader;
            a->ev = ms_sched_after(c->s, hop(c), EV_AT_NODE, at_node, a, a->id, (uint64_t)leader);
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
        reply_fail(c, a, "ENOTREADY", 0);
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
            reply_fail(c, a, "ECONNRESET", 0);
        }
        a = next;
    }
}

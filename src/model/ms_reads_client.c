/* The client's side of a read: routing an attempt, its reply,
 * classification against ground truth, the history record, timeouts,
 * retries and the end of the logical read. The node's side is ms_reads.c. */
#include "ms_cluster_impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NS 1000000000.0

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
void ms__read_reply(ms_cluster *c, ms_attempt *a) {
    a->stage = AT_REPLY;
    int64_t d = ms__hop(c);
    for (int i = 0; i < a->proxied; i++)
        d += ms__hop(c); /* back through each forwarding follower */
    a->ev = ms_sched_after(c->s, d, EV_REPLY, on_reply, a, a->id, 0);
}

void ms__read_reply_lost(ms_cluster *c, ms_attempt *a) {
    /* never answered: the reply is dropped once the client gave up */
    a->stage = AT_REPLY;
    a->kind = REPLY_FAIL;
    snprintf(a->code, sizeof a->code, "%s", "ETIMEDOUT");
    int64_t t = a->r ? c->cfg.group[a->r->group].timeout : 0;
    a->ev = ms_sched_after(c->s, t + 1, EV_REPLY, on_reply, a, a->id, 0);
}

void ms__read_reply_fail(ms_cluster *c, ms_attempt *a, const char *code, double retry_after) {
    a->kind = REPLY_FAIL;
    snprintf(a->code, sizeof a->code, "%s", code);
    a->retry_after = retry_after > 0 ? (int64_t)(retry_after * NS) : 0;
    ms__read_reply(c, a);
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
    a->ev =
        ms_sched_after(c->s, ms__hop(c), EV_AT_NODE, ms__read_at_node, a, a->id, (uint64_t)a->node);
}

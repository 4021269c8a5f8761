/* The history files of a cluster run, written as the model reports:
 *   cluster:history(path)  one JSON line per read attempt (--history-format
 *                          jsonl): node, role, phase, indexes, outcome, time split;
 *   cluster:ops(path)      one JSON line per operation record (ms_op_record):
 *                          logical reads, write proposals, applied entries, the
 *                          raw material lua/mastersim/history.lua turns into
 *                          Porcupine and Jepsen/Knossos EDN histories.
 * Each is an ms_outfile (a regular file through a temporary file moved into
 * place by history_close or when the cluster closes; a device or FIFO in
 * place, never replaced). Every field is deterministic (virtual times, ids,
 * indexes). */
#include "lms_cluster.h"

#include "ms_metrics.h"
#include "ms_ops.h"
#include "ms_write.h"

#include <stdlib.h>
#include <string.h>

/* Finish o; on a failure, put "<path>: <reason>" in err unless it holds
 * an earlier one. Returns 0 or -1. */
static int finish(ms_outfile *o, char *err, size_t errlen) {
    char why[200];
    const char *path = o->path ? o->path : "";
    size_t n = strlen(path) + 1;
    char *name = malloc(n);
    if (name) memcpy(name, path, n);
    int rc = ms_outfile_close(o, 0, why, sizeof why);
    if (rc != 0 && err && err[0] == '\0') snprintf(err, errlen, "%s: %s", name ? name : "", why);
    free(name);
    return rc;
}

int lms_history_close(lms_cluster *u, char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (u->c) {
        ms_cluster_on_attempt(u->c, NULL, NULL);
        ms_cluster_on_op(u->c, NULL, NULL);
    }
    int a = finish(&u->history, err, errlen);
    int b = finish(&u->ops, err, errlen);
    return a || b ? -1 : 0;
}

/* history_close() -> true | nil, "<path>: <reason>": finish the history
 * and op record files now (every write failure, ENOSPC included, is
 * reported here; close and __gc finish them silently). */
int lms_cluster_history_close(lua_State *L) {
    lms_cluster *u = lms_cluster_check(L, 1);
    char err[512];
    return lms_push_ok(L, lms_history_close(u, err, sizeof err), err);
}

/* Open o at the path at arg 2 (ms_outfile.h: a regular file through a
 * temporary file, a device or FIFO in place): true, or nil and the reason.
 * Stack: [-0, +1|2]. */
static int open_for(lua_State *L, ms_outfile *o, const char *what) {
    const char *path = luaL_checkstring(L, 2);
    if (o->f) return luaL_error(L, "the %s file is already open", what);
    char err[256];
    return lms_push_ok(L, ms_outfile_open(o, path, err, sizeof err), err);
}

static void write_attempt(void *ctx, const ms_attempt_record *h) {
    lms_cluster *u = ctx;
    int n = fprintf(
        u->history.f,
        "{\"t\":%.9f,\"read\":%llu,\"attempt\":%d,\"client\":%d,\"op\":\"%s\","
        "\"node\":\"m%d\",\"host\":\"m%d\",\"role\":\"%s\",\"phase\":\"%s\",\"applied\":%llu,"
        "\"commit\":%llu,\"outcome\":\"%s\",\"code\":%s%s%s,\"latency\":%.9f,"
        "\"queue\":%.9f,\"gate\":%.9f,\"service\":%.9f,\"network\":%.9f}\n",
        (double)h->t / 1e9, (unsigned long long)h->read, h->attempt, h->client,
        ms_ops_op_name((ms_read_op)h->op), h->node + 1, h->host + 1, h->role, h->phase,
        (unsigned long long)h->applied, (unsigned long long)h->commit, h->outcome,
        h->code ? "\"" : "", h->code ? h->code : "null", h->code ? "\"" : "",
        (double)h->latency / 1e9, (double)h->queue / 1e9, (double)h->gate / 1e9,
        (double)h->service / 1e9, (double)h->network / 1e9);
    if (n < 0) ms_outfile_failed(&u->history);
}

/* history(path): one JSON line per read attempt. */
int lms_cluster_history(lua_State *L) {
    lms_cluster *u = lms_cluster_check(L, 1);
    int n = open_for(L, &u->history, "history");
    if (u->history.f) ms_cluster_on_attempt(u->c, write_attempt, u);
    return n;
}

static const char *const OUTCOMES[] = {"fresh", "stale", "torn", "crash", "failed", "timeout"};

/* One record: times in integer ns, names for ops and outcomes. */
static void write_op(void *ctx, const ms_op_record *r) {
    ms_outfile *out = &((lms_cluster *)ctx)->ops;
    FILE *f = out->f;
    int n;
    unsigned long long a = r->a, b = r->b, ix = r->index, term = r->term;
    long long t = r->t;
    if (r->kind == MS_OPR_READ) {
        const char *o = r->outcome >= 0 && r->outcome < MS_OUT_COUNT ? OUTCOMES[r->outcome] : "?";
        n = fprintf(f,
                    "{\"k\":\"read\",\"id\":%llu,\"client\":%d,\"op\":\"%s\",\"a\":%llu,\"b\":%llu,"
                    "\"t0\":%lld,\"t1\":%lld,\"outcome\":\"%s\",\"index\":%llu}\n",
                    (unsigned long long)r->id, r->client, ms_ops_op_name((ms_read_op)r->op), a, b,
                    (long long)r->invoked, t, o, ix);
        if (n < 0) ms_outfile_failed(out);
        return;
    }
    const char *op = r->op ? ms_write_op_name(r->op) : NULL;
    if (r->kind == MS_OPR_PROPOSE)
        n = fprintf(
            f,
            "{\"k\":\"propose\",\"id\":%llu,\"try\":%d,\"t\":%lld,\"node\":%d,\"op\":\"%s\","
            "\"vol\":%llu,\"nd\":%llu,\"index\":%llu,\"term\":%llu}\n",
            (unsigned long long)r->id, r->tries, t, r->node, op ? op : "?", a, b, ix, term);
    else
        n = fprintf(
            f,
            "{\"k\":\"apply\",\"t\":%lld,\"node\":%d,\"op\":%s%s%s,\"vol\":%llu,\"nd\":%llu,"
            "\"index\":%llu,\"term\":%llu}\n",
            t, r->node, op ? "\"" : "", op ? op : "null", op ? "\"" : "", a, b, ix, term);
    if (n < 0) ms_outfile_failed(out);
}

/* ops(path): one JSON line per operation record. */
int lms_cluster_ops(lua_State *L) {
    lms_cluster *u = lms_cluster_check(L, 1);
    int n = open_for(L, &u->ops, "ops");
    if (u->ops.f) ms_cluster_on_op(u->c, write_op, u);
    return n;
}

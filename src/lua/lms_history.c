/* The history files of a cluster run, written as the model reports:
 *   cluster:history(path)  one JSON line per read attempt (--history-format
 *                          jsonl): node, role, phase, indexes, outcome, time split;
 *   cluster:ops(path)      one JSON line per operation record (ms_op_record):
 *                          logical reads, write proposals, applied entries, the
 *                          raw material lua/mastersim/history.lua turns into
 *                          Porcupine and Jepsen/Knossos EDN histories.
 * Each is written to path.tmp and renamed into place when the cluster closes.
 * Every field is deterministic (virtual times, ids, indexes). */
#include "lms_cluster.h"

#include "ms_metrics.h"
#include "ms_ops.h"
#include "ms_write.h"

#include <stdlib.h>
#include <string.h>

/* Open o at path (through path.tmp). Returns 1, or 0 with o untouched. */
static int outfile_open(lua_State *L, lms_outfile *o, const char *path) {
    lua_pushfstring(L, "%s.tmp", path);
    char *tmp = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    char *dst = strdup(path);
    FILE *f = tmp && dst ? fopen(tmp, "w") : NULL;
    if (!f) {
        free(tmp), free(dst);
        return 0;
    }
    o->f = f, o->tmp = tmp, o->path = dst;
    return 1;
}

/* Close o and move it into place (drop it when writing failed). */
static void outfile_close(lms_outfile *o) {
    if (!o->f) return;
    int bad = fclose(o->f) != 0;
    if (bad || rename(o->tmp, o->path) != 0) remove(o->tmp);
    o->f = NULL;
    free(o->tmp), free(o->path);
    o->tmp = o->path = NULL;
}

void lms_history_close(lms_cluster *u) {
    outfile_close(&u->history);
    outfile_close(&u->ops);
}

/* Open o at the path at arg 2: true, or nil and a message. Stack:
 * [-0, +1|2]. */
static int open_for(lua_State *L, lms_outfile *o, const char *what) {
    const char *path = luaL_checkstring(L, 2);
    if (o->f) return luaL_error(L, "the %s file is already open", what);
    if (!outfile_open(L, o, path)) {
        luaL_pushfail(L);
        lua_pushfstring(L, "cannot write %s", path);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static void write_attempt(void *ctx, const ms_attempt_record *h) {
    lms_cluster *u = ctx;
    fprintf(u->history.f,
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
    FILE *f = ((lms_cluster *)ctx)->ops.f;
    unsigned long long a = r->a, b = r->b, ix = r->index, term = r->term;
    long long t = r->t;
    if (r->kind == MS_OPR_READ) {
        const char *o = r->outcome >= 0 && r->outcome < MS_OUT_COUNT ? OUTCOMES[r->outcome] : "?";
        fprintf(f,
                "{\"k\":\"read\",\"id\":%llu,\"client\":%d,\"op\":\"%s\",\"a\":%llu,\"b\":%llu,"
                "\"t0\":%lld,\"t1\":%lld,\"outcome\":\"%s\",\"index\":%llu}\n",
                (unsigned long long)r->id, r->client, ms_ops_op_name((ms_read_op)r->op), a, b,
                (long long)r->invoked, t, o, ix);
        return;
    }
    const char *op = r->op ? ms_write_op_name(r->op) : NULL;
    if (r->kind == MS_OPR_PROPOSE)
        fprintf(f,
                "{\"k\":\"propose\",\"id\":%llu,\"try\":%d,\"t\":%lld,\"node\":%d,\"op\":\"%s\","
                "\"vol\":%llu,\"nd\":%llu,\"index\":%llu,\"term\":%llu}\n",
                (unsigned long long)r->id, r->tries, t, r->node, op ? op : "?", a, b, ix, term);
    else
        fprintf(f,
                "{\"k\":\"apply\",\"t\":%lld,\"node\":%d,\"op\":%s%s%s,\"vol\":%llu,\"nd\":%llu,"
                "\"index\":%llu,\"term\":%llu}\n",
                t, r->node, op ? "\"" : "", op ? op : "null", op ? "\"" : "", a, b, ix, term);
}

/* ops(path): one JSON line per operation record. */
int lms_cluster_ops(lua_State *L) {
    lms_cluster *u = lms_cluster_check(L, 1);
    int n = open_for(L, &u->ops, "ops");
    if (u->ops.f) ms_cluster_on_op(u->c, write_op, u);
    return n;
}

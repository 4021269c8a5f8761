/* Binding of the cluster model: core.cluster(sched, cfg, policy) ->
 * mastersim.Cluster. cfg is the normalised scenario (seconds, bytes) built
 * by lua/mastersim/runner.lua; policy is either { builtin = name, param = x }
 * or { decide = fn(read, node) -> kind, a, b, hook = fn(name, node),
 * every_read = bool, cost = seconds, name = string }. Lua functions are
 * called inside the scheduler's run, on its lua_State, unprotected: an
 * error stops the run and propagates out of core.drive.
 *
 * A cluster is a child of its scheduler (lms_sched.h): closing the
 * scheduler closes the cluster first; closing the cluster frees the model
 * and cancels the model's queued events, and leaves the scheduler open. */
#include "lms_cluster.h"

#include "ms_check.h"
#include "ms_digest.h"
#include "ms_metrics.h"

#include <stdlib.h>
#include <string.h>

#define LMS_CLUSTER "mastersim.Cluster"

lms_cluster *lms_cluster_check(lua_State *L, int arg) {
    lms_cluster *u = luaL_checkudata(L, arg, LMS_CLUSTER);
    if (u->c == NULL) luaL_argerror(L, arg, "cluster is closed");
    return u;
}

/* During a run: push the cluster userdata, then its user values uvs[0..n).
 * Returns the lua_State, or NULL (nothing pushed) outside a run.
 * Stack: [-0, +(n+1)]. */
static lua_State *push_values(lms_cluster *u, const int *uvs, int n) {
    lua_State *L = lms_child_state(&u->child);
    if (L == NULL || !lms_sched_push_child(&u->child)) return NULL;
    int self = lua_gettop(L);
    for (int i = 0; i < n; i++) lua_getiuservalue(L, self, uvs[i]);
    return L;
}

/* --- the policy through Lua ------------------------------------------------------ */

/* Fill the table on top with a node's state. Stack: [-0, +0]. */
void lms_push_node_fields(lua_State *L, const ms_node_state *n) {
    lms_setstr(L, "name", n->name);
    lms_setstr(L, "role", n->role);
    lms_setstr(L, "phase", ms_phase_name(n->phase));
    lms_setint(L, "term", (int64_t)n->term);
    lms_setint(L, "applied", (int64_t)n->applied);
    lms_setint(L, "commit", (int64_t)n->commit);
    lms_setint(L, "lag", (int64_t)n->lag);
    lms_setnum(L, "apply_progress", n->apply_progress);
    lms_setint(L, "stale_index", (int64_t)n->stale_index);
    lms_setint(L, "waiters", n->waiters);
    lms_setnum(L, "last_contact", n->last_contact);
    lms_setint(L, "store_keys", (int64_t)n->store_keys);
    lms_setint(L, "memory", n->mem_bytes);
}

void lms_push_read_fields(lua_State *L, const ms_read_state *r) {
    lms_setstr(L, "op", r->op);
    lms_setint(L, "client", r->client);
    lms_setint(L, "attempt", r->attempt);
    lms_setnum(L, "arrived", r->arrived);
    lms_setnum(L, "waited", r->waited);
    lms_setint(L, "wakeups", r->wakeups);
    lua_pushboolean(L, r->timed_out);
    lua_setfield(L, -2, "timed_out");
    lms_setint(L, "last_seen_index", (int64_t)r->last_seen_index);
    lms_setstr(L, "source", r->source);
}

/* decide(read, node) -> kind, a, b, checked in Lua (policy.lua); here only
 * converted. redirect targets come back as node indices (-1 = leader). */
static int lua_on_read(void *ud, const ms_read_state *r, const ms_node_state *n, ms_decision *d,
                       char *err, size_t errlen) {
    static const int uvs[] = {UV_DECIDE, UV_READ, UV_NODE};
    lua_State *L = push_values(ud, uvs, 3);
    if (L == NULL) {
        snprintf(err, errlen, "the policy was consulted outside a run");
        return -1;
    }
    lms_push_node_fields(L, n);
    lua_pushvalue(L, -2);
    lms_push_read_fields(L, r);
    lua_pop(L, 1);
    lua_call(L, 2, 3);
    d->kind = (ms_decision_kind)luaL_checkoption(L, -3, NULL, ms_decision_kinds);
    switch (d->kind) {
    case MS_DEC_WAIT:
        d->seconds = lua_tonumber(L, -2);
        break;
    case MS_DEC_FAIL:
        strncpy(d->code, lua_tostring(L, -2), sizeof d->code - 1);
        d->retry_after = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : -1;
        break;
    case MS_DEC_REDIRECT:
        d->target = (int)lua_tointeger(L, -2);
        break;
    default:
        break;
    }
    lua_pop(L, 4); /* the results and the cluster */
    return 0;
}

static void lua_on_apply(void *ud, const ms_node_state *n, int begin) {
    static const int uvs[] = {UV_HOOK, UV_NODE};
    lua_State *L = push_values(ud, uvs, 2);
    if (L == NULL) return; /* a fault applied from outside a run */
    lms_push_node_fields(L, n);
    lua_pushstring(L, begin ? "on_apply_begin" : "on_apply_end");
    lua_insert(L, -2);
    lua_call(L, 2, 0);
    lua_pop(L, 1);
}

static void on_change(void *ctx) {
    static const int uvs[] = {UV_CHANGE};
    lua_State *L = push_values(ctx, uvs, 1);
    if (L == NULL) return; /* a fault applied from outside a run */
    lua_call(L, 0, 0);
    lua_pop(L, 1);
}

/* --- construction ------------------------------------------------------------- */

/* Keep field k of the table at idx as user value uv of the userdata at
 * self when it has type `type`; returns whether it did. Stack: [-0, +0]. */
static int keep_field(lua_State *L, int self, int idx, const char *k, int type, int uv) {
    if (lua_getfield(L, idx, k) != type) {
        lua_pop(L, 1);
        return 0;
    }
    lua_setiuservalue(L, self, uv);
    return 1;
}

/* Set up u->pol from the policy table at idx; the cluster userdata is at
 * self. */
static void policy_from(lua_State *L, int idx, int self, lms_cluster *u) {
    luaL_checktype(L, idx, LUA_TTABLE);
    if (lua_getfield(L, idx, "builtin") == LUA_TSTRING) {
        lua_getfield(L, idx, "param");
        double param = lua_tonumber(L, -1);
        if (ms_policy_builtin(lua_tostring(L, -2), param, &u->pol) != 0)
            luaL_error(L, "unknown built-in policy '%s'", lua_tostring(L, -2));
        u->pol.ud = &u->pol.param;
        lua_pop(L, 2);
        return;
    }
    lua_pop(L, 1);
    if (!keep_field(L, self, idx, "decide", LUA_TFUNCTION, UV_DECIDE))
        luaL_error(L, "policy table needs decide or builtin");
    int hook = keep_field(L, self, idx, "hook", LUA_TFUNCTION, UV_HOOK);
    lua_getfield(L, idx, "every_read");
    u->pol.every_read = lua_toboolean(L, -1);
    lua_getfield(L, idx, "cost");
    u->pol.cost = lua_tonumber(L, -1);
    lua_pop(L, 2);
    u->pol.name = "lua";
    u->pol.ud = u;
    u->pol.on_read = lua_on_read;
    if (hook) u->pol.on_apply = lua_on_apply;
}

/* The child's free function: the model, then the history files (moved
 * into place as they stand; cluster:history_close reports errors). */
static void cluster_free(lms_child *ch) {
    lms_cluster *u = (lms_cluster *)ch;
    ms_cluster_free(u->c);
    u->c = NULL;
    lms_history_close(u, NULL, 0);
}

/* cluster(sched, cfg, policy) -> Cluster */
static int cluster_new(lua_State *L) {
    lms_sched *s = lms_sched_check(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    ms_cluster_config cfg;
    lms_cluster_config(L, 2, &cfg);
    lms_cluster *u = lua_newuserdatauv(L, sizeof *u, UV_COUNT);
    memset(u, 0, sizeof *u);
    luaL_setmetatable(L, LMS_CLUSTER);
    int self = lua_gettop(L);
    policy_from(L, 3, self, u);
    lua_newtable(L);
    lua_setiuservalue(L, self, UV_READ);
    lua_newtable(L);
    lua_setiuservalue(L, self, UV_NODE);
    lms_sched_adopt(L, 1, self, &u->child, cluster_free);
    char err[256];
    ms_sched_owner prev = lms_child_enter(&u->child);
    u->c = ms_cluster_new(s->s, &cfg, &u->pol, err, sizeof err);
    lms_child_leave(&u->child, prev);
    if (u->c == NULL) {
        lms_child_close(L, self, &u->child);
        return luaL_error(L, "%s", err);
    }
    /* The collector sees a few hundred bytes of userdata for megabytes of
     * model: count them as allocated, so that unreachable clusters are
     * collected at the pace their memory, not their userdata, asks for. */
    lua_gc(L, LUA_GCSTEP, (int)(ms_cluster_footprint(u->c) / 1024));
    return 1;
}

/* --- faults: node indices are 1-based from Lua --------------------------------------- */

static int node_arg(lua_State *L, lms_cluster *u, int arg) {
    lua_Integer i = luaL_checkinteger(L, arg);
    luaL_argcheck(L, i >= 1 && i <= ms_cluster_size(u->c), arg, "no such node");
    return (int)i - 1;
}

/* Result of a fault op on the model, made with the cluster's owner
 * current so the events it schedules go when the cluster is closed. */
static int push_ok(lua_State *L, lms_cluster *u, int rc, ms_sched_owner prev) {
    lms_child_leave(&u->child, prev);
    lua_pushboolean(L, rc == 0);
    return 1;
}

/* A fault on node argument 2: op(model, node). */
static int node_fault(lua_State *L, int (*op)(ms_cluster *, int)) {
    lms_cluster *u = lms_cluster_check(L, 1);
    int node = node_arg(L, u, 2);
    ms_sched_owner prev = lms_child_enter(&u->child);
    return push_ok(L, u, op(u->c, node), prev);
}

static int cluster_crash(lua_State *L) {
    return node_fault(L, ms_cluster_crash);
}

static int cluster_restart(lua_State *L) {
    return node_fault(L, ms_cluster_restart);
}

static int cluster_force_snapshot(lua_State *L) {
    return node_fault(L, ms_cluster_force_snapshot);
}

static int cluster_apply_snapshot(lua_State *L) {
    return node_fault(L, ms_cluster_apply_snapshot);
}

static int cluster_transfer_leader(lua_State *L) {
    return node_fault(L, ms_cluster_transfer_leader);
}

static int cluster_slow_apply(lua_State *L) {
    lms_cluster *u = lms_cluster_check(L, 1);
    int node = node_arg(L, u, 2);
    double factor = luaL_checknumber(L, 3);
    ms_sched_owner prev = lms_child_enter(&u->child);
    return push_ok(L, u, ms_cluster_slow_apply(u->c, node, factor), prev);
}

static int cluster_heal(lua_State *L) {
    lms_cluster *u = lms_cluster_check(L, 1);
    ms_sched_owner prev = lms_child_enter(&u->child);
    return push_ok(L, u, ms_cluster_heal(u->c), prev);
}

/* A list of 1-based node indices at arg -> 0-based array; returns count. */
static size_t node_list(lua_State *L, lms_cluster *u, int arg, int *out) {
    luaL_checktype(L, arg, LUA_TTABLE);
    size_t n = (size_t)luaL_len(L, arg);
    luaL_argcheck(L, n <= MS_MAX_MASTERS, arg, "too many nodes");
    for (size_t i = 0; i < n; i++) {
        lua_geti(L, arg, (lua_Integer)i + 1);
        lua_Integer v = lua_tointeger(L, -1);
        lua_pop(L, 1);
        luaL_argcheck(L, v >= 1 && v <= ms_cluster_size(u->c), arg, "no such node");
        out[i] = (int)v - 1;
    }
    return n;
}

/* partition({a...}, {b...}): no traffic between the groups (both ways). */
static int cluster_partition(lua_State *L) {
    lms_cluster *u = lms_cluster_check(L, 1);
    int a[MS_MAX_MASTERS], b[MS_MAX_MASTERS];
    size_t na = node_list(L, u, 2, a), nb = node_list(L, u, 3, b);
    ms_sched_owner prev = lms_child_enter(&u->child);
    return push_ok(L, u, ms_cluster_partition(u->c, a, na, b, nb), prev);
}

static int cluster_block(lua_State *L) {
    lms_cluster *u = lms_cluster_check(L, 1);
    int from = node_arg(L, u, 2), to = node_arg(L, u, 3);
    ms_sched_owner prev = lms_child_enter(&u->child);
    return push_ok(L, u, ms_cluster_block(u->c, from, to), prev);
}

/* on_change(fn): fn() after every event that changes a node's state. */
static int cluster_on_change(lua_State *L) {
    lms_cluster *u = lms_cluster_check(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, 1, UV_CHANGE);
    ms_cluster_on_change(u->c, on_change, u);
    return 0;
}

/* --- observation -------------------------------------------------------------------- */

static int cluster_size(lua_State *L) {
    lua_pushinteger(L, ms_cluster_size(lms_cluster_check(L, 1)->c));
    return 1;
}

/* node(i) -> a fresh table with the node's state */
static int cluster_node(lua_State *L) {
    lms_cluster *u = lms_cluster_check(L, 1);
    ms_node_state n;
    ms_cluster_node_state(u->c, node_arg(L, u, 2), &n);
    lua_createtable(L, 0, 14);
    lms_push_node_fields(L, &n);
    lua_pushinteger(L, n.mem_peak);
    lua_setfield(L, -2, "memory_peak");
    lms_setint(L, "log_entries", (int64_t)n.log_entries);
    lms_setint(L, "campaigns", (int64_t)n.campaigns);
    return 1;
}

/* digest(i) -> 16-hex content digest of node i's live store */
static int cluster_digest(lua_State *L) {
    lms_cluster *u = lms_cluster_check(L, 1);
    char hex[17];
    ms_digest_hex(ms_cluster_store_digest(u->c, node_arg(L, u, 2)), hex);
    lua_pushstring(L, hex);
    return 1;
}

static int cluster_leader(lua_State *L) {
    int l = ms_cluster_leader(lms_cluster_check(L, 1)->c);
    if (l < 0)
        lua_pushnil(L);
    else
        lua_pushinteger(L, l + 1);
    return 1;
}

static int cluster_metrics(lua_State *L) {
    lms_push_metrics(L, lms_cluster_check(L, 1)->c);
    return 1;
}

/* checker() -> violations, first violation text or nil */
/* error() -> the message of a C policy error that stopped the run, or nil */
static int cluster_error(lua_State *L) {
    const char *e = ms_cluster_error(lms_cluster_check(L, 1)->c);
    if (e)
        lua_pushstring(L, e);
    else
        lua_pushnil(L);
    return 1;
}

static int cluster_checker(lua_State *L) {
    const ms_check *chk = ms_cluster_check(lms_cluster_check(L, 1)->c);
    lua_pushinteger(L, (lua_Integer)ms_check_violations(chk));
    const ms_check_violation *v = ms_check_first(chk);
    if (v)
        lua_pushfstring(L, "t=%f s m%d: %s", (double)v->time / 1e9, v->node + 1, v->what);
    else
        lua_pushnil(L);
    return 2;
}

/* close(), __close, __gc: free the model and cancel its queued events
 * (they point into it); the scheduler stays open. Idempotent. */
static int cluster_close(lua_State *L) {
    lms_cluster *u = luaL_checkudata(L, 1, LMS_CLUSTER);
    if (u->child.parent && u->child.parent->running)
        return luaL_error(L, "cannot close a cluster while its scheduler runs");
    lms_child_close(L, 1, &u->child);
    return 0;
}

static int cluster_tostring(lua_State *L) {
    lms_cluster *u = luaL_checkudata(L, 1, LMS_CLUSTER);
    if (u->c)
        lua_pushfstring(L, "mastersim.Cluster (%d masters)", ms_cluster_size(u->c));
    else
        lua_pushliteral(L, "mastersim.Cluster (closed)");
    return 1;
}

void lms_open_cluster(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"crash", cluster_crash},
        {"restart", cluster_restart},
        {"partition", cluster_partition},
        {"block", cluster_block},
        {"heal", cluster_heal},
        {"slow_apply", cluster_slow_apply},
        {"force_snapshot", cluster_force_snapshot},
        {"apply_snapshot", cluster_apply_snapshot},
        {"transfer_leader", cluster_transfer_leader},
        {"on_change", cluster_on_change},
        {"size", cluster_size},
        {"node", cluster_node},
        {"leader", cluster_leader},
        {"digest", cluster_digest},
        {"metrics", cluster_metrics},
        {"checker", cluster_checker},
        {"error", cluster_error},
        {"history", lms_cluster_history},
        {"ops", lms_cluster_ops},
        {"history_close", lms_cluster_history_close},
        {"close", cluster_close},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", cluster_close},
        {"__close", cluster_close},
        {"__tostring", cluster_tostring},
        {NULL, NULL},
    };
    lms_newclass(L, LMS_CLUSTER, methods, meta);
    lua_pushcfunction(L, cluster_new);
    lua_setfield(L, -2, "cluster");
}

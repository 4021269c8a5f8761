/* The normalised scenario table (built by lua/mastersim/runner.lua) into an
 * ms_cluster_config. Times arrive in seconds and become nanoseconds. A
 * missing field keeps the model's default; a field of the wrong type is an
 * error naming it (the Lua side validates first, so this guards the
 * binding's own contract). */
#include "lms_cluster.h"

#include "ms_write.h"

#include <string.h>

/* Get t[k] onto the stack; 0 (and nothing pushed) when absent. */
static int field(lua_State *L, int t, const char *k) {
    if (lua_getfield(L, t, k) == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

static double num(lua_State *L, int t, const char *k, double def) {
    if (!field(L, t, k)) return def;
    if (!lua_isnumber(L, -1)) luaL_error(L, "cluster config: '%s' must be a number", k);
    double v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

static int64_t ns(lua_State *L, int t, const char *k, int64_t def) {
    return (int64_t)(num(L, t, k, (double)def / 1e9) * 1e9 + 0.5);
}

static int boolean(lua_State *L, int t, const char *k, int def) {
    if (!field(L, t, k)) return def;
    int v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static const char *str(lua_State *L, int t, const char *k, const char *def) {
    if (!field(L, t, k)) return def;
    const char *v = lua_tostring(L, -1);
    if (!v) luaL_error(L, "cluster config: '%s' must be a string", k);
    lua_pop(L, 1); /* the string stays alive in the table */
    return v;
}

/* A distribution {kind=, p1=, p2=} in seconds -> ns. */
static void dist(lua_State *L, int t, const char *k, ms_dist *out) {
    if (!field(L, t, k)) return;
    int d = lua_gettop(L);
    static const char *const kinds[] = {"constant", "uniform", "exponential", "lognormal", NULL};
    lua_getfield(L, d, "kind");
    int kind = luaL_checkoption(L, -1, NULL, kinds);
    lua_pop(L, 1);
    double p1 = num(L, d, "p1", 0) * 1e9, p2 = num(L, d, "p2", 0) * 1e9;
    *out = ms_dist_make((ms_dist_kind)kind, p1, p2);
    if (!ms_dist_valid(out)) luaL_error(L, "cluster config: bad distribution for '%s'", k);
    lua_pop(L, 1);
}

/* Weights by name: ops[] indexed by ms_ops_op_parse, or write ops. */
static void read_weights(lua_State *L, int t, const char *k, double *w) {
    if (!field(L, t, k)) return;
    for (int i = 0; i < MS_OP_COUNT; i++) {
        w[i] = num(L, lua_gettop(L), ms_ops_op_name((ms_read_op)i), 0);
    }
    lua_pop(L, 1);
}

static void write_weights(lua_State *L, int t, const char *k, double *w) {
    if (!field(L, t, k)) return;
    for (int i = 1; i <= 4; i++) w[i] = num(L, lua_gettop(L), ms_write_op_name(i), 0);
    lua_pop(L, 1);
}

static void group(lua_State *L, int t, ms_client_group *g) {
    static const char *const routes[] = {"leader", "any", "local", NULL};
    memset(g, 0, sizeof *g);
    g->count = (int)num(L, t, "count", 1);
    g->rate = num(L, t, "rate", 10);
    g->closed_loop = boolean(L, t, "closed_loop", 0);
    g->think = num(L, t, "think", 0);
    g->poisson = boolean(L, t, "poisson", 1);
    lua_pushstring(L, str(L, t, "route", "leader"));
    g->route = (ms_route)luaL_checkoption(L, -1, NULL, routes);
    lua_pop(L, 1);
    g->timeout = ns(L, t, "timeout", 1000000000);
    g->retry_max = (int)num(L, t, "retry_max", 0);
    g->backoff = ns(L, t, "backoff", 20000000);
    g->backoff_cap = ns(L, t, "backoff_cap", 1000000000);
    g->jitter = num(L, t, "jitter", 0);
    g->retry_other = boolean(L, t, "retry_other", 1);
    g->ops[MS_OP_GET_VOL] = 1;
    read_weights(L, t, "ops", g->ops);
    g->zipf = strcmp(str(L, t, "keys", "uniform"), "zipf") == 0;
    g->zipf_s = num(L, t, "zipf_s", 1.1);
}

void lms_cluster_config(lua_State *L, int t, ms_cluster_config *cfg) {
    t = lua_absindex(L, t);
    ms_cluster_config_default(cfg);
    cfg->masters = (int)num(L, t, "masters", cfg->masters);
    cfg->seed = (uint64_t)num(L, t, "seed", (double)cfg->seed);
    cfg->duration = ns(L, t, "duration", cfg->duration);
    if (field(L, t, "image")) {
        int i = lua_gettop(L);
        ms_gen_desc *d = &cfg->image;
        d->volumes = (uint64_t)num(L, i, "volumes", (double)d->volumes);
        d->data_partitions = (uint64_t)num(L, i, "data_partitions", (double)d->data_partitions);
        d->meta_partitions = (uint64_t)num(L, i, "meta_partitions", (double)d->meta_partitions);
        d->nodes = (uint64_t)num(L, i, "nodes", (double)d->nodes);
        d->users = (uint64_t)num(L, i, "users", (double)d->users);
        lua_pop(L, 1);
    }
    cfg->retain = (uint64_t)num(L, t, "retain", (double)cfg->retain);
    if (ms_snap_mode_parse(str(L, t, "mode", "inplace"), &cfg->mode) != 0)
        luaL_error(L, "cluster config: unknown snapshot mode");
    cfg->chunk_entries = (uint32_t)num(L, t, "chunk_entries", cfg->chunk_entries);
    cfg->chunk_bytes = (uint32_t)num(L, t, "chunk_bytes", cfg->chunk_bytes);
    cfg->bandwidth = num(L, t, "bandwidth", cfg->bandwidth);
    cfg->apply_rate = num(L, t, "apply_rate", cfg->apply_rate);
    cfg->load_rate = num(L, t, "load_rate", cfg->load_rate);
    cfg->restart_delay = ns(L, t, "restart_delay", cfg->restart_delay);
    cfg->election_min = ns(L, t, "election_min", cfg->election_min);
    cfg->election_max = ns(L, t, "election_max", cfg->election_max);
    cfg->heartbeat = ns(L, t, "heartbeat", cfg->heartbeat);
    dist(L, t, "latency", &cfg->latency);
    cfg->loss = num(L, t, "loss", cfg->loss);
    cfg->workers = (int)num(L, t, "workers", cfg->workers);
    cfg->queue = (int)num(L, t, "queue", cfg->queue);
    if (field(L, t, "service")) {
        int sv = lua_gettop(L);
        for (int i = 0; i < MS_OP_COUNT; i++)
            dist(L, sv, ms_ops_op_name((ms_read_op)i), &cfg->service[i]);
        lua_pop(L, 1);
    }
    cfg->write_rate = num(L, t, "write_rate", cfg->write_rate);
    write_weights(L, t, "write_ops", cfg->write_ops);
    cfg->write_timeout = ns(L, t, "write_timeout", cfg->write_timeout);
    cfg->bucket = ns(L, t, "bucket", cfg->bucket);
    cfg->unsafe_commit = boolean(L, t, "unsafe_commit", 0);
    if (field(L, t, "groups")) {
        int gs = lua_gettop(L);
        cfg->groups = (int)luaL_len(L, gs);
        if (cfg->groups > MS_MAX_CLIENT_GROUPS)
            luaL_error(L, "cluster config: at most 8 client groups");
        for (int i = 0; i < cfg->groups; i++) {
            lua_geti(L, gs, i + 1);
            group(L, lua_gettop(L), &cfg->group[i]);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
}

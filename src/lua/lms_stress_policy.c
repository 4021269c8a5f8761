/* A Lua policy deciding the stress harness's reads: each reader thread
 * opens a lua_State of its own (the standard libraries, mastersim.core
 * loaded first, the caller's package.path and cpath), loads the policy file
 * there with mastersim.policy (the sandbox, its limits, its checks), and
 * asks Policy:decide(read, node) for the reads the harness gives it. The
 * states never meet: nothing is shared between threads but these
 * read-only options. */
#include "lms_stress.h"

#include "lms_cluster.h"

#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int luaopen_mastersim_core(lua_State *L);

typedef struct options {
    char *path, *cpath, *file;
    char **kv; /* params: name, value, name, value, ... */
    int nkv;
} options;

/* One reader's state: its lua_State and registry references to the
 * decide function and the read and node tables it fills each call. */
typedef struct reader_state {
    lua_State *T;
    int decide, read, node;
} reader_state;

/* What a policy file returns into its reader's state. */
static const char BOOT[] = "local file, params = ...\n"
                           "local pol = require('mastersim.policy').load(file, params)\n"
                           "return function(read, node)\n"
                           "  local kind, a = pol:decide(read, node)\n"
                           "  return kind, a\n"
                           "end\n";

/* The first line of the error on top of T (a user error's msg, or the
 * message before its traceback) into err. */
static void message(lua_State *T, char *err, size_t errlen) {
    const char *m = NULL;
    if (lua_type(T, -1) == LUA_TTABLE && lua_getfield(T, -1, "msg") == LUA_TSTRING)
        m = lua_tostring(T, -1);
    else if (lua_type(T, -1) == LUA_TSTRING)
        m = lua_tostring(T, -1);
    size_t n = m ? strcspn(m, "\n") : 0;
    snprintf(err, errlen, "%.*s", (int)n, m ? m : "(an error that is not a message)");
}

/* Protected: set up T and return the decide function. Arg: the options. */
static int boot(lua_State *T) {
    const options *o = lua_touserdata(T, 1);
    luaL_openlibs(T);
    /* the core before any mastersim module: it puts the step meter's
     * searcher in place (lms_meter.c) */
    luaL_requiref(T, "mastersim.core", luaopen_mastersim_core, 0);
    lua_pop(T, 1);
    lua_getglobal(T, "package");
    lua_pushstring(T, o->path);
    lua_setfield(T, -2, "path");
    lua_pushstring(T, o->cpath);
    lua_setfield(T, -2, "cpath");
    lua_pop(T, 1);
    if (luaL_loadbuffer(T, BOOT, sizeof BOOT - 1, "=stress policy") != LUA_OK) return lua_error(T);
    lua_pushstring(T, o->file);
    lua_createtable(T, 0, o->nkv / 2);
    for (int i = 0; i + 1 < o->nkv; i += 2) {
        lua_pushstring(T, o->kv[i + 1]);
        lua_setfield(T, -2, o->kv[i]);
    }
    lua_call(T, 2, 1);
    return 1;
}

static void *open_reader(void *ud, unsigned reader, char *err, size_t errlen) {
    (void)reader;
    reader_state *rs = calloc(1, sizeof *rs);
    lua_State *T = rs ? luaL_newstate() : NULL;
    if (T == NULL) {
        free(rs);
        snprintf(err, errlen, "out of memory for a reader's Lua state");
        return NULL;
    }
    rs->T = T;
    lua_pushcfunction(T, boot);
    lua_pushlightuserdata(T, ud);
    if (lms_pcall(T, 1, 1) != LUA_OK) {
        message(T, err, errlen);
        lua_close(T);
        free(rs);
        return NULL;
    }
    rs->decide = luaL_ref(T, LUA_REGISTRYINDEX);
    lua_newtable(T);
    rs->read = luaL_ref(T, LUA_REGISTRYINDEX);
    lua_newtable(T);
    rs->node = luaL_ref(T, LUA_REGISTRYINDEX);
    return rs;
}

/* Push the read and node tables filled from v. Stack: [-0, +2]. */
static void push_views(reader_state *rs, const ms_stress_view *v) {
    lua_State *T = rs->T;
    ms_read_state rd = {.op = v->op,
                        .client = (int)v->reader,
                        .attempt = 1,
                        .arrived = v->arrived,
                        .waited = v->waited,
                        .wakeups = v->wakeups,
                        .timed_out = v->timed_out,
                        .source = "client"};
    ms_node_state nd = {.name = "stress",
                        .role = "follower",
                        .phase = v->applying ? MS_PHASE_APPLYING : MS_PHASE_SERVING,
                        .applied = v->applied,
                        .commit = v->commit,
                        .lag = v->commit > v->applied ? v->commit - v->applied : 0,
                        .stale_index = v->stale_index,
                        .waiters = (int)v->waiters,
                        .store_keys = v->keys};
    lua_rawgeti(T, LUA_REGISTRYINDEX, rs->read);
    lms_push_read_fields(T, &rd);
    lua_rawgeti(T, LUA_REGISTRYINDEX, rs->node);
    lms_push_node_fields(T, &nd);
}

/* decide(read, node) -> kind, a in the reader's state. A redirect has
 * nowhere to go in the harness (one node): it fails the read, as a fail. */
static int decide(void *ctx, const ms_stress_view *v, ms_stress_dec *dec, double *wait_s, char *err,
                  size_t errlen) {
    reader_state *rs = ctx;
    lua_State *T = rs->T;
    lua_rawgeti(T, LUA_REGISTRYINDEX, rs->decide);
    push_views(rs, v);
    if (lms_pcall(T, 2, 2) != LUA_OK) {
        message(T, err, errlen);
        lua_settop(T, 0);
        return -1;
    }
    static const ms_stress_dec map[] = {[MS_DEC_SERVE] = MS_STRESS_DEC_SERVE,
                                        [MS_DEC_STALE] = MS_STRESS_DEC_STALE,
                                        [MS_DEC_WAIT] = MS_STRESS_DEC_WAIT,
                                        [MS_DEC_FAIL] = MS_STRESS_DEC_FAIL,
                                        [MS_DEC_REDIRECT] = MS_STRESS_DEC_FAIL};
    const char *k = lua_tostring(T, -2);
    int i = 0;
    while (ms_decision_kinds[i] && (k == NULL || strcmp(ms_decision_kinds[i], k) != 0)) i++;
    *dec = ms_decision_kinds[i] ? map[i] : MS_STRESS_DEC_FAIL;
    *wait_s = lua_tonumber(T, -1);
    lua_settop(T, 0);
    return 0;
}

static void close_reader(void *ctx) {
    reader_state *rs = ctx;
    if (rs == NULL) return;
    lua_close(rs->T);
    free(rs);
}

/* A copy of the string at idx (NULL on out of memory). */
static char *copy(lua_State *L, int idx) {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    char *c = malloc(n + 1);
    if (c) memcpy(c, s, n + 1);
    return c;
}

static void options_free(options *o) {
    if (o == NULL) return;
    free(o->path), free(o->cpath), free(o->file);
    for (int i = 0; i < o->nkv; i++) free(o->kv[i]);
    free(o->kv);
    free(o);
}

/* package.path or cpath of L, pushed ("" when there is none).
 * Stack: [-0, +1]. */
static void push_package_field(lua_State *L, const char *k) {
    int top = lua_gettop(L);
    if (lua_getglobal(L, "package") == LUA_TTABLE && lua_getfield(L, -1, k) == LUA_TSTRING) {
        lua_remove(L, -2);
        return;
    }
    lua_settop(L, top);
    lua_pushliteral(L, "");
}

int lms_stress_policy_init(lua_State *L, int idx, ms_stress_decider *d) {
    idx = lua_absindex(L, idx);
    if (lua_getfield(L, idx, "lua_policy") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (!lua_isstring(L, -1)) luaL_error(L, "core.stress: field 'lua_policy' must be a path");
    options *o = calloc(1, sizeof *o);
    if (o == NULL) luaL_error(L, "out of memory");
    int ok = (o->file = copy(L, -1)) != NULL;
    lua_pop(L, 1);
    push_package_field(L, "path");
    ok = ok && (o->path = copy(L, -1)) != NULL;
    lua_pop(L, 1);
    push_package_field(L, "cpath");
    ok = ok && (o->cpath = copy(L, -1)) != NULL;
    lua_pop(L, 1);
    int t = lua_getfield(L, idx, "params");
    if (t != LUA_TNIL && t != LUA_TTABLE) {
        options_free(o);
        luaL_error(L, "core.stress: field 'params' must be a table of strings");
    }
    if (t == LUA_TTABLE) {
        int n = 0;
        for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1)) n++;
        o->kv = calloc((size_t)(2 * n) + 1, sizeof *o->kv);
        ok = ok && o->kv != NULL;
        for (lua_pushnil(L); ok && lua_next(L, -2); lua_pop(L, 1)) {
            if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1)) {
                lua_pop(L, 3);
                options_free(o);
                luaL_error(L, "core.stress: field 'params' must map names to strings");
            }
            ok = (o->kv[o->nkv++] = copy(L, -2)) != NULL;
            ok = ok && (o->kv[o->nkv++] = copy(L, -1)) != NULL;
        }
    }
    lua_pop(L, 1);
    if (!ok) {
        options_free(o);
        luaL_error(L, "out of memory");
    }
    lua_getfield(L, idx, "every_read");
    *d = (ms_stress_decider){.ud = o,
                             .every_read = lua_toboolean(L, -1),
                             .open = open_reader,
                             .decide = decide,
                             .close = close_reader};
    lua_pop(L, 1);
    return 1;
}

void lms_stress_policy_free(ms_stress_decider *d) {
    options_free(d->ud);
    d->ud = NULL;
}

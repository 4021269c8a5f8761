/* The live store from Lua: core.store() -> mastersim.Store, plus the
 * family accounting userdata (mastersim.StoreMem) every member anchors.
 * See lms_store.h for the ownership rule. */
#include "lms_store.h"

#include "ms_gen.h"

#include <string.h>

static const char *const state_names[] = {"open", "closed", "broken"};

ms_store_mem *lms_storemem_new(lua_State *L) {
    ms_store_mem *m = lua_newuserdatauv(L, sizeof *m, 0);
    memset(m, 0, sizeof *m);
    luaL_setmetatable(L, LMS_STOREMEM);
    return m;
}

lms_store *lms_store_push(lua_State *L, int memidx) {
    memidx = lua_absindex(L, memidx);
    lms_store *u = lua_newuserdatauv(L, sizeof *u, 1);
    *u = (lms_store){.mem = lua_touserdata(L, memidx)};
    luaL_setmetatable(L, LMS_STORE);
    lua_pushvalue(L, memidx);
    lua_setiuservalue(L, -2, 1);
    return u;
}

static lms_store *check_open(lua_State *L, lms_store *u) {
    if (u->s == NULL) luaL_error(L, "attempt to use a closed Store");
    return u;
}

lms_store *lms_store_check(lua_State *L, int arg) {
    return check_open(L, luaL_checkudata(L, arg, LMS_STORE));
}

/* self of a method (argument 1, open). */
static lms_store *self(lua_State *L) {
    return check_open(L, lms_checkself(L, LMS_STORE));
}

void lms_push_memory(lua_State *L, const ms_store_mem *m) {
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)m->bytes_in_use), lua_setfield(L, -2, "bytes");
    lua_pushinteger(L, (lua_Integer)m->peak), lua_setfield(L, -2, "peak");
    lua_pushinteger(L, (lua_Integer)m->blocks), lua_setfield(L, -2, "blocks");
}

/* core.store() -> an empty Store in a new family. */
static int lms_store_new(lua_State *L) {
    lms_storemem_new(L);
    lms_store *u = lms_store_push(L, -1);
    u->s = ms_store_new(u->mem);
    if (u->s == NULL) return luaL_error(L, "out of memory creating a store");
    return 1;
}

/* put(key, value): insert or replace. */
static int lms_store_put(lua_State *L) {
    lms_store *u = self(L);
    size_t kl, vl;
    const char *k = luaL_checklstring(L, 2, &kl);
    const char *v = luaL_checklstring(L, 3, &vl);
    if (kl > MS_STORE_KEY_MAX)
        return luaL_argerror(L, 2,
                             lua_pushfstring(L, "a key of %I bytes (at most %d)", (lua_Integer)kl,
                                             MS_STORE_KEY_MAX));
    if (ms_store_put(u->s, k, kl, v, vl) != 0) return luaL_error(L, "out of memory storing a key");
    u->writes++;
    return 0;
}

static int lms_store_get(lua_State *L) {
    ms_view v = ms_store_view(self(L)->s);
    return lms_view_get(L, &v);
}

/* del(key) -> true when the key was present. */
static int lms_store_del(lua_State *L) {
    lms_store *u = self(L);
    size_t kl;
    const char *k = luaL_checklstring(L, 2, &kl);
    int r = ms_store_del(u->s, k, kl);
    if (r < 0) return luaL_error(L, "out of memory deleting a key");
    u->writes += (uint64_t)r;
    lua_pushboolean(L, r);
    return 1;
}

static int lms_store_count(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)ms_store_count(self(L)->s));
    return 1;
}

/* clear(): drop every key; the applied index returns to 0. */
static int lms_store_clear(lua_State *L) {
    lms_store *u = self(L);
    ms_store_clear(u->s);
    u->writes++;
    return 0;
}

/* applied([index]) -> the applied raft index (after setting it, if given). */
static int lms_store_applied(lua_State *L) {
    lms_store *u = self(L);
    if (!lua_isnoneornil(L, 2)) {
        int64_t index = lms_checkint64(L, 2);
        luaL_argcheck(L, index >= 0, 2, "index must be >= 0");
        ms_store_set_applied(u->s, (uint64_t)index);
    }
    lua_pushinteger(L, (lua_Integer)ms_store_applied(u->s));
    return 1;
}

static int lms_store_digest(lua_State *L) {
    ms_view v = ms_store_view(self(L)->s);
    return lms_view_digest(L, &v);
}

static int lms_store_read(lua_State *L) {
    ms_view v = ms_store_view(self(L)->s);
    return lms_view_read(L, &v);
}

static int lms_store_scan(lua_State *L) {
    return lms_view_scan(L, self(L), NULL);
}

/* snapshot() -> Version: the current contents, pinned in O(1). */
static int lms_store_snapshot(lua_State *L) {
    lms_store *u = self(L);
    lms_version *ver = lua_newuserdatauv(L, sizeof *ver, 1);
    *ver = (lms_version){.mem = u->mem};
    luaL_setmetatable(L, LMS_VERSION);
    lua_getiuservalue(L, 1, 1);
    lua_setiuservalue(L, -2, 1);
    ver->v = ms_store_snapshot(u->s);
    if (ver->v == NULL) return luaL_error(L, "out of memory taking a version");
    return 1;
}

/* memory() -> {bytes=, peak=, blocks=} of the whole family; readable after
 * close, since the accounting outlives every member. */
static int lms_store_memory(lua_State *L) {
    lms_store *u = lms_checkself(L, LMS_STORE);
    lms_push_memory(L, u->mem);
    return 1;
}

static int lms_store_state(lua_State *L) {
    lua_pushstring(L, state_names[ms_store_state_of(self(L)->s)]);
    return 1;
}

/* Field name of the generate table (argument 2), 0 when absent. */
static uint64_t gen_field(lua_State *L, const char *name) {
    return lms_optfield_u64(L, 2, "generate", name, UINT64_MAX);
}

/* The generate table (argument 2) into d. Pushes the cluster name (or nil),
 * which d->cluster points into. Stack: [-0, +1]. */
static void gen_desc(lua_State *L, ms_gen_desc *d) {
    static const char *const known[] = {
        "volumes", "data_partitions", "meta_partitions", "nodes",   "data_nodes", "meta_nodes",
        "users",   "replicas",        "applied",         "cluster", "seed",       NULL};
    luaL_checktype(L, 2, LUA_TTABLE);
    lms_checkfields(L, 2, "generate", known);
    *d = (ms_gen_desc){
        .volumes = gen_field(L, "volumes"),
        .data_partitions = gen_field(L, "data_partitions"),
        .meta_partitions = gen_field(L, "meta_partitions"),
        .nodes = gen_field(L, "nodes"),
        .data_nodes = gen_field(L, "data_nodes"),
        .meta_nodes = gen_field(L, "meta_nodes"),
        .users = gen_field(L, "users"),
        .replicas = (uint32_t)lms_optfield_u64(L, 2, "generate", "replicas", UINT32_MAX),
        .applied = gen_field(L, "applied"),
    };
    lua_getfield(L, 2, "cluster");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "generate: field 'cluster' must be a string (got %s)", luaL_typename(L, -1));
    d->cluster = lua_tostring(L, -1);
}

/* generate{volumes=, data_partitions=, meta_partitions=, nodes=, users=,
 * replicas=, seed=, ...} -> {keys=, key_bytes=, value_bytes=}: fill the
 * (empty) store with a CubeFS image (ms_gen_build); failures raise. */
static int lms_store_generate(lua_State *L) {
    lms_store *u = self(L);
    ms_gen_desc d;
    gen_desc(L, &d);
    uint64_t seed = gen_field(L, "seed");
    ms_gen_stats st;
    char err[160];
    u->writes++;
    if (ms_gen_build(u->s, &d, seed, &st, err, sizeof err) != 0)
        return luaL_error(L, "generate: %s", strncmp(err, "ms_gen: ", 8) ? err : err + 8);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, (lua_Integer)st.keys), lua_setfield(L, -2, "keys");
    lua_pushinteger(L, (lua_Integer)st.key_bytes), lua_setfield(L, -2, "key_bytes");
    lua_pushinteger(L, (lua_Integer)st.value_bytes), lua_setfield(L, -2, "value_bytes");
    return 1;
}

/* close(), __close, __gc: abort an unfinished import into the store, then
 * free it. Idempotent. */
static int lms_store_close(lua_State *L) {
    lms_store *u = luaL_checkudata(L, 1, LMS_STORE);
    if (u->imp) lms_snapimp_abort(u->imp);
    ms_store_free(u->s);
    u->s = NULL;
    u->writes++;
    return 0;
}

static int lms_store_tostring(lua_State *L) {
    lms_store *u = luaL_checkudata(L, 1, LMS_STORE);
    if (u->s == NULL) {
        lua_pushliteral(L, LMS_STORE " (closed)");
        return 1;
    }
    lua_pushfstring(L, LMS_STORE " (%I keys, applied %I, state %s)",
                    (lua_Integer)ms_store_count(u->s), (lua_Integer)ms_store_applied(u->s),
                    state_names[ms_store_state_of(u->s)]);
    return 1;
}

void lms_open_store(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"put", lms_store_put},
        {"get", lms_store_get},
        {"del", lms_store_del},
        {"count", lms_store_count},
        {"clear", lms_store_clear},
        {"applied", lms_store_applied},
        {"digest", lms_store_digest},
        {"read", lms_store_read},
        {"scan", lms_store_scan},
        {"snapshot", lms_store_snapshot},
        {"memory", lms_store_memory},
        {"state", lms_store_state},
        {"generate", lms_store_generate},
        {"close", lms_store_close},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", lms_store_close},
        {"__close", lms_store_close},
        {"__tostring", lms_store_tostring},
        {NULL, NULL},
    };
    lms_newclass(L, LMS_STOREMEM, NULL, NULL);
    lms_newclass(L, LMS_STORE, methods, meta);
    lms_open_version(L);
    lms_open_view(L);
    lua_pushcfunction(L, lms_store_new);
    lua_setfield(L, -2, "store");
}

/* Point-in-time versions from Lua: Store:snapshot() -> mastersim.Version.
 * A Version holds one reference to an ms_version; release() (or __close,
 * or __gc) drops it. Versions are immutable, so their scans never end
 * with "store modified during scan". */
#include "lms_store.h"

lms_version *lms_version_check(lua_State *L, int arg) {
    lms_version *u = luaL_checkudata(L, arg, LMS_VERSION);
    if (u->v == NULL) luaL_error(L, "attempt to use a released Version");
    return u;
}

/* self of a method (argument 1, unreleased). */
static ms_version *self(lua_State *L) {
    lms_version *u = lms_checkself(L, LMS_VERSION);
    if (u->v == NULL) luaL_error(L, "attempt to use a released Version");
    return u->v;
}

static int lms_version_get(lua_State *L) {
    ms_view v = ms_version_view(self(L));
    return lms_view_get(L, &v);
}

static int lms_version_count(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)ms_version_count(self(L)));
    return 1;
}

static int lms_version_applied(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)ms_version_applied(self(L)));
    return 1;
}

static int lms_version_digest(lua_State *L) {
    ms_view v = ms_version_view(self(L));
    return lms_view_digest(L, &v);
}

static int lms_version_read(lua_State *L) {
    ms_view v = ms_version_view(self(L));
    return lms_view_read(L, &v);
}

static int lms_version_scan(lua_State *L) {
    return lms_view_scan(L, NULL, self(L));
}

/* to_store() -> a new live Store of the same family with these contents
 * (O(1); its writes leave the version unchanged). */
static int lms_version_to_store(lua_State *L) {
    ms_version *v = self(L);
    lua_getiuservalue(L, 1, 1);
    lms_store *s = lms_store_push(L, -1);
    s->s = ms_store_from_version(v);
    if (s->s == NULL) return luaL_error(L, "out of memory making a store from a version");
    return 1;
}

/* memory() -> the family's accounting (also after release). */
static int lms_version_memory(lua_State *L) {
    lms_version *u = lms_checkself(L, LMS_VERSION);
    lms_push_memory(L, u->mem);
    return 1;
}

/* release(), __close, __gc: drop the reference. Idempotent. */
static int lms_version_release(lua_State *L) {
    lms_version *u = luaL_checkudata(L, 1, LMS_VERSION);
    ms_version_release(u->v);
    u->v = NULL;
    return 0;
}

static int lms_version_tostring(lua_State *L) {
    lms_version *u = luaL_checkudata(L, 1, LMS_VERSION);
    if (u->v == NULL)
        lua_pushliteral(L, LMS_VERSION " (released)");
    else
        lua_pushfstring(L, LMS_VERSION " (%I keys, applied %I)",
                        (lua_Integer)ms_version_count(u->v), (lua_Integer)ms_version_applied(u->v));
    return 1;
}

void lms_open_version(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"get", lms_version_get},           {"count", lms_version_count},
        {"applied", lms_version_applied},   {"digest", lms_version_digest},
        {"read", lms_version_read},         {"scan", lms_version_scan},
        {"to_store", lms_version_to_store}, {"memory", lms_version_memory},
        {"release", lms_version_release},   {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", lms_version_release},
        {"__close", lms_version_release},
        {"__tostring", lms_version_tostring},
        {NULL, NULL},
    };
    lms_newclass(L, LMS_VERSION, methods, meta);
}

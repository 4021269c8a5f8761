/* Shared machinery of the bindings: class creation, argument checks, the one
 * protected-call wrapper every C-to-Lua entry goes through. */
#include "lms_aux.h"

#include "ms_units.h"

#include <string.h>

void lms_setfuncs(lua_State *L, const luaL_Reg *fns) {
    luaL_setfuncs(L, fns, 0);
}

void lms_newclass(lua_State *L, const char *tname, const luaL_Reg *methods, const luaL_Reg *meta) {
    luaL_newmetatable(L, tname);
    if (meta) luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    if (methods) {
        lua_pushvalue(L, -2); /* the metatable, upvalue 1 of every method */
        luaL_setfuncs(L, methods, 1);
    }
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, tname);
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
}

void *lms_checkself(lua_State *L, const char *tname) {
    void *bound = lua_touserdata(L, lua_upvalueindex(2)); /* a closure of lms_pushbound */
    if (bound != NULL) return bound;
    void *p = lua_touserdata(L, 1);
    if (p != NULL && lua_getmetatable(L, 1)) {
        /* tables are raw-equal when they are one object: comparing their
         * addresses is lua_rawequal without its generic comparison (half
         * the cost of an Rng draw's check) */
        const void *mt = lua_topointer(L, -1);
        lua_pop(L, 1);
        if (mt == lua_topointer(L, lua_upvalueindex(1))) return p;
    }
    return luaL_checkudata(L, 1, tname); /* raises the standard message */
}

int lms_selfindex(lua_State *L) {
    return lua_type(L, lua_upvalueindex(2)) == LUA_TUSERDATA ? lua_upvalueindex(2) : 1;
}

void lms_pushbound(lua_State *L, int self, const char *const names[]) {
    self = lua_absindex(L, self);
    lua_newtable(L);
    if (luaL_getmetafield(L, self, "__index") != LUA_TTABLE) /* the methods of lms_newclass */
        luaL_error(L, "bind: not an object with methods");
    for (int i = 0; names[i]; i++) {
        lua_getfield(L, -1, names[i]);
        lua_CFunction f = lua_tocfunction(L, -1);
        lua_pop(L, 1);
        if (f == NULL) luaL_error(L, "no method '%s' to bind", names[i]);
        lua_getmetatable(L, self);
        lua_pushvalue(L, self);
        lua_pushcclosure(L, f, 2);
        lua_setfield(L, -3, names[i]);
    }
    lua_pop(L, 1);
}

int64_t lms_checkint64(lua_State *L, int arg) {
    int isnum = 0;
    lua_Integer v = lua_tointegerx(L, arg, &isnum);
    if (!isnum) luaL_argerror(L, arg, "integer expected");
    return (int64_t)v;
}

int64_t lms_checkduration(lua_State *L, int arg) {
    if (lua_type(L, arg) == LUA_TNUMBER) {
        lua_Number s = lua_tonumber(L, arg);
        if (!(s >= 0 && s < 9.2e9)) luaL_argerror(L, arg, "duration out of range");
        return (int64_t)(s * 1e9 + (s >= 0 ? 0.5 : -0.5));
    }
    const char *text = luaL_checkstring(L, arg);
    int64_t ns = 0;
    char err[320];
    if (ms_units_duration(text, &ns, err, sizeof err) != 0) luaL_argerror(L, arg, err);
    return ns;
}

uint64_t lms_optfield_u64(lua_State *L, int t, const char *what, const char *name, uint64_t max) {
    int isnum = 0;
    lua_getfield(L, t, name);
    lua_Integer v = lua_tointegerx(L, -1, &isnum);
    if (!isnum && !lua_isnil(L, -1))
        luaL_error(L, "%s: field '%s' must be an integer (got %s)", what, name,
                   luaL_typename(L, -1));
    if (isnum && (v < 0 || (uint64_t)v > max))
        luaL_error(L, "%s: field '%s' is out of range (got %I)", what, name, v);
    lua_pop(L, 1);
    return isnum ? (uint64_t)v : 0;
}

int lms_todist(lua_State *L, int idx, ms_dist *out) {
    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx)) return 0;
    lua_pushliteral(L, "kind");
    lua_rawget(L, idx);
    lua_pushliteral(L, "p1");
    lua_rawget(L, idx);
    lua_pushliteral(L, "p2");
    lua_rawget(L, idx);
    int k = lua_type(L, -3) == LUA_TSTRING ? ms_dist_kind_from_name(lua_tostring(L, -3)) : -1;
    int ok = k >= 0 && lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TNUMBER;
    if (ok)
        *out = ms_dist_make((ms_dist_kind)k, lua_tonumber(L, -2) * 1e9, lua_tonumber(L, -1) * 1e9);
    lua_pop(L, 3);
    return ok;
}

void lms_checkfields(lua_State *L, int t, const char *what, const char *const known[]) {
    t = lua_absindex(L, t);
    for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "%s: field names must be strings (got a %s)", what, luaL_typename(L, -2));
        int i = 0;
        while (known[i] && strcmp(known[i], lua_tostring(L, -2)) != 0) i++;
        if (known[i] == NULL) luaL_error(L, "%s: unknown field '%s'", what, lua_tostring(L, -2));
    }
}

int lms_push_ok(lua_State *L, int rc, const char *err) {
    if (rc == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
}

/* Message handler: append a traceback to string errors; keep any other
 * error object (a structured error table) as it is. */
static int traceback(lua_State *L) {
    if (lua_type(L, 1) != LUA_TSTRING && lua_type(L, 1) != LUA_TNUMBER) return 1;
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

int lms_pcall(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return status;
}

void lms_setnum(lua_State *L, const char *k, double v) {
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

void lms_setint(lua_State *L, const char *k, int64_t v) {
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

void lms_setstr(lua_State *L, const char *k, const char *v) {
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

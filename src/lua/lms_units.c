/* Unit parsing from Lua. Each function returns the value, or nil and a
 * message quoting the bad text (a scenario validator adds key, file, line). */
#include "lms_aux.h"

#include "ms_units.h"

static int push_result(lua_State *L, int rc, const char *err) {
    if (rc == 0) return 1;
    lua_pop(L, 1);
    luaL_pushfail(L);
    lua_pushstring(L, err);
    return 2;
}

/* duration(text | seconds) -> seconds */
static int units_duration(lua_State *L) {
    if (lua_type(L, 1) == LUA_TNUMBER) {
        lua_settop(L, 1);
        return 1;
    }
    char err[320];
    int64_t ns = 0;
    int rc = ms_units_duration(luaL_checkstring(L, 1), &ns, err, sizeof err);
    lua_pushnumber(L, (lua_Number)ns / 1e9);
    return push_result(L, rc, err);
}

/* duration_ns(text | seconds) -> integer nanoseconds */
static int units_duration_ns(lua_State *L) {
    if (lua_type(L, 1) == LUA_TNUMBER) {
        lua_pushinteger(L, lms_checkduration(L, 1));
        return 1;
    }
    char err[320];
    int64_t ns = 0;
    int rc = ms_units_duration(luaL_checkstring(L, 1), &ns, err, sizeof err);
    lua_pushinteger(L, ns);
    return push_result(L, rc, err);
}

/* size(text) -> integer bytes */
static int units_size(lua_State *L) {
    char err[320];
    int64_t bytes = 0;
    int rc = ms_units_size(luaL_checkstring(L, 1), &bytes, err, sizeof err);
    lua_pushinteger(L, bytes);
    return push_result(L, rc, err);
}

/* rate(text) -> bytes per second (number) */
static int units_rate(lua_State *L) {
    char err[320];
    double r = 0;
    int rc = ms_units_rate(luaL_checkstring(L, 1), &r, err, sizeof err);
    lua_pushnumber(L, r);
    return push_result(L, rc, err);
}

void lms_open_units(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"duration", units_duration},
        {"duration_ns", units_duration_ns},
        {"size", units_size},
        {"rate", units_rate},
        {NULL, NULL},
    };
    lms_setfuncs(L, fns);
}

/* Latency histograms from Lua: core.hist() -> mastersim.Hist.
 *
 * The userdata holds a pointer to the fixed block from ms_hist_new, freed
 * by __gc or __close (whichever runs first; the second is a no-op). Values
 * are integer nanoseconds; a float is rounded to the nearest one. */
#include "lms_aux.h"

#include "ms_hist.h"

#include <math.h>

#define HIST_CLASS "mastersim.Hist"

typedef struct lhist {
    ms_hist *h;
} lhist;

/* The open histogram at argument arg; raises if it is not one or is closed. */
static ms_hist *check_hist(lua_State *L, int arg) {
    lhist *u = arg == 1 ? lms_checkself(L, HIST_CLASS) : luaL_checkudata(L, arg, HIST_CLASS);
    if (u->h == NULL) luaL_error(L, "attempt to use a closed Hist");
    return u->h;
}

/* A value in ns at arg: an integer >= 0, or a float rounded to one. */
static int64_t check_value(lua_State *L, int arg) {
    if (lua_isinteger(L, arg)) {
        lua_Integer v = lua_tointeger(L, arg);
        if (v < 0) luaL_argerror(L, arg, "value must be >= 0");
        return (int64_t)v;
    }
    double v = luaL_checknumber(L, arg);
    if (!(v >= 0 && v < 9.2e18)) luaL_argerror(L, arg, "value must be a finite number >= 0");
    return (int64_t)llround(v);
}

/* core.hist() -> an empty Hist. */
static int lms_hist_new(lua_State *L) {
    lhist *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->h = NULL; /* metatable first: a failed allocation below leaves a valid object */
    luaL_setmetatable(L, HIST_CLASS);
    u->h = ms_hist_new();
    if (u->h == NULL) luaL_error(L, "out of memory allocating a Hist");
    return 1;
}

/* record(v [, n]): record v (ns) n times (default 1). */
static int lms_hist_record(lua_State *L) {
    ms_hist *h = check_hist(L, 1);
    int64_t v = check_value(L, 2);
    lua_Integer n = luaL_optinteger(L, 3, 1);
    if (n < 0) luaL_argerror(L, 3, "count must be >= 0");
    ms_hist_record_n(h, v, (int64_t)n);
    return 0;
}

/* merge(other): add other's counts into this one. */
static int lms_hist_merge(lua_State *L) {
    ms_hist_merge(check_hist(L, 1), check_hist(L, 2));
    return 0;
}

static int lms_hist_reset(lua_State *L) {
    ms_hist_reset(check_hist(L, 1));
    return 0;
}

/* The integer getters share one shape: Hist -> integer. */
#define INT_GETTER(name, expr)                                                                     \
    static int lms_hist_##name(lua_State *L) {                                                     \
        const ms_hist *h = check_hist(L, 1);                                                       \
        lua_pushinteger(L, (lua_Integer)(expr));                                                   \
        return 1;                                                                                  \
    }

INT_GETTER(count, ms_hist_count(h))
INT_GETTER(min, ms_hist_min(h))
INT_GETTER(max, ms_hist_max(h))
INT_GETTER(overflow, ms_hist_overflow(h))
INT_GETTER(memory, ms_hist_memory(h))

static int lms_hist_mean(lua_State *L) {
    lua_pushnumber(L, ms_hist_mean(check_hist(L, 1)));
    return 1;
}

/* percentile(p) -> integer ns, p in [0, 100]. */
static int lms_hist_percentile(lua_State *L) {
    ms_hist *h = check_hist(L, 1);
    double p = luaL_checknumber(L, 2);
    if (!(p >= 0 && p <= 100)) luaL_argerror(L, 2, "p must be in [0, 100]");
    lua_pushinteger(L, (lua_Integer)ms_hist_percentile(h, p));
    return 1;
}

/* buckets() -> { {lo=, hi=, count=}, ... } non-empty, increasing, lo..hi
 * inclusive. The C array is a GC-owned userdata left under the result. */
static int lms_hist_buckets(lua_State *L) {
    ms_hist *h = check_hist(L, 1);
    size_t n = ms_hist_buckets(h, NULL, 0);
    ms_hist_bucket *b = lua_newuserdatauv(L, (n ? n : 1) * sizeof *b, 0);
    ms_hist_buckets(h, b, n);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 3);
        lua_pushinteger(L, (lua_Integer)b[i].lo);
        lua_setfield(L, -2, "lo");
        lua_pushinteger(L, (lua_Integer)b[i].hi);
        lua_setfield(L, -2, "hi");
        lua_pushinteger(L, (lua_Integer)b[i].count);
        lua_setfield(L, -2, "count");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int lms_hist_tostring(lua_State *L) {
    lhist *u = luaL_checkudata(L, 1, HIST_CLASS);
    if (u->h == NULL) {
        lua_pushliteral(L, HIST_CLASS "(closed)");
        return 1;
    }
    lua_pushfstring(L, HIST_CLASS "(count=%I, p50=%I, p99=%I, max=%I)",
                    (lua_Integer)ms_hist_count(u->h), (lua_Integer)ms_hist_percentile(u->h, 50),
                    (lua_Integer)ms_hist_percentile(u->h, 99), (lua_Integer)ms_hist_max(u->h));
    return 1;
}

/* close(), __gc and __close: free the block once. */
static int lms_hist_close(lua_State *L) {
    lhist *u = luaL_checkudata(L, 1, HIST_CLASS);
    ms_hist_free(u->h);
    u->h = NULL;
    return 0;
}

void lms_open_hist(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"record", lms_hist_record},
        {"merge", lms_hist_merge},
        {"reset", lms_hist_reset},
        {"count", lms_hist_count},
        {"min", lms_hist_min},
        {"max", lms_hist_max},
        {"mean", lms_hist_mean},
        {"percentile", lms_hist_percentile},
        {"buckets", lms_hist_buckets},
        {"memory", lms_hist_memory},
        {"overflow", lms_hist_overflow},
        {"close", lms_hist_close},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__tostring", lms_hist_tostring},
        {"__gc", lms_hist_close},
        {"__close", lms_hist_close},
        {NULL, NULL},
    };
    lms_newclass(L, HIST_CLASS, methods, meta);
    lua_pushcfunction(L, lms_hist_new);
    lua_setfield(L, -2, "hist");
}

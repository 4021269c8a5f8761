/* PRNG streams from Lua: core.rng(seed, name) -> mastersim.Rng.
 *
 * The stream state lives in the userdata itself (no C allocation); the name
 * is kept as the userdata's user value. Closing marks the stream unusable,
 * so a `<close>` variable cannot be drawn from by a stale reference. */
#include "lms_aux.h"
#include "lms_sandbox.h"

#include "ms_rng.h"

#include <math.h>

#define RNG_CLASS "mastersim.Rng"

typedef struct lrng {
    ms_rng r;
    int closed;
} lrng;

/* The open stream at argument arg; raises if it is not one or is closed. */
static ms_rng *check_rng(lua_State *L, int arg) {
    lrng *u = arg == 1 ? lms_checkself(L, RNG_CLASS) : luaL_checkudata(L, arg, RNG_CLASS);
    if (u->closed) luaL_error(L, "attempt to use a closed Rng");
    return &u->r;
}

/* A finite number > 0 at arg; else "<what> must be > 0". */
static double check_positive(lua_State *L, int arg, const char *what) {
    double v = luaL_checknumber(L, arg);
    if (!(v > 0 && isfinite(v))) luaL_argerror(L, arg, lua_pushfstring(L, "%s must be > 0", what));
    return v;
}

/* A number >= min at arg; else the argument error msg. */
static double check_at_least(lua_State *L, int arg, double min, const char *msg) {
    double v = luaL_checknumber(L, arg);
    if (!(v >= min)) luaL_argerror(L, arg, msg);
    return v;
}

/* core.rng(seed, name) -> Rng for the stream (seed, name). */
static int lms_rng_new(lua_State *L) {
    uint64_t seed = (uint64_t)lms_checkint64(L, 1);
    luaL_checktype(L, 2, LUA_TSTRING);
    lrng *u = lua_newuserdatauv(L, sizeof *u, 1);
    ms_rng_init(&u->r, seed, lua_tostring(L, 2));
    u->closed = 0;
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, RNG_CLASS);
    return 1;
}

static int lms_rng_next(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)ms_rng_next(check_rng(L, 1)));
    return 1;
}

/* uniform() in [0, 1), or uniform(lo, hi) in [lo, hi). */
static int lms_rng_uniform(lua_State *L) {
    ms_rng *r = check_rng(L, 1);
    if (lua_isnoneornil(L, 2)) {
        lua_pushnumber(L, ms_rng_uniform(r));
        return 1;
    }
    double lo = luaL_checknumber(L, 2);
    double hi = check_at_least(L, 3, lo, "hi must be >= lo");
    lua_pushnumber(L, ms_rng_uniform_range(r, lo, hi));
    return 1;
}

/* below(n) -> integer in [0, n). */
static int lms_rng_below(lua_State *L) {
    ms_rng *r = check_rng(L, 1);
    int64_t n = lms_checkint64(L, 2);
    if (n < 1) luaL_argerror(L, 2, "n must be >= 1");
    lua_pushinteger(L, (lua_Integer)ms_rng_below(r, (uint64_t)n));
    return 1;
}

static int lms_rng_exponential(lua_State *L) {
    ms_rng *r = check_rng(L, 1);
    double mean = check_positive(L, 2, "mean");
    lua_pushnumber(L, ms_rng_exponential(r, mean));
    return 1;
}

static int lms_rng_normal(lua_State *L) {
    ms_rng *r = check_rng(L, 1);
    double mean = luaL_checknumber(L, 2);
    double sd = check_at_least(L, 3, 0, "sd must be >= 0");
    lua_pushnumber(L, ms_rng_normal(r, mean, sd));
    return 1;
}

static int lms_rng_lognormal(lua_State *L) {
    ms_rng *r = check_rng(L, 1);
    double median = check_positive(L, 2, "median");
    double p99 = check_at_least(L, 3, median, "p99 must be >= median");
    lua_pushnumber(L, ms_rng_lognormal(r, median, p99));
    return 1;
}

static int lms_rng_pareto(lua_State *L) {
    ms_rng *r = check_rng(L, 1);
    double scale = check_positive(L, 2, "scale");
    double shape = check_positive(L, 3, "shape");
    lua_pushnumber(L, ms_rng_pareto(r, scale, shape));
    return 1;
}

/* Copy the array at arg into a GC-owned buffer pushed on the stack (so a
 * raise cannot leak it). Every weight must be a finite number >= 0 and the
 * sum positive. Stack: [-0, +1]. */
static const double *check_weights(lua_State *L, int arg, size_t *n) {
    luaL_checktype(L, arg, LUA_TTABLE);
    *n = (size_t)lua_rawlen(L, arg);
    if (*n == 0) luaL_argerror(L, arg, "weights must be a non-empty array");
    lms_sandbox_charge(L, (lua_Integer)(*n / 8 + 1)); /* a pass over n weights: not one step */
    double *w = lua_newuserdatauv(L, *n * sizeof *w, 0);
    double sum = 0;
    for (size_t i = 0; i < *n; i++) {
        int isnum = 0;
        lua_rawgeti(L, arg, (lua_Integer)i + 1);
        w[i] = lua_tonumberx(L, -1, &isnum);
        lua_pop(L, 1);
        if (!isnum || !(w[i] >= 0) || !isfinite(w[i]))
            luaL_argerror(L, arg,
                          lua_pushfstring(L, "weights[%d] must be a number >= 0", (int)i + 1));
        sum += w[i];
    }
    if (!(sum > 0)) luaL_argerror(L, arg, "weights must have a positive sum");
    return w;
}

/* weighted({w1, w2, ...}) -> 1-based index i with probability wi / sum. */
static int lms_rng_weighted(lua_State *L) {
    ms_rng *r = check_rng(L, 1);
    size_t n;
    const double *w = check_weights(L, 2, &n);
    lua_pushinteger(L, (lua_Integer)ms_rng_weighted(r, w, n) + 1);
    return 1;
}

static int lms_rng_name(lua_State *L) {
    check_rng(L, 1);
    lua_getiuservalue(L, lms_selfindex(L), 1);
    return 1;
}

/* bind() -> a table of this stream's methods bound to it (lms_pushbound):
 * what sim:rng hands a script, whose draws are its hot path. */
static int lms_rng_bind(lua_State *L) {
    static const char *const names[] = {"next",   "uniform",   "below",  "exponential",
                                        "normal", "lognormal", "pareto", "weighted",
                                        "name",   "seed",      NULL};
    check_rng(L, 1);
    lms_pushbound(L, 1, names); /* bind is not itself bound: self is argument 1 */
    return 1;
}

static int lms_rng_seed(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)check_rng(L, 1)->seed);
    return 1;
}

static int lms_rng_tostring(lua_State *L) {
    lrng *u = luaL_checkudata(L, 1, RNG_CLASS);
    if (u->closed) {
        lua_pushliteral(L, RNG_CLASS "(closed)");
        return 1;
    }
    lua_getiuservalue(L, 1, 1);
    lua_pushfstring(L, RNG_CLASS "(seed=%I, stream=%s)", (lua_Integer)u->r.seed,
                    lua_tostring(L, -1));
    return 1;
}

/* close(), __gc and __close: nothing to free; mark closed (idempotent). */
static int lms_rng_close(lua_State *L) {
    lrng *u = luaL_checkudata(L, 1, RNG_CLASS);
    u->closed = 1;
    return 0;
}

void lms_open_rng(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"next", lms_rng_next},
        {"uniform", lms_rng_uniform},
        {"below", lms_rng_below},
        {"exponential", lms_rng_exponential},
        {"normal", lms_rng_normal},
        {"lognormal", lms_rng_lognormal},
        {"pareto", lms_rng_pareto},
        {"weighted", lms_rng_weighted},
        {"name", lms_rng_name},
        {"seed", lms_rng_seed},
        {"close", lms_rng_close},
        {"bind", lms_rng_bind},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__tostring", lms_rng_tostring},
        {"__gc", lms_rng_close},
        {"__close", lms_rng_close},
        {NULL, NULL},
    };
    lms_newclass(L, RNG_CLASS, methods, meta);
    lua_pushcfunction(L, lms_rng_new);
    lua_setfield(L, -2, "rng");
}

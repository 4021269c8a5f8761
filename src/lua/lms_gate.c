/* Binding of the simulation gate: core.gate(sched) -> mastersim.Gate.
 * Wait callbacks are Lua functions kept in a table (registry ref) indexed by
 * waiter slot + 1; they run inside the scheduler's run, on its lua_State. */
#include "lms_sched.h"

#include "ms_gate.h"

#define LMS_GATE "mastersim.Gate"

typedef struct {
    ms_gate *g;
    lms_sched *sched;
    int cbref; /* registry ref of the callback table */
} lgate;

static lgate *check_gate(lua_State *L, int arg) {
    lgate *u = luaL_checkudata(L, arg, LMS_GATE);
    if (u->g == NULL) luaL_argerror(L, arg, "gate is closed");
    return u;
}

static void on_done(void *ctx, uint64_t tag, int timed_out) {
    lgate *u = ctx;
    lua_State *L = u->sched->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, u->cbref);
    lua_rawgeti(L, -1, (lua_Integer)tag);
    luaL_unref(L, -2, (int)tag);
    lua_remove(L, -2);
    lua_pushboolean(L, timed_out);
    lua_call(L, 1, 0);
}

/* gate(sched) -> Gate; the gate keeps its scheduler alive. */
static int gate_new(lua_State *L) {
    lms_sched *s = lms_sched_check(L, 1);
    lgate *u = lua_newuserdatauv(L, sizeof *u, 1);
    *u = (lgate){.sched = s, .cbref = LUA_NOREF};
    luaL_setmetatable(L, LMS_GATE);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    lua_newtable(L);
    u->cbref = luaL_ref(L, LUA_REGISTRYINDEX);
    u->g = ms_gate_new(s->s);
    if (u->g == NULL) return luaL_error(L, "out of memory creating a gate");
    return 1;
}

static int gate_begin(lua_State *L) {
    lua_pushboolean(L, ms_gate_begin(check_gate(L, 1)->g) == 0);
    return 1;
}

/* finish() -> number of waiters woken, or false when no apply was running */
static int gate_finish(lua_State *L) {
    int n = ms_gate_end(check_gate(L, 1)->g);
    if (n < 0)
        lua_pushboolean(L, 0);
    else
        lua_pushinteger(L, n);
    return 1;
}

static int gate_applying(lua_State *L) {
    lua_pushboolean(L, ms_gate_applying(check_gate(L, 1)->g));
    return 1;
}

/* wait(timeout | nil, fn): fn(timed_out) runs when the wait ends. The
 * callback is held under a luaL_ref of the callback table (dense, reused
 * integer keys); the ref is the wait's tag. */
static int gate_wait(lua_State *L) {
    lgate *u = check_gate(L, 1);
    int64_t timeout = lua_isnil(L, 2) ? -1 : lms_checkduration(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    lua_rawgeti(L, LUA_REGISTRYINDEX, u->cbref);
    lua_pushvalue(L, 3);
    int tag = luaL_ref(L, -2);
    if (ms_gate_wait(u->g, timeout, on_done, u, (uint64_t)tag) == 0) {
        luaL_unref(L, -1, tag);
        return luaL_error(L, "out of memory starting a wait");
    }
    return 0;
}

static int gate_stats(lua_State *L) {
    const ms_gate_stats *st = ms_gate_stats_get(check_gate(L, 1)->g);
    lua_createtable(L, 0, 9);
    lua_pushinteger(L, (lua_Integer)st->applies), lua_setfield(L, -2, "applies");
    lua_pushinteger(L, (lua_Integer)st->waits), lua_setfield(L, -2, "waits");
    lua_pushinteger(L, (lua_Integer)st->wakeups), lua_setfield(L, -2, "wakeups");
    lua_pushinteger(L, (lua_Integer)st->timeouts), lua_setfield(L, -2, "timeouts");
    lua_pushinteger(L, (lua_Integer)st->cancels), lua_setfield(L, -2, "cancels");
    lua_pushnumber(L, (lua_Number)st->longest_wait_ns / 1e9), lua_setfield(L, -2, "longest_wait");
    lua_pushnumber(L, (lua_Number)st->total_wait_ns / 1e9), lua_setfield(L, -2, "total_wait");
    lua_pushinteger(L, (lua_Integer)st->waiting), lua_setfield(L, -2, "waiting");
    lua_pushinteger(L, (lua_Integer)st->max_waiting), lua_setfield(L, -2, "max_waiting");
    return 1;
}

static int gate_close(lua_State *L) {
    lgate *u = luaL_checkudata(L, 1, LMS_GATE);
    ms_gate_free(u->g);
    u->g = NULL;
    luaL_unref(L, LUA_REGISTRYINDEX, u->cbref);
    u->cbref = LUA_NOREF;
    return 0;
}

static int gate_tostring(lua_State *L) {
    lgate *u = luaL_checkudata(L, 1, LMS_GATE);
    if (u->g == NULL)
        lua_pushliteral(L, "mastersim.Gate (closed)");
    else
        lua_pushfstring(L, "mastersim.Gate (%s, %d waiting)",
                        ms_gate_applying(u->g) ? "applying" : "open",
                        (int)ms_gate_stats_get(u->g)->waiting);
    return 1;
}

void lms_open_gate(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"begin", gate_begin}, {"finish", gate_finish}, {"applying", gate_applying},
        {"wait", gate_wait},   {"stats", gate_stats},   {"close", gate_close},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", gate_close},
        {"__close", gate_close},
        {"__tostring", gate_tostring},
        {NULL, NULL},
    };
    lms_newclass(L, LMS_GATE, methods, meta);
    lua_pushcfunction(L, gate_new);
    lua_setfield(L, -2, "gate");
}

/* Binding of the simulation gate: core.gate(sched) -> mastersim.Gate, a
 * child of its scheduler (lms_sched.h). Wait callbacks are Lua functions
 * kept in the gate's user value 2, a table indexed by luaL_ref keys (the
 * waits' tags); they run inside the scheduler's run, on its lua_State.
 * Closing the gate drops its waits, callbacks unrun. */
#include "lms_sched.h"

#include "ms_gate.h"

#define LMS_GATE "mastersim.Gate"

enum { UV_SCHED = 1, UV_WAITS = 2 };

typedef struct {
    lms_child child; /* first: gate_free casts back */
    ms_gate *g;      /* NULL until built and once closed */
} lgate;

static lgate *check_gate(lua_State *L, int arg) {
    lgate *u = luaL_checkudata(L, arg, LMS_GATE);
    if (u->g == NULL) luaL_argerror(L, arg, "gate is closed");
    return u;
}

/* A wait ended (always inside a run of the scheduler: ms_gate calls back
 * from its events only). */
static void on_done(void *ctx, uint64_t tag, int timed_out) {
    lgate *u = ctx;
    if (!lms_sched_push_child(&u->child)) return;
    lua_State *L = lms_child_state(&u->child);
    lua_getiuservalue(L, -1, UV_WAITS);
    lua_rawgeti(L, -1, (lua_Integer)tag);
    luaL_unref(L, -2, (int)tag);
    lua_pushboolean(L, timed_out);
    lua_call(L, 1, 0);
    lua_pop(L, 2);
}

static void gate_free(lms_child *ch) {
    lgate *u = (lgate *)ch;
    ms_gate_free(u->g);
    u->g = NULL;
}

/* gate(sched) -> Gate */
static int gate_new(lua_State *L) {
    lms_sched *s = lms_sched_check(L, 1);
    lgate *u = lua_newuserdatauv(L, sizeof *u, 2);
    *u = (lgate){0};
    luaL_setmetatable(L, LMS_GATE);
    lua_newtable(L);
    lua_setiuservalue(L, -2, UV_WAITS);
    lms_sched_adopt(L, 1, -1, &u->child, gate_free);
    u->g = ms_gate_new(s->s);
    if (u->g == NULL) {
        lms_child_close(L, lua_gettop(L), &u->child);
        return luaL_error(L, "out of memory creating a gate");
    }
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
    lua_getiuservalue(L, 1, UV_WAITS);
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

/* close(), __close, __gc: free the gate (its waits end unrun). Safe inside
 * a run, even from a wait's own callback (ms_gate calls back last).
 * Idempotent. */
static int gate_close(lua_State *L) {
    lgate *u = luaL_checkudata(L, 1, LMS_GATE);
    lms_child_close(L, 1, &u->child);
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

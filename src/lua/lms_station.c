/* Binding of the queueing station: core.station(sched, opts) ->
 * mastersim.Station, a child of its scheduler (lms_sched.h): its
 * departures are the scheduler's events, so it stays alive while they are
 * queued, and closing it cancels them. The waiting line's ring is a
 * userdata held as user value 2, so it comes from the state's allocator
 * (the sandbox's memory cap counts it) and the collector frees it. */
#include "lms_sched.h"

#include "ms_station.h"

#define LMS_STATION "mastersim.Station"

enum { UV_SCHED = 1, UV_RING = 2, UV_DONE = 3 };

typedef struct {
    lms_child child; /* first: station_free casts back */
    int open;
    ms_station st;
} lstation;

static lstation *check_station(lua_State *L) {
    lstation *u = lms_checkself(L, LMS_STATION);
    if (!u->open) luaL_argerror(L, 1, "station is closed");
    return u;
}

static void station_free(lms_child *ch) {
    ((lstation *)ch)->open = 0;
}

/* A departure, when the station has a done function (user value 3): call
 * it with the sojourn and the wait in seconds, under the sandbox's limits
 * as any event's callback. Departures run inside a run of the scheduler
 * only, so the station's userdata is reachable. */
static void call_done(void *ctx, int64_t sojourn_ns, int64_t wait_ns) {
    lstation *u = ctx;
    if (!lms_sched_push_child(&u->child)) return;
    lua_State *L = lms_child_state(&u->child);
    lua_getiuservalue(L, -1, UV_DONE);
    lua_remove(L, -2);
    lms_sched_before_callback(u->child.parent);
    lua_pushnumber(L, (lua_Number)sojourn_ns / 1e9);
    lua_pushnumber(L, (lua_Number)wait_ns / 1e9);
    lua_call(L, 2, 0);
}

/* opts.servers, opts.queue (absent: no limit), opts.service into cfg;
 * raises naming the field. Stack: [-0, +0]. */
static void check_config(lua_State *L, int t, ms_station_config *cfg) {
    cfg->servers = (uint32_t)lms_optfield_u64(L, t, "station", "servers", UINT32_MAX);
    cfg->queue = MS_STATION_UNLIMITED;
    if (lua_getfield(L, t, "queue") != LUA_TNIL)
        cfg->queue = lms_optfield_u64(L, t, "station", "queue", UINT64_MAX - 1);
    lua_getfield(L, t, "service");
    if (!lms_todist(L, -1, &cfg->service))
        luaL_error(L, "station: field 'service' must be a distribution (ms.exponential, ...)");
    lua_pop(L, 2);
}

/* station(sched, {servers =, queue =, service =, seed =, stream =,
 * done =}) -> Station; done(sojourn, wait), if given, after each departure */
static int station_new(lua_State *L) {
    lms_sched *s = lms_sched_check(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    ms_station_config cfg;
    check_config(L, 2, &cfg);
    lua_getfield(L, 2, "seed");
    int isint = 0;
    uint64_t seed = (uint64_t)lua_tointegerx(L, -1, &isint); /* as core.rng takes it */
    if (!isint) return luaL_error(L, "station: field 'seed' must be an integer");
    if (lua_getfield(L, 2, "stream") != LUA_TSTRING)
        return luaL_error(L, "station: field 'stream' must be a string");
    const char *stream = lua_tostring(L, -1);
    int done = lua_getfield(L, 2, "done");
    if (done != LUA_TNIL && done != LUA_TFUNCTION)
        return luaL_error(L, "station: field 'done' must be a function");
    lstation *u = lua_newuserdatauv(L, sizeof *u, 3);
    *u = (lstation){0};
    const char *why = NULL;
    if (ms_station_init(&u->st, s->s, &cfg, seed, stream, &why) != 0)
        return luaL_error(L, "station: %s", why);
    luaL_setmetatable(L, LMS_STATION);
    if (done == LUA_TFUNCTION) {
        lua_pushvalue(L, -2);
        lua_setiuservalue(L, -2, UV_DONE);
        ms_station_on_done(&u->st, call_done, u);
    }
    lms_sched_adopt(L, 1, -1, &u->child, station_free);
    u->open = 1;
    return 1;
}

/* A ring twice the size for the waiting line of station u (its userdata
 * at index idx, a pseudo-index too). Stack: [-0, +0]. */
static void grow_ring(lua_State *L, lstation *u, int idx) {
    size_t cap = ms_station_ring_wanted(&u->st);
    if (cap == 0) luaL_error(L, "station: the waiting line is too long");
    lua_pushvalue(L, idx);
    int64_t *ring = lua_newuserdatauv(L, cap * sizeof *ring, 0);
    if (ms_station_give_ring(&u->st, ring, cap) != 0) luaL_error(L, "station: bad ring size");
    lua_setiuservalue(L, -2, UV_RING);
    lua_pop(L, 1);
}

/* arrive() -> true when the customer was admitted (served at once or
 * waiting), false when the waiting line was full. */
static int station_arrive(lua_State *L) {
    lstation *u = check_station(L);
    ms_station_arrival r;
    for (;;) {
        ms_sched_owner prev = lms_child_enter(&u->child);
        r = ms_station_arrive(&u->st);
        lms_child_leave(&u->child, prev);
        if (r != MS_STATION_NO_ROOM) break;
        grow_ring(L, u, lms_selfindex(L)); /* raises only with the owner given back */
    }
    if (r == MS_STATION_NO_MEMORY) return luaL_error(L, "out of memory scheduling a departure");
    lua_pushboolean(L, r != MS_STATION_REJECTED);
    return 1;
}

/* bind() -> a table of arrive and stats bound to the station
 * (lms_pushbound): what sim:station hands a script. Not close: closing
 * cancels the station's departures in a walk of every pending event, work
 * a script's step could not pay for. */
static int station_bind(lua_State *L) {
    static const char *const names[] = {"arrive", "stats", NULL};
    check_station(L);
    lms_pushbound(L, 1, names); /* bind is not itself bound: self is argument 1 */
    return 1;
}

/* stats() -> counts, and times in seconds (means over the customers served) */
static int station_stats(lua_State *L) {
    const ms_station_stats *st = ms_station_stats_get(&check_station(L)->st);
    double n = st->served > 0 ? (double)st->served : 1;
    lua_createtable(L, 0, 10);
    lms_setint(L, "arrived", (int64_t)st->arrived);
    lms_setint(L, "rejected", (int64_t)st->rejected);
    lms_setint(L, "served", (int64_t)st->served);
    lms_setint(L, "busy", (int64_t)st->busy);
    lms_setint(L, "waiting", (int64_t)st->waiting);
    lms_setint(L, "max_waiting", (int64_t)st->max_waiting);
    lms_setnum(L, "sojourn_mean", st->sojourn_ns / n / 1e9);
    lms_setnum(L, "wait_mean", st->wait_ns / n / 1e9);
    lms_setnum(L, "service_mean", (st->sojourn_ns - st->wait_ns) / n / 1e9);
    lms_setnum(L, "sojourn_max", (double)st->sojourn_max_ns / 1e9);
    return 1;
}

/* close(), __close, __gc: cancel the departures still queued (their
 * customers are dropped). Idempotent. */
static int station_close(lua_State *L) {
    lstation *u = luaL_checkudata(L, 1, LMS_STATION);
    lms_child_close(L, 1, &u->child);
    return 0;
}

static int station_tostring(lua_State *L) {
    lstation *u = luaL_checkudata(L, 1, LMS_STATION);
    if (!u->open)
        lua_pushliteral(L, "mastersim.Station (closed)");
    else
        lua_pushfstring(L, "mastersim.Station (%I busy, %I waiting)", (lua_Integer)u->st.st.busy,
                        (lua_Integer)u->st.st.waiting);
    return 1;
}

void lms_open_station(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"arrive", station_arrive}, {"bind", station_bind}, {"stats", station_stats},
        {"close", station_close},   {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", station_close},
        {"__close", station_close},
        {"__tostring", station_tostring},
        {NULL, NULL},
    };
    lms_newclass(L, LMS_STATION, methods, meta);
    lua_pushcfunction(L, station_new);
    lua_setfield(L, -2, "station");
    lua_pushinteger(L, MS_STATION_MAX_SERVERS);
    lua_setfield(L, -2, "station_max_servers");
}

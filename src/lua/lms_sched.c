/* Binding of the scheduler. Lua callbacks live in the userdata's user value
 * 1 (a table indexed by event slot + 1: dense and reused, so it stays in the
 * table's array part); the C event function is a trampoline that
 * looks the callback up and calls it. User value 2 holds the live children
 * (see lms_sched.h for the ownership rule). Times given from Lua are
 * seconds (a number) or a unit string; times returned are seconds (float). */
#include "lms_sched.h"

#include "ms_digest.h"

#define KIND_LUA 1

enum { UV_FNS = 1, UV_KIDS = 2 };

lms_sched *lms_sched_check(lua_State *L, int arg) {
    lms_sched *b = luaL_checkudata(L, arg, LMS_SCHED);
    if (b->s == NULL) luaL_argerror(L, arg, "scheduler is closed");
    return b;
}

/* self of a Sched method (fast path, see lms_checkself). */
static lms_sched *check_self(lua_State *L) {
    lms_sched *b = lms_checkself(L, LMS_SCHED);
    if (b->s == NULL) luaL_argerror(L, 1, "scheduler is closed");
    return b;
}

/* Drop the callback of the event just run from the callback table, unless
 * a new event took its slot since. Stack: [-0, +0]. */
static void clear_stale(lua_State *L, lms_sched *b) {
    if (b->stale == 0) return;
    lua_pushnil(L);
    lua_rawseti(L, b->fns, b->stale);
    b->stale = 0;
}

static void trampoline(ms_sched *s, void *ctx, uint64_t a, uint64_t c) {
    (void)a;
    (void)c;
    lms_sched *b = ctx;
    lua_State *L = b->L;
    lua_Integer id = (lua_Integer)MS_EVENT_SLOT(ms_sched_current(s)) + 1;
    lua_rawgeti(L, b->fns, id);
    /* the slot is free again, and the first event the callback schedules
     * takes it (the free list is last in, first out) and overwrites its
     * entry: clear the entry only when the callback did not reuse it */
    b->stale = id;
    lms_sched_before_callback(b);
    if (b->bound) {
        lua_pushvalue(L, b->fns + 1);
        lua_pushnumber(L, (lua_Number)ms_sched_now(s) / 1e9);
    }
    lua_call(L, 2 * b->bound, 0);
    clear_stale(L, b);
}

static int sched_new(lua_State *L) {
    lms_sched *b = lua_newuserdatauv(L, sizeof *b, 2);
    *b = (lms_sched){.kids_ref = LUA_NOREF};
    luaL_setmetatable(L, LMS_SCHED);
    lua_newtable(L);
    lua_setiuservalue(L, -2, UV_FNS);
    lua_newtable(L);
    lua_setiuservalue(L, -2, UV_KIDS);
    b->s = ms_sched_new();
    if (b->s == NULL) return luaL_error(L, "out of memory creating a scheduler");
    return 1;
}

/* Schedule the function at argument 3 (checked) at t (relative: after t)
 * as event kind with id, its callback kept in the table at index fns; push
 * the event id. Stack: [-0, +1]. */
static int push_scheduled(lua_State *L, lms_sched *b, int64_t t, int relative, uint32_t kind,
                          uint64_t id, int fns) {
    ms_event_id e = relative ? ms_sched_after(b->s, t, kind, trampoline, b, kind, id)
                             : ms_sched_at(b->s, t, kind, trampoline, b, kind, id);
    if (e == 0) return luaL_error(L, "out of memory scheduling an event");
    lua_Integer k = (lua_Integer)MS_EVENT_SLOT(e) + 1;
    if (k == b->stale) b->stale = 0; /* overwritten here */
    lua_pushvalue(L, 3);
    lua_rawseti(L, fns, k);
    lua_pushinteger(L, (lua_Integer)e);
    return 1;
}

/* at(t, fn [, kind [, id]]) / after(d, fn [, kind [, id]]) -> event id */
static int schedule(lua_State *L, int relative) {
    lms_sched *b = check_self(L);
    int64_t t = lms_checkduration(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    uint32_t kind = (uint32_t)luaL_optinteger(L, 4, KIND_LUA);
    uint64_t id = (uint64_t)luaL_optinteger(L, 5, 0);
    lua_getiuservalue(L, 1, 1);
    return push_scheduled(L, b, t, relative, kind, id, lua_gettop(L));
}

/* The closures of sched:bind: upvalues the Sched userdata and its callback
 * table; argument 1 (the bound object, calling as a method) is ignored. */
static int bound_schedule(lua_State *L, int relative) {
    lms_sched *b = lua_touserdata(L, lua_upvalueindex(1));
    if (b->s == NULL) return luaL_error(L, "scheduler is closed");
    int64_t t = lms_checkduration(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    return push_scheduled(L, b, t, relative, KIND_LUA, 0, lua_upvalueindex(2));
}

static int bound_after(lua_State *L) {
    return bound_schedule(L, 1);
}
static int bound_at(lua_State *L) {
    return bound_schedule(L, 0);
}
static int bound_now(lua_State *L) {
    lms_sched *b = lua_touserdata(L, lua_upvalueindex(1));
    if (b->s == NULL) return luaL_error(L, "scheduler is closed");
    lua_pushnumber(L, (lua_Number)ms_sched_now(b->s) / 1e9);
    return 1;
}

/* bind(arg) -> after, at, now: the scheduler's after, at and now as
 * methods of arg (arg:after(d, fn), arg:at(t, fn), arg:now()), and from
 * now on every callback is called with arg and the time in seconds
 * (fn(arg, now)), so a callback needs no call to learn it. For a scripted
 * sim's hot path: one C call each, no method lookup on the scheduler. */
static int sched_bind(lua_State *L) {
    check_self(L);
    luaL_checkany(L, 2);
    lms_sched *b = lua_touserdata(L, 1);
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, 0);
    b->bound = 1;
    lua_CFunction fns[2] = {bound_after, bound_at};
    for (int i = 0; i < 2; i++) {
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 3);
        lua_pushcclosure(L, fns[i], 2);
    }
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, bound_now, 1);
    return 3;
}

static int sched_at(lua_State *L) {
    return schedule(L, 0);
}
static int sched_after(lua_State *L) {
    return schedule(L, 1);
}

static int sched_cancel(lua_State *L) {
    lms_sched *b = check_self(L);
    lua_Integer e = luaL_checkinteger(L, 2);
    int ok = ms_sched_cancel(b->s, (ms_event_id)e);
    if (ok) {
        lua_getiuservalue(L, 1, 1);
        lua_pushnil(L);
        lua_rawseti(L, -2, (lua_Integer)MS_EVENT_SLOT((ms_event_id)e) + 1);
    }
    lua_pushboolean(L, ok);
    return 1;
}

/* The unprotected body of a run; called through lua_pcall by lms_sched_run
 * callers that need cleanup. Upvalue-free: args (ud, until, max). */
static int run_body(lua_State *L) {
    lms_sched *b = lua_touserdata(L, 1);
    int64_t until = (int64_t)lua_tointeger(L, 2);
    uint64_t max = (uint64_t)lua_tointeger(L, 3);
    lua_getiuservalue(L, 1, UV_KIDS);
    b->kids_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_getiuservalue(L, 1, UV_FNS);
    b->L = L;
    b->fns = lua_gettop(L);
    /* an entry left by a callback that raised */
    clear_stale(L, b);
    if (b->bound) lua_rawgeti(L, b->fns, 0); /* the bound arg, at fns + 1 */
    lua_pushinteger(L, (lua_Integer)ms_sched_run(b->s, until, max));
    return 1;
}

uint64_t lms_sched_run(lua_State *L, int arg, int64_t until, uint64_t max) {
    lms_sched *b = lms_sched_check(L, arg);
    if (b->running) luaL_error(L, "the scheduler is already running (nested run)");
    b->running = 1;
    lua_pushcfunction(L, run_body);
    lua_pushvalue(L, arg);
    lua_pushinteger(L, until);
    lua_pushinteger(L, (lua_Integer)max);
    int status = lua_pcall(L, 3, 1, 0);
    b->running = 0;
    b->L = NULL;
    luaL_unref(L, LUA_REGISTRYINDEX, b->kids_ref);
    b->kids_ref = LUA_NOREF;
    if (status != LUA_OK) lua_error(L); /* rethrow, nothing left to release */
    uint64_t n = (uint64_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return n;
}

/* run([until [, max]]) -> events run. `until` nil: until no event is left. */
static int sched_run(lua_State *L) {
    lms_sched_check(L, 1);
    int64_t until = lua_isnoneornil(L, 2) ? MS_TIME_MAX : lms_checkduration(L, 2);
    uint64_t max = (uint64_t)luaL_optinteger(L, 3, 0);
    lua_pushinteger(L, (lua_Integer)lms_sched_run(L, 1, until, max));
    return 1;
}

static int sched_now(lua_State *L) {
    lua_pushnumber(L, (lua_Number)ms_sched_now(check_self(L)->s) / 1e9);
    return 1;
}

static int sched_now_ns(lua_State *L) {
    lua_pushinteger(L, ms_sched_now(check_self(L)->s));
    return 1;
}

static int sched_next_time(lua_State *L) {
    int64_t t = ms_sched_next_time(check_self(L)->s);
    if (t == MS_TIME_MAX)
        lua_pushnil(L);
    else
        lua_pushnumber(L, (lua_Number)t / 1e9);
    return 1;
}

static int sched_pending(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)ms_sched_pending(check_self(L)->s));
    return 1;
}

static int sched_events(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)ms_sched_events(check_self(L)->s));
    return 1;
}

static int sched_digest(lua_State *L) {
    char hex[17];
    ms_digest_hex(ms_sched_digest(check_self(L)->s), hex);
    lua_pushstring(L, hex);
    return 1;
}

static int sched_fold(lua_State *L) {
    lms_sched *b = check_self(L);
    if (lua_type(L, 2) == LUA_TSTRING) {
        size_t n;
        const char *p = lua_tolstring(L, 2, &n);
        ms_sched_fold(b->s, ms_digest_bytes(MS_DIGEST_INIT, p, n));
    } else {
        ms_sched_fold(b->s, (uint64_t)lms_checkint64(L, 2));
    }
    return 0;
}

static int sched_stop(lua_State *L) {
    ms_sched_stop(check_self(L)->s);
    return 0;
}

/* --- children ---------------------------------------------------------------------- */

void lms_sched_adopt(lua_State *L, int sched, int child, lms_child *c, lms_child_free_fn free_fn) {
    sched = lua_absindex(L, sched);
    child = lua_absindex(L, child);
    lms_sched *b = lms_sched_check(L, sched);
    ms_sched_owner id = b->last_owner;
    for (int tries = 0;; tries++) { /* the next owner id no live child holds */
        if (tries == UINT16_MAX) luaL_error(L, "too many live objects on one scheduler");
        id = (ms_sched_owner)(id == UINT16_MAX ? 1 : id + 1);
        if (!(b->owners[id / 64] >> (id % 64) & 1)) break;
    }
    b->last_owner = id;
    lua_pushvalue(L, sched);
    lua_setiuservalue(L, child, 1);
    lua_getiuservalue(L, sched, UV_KIDS);
    lua_pushvalue(L, child);
    lua_rawsetp(L, -2, c);
    lua_pop(L, 1);
    b->owners[id / 64] |= UINT64_C(1) << (id % 64);
    *c = (lms_child){.next = b->children, .parent = b, .free = free_fn, .owner = id};
    if (b->children) b->children->prev = c;
    b->children = c;
}

/* Drop the callbacks of Lua events that are no longer queued (the
 * cancelled events of a closed child). Stack: [-0, +0]. */
static void sweep_fns(lua_State *L, int sched, const lms_sched *b) {
    lua_getiuservalue(L, sched, UV_FNS);
    for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1)) {
        lua_Integer k = lua_tointeger(L, -2);
        if (!ms_sched_slot_pending(b->s, (uint32_t)(k - 1))) {
            lua_pushvalue(L, -2);
            lua_pushnil(L);
            lua_rawset(L, -5);
        }
    }
    lua_pop(L, 1);
}

/* Close child c of the scheduler at index sched. Stack: [-0, +0]. */
static void close_child(lua_State *L, int sched, lms_child *c) {
    lms_sched *b = c->parent;
    c->free(c);
    if (ms_sched_cancel_owner(b->s, c->owner) > 0) sweep_fns(L, sched, b);
    b->owners[c->owner / 64] &= ~(UINT64_C(1) << (c->owner % 64));
    if (c->prev)
        c->prev->next = c->next;
    else
        b->children = c->next;
    if (c->next) c->next->prev = c->prev;
    c->next = c->prev = NULL;
    c->parent = NULL;
    lua_getiuservalue(L, sched, UV_KIDS);
    lua_pushnil(L);
    lua_rawsetp(L, -2, c);
    lua_pop(L, 1);
}

void lms_child_close(lua_State *L, int child, lms_child *c) {
    if (c->parent == NULL) return;
    lua_getiuservalue(L, child, 1);
    close_child(L, lua_gettop(L), c);
    lua_pop(L, 1);
}

int lms_sched_push_child(lms_child *c) {
    lms_sched *b = c->parent;
    if (b == NULL || b->L == NULL) return 0;
    lua_rawgeti(b->L, LUA_REGISTRYINDEX, b->kids_ref);
    lua_rawgetp(b->L, -1, c);
    lua_remove(b->L, -2);
    return 1;
}

lua_State *lms_child_state(const lms_child *c) {
    return c->parent ? c->parent->L : NULL;
}

ms_sched_owner lms_child_enter(lms_child *c) {
    return ms_sched_set_owner(c->parent->s, c->owner);
}

void lms_child_leave(lms_child *c, ms_sched_owner prev) {
    ms_sched_set_owner(c->parent->s, prev);
}

/* close(), __close, __gc: close the live children (newest first), then
 * free the scheduler. Idempotent. */
static int sched_close(lua_State *L) {
    lms_sched *b = luaL_checkudata(L, 1, LMS_SCHED);
    if (b->running) return luaL_error(L, "cannot close a running scheduler");
    while (b->children) close_child(L, 1, b->children);
    ms_sched_free(b->s);
    b->s = NULL;
    return 0;
}

static int sched_tostring(lua_State *L) {
    lms_sched *b = luaL_checkudata(L, 1, LMS_SCHED);
    if (b->s == NULL) {
        lua_pushliteral(L, "mastersim.Sched (closed)");
    } else {
        lua_pushfstring(L, "mastersim.Sched (now %f s, %d pending)",
                        (double)ms_sched_now(b->s) * 1e-9, (int)ms_sched_pending(b->s));
    }
    return 1;
}

void lms_open_sched(lua_State *L) {
    static const luaL_Reg methods[] = {
        {"at", sched_at},
        {"after", sched_after},
        {"cancel", sched_cancel},
        {"run", sched_run},
        {"now", sched_now},
        {"now_ns", sched_now_ns},
        {"pending", sched_pending},
        {"events", sched_events},
        {"digest", sched_digest},
        {"fold", sched_fold},
        {"stop", sched_stop},
        {"close", sched_close},
        {"next_time", sched_next_time},
        {"bind", sched_bind},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", sched_close},
        {"__close", sched_close},
        {"__tostring", sched_tostring},
        {NULL, NULL},
    };
    lms_newclass(L, LMS_SCHED, methods, meta);
    lua_pushcfunction(L, sched_new);
    lua_setfield(L, -2, "sched");
}

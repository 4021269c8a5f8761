/* The sandbox's hard limits, enforced from C:
 *  - a step budget: scripts are loaded metered (lms_meter.c), so each
 *    function body, loop body and backward-goto label charges its size in
 *    tokens to a credit, __ms_t[1], the sandbox's credit table (one per
 *    state, shared by every chunk and thread). When the credit runs out the
 *    chunk calls refill, which settles what was spent into `used`, checks
 *    the budget and the deadline, and grants more: at most `step`, and
 *    never more than the budget has left, so the budget is spent at
 *    exactly the first charge past it whatever the steps were. Once spent
 *    (or past the deadline) the credit stays far below zero, so every
 *    further charge in every thread raises again: a script that catches
 *    the error with pcall is stopped at its next function entry or loop
 *    iteration. C functions that loop (the pattern matchers, string.rep,
 *    the table functions, next and pairs) charge the same credit
 *    (lms_sandbox_charge). Outside sandboxed calls the credit is
 *    practically unlimited;
 *  - a wall-clock deadline per call, checked at each refill: the second
 *    line of defence for steps that are slow without being many (each
 *    `s .. s` of a 100 MB string is one token). The step shrinks when a
 *    step was slow, so the deadline is seen in time;
 *  - a memory cap: an accounting allocator that refuses growth beyond the
 *    cap while a sandboxed call runs.
 * Finalizers run at lua_close and between any two instructions, which is
 * why the script environment refuses __gc (sandbox.lua).
 * During a call, method calls on strings (`s:find(p)`) reach the sandbox's
 * string table (counted matchers, address-free format) through the string
 * metatable's __index, swapped in and back.
 * State lives in a per-lua_State userdata anchored in the registry; its
 * uservalues: 1 the ids of objects named by tostring, 2 the cache of
 * sorted key lists of next, 3 the string table of scripts, 4 the string
 * metatable. The credit table is held by a registry reference (credit_ref),
 * the cheapest way back to it on every callback. */
#include "lms_sandbox.h"

#include "lms_meter.h"

#include <lualib.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#define STEP_MAX 1000
#define FREE_CREDIT ((lua_Integer)1 << 50)       /* outside sandboxed calls */
#define TRIPPED_CREDIT (-((lua_Integer)1 << 50)) /* every charge raises */
#define SLOW_STEP_NS 2000000                     /* a step slower than 2 ms: shrink the step */
#define DEFAULT_WALL 60.0                        /* seconds per call */
#define BIG_GROWTH 65536                         /* allocations that check the deadline */

typedef struct lms_sandbox {
    lms_memacct *mem;
    int owns_mem;                   /* installed by us under a foreign interpreter */
    int depth;                      /* nesting of sandbox_call */
    lua_Integer budget, used;       /* used: settled spending of the running call */
    lua_Integer granted;            /* the credit last put in the credit table */
    lua_Integer step;               /* the next grant, at most STEP_MAX */
    int fresh;                      /* no refill since the call began */
    int credit_ref;                 /* registry reference of the credit table */
    int tripped;                    /* 1 the budget, 2 the deadline: every charge raises */
    uint64_t deadline, last_refill; /* uv_hrtime() */
    lua_Number wall;                /* the deadline's limit, for its message */
    lua_Integer next_id;
} sandbox;

static const char SANDBOX_KEY = 'S';

void *lms_memacct_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    lms_memacct *m = ud;
    size_t old = ptr ? osize : 0;
    if (nsize > old && m->active && m->used + (nsize - old) > m->limit) {
        m->tripped = 1;
        return NULL;
    }
    if (nsize >= old + BIG_GROWTH && m->active && m->deadline && uv_hrtime() > m->deadline) {
        m->late = 1;
        return NULL;
    }
    void *r = m->orig(m->orig_ud, ptr, osize, nsize);
    if (r != NULL || nsize == 0) m->used = m->used - old + nsize;
    return r;
}

/* __gc of the anchor: hand the state back to its own allocator. Frees of
 * blocks made through the accounting allocator go straight to it, which is
 * where they came from. */
static int sandbox_gc(lua_State *L) {
    sandbox *x = lua_touserdata(L, 1);
    if (x->owns_mem && x->mem) {
        lua_setallocf(L, x->mem->orig, x->mem->orig_ud);
        free(x->mem);
    }
    x->mem = NULL;
    return 0;
}

/* The sandbox of this state, or NULL before first use. Stack: [-0, +0]. */
static sandbox *find_sandbox(lua_State *L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &SANDBOX_KEY);
    sandbox *x = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return x;
}

/* A fresh weak-keyed table as uservalue n of the anchor at idx. */
static void new_weak(lua_State *L, int idx, int n) {
    idx = lua_absindex(L, idx);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setiuservalue(L, idx, n);
}

void lms_sandbox_copylib(lua_State *L, const char *name) {
    lua_newtable(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    if (lua_istable(L, -1)) {
        lua_pushnil(L);
        while (lua_next(L, -2)) { /* T lib k v */
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -5); /* T[k] = v, leaving T lib k */
        }
    }
    lua_pop(L, 1);
}

/* The scripts' string table: the state's string library with the counted
 * matchers and the sandbox's format. Stack: [-0, +0]; anchor at idx. */
static void new_strlib(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lms_sandbox_copylib(L, LUA_STRLIBNAME);
    static const char wrap[] = "local format, name = ...\n"
                               "return function(fmt, ...)\n"
                               "  local ok, s = pcall(format, name(fmt, ...))\n"
                               "  if ok then return s end\n"
                               "  error(s, 2)\n"
                               "end";
    lua_getfield(L, -1, "format");
    if (luaL_loadbuffer(L, wrap, sizeof wrap - 1, "=format") != LUA_OK) lua_error(L);
    lua_insert(L, -2);
    lua_pushcfunction(L, lms_sandbox_format_args);
    lua_call(L, 2, 1);
    lua_setfield(L, -2, "format");
    lms_pattern_setfuncs(L);
    lua_setiuservalue(L, idx, 3);
}

/* The per-state sandbox, created on first use. Stack: [-0, +0]. */
static sandbox *get_sandbox(lua_State *L) {
    sandbox *x = find_sandbox(L);
    if (x) return x;
    x = lua_newuserdatauv(L, sizeof *x, 4);
    *x = (sandbox){.step = STEP_MAX, .granted = FREE_CREDIT};
    void *ud = NULL;
    lua_Alloc f = lua_getallocf(L, &ud);
    if (f == lms_memacct_alloc) {
        x->mem = ud;
    } else {
        lms_memacct *m = malloc(sizeof *m);
        if (m == NULL) luaL_error(L, "out of memory");
        *m = (lms_memacct){.orig = f, .orig_ud = ud};
        m->used = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
        lua_setallocf(L, lms_memacct_alloc, m);
        x->mem = m;
        x->owns_mem = 1;
    }
    lua_newtable(L);
    lua_pushcfunction(L, sandbox_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    new_weak(L, -1, 1);
    new_weak(L, -1, 2);
    new_strlib(L, -1);
    lua_pushliteral(L, "");
    if (!lua_getmetatable(L, -1)) lua_pushnil(L);
    lua_setiuservalue(L, -3, 4);
    lua_pop(L, 1);
    lua_createtable(L, 1, 0);
    lua_pushinteger(L, FREE_CREDIT);
    lua_rawseti(L, -2, 1);
    x->credit_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &SANDBOX_KEY);
    return x;
}

/* --- the credit (see the file comment) ------------------------------------ */

static lua_Integer get_credit(lua_State *L, const sandbox *x) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, x->credit_ref);
    lua_rawgeti(L, -1, 1);
    lua_Integer c = lua_tointeger(L, -1);
    lua_pop(L, 2);
    return c;
}

static void put_credit(lua_State *L, const sandbox *x, lua_Integer c) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, x->credit_ref);
    lua_pushinteger(L, c);
    lua_rawseti(L, -2, 1);
    lua_pop(L, 1);
}

/* Fold what was spent of the credit since the last grant into used. */
static void settle(lua_State *L, sandbox *x) {
    lua_Integer c = get_credit(L, x);
    x->used += x->granted - c;
    x->granted = c;
}

/* A new credit: unlimited outside calls, none once tripped, else the
 * step, but never more than the budget has left. */
static void grant(lua_State *L, sandbox *x) {
    lua_Integer c = x->depth == 0 ? FREE_CREDIT : x->tripped ? TRIPPED_CREDIT : x->budget - x->used;
    if (x->depth > 0 && !x->tripped && c > x->step) c = x->step;
    put_credit(L, x, c);
    x->granted = c;
}

/* Stop the call (why: 1 the budget, 2 the deadline; the first reason
 * stays): from now on every charge of every thread raises. `level`
 * locates the message (0: the running function, 1: its caller). */
static int trip(lua_State *L, sandbox *x, int level, int why) {
    if (!x->tripped) x->tripped = why;
    grant(L, x);
    luaL_where(L, level);
    if (x->tripped == 2 && x->wall == (lua_Number)(lua_Integer)x->wall)
        lua_pushfstring(L, "wall-clock limit of %I s exceeded", (lua_Integer)x->wall);
    else if (x->tripped == 2)
        lua_pushfstring(L, "wall-clock limit of %f s exceeded", x->wall);
    else
        lua_pushfstring(L, "step budget of %I exceeded", x->budget);
    lua_concat(L, 2);
    return lua_error(L);
}

/* The credit ran out (or a C function's charge took it below zero):
 * settle, check the limits, grant more; raises when a limit is passed
 * (level as trip's). */
static void refill_at(lua_State *L, sandbox *x, int level) {
    settle(L, x);
    if (x->depth == 0) {
        x->used = 0;
        grant(L, x);
        return;
    }
    if (x->tripped || x->used > x->budget) trip(L, x, level, 1);
    uint64_t now = uv_hrtime();
    if (now > x->deadline || x->mem->late) trip(L, x, level, 2);
    if (x->fresh)
        x->fresh = 0;
    else if (now - x->last_refill > SLOW_STEP_NS)
        x->step = x->step / 10 > 0 ? x->step / 10 : 1;
    else if (x->step < STEP_MAX)
        x->step = x->step * 2 < STEP_MAX ? x->step * 2 : STEP_MAX;
    x->last_refill = now;
    grant(L, x);
}

/* __ms_r(): what a metered chunk calls when its charge took the credit
 * below zero. */
static int refill(lua_State *L) {
    sandbox *x = find_sandbox(L);
    if (x != NULL) refill_at(L, x, 1);
    return 0;
}

void lms_sandbox_push_meter(lua_State *L) {
    sandbox *x = get_sandbox(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, x->credit_ref);
    lua_pushcfunction(L, refill);
}

void lms_sandbox_charge(lua_State *L, lua_Integer ticks) {
    sandbox *x = find_sandbox(L);
    if (x == NULL || x->depth == 0) return;
    if (ticks > x->budget) ticks = x->budget + 1;
    if (ticks > FREE_CREDIT) ticks = FREE_CREDIT;
    lua_Integer c = get_credit(L, x) - ticks;
    put_credit(L, x, c);
    if (c < 0 || x->tripped) refill_at(L, x, 1);
}

void lms_sandbox_pushid(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    sandbox *x = get_sandbox(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &SANDBOX_KEY);
    lua_getiuservalue(L, -1, 1);
    lua_remove(L, -2);
    lua_pushvalue(L, idx);
    lua_Integer id;
    if (lua_rawget(L, -2) == LUA_TNUMBER) {
        id = lua_tointeger(L, -1);
    } else {
        id = ++x->next_id;
        lua_pushvalue(L, idx);
        lua_pushinteger(L, id);
        lua_rawset(L, -4);
    }
    lua_pop(L, 2);
    int t = luaL_getmetafield(L, idx, "__name"); /* pushes nothing when absent */
    if (t != LUA_TSTRING) {
        if (t != LUA_TNIL) lua_pop(L, 1);
        lua_pushstring(L, luaL_typename(L, idx));
    }
    lua_pushfstring(L, ": #%I", id);
    lua_concat(L, 2);
}

/* Push uservalue n of the anchor (see the file comment). Stack: [-0, +1]. */
int lms_sandbox_uservalue(lua_State *L, int n) {
    get_sandbox(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &SANDBOX_KEY);
    int t = lua_getiuservalue(L, -1, n);
    lua_remove(L, -2);
    return t;
}

/* Point the string metatable's __index (the stack: mt at mt_idx) at the
 * value on top of the stack, which is popped. Stack: [-1, +0]. */
static void set_string_index(lua_State *L, int mt_idx) {
    if (!lua_istable(L, mt_idx)) {
        lua_pop(L, 1);
        return;
    }
    lua_pushliteral(L, "__index");
    lua_insert(L, -2);
    lua_rawset(L, mt_idx);
}

/* Enter the scripts' string table: replace the limits table (slot 1) with
 * the string metatable's current __index and insert the metatable as
 * slot 2 (both nil without a string metatable). Stack: [-0, +1]. */
static void enter_strings(lua_State *L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &SANDBOX_KEY);
    lua_getiuservalue(L, -1, 4); /* A mt */
    if (lua_istable(L, -1)) {
        lua_pushliteral(L, "__index");
        lua_rawget(L, -2); /* A mt old */
    } else {
        lua_pushnil(L);
    }
    lua_replace(L, 1);
    lua_insert(L, 2); /* old mt fn ... A */
    lua_getiuservalue(L, -1, 3);
    set_string_index(L, 2);
    lua_pop(L, 1);
}

void lms_sandbox_limits(lua_State *L, int idx, lms_limits *lim) {
    lua_getfield(L, idx, "steps");
    lim->budget = luaL_optinteger(L, -1, 100000000);
    lua_getfield(L, idx, "memory");
    lim->cap = luaL_optinteger(L, -1, 256 * 1024 * 1024);
    lua_getfield(L, idx, "wall");
    lim->wall = luaL_optnumber(L, -1, DEFAULT_WALL);
    lua_pop(L, 3);
    if (lim->budget <= 0 || lim->cap <= 0 || !(lim->wall > 0 && lim->wall < 1e9))
        luaL_error(L, "sandbox limits must be positive");
}

/* Now for a deadline, cheaply: the monotonic clock at its tick's
 * resolution (a few ms, nothing against a limit of seconds; the coarse
 * clock skips the time counter read that costs a tenth of a scripted
 * sim's event), the same clock uv_hrtime reads in full. */
static uint64_t coarse_now(void) {
#if defined(CLOCK_MONOTONIC_COARSE)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
    return uv_hrtime();
}

/* A fresh budget, deadline and memory cap for the next call, and its first
 * credit (the rest stays as enter set it). */
static void rearm(lua_State *L, sandbox *x, const lms_limits *lim) {
    uint64_t now = coarse_now();
    x->used = 0;
    x->tripped = 0;
    x->fresh = 1;
    x->deadline = now + (uint64_t)(lim->wall * 1e9);
    x->mem->tripped = 0;
    x->mem->late = 0;
    x->mem->deadline = x->deadline;
    x->mem->limit = x->mem->used + (size_t)lim->cap;
    grant(L, x);
}

/* Start sandboxed calls under lim: save what they replace into sv (the
 * spending so far settled first), arm the budget, the deadline and the
 * cap (but the string table: the caller swaps it). */
static void enter(lua_State *L, sandbox *x, const lms_limits *lim, lms_sandbox_saved *sv) {
    settle(L, x);
    *sv = (lms_sandbox_saved){.depth = x->depth,
                              .tripped = x->tripped,
                              .budget = x->budget,
                              .used = x->used,
                              .wall = x->wall,
                              .deadline = x->deadline,
                              .mem = *x->mem};
    x->depth++;
    x->budget = lim->budget;
    x->wall = lim->wall;
    x->mem->active = 1;
    rearm(L, x, lim);
}

/* End them: how they ended (NULL when status is LUA_OK, else "budget",
 * "memory" or "error"), and put back what enter saved. When a limit ended
 * them, the message on top of the stack is replaced by the limit's (the
 * allocator's bare "not enough memory" would say nothing). */
static const char *leave(lua_State *L, sandbox *x, const lms_limits *lim,
                         const lms_sandbox_saved *sv, int status) {
    int budget_hit = x->tripped, late = x->mem->late;
    int mem_hit = x->mem->tripped || status == LUA_ERRMEM;
    lua_Number wall = x->wall;
    x->depth = sv->depth;
    x->budget = sv->budget;
    x->used = sv->used;
    x->tripped = sv->tripped;
    x->wall = sv->wall;
    x->deadline = sv->deadline;
    x->mem->active = sv->mem.active;
    x->mem->limit = sv->mem.limit;
    x->mem->tripped = sv->mem.tripped;
    x->mem->late = sv->mem.late;
    x->mem->deadline = sv->mem.deadline;
    grant(L, x);
    if (status == LUA_OK) return NULL;
    if (budget_hit) return "budget";
    if (late) { /* ended by a refused allocation before a refill saw the time */
        lua_pop(L, 1);
        if (wall == (lua_Number)(int)wall)
            lua_pushfstring(L, "wall-clock limit of %d s exceeded", (int)wall);
        else
            lua_pushfstring(L, "wall-clock limit of %f s exceeded", wall);
        return "budget";
    }
    if (mem_hit) {
        lua_pop(L, 1);
        lua_pushfstring(L, "memory cap of %I MiB exceeded", lim->cap / (1024 * 1024));
        return "memory";
    }
    return "error";
}

/* sandbox_call({steps=, memory=, wall=}, fn, ...)
 *   -> true, results...  |  false, kind ("error"|"budget"|"memory"), message */
static int sandbox_call(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    sandbox *x = get_sandbox(L);
    lms_limits lim;
    lms_sandbox_limits(L, 1, &lim);
    lms_sandbox_saved sv;
    enter(L, x, &lim, &sv);
    enter_strings(L); /* old __index, string metatable, fn, args... */
    int nargs = lua_gettop(L) - 3;
    int status = lms_pcall(L, nargs, LUA_MULTRET);
    const char *kind = leave(L, x, &lim, &sv, status);
    /* the string metatable's __index back, from slot 1, below the results */
    lua_pushvalue(L, 1);
    set_string_index(L, 2);
    lua_remove(L, 2);
    if (status == LUA_OK) {
        lua_pushboolean(L, 1);
        lua_replace(L, 1); /* true in place of the old __index */
        return lua_gettop(L);
    }
    lua_pushboolean(L, 0);
    lua_pushstring(L, kind);
    lua_rotate(L, -3, 2); /* false, kind, message */
    return 3;
}

/* --- spans: the callbacks of a slice of a drive, sandboxed together --------- */

void lms_span_begin(lua_State *L, lms_span *sp, const lms_limits *lim) {
    sandbox *x = get_sandbox(L);
    sp->x = x;
    sp->L = L;
    sp->lim = *lim;
    enter(L, x, lim, &sp->saved);
    /* the scripts' string table behind string methods, the old __index kept */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &SANDBOX_KEY);
    lua_getiuservalue(L, -1, 4); /* A mt */
    if (lua_istable(L, -1)) {
        lua_pushliteral(L, "__index");
        lua_rawget(L, -2);
    } else {
        lua_pushnil(L);
    }
    sp->strings_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* A mt */
    lua_getiuservalue(L, -2, 3);
    set_string_index(L, lua_absindex(L, -2));
    lua_pop(L, 2);
}

void lms_span_next(void *p) {
    lms_span *sp = p;
    rearm(sp->L, sp->x, &sp->lim);
}

const char *lms_span_end(lua_State *L, lms_span *sp, int status) {
    const char *kind = leave(L, sp->x, &sp->lim, &sp->saved, status);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &SANDBOX_KEY);
    lua_getiuservalue(L, -1, 4); /* A mt */
    lua_rawgeti(L, LUA_REGISTRYINDEX, sp->strings_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, sp->strings_ref);
    set_string_index(L, lua_absindex(L, -2));
    lua_pop(L, 2);
    return kind;
}

/* memory() -> bytes the state holds (as the accounting allocator sees it) */
static int sandbox_memory(lua_State *L) {
    sandbox *x = get_sandbox(L);
    lua_pushinteger(L, (lua_Integer)x->mem->used);
    return 1;
}

/* sandbox_reset(): forget the ids given by tostring and next's cache, so
 * that a script load or a run names objects #1, #2, ... from the start
 * whatever ran before it in this process. */
static int sandbox_reset(lua_State *L) {
    sandbox *x = get_sandbox(L);
    x->next_id = 0;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &SANDBOX_KEY);
    new_weak(L, -1, 1);
    new_weak(L, -1, 2);
    lua_pop(L, 1);
    return 0;
}

/* sandbox_strings() -> the string table of scripts (counted matchers). */
static int sandbox_strings(lua_State *L) {
    lms_sandbox_uservalue(L, 3);
    return 1;
}

void lms_open_sandbox(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"sandbox_call", sandbox_call},       {"sandbox_reset", sandbox_reset},
        {"sandbox_strings", sandbox_strings}, {"memory", sandbox_memory},
        {"meter_load", lms_meter_load},       {NULL, NULL},
    };
    lms_setfuncs(L, fns);
    lms_sandbox_env_setfuncs(L);
}

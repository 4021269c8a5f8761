/* The sandbox's two hard limits, enforced from C:
 *  - an instruction budget: a count hook that, once the budget is spent,
 *    re-arms itself to fire on every instruction, so a script that catches
 *    the error with pcall is stopped again at its next instruction;
 *  - a memory cap: an accounting allocator that refuses growth beyond the
 *    cap while a sandboxed call runs.
 * State lives in a per-lua_State userdata anchored in the registry. */
#include "lms_aux.h"

#include <stdlib.h>

#define HOOK_STEP 1000

typedef struct {
    lms_memacct *mem;
    int owns_mem; /* installed by us under a foreign interpreter */
    int depth;    /* nesting of sandbox_call */
    lua_Integer budget, ticks;
    int tripped;
} sandbox;

static const char SANDBOX_KEY = 'S';

void *lms_memacct_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    lms_memacct *m = ud;
    size_t old = ptr ? osize : 0;
    if (nsize > old && m->active && m->used + (nsize - old) > m->limit) {
        m->tripped = 1;
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

/* The per-state sandbox, created on first use. Stack: [-0, +0]. */
static sandbox *get_sandbox(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &SANDBOX_KEY) == LUA_TUSERDATA) {
        sandbox *x = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return x;
    }
    lua_pop(L, 1);
    sandbox *x = lua_newuserdatauv(L, sizeof *x, 0);
    *x = (sandbox){0};
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
    lua_rawsetp(L, LUA_REGISTRYINDEX, &SANDBOX_KEY);
    return x;
}

static void hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &SANDBOX_KEY);
    sandbox *x = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (x == NULL || x->depth == 0) return;
    x->ticks += x->tripped ? 1 : HOOK_STEP;
    if (x->ticks <= x->budget) return;
    if (!x->tripped) {
        x->tripped = 1;
        lua_sethook(L, hook, LUA_MASKCOUNT, 1); /* every instruction from now on */
    }
    luaL_where(L, 0);
    lua_pushfstring(L, "instruction budget of %I exceeded", x->budget);
    lua_concat(L, 2);
    lua_error(L);
}

/* sandbox_call({instructions=, memory=}, fn, ...)
 *   -> true, results...  |  false, kind ("error"|"budget"|"memory"), message */
static int sandbox_call(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    sandbox *x = get_sandbox(L);
    lua_getfield(L, 1, "instructions");
    lua_Integer budget = luaL_optinteger(L, -1, 100000000);
    lua_getfield(L, 1, "memory");
    lua_Integer cap = luaL_optinteger(L, -1, 256 * 1024 * 1024);
    lua_pop(L, 2);
    if (budget <= 0 || cap <= 0) return luaL_error(L, "sandbox limits must be positive");

    sandbox saved = *x;
    lms_memacct mem_saved = *x->mem;
    lua_Hook old_hook = lua_gethook(L);
    int old_mask = lua_gethookmask(L), old_count = lua_gethookcount(L);
    x->depth++;
    x->budget = budget;
    x->ticks = 0;
    x->tripped = 0;
    x->mem->active = 1;
    x->mem->tripped = 0;
    x->mem->limit = x->mem->used + (size_t)cap;
    lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_STEP);

    int nargs = lua_gettop(L) - 2;
    int status = lms_pcall(L, nargs, LUA_MULTRET);

    int budget_hit = x->tripped, mem_hit = x->mem->tripped || status == LUA_ERRMEM;
    lua_sethook(L, old_hook, old_mask, old_count);
    x->depth = saved.depth;
    x->budget = saved.budget;
    x->ticks = saved.ticks;
    x->tripped = saved.tripped;
    x->mem->active = mem_saved.active;
    x->mem->limit = mem_saved.limit;
    x->mem->tripped = mem_saved.tripped;

    if (status == LUA_OK) {
        lua_pushboolean(L, 1);
        lua_replace(L, 1); /* true in place of the limits table */
        return lua_gettop(L);
    }
    lua_pushboolean(L, 0);
    if (budget_hit) {
        lua_pushliteral(L, "budget");
    } else if (mem_hit) {
        lua_pushliteral(L, "memory");
        lua_pushfstring(L, "memory cap of %I MiB exceeded", cap / (1024 * 1024));
        lua_replace(L, -4); /* replace the allocator's bare message */
    } else {
        lua_pushliteral(L, "error");
    }
    lua_rotate(L, -3, 2); /* false, kind, message */
    return 3;
}

/* memory() -> bytes the state holds (as the accounting allocator sees it) */
static int sandbox_memory(lua_State *L) {
    sandbox *x = get_sandbox(L);
    lua_pushinteger(L, (lua_Integer)x->mem->used);
    return 1;
}

void lms_open_sandbox(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"sandbox_call", sandbox_call},
        {"memory", sandbox_memory},
        {NULL, NULL},
    };
    lms_setfuncs(L, fns);
}

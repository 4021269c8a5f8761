/* Shared machinery of the bindings (module mastersim.core).
 *
 * Only files in src/lua include lua.h. Each bound type lives in its own
 * lms_<type>.c with a registration function lms_open_<type>(L) that adds its
 * functions to the module table on top of the stack and creates its named
 * metatable "mastersim.<Type>". */
#ifndef LMS_AUX_H
#define LMS_AUX_H

#include "ms_dist.h"

#include <lua.h>
#include <lauxlib.h>
#include <stdint.h>

/* Register `fns` into the table at the top of the stack. Stack: [-0, +0]. */
void lms_setfuncs(lua_State *L, const luaL_Reg *fns);

/* Create the metatable `tname` with __index = methods, plus `meta` entries
 * (e.g. __gc, __close, __tostring). Each method gets the metatable as its
 * upvalue 1 (see lms_checkself). Leaves the stack unchanged. */
void lms_newclass(lua_State *L, const char *tname, const luaL_Reg *methods, const luaL_Reg *meta);

/* The userdata `self` (argument 1) of a method registered by lms_newclass,
 * which gives every method its class's metatable as upvalue 1: a pointer
 * comparison instead of luaL_checkudata's registry lookup by name. */
void *lms_checkself(lua_State *L, const char *tname);

/* Bound methods, for a script's hot path. lms_pushbound pushes a table of
 * the methods named in `names` (NULL-terminated) of the userdata at index
 * self, each a closure holding the userdata as its upvalue 2: called as a
 * method of the table (t:name(...)), its self argument is ignored and
 * lms_checkself returns the bound userdata without a type check (it can
 * hold nothing else), so a call costs a table lookup where a userdata's
 * method costs its metatable's __index and the class check. Stack: [-0, +1].
 * lms_selfindex: where self is, for a method that needs it on the stack
 * (its upvalue 2 when bound, else 1). */
void lms_pushbound(lua_State *L, int self, const char *const names[]);
int lms_selfindex(lua_State *L);

/* Check that argument `arg` is an integer-valued number (or string of one)
 * and return it as int64. Raises a precise argument error otherwise. */
int64_t lms_checkint64(lua_State *L, int arg);

/* Duration argument: a number of seconds or a unit string ("250us", "1.5s").
 * Returns nanoseconds; raises an argument error naming the bad text. */
int64_t lms_checkduration(lua_State *L, int arg);

/* Field `name` of the options table at index t: an integer in [0, max], or
 * 0 when absent. Raises "<what>: field '<name>' must be an integer (got
 * <type>)" or "... is out of range (got <n>)". Stack: [-0, +0]. */
uint64_t lms_optfield_u64(lua_State *L, int t, const char *what, const char *name, uint64_t max);

/* Raise "<what>: unknown field '<key>'" when the table at index t has a key
 * that is not in the NULL-terminated list known. Stack: [-0, +0]. */
void lms_checkfields(lua_State *L, int t, const char *what, const char *const known[]);

/* The distribution at index idx, as lua/mastersim/faults.lua makes them
 * (a table with raw fields kind, p1, p2 in seconds) into *out, in ns.
 * Returns 0 when the value is not one (the parameters are not validated:
 * see ms_dist_valid). Stack: [-0, +0]. */
int lms_todist(lua_State *L, int idx, ms_dist *out);

/* t[k] = v for the table on top of the stack. Stack: [-0, +0]. */
void lms_setnum(lua_State *L, const char *k, double v);
void lms_setint(lua_State *L, const char *k, int64_t v);
void lms_setstr(lua_State *L, const char *k, const char *v);

/* The expected-outcome channel for a C result: push true when rc is 0,
 * else nil and err; returns the count. Stack: [-0, +(1|2)]. */
int lms_push_ok(lua_State *L, int rc, const char *err);

/* Call the function at stack index -(nargs+1) with a traceback handler.
 * Returns the lua_pcall status; on error the message (with traceback) is on
 * top of the stack. Stack: [-(nargs+1), +(nresults|1)]. */
int lms_pcall(lua_State *L, int nargs, int nresults);

/* The accounting allocator behind the sandbox's memory cap. The mastersim
 * binary creates its state with it; under another interpreter the sandbox
 * installs it on first use. `limit` applies only while `active`; so does
 * `deadline` (uv_hrtime, 0 = none): past it, growth by 64 KiB or more is
 * refused (and `late` set), which makes slow steps (each a copy of a big
 * string) fast failures; the sandbox's next refill then stops the call. */
typedef struct lms_memacct {
    lua_Alloc orig;
    void *orig_ud;
    size_t used;
    size_t limit;
    int active;
    int tripped;
    uint64_t deadline;
    int late;
} lms_memacct;

void *lms_memacct_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* The limits of a sandboxed call: steps, memory growth, wall-clock
 * seconds. lms_sandbox_limits reads them from a {steps=, memory=,
 * wall=} table at idx (defaults 10^8, 256 MiB, 60 s; raises when one is
 * not positive). Stack: [-0, +0]. */
typedef struct lms_limits {
    lua_Integer budget, cap;
    lua_Number wall;
} lms_limits;

void lms_sandbox_limits(lua_State *L, int idx, lms_limits *lim);

/* What a stretch of sandboxed calls replaces in the sandbox, and puts back
 * when it ends (lms_sandbox.c). */
typedef struct lms_sandbox_saved {
    int depth, tripped;
    lua_Integer budget, used;
    lua_Number wall;
    uint64_t deadline;
    lms_memacct mem;
} lms_sandbox_saved;

/* A span of sandboxed calls (lms_sandbox.c): the limits sandbox_call puts
 * on one call, put on every callback a scheduler runs during one slice of a
 * drive. lms_span_begin sets the memory cap and the scripts' string table
 * once; lms_span_next, called before each callback, gives it a fresh
 * budget, deadline and cap (so a callback may use as much as one
 * sandbox_call may), with no protected call per callback; lms_span_end
 * puts back what begin replaced and, after a failed slice (status not
 * LUA_OK), names the limit that stopped it ("budget", "memory", or
 * "error"; NULL for LUA_OK), replacing the message on top of the stack by
 * the limit's when a limit did. */
typedef struct lms_span {
    struct lms_sandbox *x;
    lua_State *L;
    lms_limits lim;
    lms_sandbox_saved saved;
    int strings_ref; /* the string metatable's __index before the span */
} lms_span;

void lms_span_begin(lua_State *L, lms_span *sp, const lms_limits *lim);
void lms_span_next(void *sp);
const char *lms_span_end(lua_State *L, lms_span *sp, int status);

/* Registration functions of every bound type, called by luaopen. Each
 * expects the module table on top of the stack and leaves it there. */
void lms_open_sched(lua_State *L);
void lms_open_rng(lua_State *L);
void lms_open_units(lua_State *L);
void lms_open_hist(lua_State *L);
void lms_open_digest(lua_State *L);
void lms_open_sandbox(lua_State *L);
void lms_open_drive(lua_State *L);
void lms_open_gate(lua_State *L);
void lms_open_station(lua_State *L);
void lms_open_store(lua_State *L);
void lms_open_snapshot(lua_State *L);
void lms_open_cluster(lua_State *L);
void lms_open_stress(lua_State *L);
void lms_open_outfile(lua_State *L);

#endif

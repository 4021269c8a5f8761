/* The parts of the script sandbox that its files share: lms_sandbox.c (the
 * budget, the wall-clock deadline, the memory cap, sandbox_call),
 * lms_pattern.c (the counted string matchers) and lms_sandbox_env.c
 * (deterministic tostring, next and pairs; charged table functions). */
#ifndef LMS_SANDBOX_H
#define LMS_SANDBOX_H

#include "lms_aux.h"

/* Charge `ticks` units of work (about one step, a VM instruction, each) done in C
 * to the running sandboxed call's step budget. Raises "<where>:
 * step budget of N exceeded" (where = the Lua caller of the C
 * function) once the budget is spent; does nothing outside a sandboxed
 * call. Stack: [-0, +0] (or raises). */
void lms_sandbox_charge(lua_State *L, lua_Integer ticks);

/* Push the run-stable name of the object at idx (a table, function,
 * userdata or thread): "<__name or type>: #<n>", n the order in which the
 * sandbox first named it since the last core.sandbox_reset(). Stack:
 * [-0, +1]. */
void lms_sandbox_pushid(lua_State *L, int idx);

/* Push uservalue n of the sandbox's anchor: 1 the ids of objects named by
 * tostring, 2 next's cache of sorted key lists (both weak-keyed, renewed
 * by core.sandbox_reset), 3 the string table of scripts. Returns its type.
 * Stack: [-0, +1]. */
int lms_sandbox_uservalue(lua_State *L, int n);

/* Push a shallow copy of the standard library `name` (package.loaded[name],
 * e.g. LUA_STRLIBNAME); an empty table when it is not loaded. Stack:
 * [-0, +1]. */
void lms_sandbox_copylib(lua_State *L, const char *name);

/* (fmt, ...) -> fmt, ... with the objects that '%s' conversions take named
 * as tostring names them; raises for '%p' (naming the caller's caller).
 * The scripts' string.format is a Lua function that calls it, then the
 * stock format in a pcall, and raises format's errors again at level 2, so
 * they name the script's line. */
int lms_sandbox_format_args(lua_State *L);

/* Set find, match, gmatch, gsub and rep (lms_pattern.c) into the table on
 * top of the stack. Stack: [-0, +0]. */
void lms_pattern_setfuncs(lua_State *L);

/* Set the sandbox's tostring, print, next, pairs and the charged table and
 * string.format wrappers (lms_sandbox_env.c) into the module table on top
 * of the stack. Stack: [-0, +0]. */
void lms_sandbox_env_setfuncs(lua_State *L);

#endif

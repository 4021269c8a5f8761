/* The step meter (lms_meter.c): script source rewritten to charge its own
 * work to the sandbox's budget (lms_sandbox.c), in place of a debug hook. */
#ifndef LMS_METER_H
#define LMS_METER_H

#include "lms_aux.h"

enum { LMS_METER_OK, LMS_METER_RESERVED, LMS_METER_NOMEM };

/* Rewrite the Lua text[0..len), which must compile, into its metered form.
 * LMS_METER_OK: pushes the metered text. LMS_METER_RESERVED: pushes
 * "<line>: names starting with '__ms_' are reserved for the sandbox".
 * LMS_METER_NOMEM: pushes nothing. Stack: [-0, +(0|1)]. */
int lms_meter_rewrite(lua_State *L, const char *text, size_t len);

/* meter_load(text [, chunkname [, env]]) -> function | nil, message: load
 * as Lua's load(text, chunkname, "t", env) does (text only; the errors
 * are load's), the function returned charging the sandbox as it runs. */
int lms_meter_load(lua_State *L);

/* Put a searcher before the standard Lua file searcher (once) that loads
 * the mastersim.* Lua modules metered. Stack: [-0, +0]. */
void lms_meter_install(lua_State *L);

/* Push the sandbox's credit table and its refill function, the two values
 * a metered chunk is called with (lms_sandbox.c). Stack: [-0, +2]. */
void lms_sandbox_push_meter(lua_State *L);

#endif

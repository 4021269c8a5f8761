/* The Sched userdata, shared with the libuv driver binding. */
#ifndef LMS_SCHED_H
#define LMS_SCHED_H

#include "lms_aux.h"
#include "ms_sched.h"

#define LMS_SCHED "mastersim.Sched"

typedef struct lms_sched {
    ms_sched *s;
    lua_State *L; /* the state running events; set only inside a run */
    int fns;      /* stack index of the callback table during a run */
    int running;
} lms_sched;

lms_sched *lms_sched_check(lua_State *L, int arg);

/* Run events up to `until` (ns), at most `max` (0 = all), calling Lua
 * callbacks; the userdata must be at stack index `arg`. Errors raised by a
 * callback propagate (the scheduler stays consistent). Stack: [-0, +0]. */
uint64_t lms_sched_run(lua_State *L, int arg, int64_t until, uint64_t max);

#endif

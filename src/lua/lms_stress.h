/* Lua policies in the stress harness (lms_stress_policy.c): a policy file
 * decides each read in each reader thread, in a Lua state of that thread's
 * own (ms_stress_decider). */
#ifndef LMS_STRESS_H
#define LMS_STRESS_H

#include "lms_aux.h"
#include "ms_stress.h"

/* The options table at idx asks for a Lua policy (field lua_policy: a
 * policy file's path; params: {name = "value"} overrides as --param gives
 * them; every_read: consult it on every read): fill d and return 1, or
 * return 0 (d untouched) when it does not. Raises on a bad field. The
 * strings are copied: d does not depend on the table. Free d's state with
 * lms_stress_policy_free. Stack: [-0, +0]. */
int lms_stress_policy_init(lua_State *L, int idx, ms_stress_decider *d);

void lms_stress_policy_free(ms_stress_decider *d);

#endif

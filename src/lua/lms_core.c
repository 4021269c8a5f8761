/* luaopen_mastersim_core: the module table of mastersim.core. Each bound
 * type registers itself through its lms_open_<type>. */
#include "lms_aux.h"

#ifndef MS_VERSION
#define MS_VERSION "0.1.0"
#endif

int luaopen_mastersim_core(lua_State *L);

int luaopen_mastersim_core(lua_State *L) {
    lua_newtable(L);
    lms_open_units(L);
    lms_open_sched(L);
    lms_open_digest(L);
    lms_open_rng(L);
    lms_open_hist(L);
    lms_open_sandbox(L);
    lms_open_drive(L);
    lms_open_gate(L);
    lms_open_store(L);
    lms_open_snapshot(L);
    lms_open_cluster(L);
    lms_open_stress(L);
    lua_pushliteral(L, MS_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}

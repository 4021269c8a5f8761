/* luaopen_mastersim_core: the module table of mastersim.core. Each bound
 * type registers itself through its lms_open_<type>. */
#include "lms_aux.h"
#include "lms_meter.h"

#include "ms_ops.h"
#include "ms_write.h"

#ifndef MS_VERSION
#define MS_VERSION "0.1.0"
#endif

int luaopen_mastersim_core(lua_State *L);

int luaopen_mastersim_core(lua_State *L) {
    lms_meter_install(L);
    lua_newtable(L);
    lms_open_units(L);
    lms_open_sched(L);
    lms_open_digest(L);
    lms_open_rng(L);
    lms_open_hist(L);
    lms_open_sandbox(L);
    lms_open_drive(L);
    lms_open_gate(L);
    lms_open_station(L);
    lms_open_store(L);
    lms_open_snapshot(L);
    lms_open_cluster(L);
    lms_open_stress(L);
    lms_open_outfile(L);
    /* the op names, in the order of the C enums */
    lua_createtable(L, MS_OP_COUNT, 0);
    for (int i = 0; i < MS_OP_COUNT; i++) {
        lua_pushstring(L, ms_ops_op_name((ms_read_op)i));
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "read_ops");
    lua_createtable(L, MS_WRITE_OP_SLOTS - 1, 0);
    for (int i = 1; i < MS_WRITE_OP_SLOTS; i++) {
        lua_pushstring(L, ms_write_op_name(i));
        lua_rawseti(L, -2, i);
    }
    lua_setfield(L, -2, "write_ops");
    lua_pushliteral(L, MS_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}

/* core.write_file(path, text) -> true | nil, msg: an output file written
 * by ms_outfile's rule (a regular file atomically through a temporary
 * file, a device, FIFO or link in place, never replaced). msg is strerror's
 * text ("No space left on device").
 * core.file_kind(path) -> "missing" | "regular" | "directory" | "special" |
 * "error", without following a final symbolic link. */
#include "lms_aux.h"

#include "ms_outfile.h"

static int lms_outfile_put(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    size_t n;
    const char *text = luaL_checklstring(L, 2, &n);
    char err[256];
    return lms_push_ok(L, ms_outfile_put(path, text, n, err, sizeof err), err);
}

static int lms_outfile_kind(lua_State *L) {
    lua_pushstring(L, ms_outfile_kind_name(ms_outfile_kind(luaL_checkstring(L, 1))));
    return 1;
}

void lms_open_outfile(lua_State *L) {
    lua_pushcfunction(L, lms_outfile_kind);
    lua_setfield(L, -2, "file_kind");
    lua_pushcfunction(L, lms_outfile_put);
    lua_setfield(L, -2, "write_file");
}

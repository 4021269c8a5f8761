/* The event digest from Lua: fold values into a 64-bit digest held as a
 * 16-digit hex string, so specs and scripts can digest their own data. */
#include "lms_aux.h"

#include "ms_digest.h"

#include <stdlib.h>

static uint64_t check_hex(lua_State *L, int arg) {
    const char *s = luaL_optstring(L, arg, NULL);
    if (s == NULL) return MS_DIGEST_INIT;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 16);
    if (*s == '\0' || *end != '\0') luaL_argerror(L, arg, "digest must be 16 hex digits");
    return (uint64_t)v;
}

/* digest(value [, prev_hex]) -> hex: fold a string or integer into prev. */
static int digest_fold(lua_State *L) {
    uint64_t h = check_hex(L, 2);
    if (lua_type(L, 1) == LUA_TSTRING) {
        size_t n;
        const char *p = lua_tolstring(L, 1, &n);
        h = ms_digest_bytes(h, p, n);
    } else {
        h = ms_digest_fold(h, (uint64_t)lms_checkint64(L, 1));
    }
    char hex[17];
    ms_digest_hex(h, hex);
    lua_pushstring(L, hex);
    return 1;
}

void lms_open_digest(lua_State *L) {
    lua_pushcfunction(L, digest_fold);
    lua_setfield(L, -2, "digest");
}

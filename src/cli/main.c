/* The mastersim executable: a Lua 5.4 state (with the accounting allocator
 * of the sandbox) in which mastersim.core is preloaded, running
 * lua/mastersim/cli.lua with the command line. The Lua library is found in
 * $MASTERSIM_LUA_DIR, else in the directory fixed at build time. */
#include "lms_aux.h"

#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef MS_LUA_DIR
#define MS_LUA_DIR "lua"
#endif

int luaopen_mastersim_core(lua_State *L);

static void *plain_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}

static int panic(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "mastersim: unprotected Lua error: %s\n", msg ? msg : "(not a string)");
    return 0; /* abort */
}

/* Prepend the library directory to package.path. Stack: [-0, +0]. */
static void set_path(lua_State *L) {
    const char *dir = getenv("MASTERSIM_LUA_DIR");
    if (dir == NULL || *dir == '\0') dir = MS_LUA_DIR;
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
}

/* Protected main: require the CLI and call its main(args) -> exit code. */
static int pmain(lua_State *L) {
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_mastersim_core);
    lua_setfield(L, -2, "mastersim.core");
    lua_pop(L, 1);
    set_path(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "mastersim.cli");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "main");
    lua_createtable(L, argc, 1);
    lua_pushstring(L, argv[0]);
    lua_rawseti(L, -2, 0);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_call(L, 1, 1);
    return 1;
}

int main(int argc, char **argv) {
    lms_memacct mem = {.orig = plain_alloc};
    lua_State *L = lua_newstate(lms_memacct_alloc, &mem);
    if (L == NULL) {
        fputs("mastersim: cannot create a Lua state (out of memory)\n", stderr);
        return 1;
    }
    lua_atpanic(L, panic);
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int code = 1;
    if (lms_pcall(L, 2, 1) != LUA_OK) {
        /* Errors a user can cause are reported by cli.lua; reaching here
         * means a bug in mastersim itself, so show everything. */
        fprintf(stderr, "mastersim: internal error: %s\n", lua_tostring(L, -1));
    } else {
        code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
    }
    lua_close(L);
    return code;
}

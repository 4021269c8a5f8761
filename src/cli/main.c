/* The mastersim executable: a Lua 5.4 state (with the accounting allocator
 * of the sandbox) in which mastersim.core is preloaded and loaded first, running
 * lua/mastersim/cli.lua with the command line. The Lua library is found in
 * $MASTERSIM_LUA_DIR, else relative to the executable (an installed prefix
 * or a luarocks tree: <exe dir>/../share/lua/5.4), else in the source tree
 * fixed at build time (so the build tree works without installing). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "lms_aux.h"

#include <limits.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#ifndef MS_LUA_DIR
#define MS_LUA_DIR "lua"
#endif
/* Where an install keeps the Lua library and C modules, from the binary's
 * directory. */
#ifndef MS_REL_LUA_DIR
#define MS_REL_LUA_DIR "../share/lua/5.4"
#endif
#ifndef MS_REL_CLIB_DIR
#define MS_REL_CLIB_DIR "../lib/lua/5.4"
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

/* Resolve <directory of the executable>/<rel> into out (PATH_MAX bytes),
 * canonical, when <that>/<probe> is readable; 0 on success, -1 otherwise. */
static int beside_exe(const char *rel, const char *probe, char *out) {
    char exe[PATH_MAX], cand[2 * PATH_MAX];
    size_t n = sizeof exe;
    if (uv_exepath(exe, &n) != 0) return -1;
    char *slash = strrchr(exe, '/');
    if (slash == NULL) return -1;
    *slash = '\0';
    snprintf(cand, sizeof cand, "%s/%s/%s", exe, rel, probe);
    if (access(cand, R_OK) != 0) return -1;
    snprintf(cand, sizeof cand, "%s/%s", exe, rel);
    return realpath(cand, out) != NULL ? 0 : -1;
}

/* package[field] = fmt with %s the directory, followed by the old value.
 * Stack: [-0, +0]; expects the package table on top. */
static void prepend(lua_State *L, const char *field, const char *fmt, const char *dir) {
    lua_getfield(L, -1, field);
    lua_pushfstring(L, fmt, dir, dir);
    lua_insert(L, -2);
    lua_concat(L, 2);
    lua_setfield(L, -2, field);
}

/* Prepend the library directory to package.path (and, for an install, its
 * C module directory to package.cpath). Stack: [-0, +0]. */
static void set_path(lua_State *L) {
    char lua_dir[PATH_MAX], clib_dir[PATH_MAX];
    const char *dir = getenv("MASTERSIM_LUA_DIR");
    int installed = 0;
    if (dir == NULL || *dir == '\0') {
        installed = beside_exe(MS_REL_LUA_DIR, "mastersim/cli.lua", lua_dir) == 0;
        dir = installed ? lua_dir : MS_LUA_DIR;
    }
    lua_getglobal(L, "package");
    prepend(L, "path", "%s/?.lua;%s/?/init.lua;", dir);
    /* Modules installed beside mastersim (lua-cjson in a luarocks tree). */
    if (installed && beside_exe(MS_REL_CLIB_DIR, ".", clib_dir) == 0)
        prepend(L, "cpath", "%s/?.so;", clib_dir);
    lua_pop(L, 1);
}

/* Worker processes (compare, check) are started from $MASTERSIM_BIN: make it
 * this very binary unless the caller chose one, so an installed mastersim
 * run by bare name does not start whichever mastersim PATH finds first. */
static void export_self(void) {
    char exe[PATH_MAX];
    size_t n = sizeof exe;
    if (getenv("MASTERSIM_BIN") == NULL && uv_exepath(exe, &n) == 0)
        setenv("MASTERSIM_BIN", exe, 0);
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
    /* the core first: loading it puts the step meter's searcher in place,
     * so that every mastersim module after it is loaded metered */
    luaL_requiref(L, "mastersim.core", luaopen_mastersim_core, 0);
    lua_pop(L, 1);
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
    export_self();
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

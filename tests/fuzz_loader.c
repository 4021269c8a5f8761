/* libFuzzer target: the scenario loader and the --set parser, in Lua 5.4
 * with the mastersim library (lua/, from the source tree) and its C module
 * linked in.
 *
 * Input: byte 0 picks the mode. Even: the rest is one `--set` argument
 * (`path=value`), parsed as the CLI parses it (cli.pairs_of with
 * policy.parse_value) and applied to sims/follower_catchup.lua through
 * ms.load_sim. Odd: the rest is the body of a sim file, loaded by
 * ms.load_sim in the sandbox (a budget of 10^6 steps, 32 MiB, 5 s).
 * Invariant: the load succeeds or raises a user error whose message is one
 * line; anything else (an internal error, a crash, a sanitizer report) is
 * a finding. One Lua state serves every input.
 *
 * libFuzzer sees the C code's coverage only; the Lua code's is fed to it as
 * extra counters, one per (source, line) hashed, from a line hook. The
 * sandbox sets its own count hook, so lua_sethook is wrapped (the link has
 * --wrap=lua_sethook) to keep the line events on under it.
 *
 * Built and run by scripts/fuzz-loader [build-dir] [seconds] (ctest label
 * fuzz), seeded from tests/fuzz_loader_corpus. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef MS_ROOT
#define MS_ROOT "."
#endif

int luaopen_mastersim_core(lua_State *L);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void __real_lua_sethook(lua_State *L, lua_Hook f, int mask, int count);
void __wrap_lua_sethook(lua_State *L, lua_Hook f, int mask, int count);

#define COUNTERS 65536
__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t lua_lines[COUNTERS];

static lua_Hook inner; /* the hook the code under test set, if any */

/* Count a line event in lua_lines: FNV-1a of the chunk's name and line. */
static void line_event(lua_State *L, lua_Debug *ar) {
    static const char *last_src;
    static uint32_t last_hash;
    if (!lua_getinfo(L, "S", ar)) return;
    if (ar->source != last_src) {
        uint32_t h = 2166136261u;
        for (const char *p = ar->short_src; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
        last_src = ar->source;
        last_hash = h;
    }
    uint32_t h = (last_hash ^ (uint32_t)ar->currentline) * 16777619u;
    lua_lines[h % COUNTERS]++;
}

static void combined(lua_State *L, lua_Debug *ar) {
    if (ar->event == LUA_HOOKLINE)
        line_event(L, ar);
    else if (inner)
        inner(L, ar);
}

void __wrap_lua_sethook(lua_State *L, lua_Hook f, int mask, int count) {
    if (f != combined) inner = f;
    __real_lua_sethook(L, combined, mask | LUA_MASKLINE, count);
}

/* The check, run once per input: (mode, bytes) -> true | false, why. */
static const char CHECK[] =
    "local root = ...\n"
    "package.path = root .. '/lua/?.lua;' .. root .. '/lua/?/init.lua;' .. package.path\n"
    "local ms = require 'mastersim'\n"
    "local cli = require 'mastersim.cli'\n"
    "local errors = require 'mastersim.errors'\n"
    "local policy = require 'mastersim.policy'\n"
    "local base = root .. '/sims/follower_catchup.lua'\n"
    "local limits = { steps = 1000000, memory = 32 << 20, wall = 5 }\n"
    "return function(mode, data)\n"
    "  local ok, e = pcall(function()\n"
    "    if mode % 2 == 0 then\n"
    "      local sets = cli.pairs_of('set', { data }, policy.parse_value)\n"
    "      ms.load_sim(base, nil, next(sets) and sets or nil)\n"
    "    else\n"
    "      ms.load_sim('fuzz.lua', limits, nil, data)\n"
    "    end\n"
    "  end)\n"
    "  if ok then return true end\n"
    "  if not errors.is_user(e) then return false, 'not a user error: ' .. errors.describe(e) end\n"
    "  if type(e.msg) ~= 'string' or e.msg:find('\\n') then\n"
    "    return false, 'not one line: ' .. tostring(e.msg)\n"
    "  end\n"
    "  return true\n"
    "end\n";

static lua_State *state(void) {
    static lua_State *L;
    if (L) return L;
    L = luaL_newstate();
    if (!L) abort();
    luaL_openlibs(L);
    lua_sethook(L, NULL, 0, 0); /* line events from the start */
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_mastersim_core);
    lua_setfield(L, -2, "mastersim.core");
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, CHECK, sizeof CHECK - 1, "=fuzz_loader") != LUA_OK) abort();
    lua_pushstring(L, MS_ROOT);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_loader: setup: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "fuzz_loader.check");
    return L;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    lua_State *L = state();
    lua_getfield(L, LUA_REGISTRYINDEX, "fuzz_loader.check");
    lua_pushinteger(L, data[0]);
    lua_pushlstring(L, (const char *)data + 1, size - 1);
    if (lua_pcall(L, 2, 2, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_loader: the check failed: %s\n", lua_tostring(L, -1));
        __builtin_trap();
    }
    if (!lua_toboolean(L, -2)) {
        fprintf(stderr, "fuzz_loader: %s\n", lua_tostring(L, -1));
        __builtin_trap();
    }
    lua_pop(L, 2);
    lua_gc(L, LUA_GCSTEP, 0);
    return 0;
}

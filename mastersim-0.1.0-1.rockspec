-- luarocks --lua-version=5.4 make --tree=T
-- builds with CMake and installs into the tree T:
--   T/bin/mastersim                               the CLI
--   T/share/lua/5.4/mastersim/**.lua              the Lua library (require "mastersim")
--   T/share/lua/5.4/mastersim/{sims,policies}/    the built-in sims and policies
--   T/lib/lua/5.4/mastersim/core.so               the C module
-- The CLI links Lua statically (Debian: liblua5.4-dev) and libuv (libuv1-dev).
-- lua-cjson is needed at run time but is not listed as a dependency: on
-- Debian it comes from the lua-cjson package, which is not a rock, so
-- luarocks would report it missing after every install. The CMake step
-- checks that lua5.4 can load cjson and says how to get it when it cannot
-- (apt-get install lua-cjson, or luarocks --lua-version=5.4 install lua-cjson).
rockspec_format = "3.0"
package = "mastersim"
version = "0.1.0-1"
source = {
  url = "git+https://example.invalid/mastersim.git", -- placeholder: not fetched by `luarocks make`
  tag = "v0.1.0",
}
description = {
  summary = "Deterministic simulator of a raft-replicated metadata master and its read policies",
  detailed = [[
A C core (scheduler, metadata store, snapshot apply, raft model) that runs
scenarios and read policies written in Lua 5.4, reproducibly, so policies can
be compared on identical workloads and faults.]],
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
external_dependencies = {
  LIBUV = { header = "uv.h" },
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    LUA_INCLUDE_DIR = "$(LUA_INCDIR)",
    MS_BUILD_TESTS = "OFF",
    MS_INSTALL_BINDIR = "$(BINDIR)",
    MS_INSTALL_LUADIR = "$(LUADIR)",
    MS_INSTALL_LIBDIR = "$(LIBDIR)",
    MS_INSTALL_DATADIR = "$(LUADIR)/mastersim",
    MS_INSTALL_MANDIR = "$(PREFIX)/doc",
    MS_INSTALL_LUA_LINK = "OFF",
  },
}
test = {
  type = "busted",
}

# `cmake --install build --prefix P` lays out:
#   P/bin/mastersim (and the mastersim-lua symlink)
#   P/share/lua/5.4/mastersim/**.lua      the Lua library
#   P/lib/lua/5.4/mastersim/core.so       the C module, for stock lua5.4
#   P/share/mastersim/{sims,policies}     the built-in sims and policies
#   P/share/man/man1/mastersim.1
# The directories are cache variables so that the rockspec can point them
# into a luarocks tree (absolute paths there). The binary finds the library
# at <its dir>/<MS_INSTALL_BINDIR -> MS_INSTALL_LUADIR>, so the prefix can move.
include(GNUInstallDirs)
set(MS_INSTALL_BINDIR "${CMAKE_INSTALL_BINDIR}" CACHE PATH "Where mastersim goes")
set(MS_INSTALL_LUADIR "${CMAKE_INSTALL_DATADIR}/lua/5.4" CACHE PATH
    "Where the Lua library goes (holds mastersim/*.lua)")
set(MS_INSTALL_LIBDIR "lib/lua/5.4" CACHE PATH
    "Where Lua C modules go (holds mastersim/core.so)")
set(MS_INSTALL_DATADIR "${CMAKE_INSTALL_DATADIR}/mastersim" CACHE PATH
    "Where the built-in sims/ and policies/ go")
set(MS_INSTALL_MANDIR "${CMAKE_INSTALL_MANDIR}" CACHE PATH "Where man1/mastersim.1 goes")
option(MS_INSTALL_LUA_LINK "Install the mastersim-lua symlink beside mastersim" ON)

# The library relative to the binary, when both are under the prefix; a
# luarocks tree passes absolute paths but deploys to the same relative layout.
if(IS_ABSOLUTE "${MS_INSTALL_BINDIR}" OR IS_ABSOLUTE "${MS_INSTALL_LUADIR}")
  set(MS_REL_LUA_DIR "../share/lua/5.4")
else()
  file(RELATIVE_PATH MS_REL_LUA_DIR "/p/${MS_INSTALL_BINDIR}" "/p/${MS_INSTALL_LUADIR}")
endif()
if(IS_ABSOLUTE "${MS_INSTALL_BINDIR}" OR IS_ABSOLUTE "${MS_INSTALL_LIBDIR}")
  set(MS_REL_CLIB_DIR "../lib/lua/5.4")
else()
  file(RELATIVE_PATH MS_REL_CLIB_DIR "/p/${MS_INSTALL_BINDIR}" "/p/${MS_INSTALL_LIBDIR}")
endif()
target_compile_definitions(mastersim PRIVATE
  MS_REL_LUA_DIR="${MS_REL_LUA_DIR}" MS_REL_CLIB_DIR="${MS_REL_CLIB_DIR}")

install(TARGETS mastersim RUNTIME DESTINATION "${MS_INSTALL_BINDIR}")
if(MS_INSTALL_LUA_LINK)
  install(FILES "${PROJECT_BINARY_DIR}/mastersim-lua" DESTINATION "${MS_INSTALL_BINDIR}")
endif()
install(TARGETS mastersim_core LIBRARY DESTINATION "${MS_INSTALL_LIBDIR}/mastersim")
install(DIRECTORY lua/mastersim DESTINATION "${MS_INSTALL_LUADIR}"
        FILES_MATCHING PATTERN "*.lua")
install(DIRECTORY sims policies DESTINATION "${MS_INSTALL_DATADIR}"
        FILES_MATCHING PATTERN "*.lua")
install(FILES man/mastersim.1 DESTINATION "${MS_INSTALL_MANDIR}/man1")

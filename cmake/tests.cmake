# Tests registered with ctest. Labels: c (C unit tests), spec (busted), lint,
# fuzz (libFuzzer, plain build only), tsan (ThreadSanitizer build only).
enable_testing()

# A ThreadSanitizer build (MS_SANITIZE=thread, `make build-tsan`) registers
# only the tests that run real threads, labelled tsan, and builds them alone
# (target tsan_tests): the other C tests are single-threaded, and busted
# under TSan would only be slow. A reported race makes TSan exit non-zero.
# test_gate_os once more with the gate's portable path (a condition
# variable, MS_GATE_OS_NO_FUTEX) in place of the futex it uses on Linux:
# its object comes first, so the archive's ms_gate_os.o is not linked.
function(ms_gate_nofutex_test name)
  add_executable(${name} tests/test_gate_os.c src/core/ms_gate_os.c)
  target_compile_definitions(${name} PRIVATE MS_GATE_OS_NO_FUTEX)
endfunction()

if(MS_SANITIZE MATCHES "thread")
  set(MS_TSAN_TESTS test_gate_os test_stress test_stress_decide test_gate_os_nofutex)
  ms_gate_nofutex_test(test_gate_os_nofutex)
  foreach(name ${MS_TSAN_TESTS})
    if(NOT TARGET ${name})
      add_executable(${name} tests/${name}.c)
    endif()
    target_include_directories(${name} PRIVATE tests)
    target_compile_options(${name} PRIVATE ${MS_WARN})
    target_link_libraries(${name} PRIVATE ms_core)
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/tests")
    add_test(NAME tsan_${name} COMMAND ${name})
    set_tests_properties(tsan_${name} PROPERTIES LABELS tsan TIMEOUT 300
                         ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1 second_deadlock_stack=1")
  endforeach()
  add_custom_target(tsan_tests DEPENDS ${MS_TSAN_TESTS})
  return()
endif()

file(GLOB MS_C_TESTS CONFIGURE_DEPENDS tests/test_*.c)
ms_gate_nofutex_test(test_gate_os_nofutex)
foreach(src ${MS_C_TESTS} test_gate_os_nofutex)
  get_filename_component(name ${src} NAME_WE)
  if(NOT TARGET ${name})
    add_executable(${name} ${src})
  endif()
  target_include_directories(${name} PRIVATE tests)
  target_compile_options(${name} PRIVATE ${MS_WARN})
  target_link_libraries(${name} PRIVATE ms_core)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/tests")
  add_test(NAME c_${name} COMMAND ${name})
  set_tests_properties(c_${name} PROPERTIES LABELS c TIMEOUT 300)
endforeach()

# Environment shared by every Lua-facing test: the library from the source
# tree, the C module from this build, the binary for specs that run the CLI.
set(MS_TEST_ENV
  # ';' separates list items in CMake: escape Lua's path separators.
  "LUA_PATH=${PROJECT_SOURCE_DIR}/lua/?.lua\\;${PROJECT_SOURCE_DIR}/lua/?/init.lua\\;${PROJECT_SOURCE_DIR}/spec/?.lua\\;\\;"
  "LUA_CPATH=${MS_LIB_OUT}/?.so\\;\\;"
  "MASTERSIM_BIN=$<TARGET_FILE:mastersim>"
  "MASTERSIM_ROOT=${PROJECT_SOURCE_DIR}")

if(BUSTED)
  # Twice: under Debian's stock lua5.4 (core loaded as a C module) and under
  # the mastersim binary (core linked in and preloaded).
  set(MS_BUSTED_ARGS --output=utfTerminal --no-auto-insulate -p _spec ${PROJECT_SOURCE_DIR}/spec)
  if(NOT MS_SANITIZE)
    add_test(NAME spec_lua54 COMMAND ${BUSTED} --lua=${LUA_INTERP} ${MS_BUSTED_ARGS}
             WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
    set_tests_properties(spec_lua54 PROPERTIES LABELS spec TIMEOUT 900
                         ENVIRONMENT "${MS_TEST_ENV};MS_TEST_INTERP=lua5.4")
  endif()
  add_test(NAME spec_mastersim
           COMMAND ${BUSTED} "--lua=${PROJECT_BINARY_DIR}/mastersim-lua" ${MS_BUSTED_ARGS}
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(spec_mastersim PROPERTIES LABELS spec TIMEOUT 900
                       ENVIRONMENT "${MS_TEST_ENV};MS_TEST_INTERP=mastersim")
endif()

if(NOT MS_SANITIZE)
  add_test(NAME lint COMMAND ${PROJECT_SOURCE_DIR}/scripts/lint
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(lint PROPERTIES LABELS lint TIMEOUT 300)
endif()

# The snapshot-import fuzz target: compiled with clang's libFuzzer (plus
# ASan and UBSan) by scripts/fuzz-snapshot and run for 20 seconds. Not in a
# sanitizer build dir: the script brings its own sanitizers.
find_program(CLANG clang)
if(CLANG AND NOT MS_SANITIZE)
  add_test(NAME fuzz_snapshot
           COMMAND ${PROJECT_SOURCE_DIR}/scripts/fuzz-snapshot ${PROJECT_BINARY_DIR} 20
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(fuzz_snapshot PROPERTIES LABELS fuzz TIMEOUT 300
                       ENVIRONMENT "CLANG=${CLANG}")
  # The scenario loader and --set parser (tests/fuzz_loader.c), 25 seconds
  # from the seeds in tests/fuzz_loader_corpus; the first build compiles
  # every source with the sanitizers (about two minutes on two cores).
  add_test(NAME fuzz_loader
           COMMAND ${PROJECT_SOURCE_DIR}/scripts/fuzz-loader ${PROJECT_BINARY_DIR} 25
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(fuzz_loader PROPERTIES LABELS fuzz TIMEOUT 600
                       ENVIRONMENT "CLANG=${CLANG}")
endif()

# Benchmarks: built with the tree, run by `make bench`, never by ctest.
file(GLOB MS_BENCHES CONFIGURE_DEPENDS bench/bench_*.c)
foreach(src ${MS_BENCHES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${MS_WARN})
  target_link_libraries(${name} PRIVATE ms_core)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/bench")
endforeach()

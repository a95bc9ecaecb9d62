# Helpers every component uses, so that a component's CMakeLists.txt stays a few lines.
#
#   biff_component(NAME SOURCES ... [DEPS ...])
#       Static library biff_<NAME> from components/<NAME>; public include dir
#       components/<NAME>/include (headers live in include/biff/<NAME>.h); the board's
#       build-time settings (biff_settings.h) come with it.
#   biff_unit_test(NAME SOURCES ... [LIBS ...] [DEFINES ...] [LABELS ...])
#       cmocka test registered with ctest (host builds only).
#   biff_fuzz_target(NAME SOURCES ... [LIBS ...] [CORPUS dir])
#       libFuzzer target (fuzz preset only); a short bounded run is registered with ctest.

function(biff_component name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_library(biff_${name} STATIC ${A_SOURCES})
  target_include_directories(biff_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(biff_${name} PUBLIC ${A_DEPS} biff_settings PRIVATE biff_warnings)
endfunction()

function(biff_unit_test name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS;DEFINES;LABELS" ${ARGN})
  if(NOT BIFF_UNIT_TESTS)
    return()
  endif()
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_LIBS} cmocka biff_warnings)
  target_compile_definitions(${name} PRIVATE ${A_DEFINES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "unit;${A_LABELS}" TIMEOUT 300)
endfunction()

function(biff_fuzz_target name)
  cmake_parse_arguments(A "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  if(NOT BIFF_FUZZ)
    return()
  endif()
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_LIBS} biff_warnings)
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  # libFuzzer writes new inputs into its first corpus dir: keep that in the build tree and
  # pass the committed seeds read-only after it.
  set(work ${CMAKE_BINARY_DIR}/fuzz/${name}.corpus)
  file(MAKE_DIRECTORY ${work})
  # Short bounded run in the test command; scripts/fuzz runs the long campaign.
  add_test(NAME ${name} COMMAND ${name} -max_total_time=${BIFF_FUZZ_SECONDS} -print_final_stats=1
           ${work} ${A_CORPUS})
  set_tests_properties(${name} PROPERTIES LABELS fuzz TIMEOUT 600)
endfunction()

#   biff_fixture_test(NAME [FIXTURE args for mailfix.py start ...] SHELL "command line")
#       Integration test against a throwaway Dovecot (tests/fixture/mailfix.py run): the command
#       runs under sh with the fixture's BIFF_FIX_* variables; the fixture is always stopped.
function(biff_fixture_test name)
  cmake_parse_arguments(A "" "SHELL" "FIXTURE;LABELS" ${ARGN})
  if(NOT BIFF_HOST OR BIFF_FUZZ OR BIFF_ROUTER)
    return()
  endif()
  add_test(NAME ${name}
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/fixture/mailfix.py run
                   --dir ${CMAKE_BINARY_DIR}/fixtures/${name} ${A_FIXTURE} -- sh -c "${A_SHELL}")
  set_tests_properties(${name} PROPERTIES LABELS "integration;${A_LABELS}" TIMEOUT 300
                       ENVIRONMENT "BIFF_BIN=${CMAKE_BINARY_DIR}/bin;BIFF_TESTS=${CMAKE_BINARY_DIR}/tests")
endfunction()

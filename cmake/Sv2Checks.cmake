# sv2_add_program(NAME SOURCES... [ARGS ...] [NO_TEST] [SHARED]): a C or C++ program built with
# strict warnings against libsv2.a (libsv2.so with SHARED). Unless NO_TEST, it is a ctest test, and again under valgrind
# (zero errors, zero leaks) when valgrind is installed and no sanitizer is on. SV2_SANITIZE
# builds it with those sanitizers, which then fail the test on any finding.
find_program(SV2_VALGRIND valgrind)
set(SV2_VALGRIND_COMMAND "")
if(SV2_VALGRIND AND NOT SV2_SANITIZE)
  set(SV2_VALGRIND_COMMAND ${SV2_VALGRIND} --quiet --error-exitcode=99 --leak-check=full
      --errors-for-leak-kinds=definite,indirect,possible --show-leak-kinds=definite,indirect,possible)
endif()

function(sv2_add_program name)
  cmake_parse_arguments(P "NO_TEST;SHARED" "" "SOURCES;ARGS" ${ARGN})
  add_executable(${name} ${P_SOURCES})
  if(P_SHARED)
    target_link_libraries(${name} PRIVATE sv2::sv2_shared)
  else()
    target_link_libraries(${name} PRIVATE sv2::sv2)
  endif()
  target_compile_options(${name} PRIVATE -Wall -Wextra -Werror -pedantic)
  set_target_properties(${name} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
                                           CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
  if(SV2_SANITIZE)
    target_compile_options(${name} PRIVATE -fsanitize=${SV2_SANITIZE} -fno-omit-frame-pointer
                                           -fno-sanitize-recover=all)
    target_link_options(${name} PRIVATE -fsanitize=${SV2_SANITIZE})
  endif()
  if(NOT P_NO_TEST)
    add_test(NAME ${name} COMMAND ${name} ${P_ARGS})
    if(SV2_VALGRIND_COMMAND)
      add_test(NAME ${name}_valgrind COMMAND ${SV2_VALGRIND_COMMAND} $<TARGET_FILE:${name}> ${P_ARGS})
    endif()
  endif()
endfunction()

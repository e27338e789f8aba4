# examples.find_package: `cmake --install` the client component into a scratch prefix, configure
# the examples as a separate project with find_package(beacon), build them and run `balancers`.
# Run with cmake -P; see CMakeLists.txt for the variables. CXX_FLAGS (may be empty) are the
# flags the library was built with: a sanitizer build's archive links only into code built alike.
foreach(var BEACON_BUILD_DIR EXAMPLES_DIR WORK_DIR GENERATOR CXX)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "find_package_test: ${var} is not set")
  endif()
endforeach()

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run("install" ${CMAKE_COMMAND} --install ${BEACON_BUILD_DIR} --prefix ${prefix} --component client)

# What a user gets: the headers, the archive and the package files -- and nothing of the server.
file(GLOB_RECURSE installed RELATIVE ${prefix} ${prefix}/*)
foreach(want include/beacon/client.h include/beacon/cache.h include/beacon/balancer.h)
  if(NOT EXISTS ${prefix}/${want})
    message(FATAL_ERROR "not installed: ${want}\ninstalled: ${installed}")
  endif()
endforeach()
file(GLOB_RECURSE configs ${prefix}/*/beaconConfig.cmake)
file(GLOB_RECURSE archives ${prefix}/*/libbeacon_client.a)
if(NOT configs OR NOT archives)
  message(FATAL_ERROR "package config or archive missing\ninstalled: ${installed}")
endif()
foreach(f ${installed})
  if(f MATCHES "bin/beacon$|agent|catalog|libbeacon_(http|dns|store|common)")
    message(FATAL_ERROR "server file installed with the client component: ${f}")
  endif()
endforeach()

run("configure examples" ${CMAKE_COMMAND} -S ${EXAMPLES_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=${CXX} "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    -DCMAKE_PREFIX_PATH=${prefix})
run("build examples" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run("run balancers" ${WORK_DIR}/build/balancers)
if(NOT run_output MATCHES "round_robin:")
  message(FATAL_ERROR "balancers printed something unexpected:\n${run_output}")
endif()
message(STATUS "find_package(beacon) works; balancers printed:\n${run_output}")

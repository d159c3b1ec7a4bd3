# The plugin ABI fingerprint, made at configure time: a plugin and the program agree on every type they pass
# each other only if they were built from the same public headers with the same library ABI choices. The
# fingerprint hashes what decides that (visbone's version, the text of every public header, the C++ standard
# library's string ABI, Boost's and yaml-cpp's versions, and the sizes of the structs that cross the
# boundary) and becomes part of the plugin entry point's name (visbone/registry/plugin_abi.h, generated).
# The loader looks for that name in a library's symbol table before loading it, so a plugin built against
# other headers is refused before any of its code runs. The compiler's identity is deliberately not in it:
# a plugin built with clang against the same headers and libraries is compatible.
#
# Sets VISBONE_PLUGIN_ABI_FINGERPRINT and VISBONE_PLUGIN_ABI_INPUTS and writes
# ${PROJECT_BINARY_DIR}/core/registry/include/visbone/registry/plugin_abi.h.

# Every public header of every area, in a fixed order; editing one reconfigures (and so re-fingerprints).
file(GLOB_RECURSE public_headers LIST_DIRECTORIES false CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}
     ${PROJECT_SOURCE_DIR}/api/include/*.h ${PROJECT_SOURCE_DIR}/core/*.h ${PROJECT_SOURCE_DIR}/backbones/*.h
     ${PROJECT_SOURCE_DIR}/heads/*.h ${PROJECT_SOURCE_DIR}/pipeline/*.h)
list(FILTER public_headers INCLUDE REGEX "/include/visbone/")
list(SORT public_headers)
set(headers_text "")
foreach(header IN LISTS public_headers)
  file(SHA256 ${PROJECT_SOURCE_DIR}/${header} header_hash)
  string(APPEND headers_text "${header} ${header_hash}\n")
endforeach()
string(SHA256 headers_hash "${headers_text}")
string(SUBSTRING ${headers_hash} 0 16 headers_hash)

# What only the compiler knows: the string ABI, Boost's version as the headers say, the structs' sizes.
try_run(probe_ran probe_compiled
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/plugin_abi_probe.cpp
  CMAKE_FLAGS "-DINCLUDE_DIRECTORIES=${PROJECT_SOURCE_DIR}/core/include;${PROJECT_SOURCE_DIR}/core/image/include;${PROJECT_SOURCE_DIR}/core/registry/include"
  LINK_LIBRARIES yaml-cpp Boost::headers Boost::json
  CXX_STANDARD 20
  COMPILE_OUTPUT_VARIABLE probe_compile_output
  RUN_OUTPUT_VARIABLE probe_output)
if(NOT probe_compiled OR NOT probe_ran EQUAL 0)
  message(FATAL_ERROR "plugin ABI: the probe (cmake/plugin_abi_probe.cpp) failed:\n${probe_compile_output}\n${probe_output}")
endif()
string(STRIP "${probe_output}" probe_output)
string(REPLACE "\n" ", " probe_output "${probe_output}")

set(VISBONE_PLUGIN_ABI_INPUTS
    "visbone ${PROJECT_VERSION}, public headers ${headers_hash}, yaml-cpp ${yaml-cpp_VERSION}, ${probe_output}")
string(SHA256 fingerprint "${VISBONE_PLUGIN_ABI_INPUTS}")
string(SUBSTRING ${fingerprint} 0 16 VISBONE_PLUGIN_ABI_FINGERPRINT)
message(STATUS "visbone plugin ABI fingerprint: ${VISBONE_PLUGIN_ABI_FINGERPRINT} (${VISBONE_PLUGIN_ABI_INPUTS})")
configure_file(${CMAKE_CURRENT_LIST_DIR}/plugin_abi.h.in
               ${PROJECT_BINARY_DIR}/core/registry/include/visbone/registry/plugin_abi.h @ONLY)

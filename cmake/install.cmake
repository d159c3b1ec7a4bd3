# Installation and packaging: `cmake --install` puts the headers, the (static) libraries, the visbone
# program, the example plugins, a CMake package (find_package(visbone CONFIG)) and a pkg-config file under
# the prefix; `cpack -G DEB` makes two Debian packages from the same rules:
#   visbone      (component runtime)      the program and the plugins; Depends: the shared libraries they load
#   visbone-dev  (component development)  headers, libraries, CMake package, pkg-config; Depends: visbone and
#                                         the -dev packages a consumer's build needs
#   python3-visbone (component python)    `import visbone` (when VISBONE_BUILD_PYTHON)
# Included from the top-level CMakeLists.txt once every target exists.
include(CMakePackageConfigHelpers)

set(VISBONE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/visbone)

# Every library a consumer may link, dependents first (the order pkg-config's Libs needs). They are static, so
# their private dependencies (visbone_warnings included: it only adds compile flags) end up in the export too.
set(VISBONE_LIBRARIES visbone_api visbone_transfer visbone_builtins visbone_pipeline visbone_bit_component visbone_heads visbone_registry visbone_bit
                      visbone_hub visbone_image visbone_yaml visbone_core)
# A library added since (any static visbone_* library outside tests/, bench/, fuzz/) is installed too, just
# before visbone_core (what every library builds on); move it to its place in the list above.
function(visbone_collect_libraries dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  set(found "")
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "STATIC_LIBRARY" AND t MATCHES "^visbone_")
      list(APPEND found ${t})
    endif()
  endforeach()
  foreach(sub IN LISTS subdirs)
    if(NOT sub MATCHES "/(tests|bench|fuzz)$")
      visbone_collect_libraries(${sub} sub_found)
      list(APPEND found ${sub_found})
    endif()
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()
visbone_collect_libraries(${PROJECT_SOURCE_DIR} all_libraries)
list(FIND VISBONE_LIBRARIES visbone_core core_position)
foreach(lib IN LISTS all_libraries)
  if(NOT lib IN_LIST VISBONE_LIBRARIES)
    message(STATUS "install: ${lib} is not in VISBONE_LIBRARIES (cmake/install.cmake); installed before visbone_core")
    list(INSERT VISBONE_LIBRARIES ${core_position} ${lib})
  endif()
endforeach()

set(VISBONE_PC_LIBS "")
foreach(lib IN LISTS VISBONE_LIBRARIES)
  string(APPEND VISBONE_PC_LIBS " -l${lib}")
  # visbone_core -> visbone::core (visbone_api is visbone::visbone, set in api/CMakeLists.txt).
  get_target_property(export_name ${lib} EXPORT_NAME)
  if(NOT export_name)
    string(REGEX REPLACE "^visbone_" "" export_name ${lib})
    set_target_properties(${lib} PROPERTIES EXPORT_NAME ${export_name})
  endif()
  # Areas give their include folder as a plain source path; installed, the headers are under include/.
  get_target_property(includes ${lib} INTERFACE_INCLUDE_DIRECTORIES)
  set(rewritten "")
  foreach(dir IN LISTS includes)
    if(dir MATCHES "^\\$<")
      list(APPEND rewritten "${dir}")
    else()
      list(APPEND rewritten "$<BUILD_INTERFACE:${dir}>")
      install(DIRECTORY ${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development
              FILES_MATCHING PATTERN "*.h")
    endif()
  endforeach()
  list(APPEND rewritten "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  list(REMOVE_DUPLICATES rewritten)
  set_target_properties(${lib} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${rewritten}")
endforeach()
string(STRIP "${VISBONE_PC_LIBS}" VISBONE_PC_LIBS)
set_target_properties(visbone_warnings PROPERTIES EXPORT_NAME warnings)
# The headers are C++20: whatever a consumer links (visbone::core alone, say), it is compiled as C++20.
foreach(lib IN LISTS VISBONE_LIBRARIES ITEMS visbone_warnings)
  get_target_property(features ${lib} INTERFACE_COMPILE_FEATURES)
  if(NOT "cxx_std_20" IN_LIST features)
    set_property(TARGET ${lib} APPEND PROPERTY INTERFACE_COMPILE_FEATURES cxx_std_20)
  endif()
endforeach()

install(TARGETS ${VISBONE_LIBRARIES} visbone_warnings EXPORT visboneTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development)
# The umbrella header and the generated version header.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/api/include/ ${PROJECT_BINARY_DIR}/api/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development FILES_MATCHING PATTERN "*.h")
install(EXPORT visboneTargets NAMESPACE visbone:: DESTINATION ${VISBONE_CMAKE_DIR} COMPONENT development)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/visboneConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/visboneConfig.cmake
  INSTALL_DESTINATION ${VISBONE_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR VISBONE_PLUGIN_DIR)
# 0.x: minor versions may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/visboneConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/visboneConfig.cmake ${PROJECT_BINARY_DIR}/cmake/visboneConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/visbone_add_plugin.cmake
        DESTINATION ${VISBONE_CMAKE_DIR} COMPONENT development)

# pkg-config: the prefix is the one installed to (`cmake --install --prefix`, or /usr in the .deb), written at
# install time so every path in the file is plain (/usr/include, not /usr/lib/pkgconfig/../../include;
# pkg-config drops the system folders then). OpenCV is named by its libraries, not by opencv4.pc: that file
# is in libopencv-dev, all of OpenCV, which visbone-dev does not depend on.
string(REPLACE ";" " -I" VISBONE_PC_OPENCV_CFLAGS "-I${OpenCV_INCLUDE_DIRS}")
set(VISBONE_PC_PREFIX "@VISBONE_PC_PREFIX@")  # left for the install step
configure_file(${PROJECT_SOURCE_DIR}/cmake/visbone.pc.in ${PROJECT_BINARY_DIR}/cmake/visbone.pc.in @ONLY)
install(CODE "set(VISBONE_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/cmake/visbone.pc.in\" \"${PROJECT_BINARY_DIR}/cmake/visbone.pc\" @ONLY)"
  COMPONENT development)
install(FILES ${PROJECT_BINARY_DIR}/cmake/visbone.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT development)

install(TARGETS visbone RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT runtime)

# Debian packages. The runtime dependencies are the Debian 12 packages holding the shared libraries the
# program and the plugins load (scripts/package.sh checks the list against their DT_NEEDED entries).
set(CPACK_PACKAGE_NAME visbone)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Vision backbones (BiT) as parts of larger C++ systems")
set(CPACK_PACKAGE_CONTACT "visbone maintainers <visbone@users.noreply.github.com>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime development)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME visbone)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION science)
# (dpkg-shlibdeps on the program and the plugins gives the same list and versions.)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS
  "libboost-json1.81.0 (>= 1.81.0), libboost-program-options1.81.0 (>= 1.81.0), libc6 (>= 2.34), libcurl4 (>= 7.63.0), libdnnl2 (>= 2.0), libgcc-s1 (>= 3.0), libgomp1 (>= 4.9), libssl3 (>= 3.0.0), libopencv-core406 (>= 4.6.0+dfsg), libopencv-imgcodecs406 (>= 4.6.0+dfsg), libopencv-imgproc406 (>= 4.6.0+dfsg), libopencv-videoio406 (>= 4.6.0+dfsg), libstdc++6 (>= 11), libtbb12 (>= 2021.4.0), libyaml-cpp0.7 (>= 0.7.0), zlib1g (>= 1:1.2.9)")
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME visbone-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
# Only the OpenCV modules visbone links (libopencv-dev is all of OpenCV, hundreds of packages more); oneDNN's
# CMake package looks for OpenCL, which libdnnl-dev only recommends.
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS
  "visbone (= ${PROJECT_VERSION}), libdnnl-dev, ocl-icd-opencl-dev, libboost1.81-dev, libboost-json1.81-dev, libopencv-core-dev, libopencv-imgproc-dev, libopencv-imgcodecs-dev, libopencv-videoio-dev, libtbb-dev, libyaml-cpp-dev, libcurl4-openssl-dev | libcurl-dev, libssl-dev, zlib1g-dev")
# python3-visbone (component python, from python/CMakeLists.txt): the module in Debian's dist-packages. It
# links the libraries statically, so it needs the runtime's shared libraries, Debian's python3 of the ABI it was
# built for, and numpy.
if(VISBONE_BUILD_PYTHON)
  list(APPEND CPACK_COMPONENTS_ALL python)
  math(EXPR next_minor "${Python_VERSION_MINOR} + 1")
  set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-visbone)
  set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
  set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "${CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS}, python3 (>= ${Python_VERSION_MAJOR}.${Python_VERSION_MINOR}~), python3 (<< ${Python_VERSION_MAJOR}.${next_minor}), python3-numpy")
  set(CPACK_DEBIAN_PYTHON_PACKAGE_SUGGESTS python3-pil)
  set(CPACK_COMPONENT_PYTHON_DESCRIPTION "the visbone Python module (import visbone)")
endif()
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "the visbone command-line program and example plugins")
set(CPACK_COMPONENT_DEVELOPMENT_DESCRIPTION "visbone C++ headers, static libraries, CMake package and pkg-config file")
include(CPack)

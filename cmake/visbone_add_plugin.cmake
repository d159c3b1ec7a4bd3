# visbone_add_plugin(NAME SOURCES...): a visbone plugin, a MODULE library NAME.so (no "lib" prefix). It links
# visbone's registry privately and exports only its entry point (VISBONE_PLUGIN): the visbone libraries
# linked in stay private to the plugin, so two plugins (or a plugin and the program) never bind to each
# other's copies.
# The installed CMake package exports it (find_package(visbone) defines it) for plugins built out of tree;
# install yours into ${visbone_PLUGIN_DIR}, the folder the installed `visbone` loads plugins from. Inside
# visbone's own tree it also puts NAME.so in <build>/plugins, adds our warnings, and installs the plugins of
# plugins/ with the program.
function(visbone_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${name} PRIVATE -Wl,--exclude-libs,ALL)
  # Every symbol resolved at link time; except under clang's sanitizers, whose runtime is linked statically
  # into the program only, so a plugin finds it when loaded.
  if(NOT (VISBONE_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang"))
    target_link_options(${name} PRIVATE -Wl,--no-undefined)
  endif()
  if(NOT TARGET visbone_registry)  # out of tree, against the installed package
    target_link_libraries(${name} PRIVATE visbone::registry)
    return()
  endif()
  target_link_libraries(${name} PRIVATE visbone_registry visbone_warnings)
  set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/plugins)
  set(example_plugins ${PROJECT_SOURCE_DIR}/plugins)
  cmake_path(IS_PREFIX example_plugins "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE in_plugins)
  if(in_plugins)
    install(TARGETS ${name} LIBRARY DESTINATION ${VISBONE_PLUGIN_DIR} COMPONENT runtime)
  endif()
endfunction()

# The areas' layering (DESIGN.md: arrows point down only), checked at configure time: core and the libraries
# under it (hub, image, registry) never link, directly or through another target, a backbone, a head, the
# built-in registration, the pipeline or the façade; the pipeline never links a head, a backbone's
# component (its registration), the built-in registration or the façade: it composes what the registry its
# caller filled holds. Included from the top-level CMakeLists.txt once every target exists (and by
# tests/cmake/layering, which proves a forbidden link fails).

# Every visbone_* target `target` links, directly or not (LINK_LIBRARIES and INTERFACE_LINK_LIBRARIES).
function(visbone_linked_targets target out)
  set(seen "")
  set(todo ${target})
  while(todo)
    list(POP_FRONT todo t)
    if(NOT TARGET ${t} OR t IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${t})
    get_target_property(libs ${t} LINK_LIBRARIES)
    get_target_property(interface_libs ${t} INTERFACE_LINK_LIBRARIES)
    foreach(lib IN LISTS libs interface_libs)
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" lib "${lib}")
      if(lib MATCHES "^visbone_")
        list(APPEND todo ${lib})
      endif()
    endforeach()
  endwhile()
  list(REMOVE_ITEM seen ${target})
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

set(VISBONE_ABOVE_CORE visbone_bit visbone_bit_component visbone_heads visbone_builtins visbone_pipeline
                       visbone_api)
foreach(lower IN ITEMS visbone_core visbone_yaml visbone_hub visbone_image visbone_registry)
  visbone_linked_targets(${lower} linked)
  foreach(upper IN LISTS VISBONE_ABOVE_CORE)
    if(upper IN_LIST linked)
      message(FATAL_ERROR "layering: ${lower} links ${upper}; core/ depends on nothing above it (DESIGN.md)")
    endif()
  endforeach()
endforeach()

# What the pipeline knows of a backbone (the keys it takes, the hub id a preset loads) it reads from the
# backbone's registry entry, so it links no backbone library, not even BiT's.
set(VISBONE_ABOVE_PIPELINE visbone_builtins visbone_api visbone_serve visbone_heads visbone_bit_component
                           visbone_bit)
if(TARGET visbone_pipeline)
  visbone_linked_targets(visbone_pipeline linked)
  foreach(upper IN LISTS VISBONE_ABOVE_PIPELINE)
    if(upper IN_LIST linked)
      message(FATAL_ERROR "layering: visbone_pipeline links ${upper}; the pipeline gets backbones and heads "
                          "from the registry its caller fills with register_builtins (DESIGN.md)")
    endif()
  endforeach()
endif()

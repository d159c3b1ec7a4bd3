// The plugin ABI: what a shared library exports to add components to visbone. A plugin defines one C entry
// point, `visbone_plugin_entry`, returning a descriptor whose first field is the ABI version it was built
// against; the host reads that field before anything else and refuses a library built for another version
// (or by a C++ compiler with another ABI), because the descriptor's layout and every C++ type passed across
// (ComponentRegistrar, Params, Backbone, Head, Tensor, ...) are only guaranteed to agree within one version.
//
//   #include "visbone/registry/plugin_api.h"
//   static void register_components(visbone::registry::ComponentRegistrar& r) {
//     r.add_head("my_head", "one line saying what it does", make_my_head);
//   }
//   VISBONE_PLUGIN("my_plugin", "1.0", "what the plugin adds", register_components)
//
// Components a plugin creates run the plugin's code (vtables, deleters), so plugins stay loaded for the life
// of the process.
#pragma once

#include <cstdint>

#include "visbone/registry/registry.h"

// Bump whenever the descriptor or any type a plugin receives or returns changes layout or virtual functions.
#define VISBONE_PLUGIN_ABI_VERSION 1u
#define VISBONE_PLUGIN_ENTRY_POINT_NAME "visbone_plugin_entry"

extern "C" {

struct VisbonePluginDescriptor {
  std::uint32_t abi_version;  // VISBONE_PLUGIN_ABI_VERSION when the plugin was built; must stay first
  std::uint32_t cxx_abi;      // __GXX_ABI_VERSION when the plugin was built
  const char* name;           // short name, e.g. "fewshot"
  const char* version;        // the plugin's own version
  const char* description;    // one line
  // Adds the plugin's components. May throw (a visbone::Error is best); nothing is registered then.
  void (*register_components)(visbone::registry::ComponentRegistrar& registrar);
};

// The signature of the entry point.
typedef const VisbonePluginDescriptor* (*VisbonePluginEntry)();
}

// Defines the entry point. Use once per plugin, at namespace scope.
#define VISBONE_PLUGIN(NAME, VERSION, DESCRIPTION, REGISTER)                                                \
  extern "C" __attribute__((visibility("default"))) const VisbonePluginDescriptor* visbone_plugin_entry() { \
    static const VisbonePluginDescriptor descriptor{                                                        \
        VISBONE_PLUGIN_ABI_VERSION, __GXX_ABI_VERSION, NAME, VERSION, DESCRIPTION, &(REGISTER)};            \
    return &descriptor;                                                                                     \
  }

// The plugin ABI: what a shared library exports to add components to visbone. A plugin defines one C entry
// point whose name carries the plugin ABI fingerprint of the visbone it was built against,
// `visbone_plugin_entry_<fingerprint>` (visbone/registry/plugin_abi.h, made at configure time from the
// public headers, the string ABI, Boost's and yaml-cpp's versions and the sizes of the types passed across:
// ComponentRegistrar, Params, Tensor, HeadResult, ...). The host looks for its own name in the library's
// symbol table before loading it: a library built against other headers is refused before any of its code,
// static constructors included, runs.
//
//   #include "visbone/registry/plugin_api.h"
//   static void register_components(visbone::registry::ComponentRegistrar& r) {
//     r.add_head("my_head", "one line saying what it does", make_my_head);
//   }
//   VISBONE_PLUGIN("my_plugin", "1.0", "what the plugin adds", register_components)
//
// Objects cross the boundary as std::unique_ptr to classes with virtual destructors (Backbone, Head, Source,
// Sink): the plugin's own code destroys what it created. Components a plugin creates run the plugin's code
// (vtables, deleters), so plugins stay loaded for the life of the process.
#pragma once

#include "visbone/registry/plugin_abi.h"
#include "visbone/registry/registry.h"

#define VISBONE_PLUGIN_PASTE_(a, b) a##b
#define VISBONE_PLUGIN_PASTE(a, b) VISBONE_PLUGIN_PASTE_(a, b)
#define VISBONE_PLUGIN_STRING_(a) #a
#define VISBONE_PLUGIN_STRING(a) VISBONE_PLUGIN_STRING_(a)

// The fingerprint as a string, the prefix every visbone entry point's name starts with, and this build's name.
#define VISBONE_PLUGIN_ABI_FINGERPRINT_STRING VISBONE_PLUGIN_STRING(VISBONE_PLUGIN_ABI_FINGERPRINT)
#define VISBONE_PLUGIN_ENTRY_POINT_PREFIX "visbone_plugin_entry_"
#define VISBONE_PLUGIN_ENTRY_POINT_NAME VISBONE_PLUGIN_ENTRY_POINT_PREFIX VISBONE_PLUGIN_ABI_FINGERPRINT_STRING
#define VISBONE_PLUGIN_ENTRY_FUNCTION VISBONE_PLUGIN_PASTE(visbone_plugin_entry_, VISBONE_PLUGIN_ABI_FINGERPRINT)

extern "C" {

struct VisbonePluginDescriptor {
  const char* name;         // short name, e.g. "fewshot"
  const char* version;      // the plugin's own version
  const char* description;  // one line
  // Adds the plugin's components. May throw (a visbone::Error is best); nothing is registered then.
  void (*register_components)(visbone::registry::ComponentRegistrar& registrar);
};

// The signature of the entry point.
typedef const VisbonePluginDescriptor* (*VisbonePluginEntry)();
}

// Defines the entry point. Use once per plugin, at namespace scope.
#define VISBONE_PLUGIN(NAME, VERSION, DESCRIPTION, REGISTER)                                                  \
  extern "C" __attribute__((visibility("default"))) const VisbonePluginDescriptor* VISBONE_PLUGIN_ENTRY_FUNCTION() { \
    static const VisbonePluginDescriptor descriptor{NAME, VERSION, DESCRIPTION, &(REGISTER)};                  \
    return &descriptor;                                                                                       \
  }

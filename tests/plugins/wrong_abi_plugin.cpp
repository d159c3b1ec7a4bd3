// A plugin built against another plugin ABI version: its descriptor says so, and the host must refuse it
// before calling anything else in it.
#include <cstdlib>

#include "visbone/registry/plugin_api.h"

namespace {

void register_components(visbone::registry::ComponentRegistrar&) {
  // Reaching this would mean the host ignored the version; make that impossible to miss.
  std::abort();
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const VisbonePluginDescriptor* visbone_plugin_entry() {
  static const VisbonePluginDescriptor d{
      VISBONE_PLUGIN_ABI_VERSION + 1,   __GXX_ABI_VERSION,   "wrong_abi", "0",
      "built for the next ABI version", &register_components};
  return &d;
}

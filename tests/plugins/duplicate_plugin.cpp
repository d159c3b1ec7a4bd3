// A plugin that registers a new head and one whose name a built-in already has: loading it must fail naming
// both origins and leave the new head unregistered too.
#include "visbone/registry/plugin_api.h"

namespace {

std::unique_ptr<visbone::Head> no_head(const visbone::registry::Params&, visbone::HeadContext&) {
  return nullptr;
}

void register_components(visbone::registry::ComponentRegistrar& r) {
  r.add_head("duplicate_test_fresh", "a head with a new name", no_head);
  r.add_head("classification", "a head with a built-in's name", no_head);
}

}  // namespace

VISBONE_PLUGIN("duplicate", "1.0", "registers a name that is taken", register_components)

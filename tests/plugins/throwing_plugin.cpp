// A plugin whose registration fails part way: nothing it added may stay registered.
#include "visbone/core/errors.h"
#include "visbone/registry/plugin_api.h"

namespace {

std::unique_ptr<visbone::Head> no_head(const visbone::registry::Params&, visbone::HeadContext&) {
  return nullptr;
}

void register_components(visbone::registry::ComponentRegistrar& r) {
  r.add_head("throwing_test_head", "added before the failure", no_head);
  throw visbone::ConfigError("cannot find my model files");
}

}  // namespace

VISBONE_PLUGIN("throws", "1.0", "fails while registering", register_components)
